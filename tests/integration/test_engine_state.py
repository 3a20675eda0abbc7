"""The lifecycle's state machine and stage work, without Prefect (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import changes, gates, queries, submission
from domain.enums import GateDecisionKind, Role, Stage, StageStartStatus
from domain.lifecycle import STAGE_ORDER
from domain.models import Consultation, OutboxMessage, StageStart, Unit
from domain.progress import Step, next_step
from domain.stages import STAGE_WORK, StageParams, complete_stage
from flows.lifecycle import STAGE_FLOWS
from kinanti.orchestration.handoff import idempotency_key
from tests.support.factories import Factory

PARAMS = StageParams(
    dt.timedelta(days=14), "run-1", dt.date(2026, 11, 28), ZoneInfo("Asia/Makassar")
)


@pytest.fixture
def step_of(session: Session) -> Callable[[str], Step]:
    """``next_step`` reading through the test's session (rolled back afterwards)."""
    return lambda code: next_step(session, code)


def test_every_stage_has_its_work_and_its_flow() -> None:
    assert set(STAGE_WORK) == set(STAGE_ORDER) == set(STAGE_FLOWS)


@pytest.fixture
def cast(make: Factory) -> dict[str, str]:
    brida = make.unit("BRIDA-T")
    return {
        "reviewer": make.person(roles=[Role.REVIEWER], unit=brida).email,
        "head": make.person(roles=[Role.HEAD_OF_BRIDA], unit=brida).email,
        "mentor": make.person(roles=[Role.INNOVATOR]).email,
    }


def test_a_new_innovation_starts_with_planning_work_then_waits_at_its_gate(
    session: Session, make: Factory, cast: dict[str, str], step_of
) -> None:  # type: ignore[no-untyped-def]
    innovation = make.innovation()
    assert step_of(innovation.code).action == "stage"
    completion = complete_stage(session, innovation, 1, PARAMS)
    step = step_of(innovation.code)
    assert (step.action, step.stage, step.gate_id) == ("gate", Stage.PLANNING, completion.gate_id)
    reviewers_told = session.scalars(
        select(OutboxMessage.recipient_email).where(OutboxMessage.template == "gate_waiting")
    ).all()
    # least-loaded assignment (the default): the one assignee, not the whole role
    assert reviewers_told == [cast["reviewer"]]


def test_completing_a_stage_twice_does_nothing_the_second_time(
    session: Session, make: Factory, cast: dict[str, str]
) -> None:
    innovation = make.innovation()
    first = complete_stage(session, innovation, 1, PARAMS)
    second = complete_stage(session, innovation, 1, PARAMS)
    assert second.already_done and second.gate_id == first.gate_id
    assert not second.result.events and not second.result.outbox_ids


def test_an_incomplete_proposal_goes_back_to_the_unit_without_bothering_reviewers(
    session: Session, make: Factory, cast: dict[str, str], step_of
) -> None:  # type: ignore[no-untyped-def]
    innovation = make.innovation(design="Terlalu singkat.")
    completion = complete_stage(session, innovation, 1, PARAMS)
    assert completion.auto_revised
    assert step_of(innovation.code).action == "waiting_for_unit"
    templates = set(session.scalars(select(OutboxMessage.template)))
    assert "gate_waiting" not in templates and "gate_decided" in templates


def test_a_requested_consultation_is_booked_once_with_an_innovator(
    session: Session, make: Factory, cast: dict[str, str]
) -> None:
    innovation = make.innovation(consultation_requested=True)
    complete_stage(session, innovation, 1, PARAMS)
    complete_stage(session, innovation, 1, PARAMS)
    consultations = list(session.scalars(select(Consultation)))
    assert len(consultations) == 1
    assert consultations[0].mentor_id is not None
    local = consultations[0].scheduled_at.astimezone(PARAMS.zone)
    assert 9 <= local.hour < 15  # local working hours
    assert local.weekday() < 5 and local.date() > PARAMS.today
    booked = session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.template == "consultation_booked")
    )
    assert booked >= 2  # the unit's contacts and the mentor


def test_revise_then_resubmit_reopens_the_stage_in_a_new_round(
    session: Session, make: Factory, cast: dict[str, str], step_of
) -> None:  # type: ignore[no-untyped-def]
    innovation = make.innovation()
    officer = make.person(roles=[Role.UNIT_OFFICER], unit=session.get(Unit, innovation.unit_id))
    gate_id = complete_stage(session, innovation, 1, PARAMS).gate_id
    assert gate_id is not None
    gates.decide_gate(
        session,
        gate_id,
        gates.DecisionCommand(
            GateDecisionKind.REVISE, reason="Lengkapi target", decider=cast["reviewer"]
        ),
    )
    assert step_of(innovation.code).action == "waiting_for_unit"
    submission.resubmit(session, innovation, actor=officer.email)
    step = step_of(innovation.code)
    assert (step.action, step.round) == ("stage", 2)
    pending = session.scalars(
        select(StageStart).where(StageStart.status == StageStartStatus.PENDING)
    ).all()
    assert [p.stage for p in pending] == [Stage.PLANNING]


def test_approval_hands_off_the_next_stage_durably(
    session: Session, make: Factory, cast: dict[str, str], step_of
) -> None:  # type: ignore[no-untyped-def]
    innovation = make.innovation()
    gate_id = complete_stage(session, innovation, 1, PARAMS).gate_id
    assert gate_id is not None
    outcome = gates.decide_gate(
        session,
        gate_id,
        gates.DecisionCommand(GateDecisionKind.APPROVE, decider=cast["reviewer"]),
        continue_in_run=False,
    )
    assert outcome.accepted
    starts = session.scalars(
        select(StageStart).where(StageStart.innovation_id == innovation.id).order_by(StageStart.id)
    ).all()
    assert [(s.stage, s.status) for s in starts] == [
        (Stage.PLANNING, StageStartStatus.DONE),
        (Stage.DEVELOPMENT, StageStartStatus.PENDING),
    ]
    key = idempotency_key(innovation.code, starts[1])
    assert key.startswith(f"kinanti:{innovation.code}:development:1:")
    assert outcome.result.handoffs == [starts[1]]  # the change names its hand-off
    retry = changes.request_stage_start(session, innovation, changes.ChangeResult())
    session.flush()
    assert idempotency_key(innovation.code, retry).startswith(  # a new attempt, a new run
        f"kinanti:{innovation.code}:development:2:"
    )
    assert step_of(innovation.code).stage is Stage.DEVELOPMENT


def test_the_replication_stage_finishes_the_lifecycle(
    session: Session, make: Factory, cast: dict[str, str], step_of
) -> None:  # type: ignore[no-untyped-def]
    innovation = make.innovation()
    innovation.stage = Stage.REPLICATION
    session.flush()
    completion = complete_stage(session, innovation, 1, PARAMS)
    assert completion.gate_id is None and innovation.replicable
    assert step_of(innovation.code).action == "finished"
    open_starts = session.scalar(
        select(func.count(StageStart.id)).where(
            StageStart.innovation_id == innovation.id,
            StageStart.status != StageStartStatus.DONE,
        )
    )
    assert open_starts == 0
    assert queries.current_gate(session, innovation) is None  # the last stage has no gate
