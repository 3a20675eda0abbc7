"""Gate assignment (issue 9 item 6): one assignee per gate, the least-loaded eligible
reviewer by default, who alone is emailed; claim, hand back and reassign as checked
changes with typed refusals; the daily digest of the role's queue. On SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.access import actor_of
from domain.assignment import By, claim_gate, hand_back_gate, reassign_gate
from domain.enums import AssignmentKind, GateAssignment, Language, Role, Stage
from domain.errors import ConflictError, KinantiError, NotAuthorizedError, NotFoundError
from domain.gates import open_gate
from domain.models import (
    DomainEventRecord,
    GateAssignmentRecord,
    GateRequest,
    Innovation,
    OutboxMessage,
    Person,
    Unit,
)
from notifications.reminders import queue_queue_digests
from tests.support.factories import Factory

TIMEOUT = dt.timedelta(days=14)
TODAY = dt.date(2026, 11, 23)


@dataclass
class Brida:
    ana: Person  # reviewers, by email: ana < budi < citra
    budi: Person
    citra: Person
    head: Person
    operator: Person
    innovator: Person
    home: Unit  # citra's unit (she may not review its innovations)


@pytest.fixture
def brida(make: Factory) -> Brida:
    home = make.unit("DISKOMINFO")
    return Brida(
        ana=make.person("ana.brida@mataramkota.go.id", roles=[Role.REVIEWER]),
        budi=make.person("budi.brida@mataramkota.go.id", roles=[Role.REVIEWER]),
        citra=make.person(
            "citra.brida@mataramkota.go.id",
            roles=[Role.REVIEWER],
            unit=home,
            language=Language.EN,
        ),
        head=make.person("kepala.brida@mataramkota.go.id", roles=[Role.HEAD_OF_BRIDA]),
        operator=make.person("operator.brida@mataramkota.go.id", roles=[Role.BRIDA_OPERATOR]),
        innovator=make.person("inovator@unram.ac.id", roles=[Role.INNOVATOR]),
        home=home,
    )


def _open(
    make: Factory,
    unit: Unit | None = None,
    *,
    assignment: GateAssignment = GateAssignment.LEAST_LOADED,
    stage: Stage = Stage.PLANNING,
    round_: int = 1,
    innovation: Innovation | None = None,
) -> tuple[Innovation, GateRequest]:
    innovation = innovation or make.innovation(unit)
    innovation.stage = stage
    gate, _ = open_gate(
        make.session,
        innovation,
        round_=round_,
        flow_run_id=None,
        timeout=TIMEOUT,
        assignment=assignment,
    )
    make.session.flush()
    return innovation, gate


def _emails(session: Session, template: str) -> list[str]:
    return sorted(
        session.scalars(
            select(OutboxMessage.recipient_email).where(OutboxMessage.template == template)
        )
    )


def _by(session: Session, person: Person, channel: str = "portal") -> By:
    return By(actor_of(session, person), channel=channel, os_user="operator1")


# ---------------------------------------------------------------- assignment at opening


def test_each_gate_goes_to_the_least_loaded_eligible_reviewer_who_alone_is_emailed(
    session: Session, make: Factory, brida: Brida
) -> None:
    opened = [_open(make)[1] for _ in range(3)]

    # nobody has a gate: ties go by email; each new gate to whoever has fewest open gates
    assert [g.assignee_id for g in opened] == [brida.ana.id, brida.budi.id, brida.citra.id]
    assert _emails(session, "gate_waiting") == sorted(
        [brida.ana.email, brida.budi.email, brida.citra.email]
    )
    # a fourth: ana, budi and citra hold one each; ana is first by email again
    _, fourth = _open(make)
    assert fourth.assignee_id == brida.ana.id
    [row] = session.scalars(
        select(OutboxMessage).where(OutboxMessage.key.startswith(f"gate-opened:{fourth.id}|"))
    ).all()
    assert row.recipient_email == brida.ana.email and row.context["assigned"] is True
    assert Decimal(row.context["budget"]) == Decimal("25000000")
    history = session.scalars(
        select(GateAssignmentRecord).where(GateAssignmentRecord.gate_id == fourth.id)
    ).all()
    assert [(h.kind, h.assignee_id, h.channel) for h in history] == [
        (AssignmentKind.ASSIGNED, brida.ana.id, "system")
    ]
    event = session.scalars(
        select(DomainEventRecord)
        .where(DomainEventRecord.name == "kinanti.innovation.gate-opened")
        .order_by(DomainEventRecord.id.desc())
        .limit(1)
    ).one()
    assert event.payload["assignee"] == brida.ana.email


def test_a_reviewer_of_the_owning_unit_is_never_assigned_its_gate(
    session: Session, make: Factory, brida: Brida
) -> None:
    brida.ana.active = False  # an inactive reviewer is not eligible either
    for _ in range(4):
        _, gate = _open(make, brida.home)
        assert gate.assignee_id == brida.budi.id


def test_a_resubmitted_gate_goes_back_to_who_reviewed_the_last_round(
    session: Session, make: Factory, brida: Brida
) -> None:
    innovation, first = _open(make)
    assert first.assignee_id == brida.ana.id
    _open(make)  # budi
    _open(make)  # citra: every reviewer has one open gate now
    reassign_gate(session, innovation.code, brida.citra.email, _by(session, brida.operator))
    first.status = first.status.REVISE
    session.flush()

    _, second = _open(make, innovation=innovation, round_=2)

    assert second.assignee_id == brida.citra.id  # not ana, though ana is least loaded now


def test_the_final_approval_goes_to_the_head_of_brida(
    session: Session, make: Factory, brida: Brida
) -> None:
    _, gate = _open(make, stage=Stage.REPORTING)
    assert gate.assignee_id == brida.head.id
    assert _emails(session, "gate_waiting") == [brida.head.email]


def test_in_role_queue_mode_a_gate_is_unassigned_and_the_whole_role_is_told(
    session: Session, make: Factory, brida: Brida
) -> None:
    _, gate = _open(make, assignment=GateAssignment.ROLE_QUEUE)
    assert gate.assignee_id is None
    assert _emails(session, "gate_waiting") == sorted(
        p.email for p in (brida.ana, brida.budi, brida.citra, brida.head)
    )


# ---------------------------------------------------------------- claim and hand back


def test_a_reviewer_claims_an_unassigned_gate_and_hands_it_back(
    session: Session, make: Factory, brida: Brida
) -> None:
    innovation, gate = _open(make, assignment=GateAssignment.ROLE_QUEUE)

    result = claim_gate(session, innovation.code, _by(session, brida.budi))

    assert gate.assignee_id == brida.budi.id
    assert [e.name for e in result.events] == ["kinanti.innovation.gate-assigned"]
    assert result.events[0].payload["kind"] == "claimed"
    assert result.outbox_ids == []  # nobody is emailed about their own claim
    assert claim_gate(session, innovation.code, _by(session, brida.budi)).events == []

    hand_back_gate(session, innovation.code, _by(session, brida.budi), "cuti seminggu")

    assert gate.assignee_id is None
    kinds = session.scalars(
        select(GateAssignmentRecord.kind)
        .where(GateAssignmentRecord.gate_id == gate.id)
        .order_by(GateAssignmentRecord.id)
    ).all()
    assert kinds == [AssignmentKind.CLAIMED, AssignmentKind.HANDED_BACK]


def _refusal(change: object) -> KinantiError:
    assert callable(change)
    with pytest.raises(KinantiError) as caught:
        change()
    return caught.value


def test_claim_and_hand_back_refusals_have_codes_and_change_nothing(
    session: Session, make: Factory, brida: Brida
) -> None:
    innovation, gate = _open(make, brida.home)  # assigned to ana (citra is of the unit)
    code = innovation.code
    assert gate.assignee_id == brida.ana.id

    taken = _refusal(lambda: claim_gate(session, code, _by(session, brida.budi)))
    assert isinstance(taken, ConflictError) and taken.code == "gate.claim_taken"
    assert "sudah ditugaskan kepada" in taken.message(Language.ID)
    assert brida.ana.email in taken.message(Language.ID)

    not_yours = _refusal(lambda: hand_back_gate(session, code, _by(session, brida.budi)))
    assert isinstance(not_yours, NotAuthorizedError) and not_yours.code == "gate.not_assignee"

    hand_back_gate(session, code, _by(session, brida.ana))
    # own unit, an innovator and a unit officer may not claim it
    officer = make.person(roles=[Role.UNIT_OFFICER], unit=brida.home)
    for person in (brida.citra, brida.innovator, officer, brida.operator):
        refused = _refusal(lambda p=person: claim_gate(session, code, _by(session, p)))
        assert refused.code == "access.refused", person.email
        assert "tidak berwenang mengambil" in refused.message(Language.ID)
    assert gate.assignee_id is None


def test_the_head_of_brida_claims_a_final_approval_but_a_reviewer_may_not(
    session: Session, make: Factory, brida: Brida
) -> None:
    innovation, gate = _open(make, stage=Stage.REPORTING, assignment=GateAssignment.ROLE_QUEUE)
    refused = _refusal(lambda: claim_gate(session, innovation.code, _by(session, brida.ana)))
    assert refused.code == "access.refused"
    claim_gate(session, innovation.code, _by(session, brida.head))
    assert gate.assignee_id == brida.head.id


# ---------------------------------------------------------------- reassignment


def test_an_operator_reassigns_and_the_new_assignee_is_emailed(
    session: Session, make: Factory, brida: Brida
) -> None:
    innovation, gate = _open(make)
    assert gate.assignee_id == brida.ana.id

    result = reassign_gate(
        session, innovation.code, brida.citra.email, _by(session, brida.operator, "cli"), "ahli"
    )

    assert gate.assignee_id == brida.citra.id
    [row] = session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(result.outbox_ids))
    ).all()
    assert (row.template, row.recipient_email, row.language) == (
        "gate_assigned",
        brida.citra.email,
        Language.EN,
    )
    assert row.context["kind"] == "reassigned" and row.context["reason"] == "ahli"
    record = session.scalars(
        select(GateAssignmentRecord)
        .where(GateAssignmentRecord.gate_id == gate.id)
        .order_by(GateAssignmentRecord.id.desc())
        .limit(1)
    ).one()
    assert (record.kind, record.previous_id, record.assignee_id) == (
        AssignmentKind.REASSIGNED,
        brida.ana.id,
        brida.citra.id,
    )
    assert (record.actor, record.channel, record.os_user) == (
        brida.operator.email,
        "cli",
        "operator1",
    )
    payload = result.events[0].payload
    assert (payload["previous"], payload["assignee"]) == (brida.ana.email, brida.citra.email)


@pytest.mark.parametrize(
    ("who", "to", "code"),
    [
        ("ana", "budi", "access.refused"),  # a reviewer may not reassign
        ("head", "budi", "access.refused"),
        ("operator", "innovator", "gate.assignee_ineligible"),
        ("operator", "citra", "gate.assignee_ineligible"),  # of the owning unit
        ("operator", "ana", "gate.assigned_already"),
    ],
)
def test_reassignment_refusals_have_codes(
    session: Session, make: Factory, brida: Brida, who: str, to: str, code: str
) -> None:
    innovation, gate = _open(make, brida.home)
    assert gate.assignee_id == brida.ana.id
    person, target = getattr(brida, who), getattr(brida, to)

    refused = _refusal(
        lambda: reassign_gate(session, innovation.code, target.email, _by(session, person))
    )

    assert refused.code == code
    assert refused.message(Language.ID) != refused.message(Language.EN)
    assert gate.assignee_id == brida.ana.id


def test_reassigning_to_an_unknown_address_is_refused(
    session: Session, make: Factory, brida: Brida
) -> None:
    innovation, _ = _open(make)
    refused = _refusal(
        lambda: reassign_gate(session, innovation.code, "x@y.id", _by(session, brida.operator))
    )
    assert isinstance(refused, NotFoundError) and refused.code == "person.unknown"


# ---------------------------------------------------------------- the daily queue digest


def test_the_daily_digest_lists_the_queue_to_each_eligible_reviewer_once_a_day(
    session: Session, make: Factory, brida: Brida
) -> None:
    own, _ = _open(make, brida.home, assignment=GateAssignment.ROLE_QUEUE)
    other, _ = _open(make)  # assigned to ana
    _open(make, stage=Stage.REPORTING, assignment=GateAssignment.ROLE_QUEUE)  # head's only

    ids = queue_queue_digests(session, today=TODAY)

    rows = {
        r.recipient_email: r
        for r in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
    }
    # citra may not take her own unit's gate: nothing to claim, no digest
    assert sorted(rows) == sorted([brida.ana.email, brida.budi.email, brida.head.email])
    budi = rows[brida.budi.email].context
    assert [g["innovation_code"] for g in budi["unassigned"]] == [own.code]
    assert [(g["innovation_code"], g["assignee"]) for g in budi["others"]] == [
        (other.code, brida.ana.name)
    ]
    assert [g["innovation_code"] for g in rows[brida.ana.email].context["others"]] == []
    head = rows[brida.head.email].context
    assert [g["stage"] for g in head["unassigned"]] == ["reporting"]
    assert rows[brida.budi.email].template == "queue_digest"

    assert queue_queue_digests(session, today=TODAY) == []  # once a day
    assert len(queue_queue_digests(session, today=TODAY + dt.timedelta(days=1))) == 3


def test_no_digest_when_every_gate_has_its_assignee(
    session: Session, make: Factory, brida: Brida
) -> None:
    _open(make)
    _open(make)
    assert queue_queue_digests(session, today=TODAY) == []
