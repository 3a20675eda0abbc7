"""Domain services on a real database (SQLite and PostgreSQL): submission, gates, locking."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from domain import gates, innovations, queries, submission
from domain.enums import (
    GateDecisionKind,
    GateStatus,
    Outcome,
    Role,
    Stage,
    StageStartStatus,
    UnitKind,
)
from domain.errors import ConflictError, GateNotOpenError, NotFoundError, ValidationError
from domain.models import (
    DomainEventRecord,
    GateDecisionRecord,
    GateRequest,
    Innovation,
    StageHistory,
    StageStart,
    Unit,
)
from domain.schemas import ScorecardIn
from kinanti.db import make_engine, unit_of_work, upgrade
from tests.support.factories import Factory

TIMEOUT = dt.timedelta(days=14)


def _events(session: Session, innovation: Innovation) -> list[str]:
    return list(
        session.scalars(
            select(DomainEventRecord.name)
            .where(DomainEventRecord.innovation_id == innovation.id)
            .order_by(DomainEventRecord.id)
        )
    )


def _history(session: Session, innovation: Innovation) -> list[StageHistory]:
    return list(
        session.scalars(
            select(StageHistory)
            .where(StageHistory.innovation_id == innovation.id)
            .order_by(StageHistory.id)
        )
    )


def _open(session: Session, innovation: Innovation, round_: int = 1) -> GateRequest:
    gate, _ = gates.open_gate(session, innovation, round_=round_, flow_run_id=None, timeout=TIMEOUT)
    session.flush()
    return gate


def _decide(
    session: Session,
    gate: GateRequest,
    decision: GateDecisionKind,
    reviewer: str,
    reason: str = "sesuai kriteria",
) -> gates.DecisionOutcome:
    return gates.decide_gate(
        session,
        gate.id,
        gates.DecisionCommand(decision, reason=reason, channel="cli", decider=reviewer),
        continue_in_run=False,
    )


@pytest.fixture
def brida(make: Factory) -> Unit:
    return make.unit("BRIDA-T", name="Badan Riset dan Inovasi Daerah")


@pytest.fixture
def reviewer(make: Factory, brida: Unit) -> str:
    return make.person(roles=[Role.REVIEWER], unit=brida).email


# ---------------------------------------------------------------- submission


def test_submitting_creates_the_innovation_at_planning_with_history_handoff_and_event(
    session: Session, make: Factory
) -> None:
    unit = make.unit()
    innovation, created, result = submission.submit_innovation(
        session, make.innovation_in(unit, code="MAHARESTU-T"), actor="operator@mataramkota.go.id"
    )
    session.flush()

    assert created
    assert (innovation.stage, innovation.outcome, innovation.version) == (Stage.PLANNING, None, 1)
    [history] = _history(session, innovation)
    assert (history.from_stage, history.to_stage, history.actor) == (
        None,
        Stage.PLANNING,
        "operator@mataramkota.go.id",
    )
    [start] = session.scalars(select(StageStart).where(StageStart.innovation_id == innovation.id))
    assert (start.stage, start.attempt, start.status) == (
        Stage.PLANNING,
        1,
        StageStartStatus.PENDING,
    )
    assert _events(session, innovation) == ["kinanti.innovation.submitted"]
    assert [e.name for e in result.events] == ["kinanti.innovation.submitted"]


def test_resubmitting_the_same_record_changes_nothing(session: Session, make: Factory) -> None:
    unit = make.unit()
    data = make.innovation_in(unit)
    first, _, _ = submission.submit_innovation(session, data, actor="a@mataramkota.go.id")
    session.flush()
    again, created, result = submission.submit_innovation(
        session, data, actor="a@mataramkota.go.id"
    )
    session.flush()

    assert again.id == first.id and not created and result.events == []
    assert len(_history(session, first)) == 1
    count = session.scalar(
        select(func.count(StageStart.id)).where(StageStart.innovation_id == first.id)
    )
    assert count == 1


def test_resubmitting_a_changed_profile_updates_it_and_records_an_event(
    session: Session, make: Factory
) -> None:
    unit = make.unit()
    innovation = make.innovation(unit, code="PARIMANTA-T")
    _, created, result = submission.submit_innovation(
        session,
        make.innovation_in(unit, code="PARIMANTA-T", goals="Tujuan baru."),
        actor="a@mataramkota.go.id",
    )
    session.flush()
    assert not created
    assert innovation.goals == "Tujuan baru."
    assert [e.name for e in result.events] == ["kinanti.innovation.updated"]


def test_submitting_for_an_unknown_unit_is_refused(session: Session, make: Factory) -> None:
    unit = make.unit()
    data = make.innovation_in(unit).model_copy(update={"unit": "NOPE"})
    with pytest.raises(ValidationError, match="unknown unit code 'NOPE'"):
        submission.submit_innovation(session, data, actor="a@mataramkota.go.id")


def test_a_code_of_another_unit_is_a_conflict(session: Session, make: Factory) -> None:
    make.innovation(make.unit(), code="SAMA-T")
    with pytest.raises(ConflictError, match="already registered for unit"):
        submission.submit_innovation(
            session, make.innovation_in(make.unit(), code="SAMA-T"), actor="a@mataramkota.go.id"
        )


# ---------------------------------------------------------------- gate decisions


def test_approving_the_planning_gate_moves_to_development(
    session: Session, make: Factory, reviewer: str
) -> None:
    innovation = make.innovation()
    gate = _open(session, innovation)

    outcome = _decide(session, gate, GateDecisionKind.APPROVE, reviewer)

    assert outcome.accepted and outcome.refusal is None
    assert gate.status is GateStatus.APPROVED and gate.decided_by == reviewer
    assert innovation.stage is Stage.DEVELOPMENT
    moves = [(h.from_stage, h.to_stage) for h in _history(session, innovation)]
    assert moves == [(None, Stage.PLANNING), (Stage.PLANNING, Stage.DEVELOPMENT)]
    starts = session.scalars(
        select(StageStart).where(StageStart.innovation_id == innovation.id).order_by(StageStart.id)
    ).all()
    assert [(s.stage, s.status) for s in starts] == [
        (Stage.PLANNING, StageStartStatus.DONE),
        (Stage.DEVELOPMENT, StageStartStatus.PENDING),
    ]
    events = _events(session, innovation)
    assert "kinanti.innovation.gate-decided" in events
    assert "kinanti.innovation.stage-entered" in events


def test_approval_at_development_needs_a_trial_scorecard(
    session: Session, make: Factory, reviewer: str
) -> None:
    innovation = make.innovation()
    _decide(session, _open(session, innovation), GateDecisionKind.APPROVE, reviewer)
    gate = _open(session, innovation)

    refused = _decide(session, gate, GateDecisionKind.APPROVE, reviewer)
    assert not refused.accepted and refused.refusal_code == "gate.scorecard_missing"

    innovations.record_evaluation(
        session,
        innovation,
        ScorecardIn(renewal=4, benefit=4, no_burden=5, authority=4, replicable=3),
        evaluator=reviewer,
    )
    session.flush()
    assert _decide(session, gate, GateDecisionKind.APPROVE, reviewer).accepted
    assert innovation.stage is Stage.DEPLOYMENT


def test_revise_keeps_the_stage_and_asks_the_unit_for_a_revision(
    session: Session, make: Factory, reviewer: str
) -> None:
    innovation = make.innovation()
    gate = _open(session, innovation)

    outcome = _decide(session, gate, GateDecisionKind.REVISE, reviewer, "lengkapi data dukung")

    assert outcome.accepted and gate.status is GateStatus.REVISE
    assert innovation.stage is Stage.PLANNING and innovation.revision_requested
    assert "kinanti.innovation.revision-requested" in _events(session, innovation)


def test_reject_ends_the_innovation(session: Session, make: Factory, reviewer: str) -> None:
    innovation = make.innovation()
    gate = _open(session, innovation)

    outcome = _decide(session, gate, GateDecisionKind.REJECT, reviewer, "di luar kewenangan")

    assert outcome.accepted and gate.status is GateStatus.REJECTED
    assert innovation.outcome is Outcome.REJECTED and innovation.stage is Stage.PLANNING
    assert _history(session, innovation)[-1].outcome is Outcome.REJECTED


def test_revise_and_reject_need_a_reason(session: Session, make: Factory, reviewer: str) -> None:
    innovation = make.innovation()
    gate = _open(session, innovation)
    outcome = _decide(session, gate, GateDecisionKind.REJECT, reviewer, reason="  ")
    assert not outcome.accepted and outcome.refusal_code == "gate.reason_required"
    assert gate.status is GateStatus.OPEN


def test_an_incomplete_proposal_cannot_be_approved(
    session: Session, make: Factory, reviewer: str
) -> None:
    innovation = make.innovation(design="Terlalu singkat.")
    outcome = _decide(session, _open(session, innovation), GateDecisionKind.APPROVE, reviewer)
    assert not outcome.accepted and outcome.refusal_code == "gate.proposal_incomplete"
    assert innovation.stage is Stage.PLANNING


@pytest.mark.parametrize("reviewer_place", ["owning unit", "parent OPD"])
def test_a_reviewer_from_the_owning_unit_or_its_parent_cannot_approve_it(
    session: Session, make: Factory, reviewer_place: str
) -> None:
    dinkes = make.unit("DINKES-T")
    puskesmas = make.unit("PKM-T", kind=UnitKind.UPTD, parent=dinkes)
    own = make.person(
        roles=[Role.REVIEWER], unit=puskesmas if reviewer_place == "owning unit" else dinkes
    )
    innovation = make.innovation(puskesmas)
    gate = _open(session, innovation)

    outcome = _decide(session, gate, GateDecisionKind.APPROVE, own.email)

    assert not outcome.accepted and outcome.refusal_code == "gate.own_unit"
    assert gate.status is GateStatus.OPEN and innovation.stage is Stage.PLANNING


@pytest.mark.parametrize("role", [Role.INNOVATOR, Role.UNIT_OFFICER, Role.UNIT_HEAD])
def test_a_person_without_a_deciding_role_is_refused(
    session: Session, make: Factory, brida: Unit, role: Role
) -> None:
    person = make.person(roles=[role], unit=brida)
    innovation = make.innovation()
    outcome = _decide(session, _open(session, innovation), GateDecisionKind.APPROVE, person.email)
    assert not outcome.accepted and outcome.refusal_code == "gate.wrong_role"


def test_only_the_head_of_brida_decides_the_reporting_gate(
    session: Session, make: Factory, brida: Unit, reviewer: str
) -> None:
    innovation = make.innovation()
    innovation.stage = Stage.REPORTING
    session.flush()
    gate = _open(session, innovation)
    refused = _decide(session, gate, GateDecisionKind.APPROVE, reviewer)
    assert not refused.accepted and refused.refusal_code == "gate.wrong_role"

    head = make.person(roles=[Role.HEAD_OF_BRIDA], unit=brida)
    # Approval needs the year's mandatory IID indicators (domain.iid.catalogue).
    missing = _decide(session, gate, GateDecisionKind.APPROVE, head.email)
    assert not missing.accepted and missing.refusal_code == "gate.mandatory_missing"
    assert _decide(session, gate, GateDecisionKind.REVISE, head.email, "lengkapi bukti").accepted


def test_a_refused_decision_is_recorded_and_changes_nothing(
    session: Session, make: Factory, brida: Unit
) -> None:
    innovator = make.person(roles=[Role.INNOVATOR], unit=brida)
    innovation = make.innovation()
    gate = _open(session, innovation)
    events_before = _events(session, innovation)

    outcome = _decide(session, gate, GateDecisionKind.APPROVE, innovator.email)
    session.flush()

    assert not outcome.accepted
    [record] = session.scalars(
        select(GateDecisionRecord).where(GateDecisionRecord.gate_id == gate.id)
    )
    assert (record.accepted, record.reviewer, record.decision) == (
        False,
        innovator.email,
        GateDecisionKind.APPROVE,
    )
    assert record.refusal == str(outcome.refusal) and record.refusal_code == outcome.refusal_code
    assert gate.status is GateStatus.OPEN and gate.decision is None
    assert innovation.stage is Stage.PLANNING and innovation.outcome is None
    assert len(_history(session, innovation)) == 1
    assert _events(session, innovation) == [
        *events_before,
        "kinanti.innovation.decision-refused",
    ]


def test_an_unknown_reviewer_is_refused(session: Session, make: Factory) -> None:
    innovation = make.innovation()
    outcome = _decide(
        session, _open(session, innovation), GateDecisionKind.APPROVE, "nobody@example.org"
    )
    assert not outcome.accepted and outcome.refusal_code == "person.unknown"


@pytest.mark.parametrize("first", list(GateDecisionKind))
def test_deciding_a_gate_twice_raises_gate_not_open(
    session: Session, make: Factory, reviewer: str, first: GateDecisionKind
) -> None:
    innovation = make.innovation()
    gate = _open(session, innovation)
    assert _decide(session, gate, first, reviewer).accepted
    with pytest.raises(GateNotOpenError):
        _decide(session, gate, GateDecisionKind.APPROVE, reviewer)


def test_deciding_an_unknown_gate_raises_not_found(session: Session, reviewer: str) -> None:
    with pytest.raises(NotFoundError):
        gates.decide_gate(
            session, 987654, gates.DecisionCommand(GateDecisionKind.APPROVE, decider=reviewer)
        )


def test_withdrawing_closes_the_open_gate(session: Session, make: Factory) -> None:
    innovation = make.innovation()
    gate = _open(session, innovation)
    innovations.end_innovation(
        session, innovation, Outcome.WITHDRAWN, actor="a@mataramkota.go.id", reason="dibatalkan"
    )
    assert innovation.outcome is Outcome.WITHDRAWN and gate.status is GateStatus.CLOSED


# ---------------------------------------------------------------- optimistic locking


def test_two_concurrent_changes_the_second_loses_with_stale_data(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with Session(engine) as setup:
            Factory(setup).innovation(code="KONKUREN-1")
            setup.commit()

        first, second = Session(engine), Session(engine)
        try:
            mine = queries.get_innovation(first, "KONKUREN-1")
            theirs = queries.get_innovation(second, "KONKUREN-1")
            assert mine.version == theirs.version == 1
            mine.title = "Perubahan pertama"
            first.commit()
            theirs.title = "Perubahan kedua"
            with pytest.raises(StaleDataError):
                second.commit()
        finally:
            first.close()
            second.close()

        with Session(engine) as check:
            saved = queries.get_innovation(check, "KONKUREN-1")
            assert (saved.title, saved.version) == ("Perubahan pertama", 2)
    finally:
        engine.dispose()


def test_unit_of_work_reports_a_lost_race_as_a_conflict(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with unit_of_work(engine) as setup:
            Factory(setup).innovation(code="KONKUREN-2")

        with (
            pytest.raises(ConflictError, match="someone else changed"),
            unit_of_work(engine) as session,
        ):
            stale = queries.get_innovation(session, "KONKUREN-2")
            with unit_of_work(engine) as other:
                queries.get_innovation(other, "KONKUREN-2").goals = "Diubah lebih dulu."
            stale.goals = "Diubah belakangan."

        with unit_of_work(engine) as check:
            assert queries.get_innovation(check, "KONKUREN-2").goals == "Diubah lebih dulu."
    finally:
        engine.dispose()
