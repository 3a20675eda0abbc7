"""Gate assignment: each open gate has at most one assignee, who answers for it.

- When a gate opens (``KINANTI_GATE_ASSIGNMENT=least-loaded``, the default), Kinanti assigns
  it to one eligible person and emails only them: the previous round's assignee if still
  eligible (a resubmission goes back to who asked for the revision), else the one with the
  fewest open gates (ties: by email). With ``role-queue`` no one is assigned.
- Eligible: active, holding a role of ``lifecycle.GATE_ASSIGNEES`` for the gate's stage
  (reviewers; the head of Brida for the final approval) and not of the owning unit (nor of
  its parent OPD), as the gate rules require of whoever decides.
- Everyone else of the role sees the gate in the role's queue (the portal's inbox) and in a
  daily digest of the queue (``notifications.reminders.queue_queue_digests``).
- A reviewer may claim an unassigned gate or hand back their own; a Brida operator may
  reassign any open gate to any eligible person. Each change is checked by
  ``domain.access``, recorded in ``gate_assignments`` (who, channel, OS user), announced as
  the event ``kinanti.innovation.gate-assigned`` and emailed to the new assignee.

Changes never commit (the caller's one transaction); the caller writes the audit row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from domain import lifecycle
from domain.access import Action, Actor, gate_scope, require
from domain.changes import SYSTEM_ACTOR, ChangeResult, context_of, emails
from domain.enums import AssignmentKind, GateStatus, Language, Role, Stage
from domain.errors import ConflictError, NotAuthorizedError
from domain.models import (
    GateAssignmentRecord,
    GateRequest,
    Innovation,
    Person,
    PersonRole,
    Unit,
)
from domain.outbox import Recipient
from domain.queries import get_innovation, get_person, live_gates, open_gate_of


@dataclass(frozen=True)
class By:
    """Who changes an assignment, and through which channel (the CLI adds its OS user)."""

    actor: Actor
    channel: str = "portal"
    os_user: str | None = None


def owner_unit_ids(unit: Unit) -> frozenset[int]:
    """The unit and, for a UPTD, its parent OPD (whose people may not decide its gates)."""
    return frozenset({unit.id} | ({unit.parent_id} if unit.parent_id else set()))


def eligible_people(session: Session, stage: Stage, owner_ids: Iterable[int]) -> list[Person]:
    """Active people who may be the assignee of a gate at ``stage`` (by email)."""
    roles = lifecycle.GATE_ASSIGNEES.get(stage, frozenset())
    if not roles:
        return []
    return list(
        session.scalars(
            select(Person)
            .join(PersonRole, PersonRole.person_id == Person.id)
            .where(
                Person.active.is_(True),
                PersonRole.role.in_(list(roles)),
                or_(Person.unit_id.is_(None), Person.unit_id.not_in(list(owner_ids))),
            )
            .order_by(Person.email)
        ).unique()
    )


def open_loads(session: Session, person_ids: Iterable[int]) -> dict[int, int]:
    """How many open gates of live innovations each person is assigned."""
    ids = list(person_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(GateRequest.assignee_id, func.count(GateRequest.id))
        .join(Innovation, Innovation.id == GateRequest.innovation_id)
        .where(
            GateRequest.status == GateStatus.OPEN,
            GateRequest.stage == Innovation.stage,
            Innovation.outcome.is_(None),
            GateRequest.assignee_id.in_(ids),
        )
        .group_by(GateRequest.assignee_id)
    ).tuples()
    loads = dict.fromkeys(ids, 0)
    loads.update({pid: n for pid, n in rows if pid is not None})
    return loads


def choose_assignee(session: Session, gate: GateRequest, innovation: Innovation) -> Person | None:
    """The previous round's assignee if still eligible, else the least-loaded eligible
    person (ties by email); ``None`` when nobody is eligible."""
    unit = session.get_one(Unit, innovation.unit_id)
    candidates = eligible_people(session, gate.stage, owner_unit_ids(unit))
    if not candidates:
        return None
    if gate.round > 1:
        previous = session.scalar(
            select(GateRequest.assignee_id).where(
                GateRequest.innovation_id == gate.innovation_id,
                GateRequest.stage == gate.stage,
                GateRequest.round == gate.round - 1,
            )
        )
        for person in candidates:
            if person.id == previous:
                return person
    loads = open_loads(session, [p.id for p in candidates])
    return min(candidates, key=lambda p: (loads[p.id], p.email))


def assign_opened_gate(
    session: Session, gate: GateRequest, innovation: Innovation
) -> Person | None:
    """Assign a gate that has just opened (recorded as Kinanti's own assignment)."""
    person = choose_assignee(session, gate, innovation)
    if person is None:
        return None
    gate.assignee_id = person.id
    session.add(
        GateAssignmentRecord(
            gate_id=gate.id,
            kind=AssignmentKind.ASSIGNED,
            assignee_id=person.id,
            actor=SYSTEM_ACTOR,
            channel="system",
        )
    )
    return person


# ---------------------------------------------------------------- changes by people


def _nobody() -> dict[Language, str]:
    return {Language.ID: "tidak ada", Language.EN: "nobody"}


def _name(person: Person | None) -> str | dict[Language, str]:
    return f"{person.name} <{person.email}>" if person is not None else _nobody()


def _open_gate(session: Session, code: str) -> tuple[Innovation, GateRequest]:
    innovation = get_innovation(session, code)
    gate = open_gate_of(session, innovation)
    return innovation, gate


def _facts(innovation: Innovation, gate: GateRequest) -> dict[str, str]:
    return {"innovation": innovation.code, "stage": gate.stage.value}


def claim_gate(session: Session, code: str, by: By) -> ChangeResult:
    """``by`` takes the unassigned open gate of ``code`` (a no-op if it is theirs already)."""
    innovation, gate = _open_gate(session, code)
    require(by.actor, Action.CLAIM_GATE, gate_scope(session, innovation, gate), innovation.code)
    if gate.assignee_id == by.actor.person_id:
        return ChangeResult()
    if gate.assignee_id is not None:
        holder = session.get(Person, gate.assignee_id)
        raise ConflictError(
            code="gate.claim_taken", assignee=_name(holder), **_facts(innovation, gate)
        )
    me = session.get_one(Person, by.actor.person_id)
    return _change(session, innovation, gate, AssignmentKind.CLAIMED, me, by)


def hand_back_gate(session: Session, code: str, by: By, reason: str | None = None) -> ChangeResult:
    """The assignee gives their open gate of ``code`` back to the role's queue."""
    innovation, gate = _open_gate(session, code)
    require(by.actor, Action.CLAIM_GATE, gate_scope(session, innovation, gate), innovation.code)
    if gate.assignee_id != by.actor.person_id:
        holder = session.get(Person, gate.assignee_id) if gate.assignee_id else None
        raise NotAuthorizedError(
            code="gate.not_assignee", assignee=_name(holder), **_facts(innovation, gate)
        )
    return _change(session, innovation, gate, AssignmentKind.HANDED_BACK, None, by, reason)


def reassign_gate(
    session: Session, code: str, to_email: str, by: By, reason: str | None = None
) -> ChangeResult:
    """A Brida operator assigns the open gate of ``code`` to ``to_email`` (eligible)."""
    innovation, gate = _open_gate(session, code)
    require(by.actor, Action.ASSIGN_GATE, gate_scope(session, innovation, gate), innovation.code)
    target = get_person(session, to_email)
    unit = session.get_one(Unit, innovation.unit_id)
    if target not in eligible_people(session, gate.stage, owner_unit_ids(unit)):
        roles = ", ".join(sorted(r.value for r in lifecycle.GATE_ASSIGNEES[gate.stage]))
        raise NotAuthorizedError(
            code="gate.assignee_ineligible",
            email=target.email,
            roles=roles,
            **_facts(innovation, gate),
        )
    if gate.assignee_id == target.id:
        raise ConflictError(
            code="gate.assigned_already", assignee=_name(target), **_facts(innovation, gate)
        )
    return _change(session, innovation, gate, AssignmentKind.REASSIGNED, target, by, reason)


def _change(
    session: Session,
    innovation: Innovation,
    gate: GateRequest,
    kind: AssignmentKind,
    new: Person | None,
    by: By,
    reason: str | None = None,
) -> ChangeResult:
    """Set the assignee, record it (history and event), email the new assignee (unless
    they made the change themselves)."""
    previous = session.get(Person, gate.assignee_id) if gate.assignee_id else None
    gate.assignee_id = new.id if new is not None else None
    record = GateAssignmentRecord(
        gate_id=gate.id,
        kind=kind,
        assignee_id=gate.assignee_id,
        previous_id=previous.id if previous is not None else None,
        actor=by.actor.email,
        channel=by.channel[:16],
        os_user=by.os_user[:64] if by.os_user else None,
        reason=(reason or "").strip() or None,
    )
    session.add(record)
    session.flush()
    result = ChangeResult()
    result.event(
        session,
        "kinanti.innovation.gate-assigned",
        innovation,
        {
            "gate_id": gate.id,
            "stage": gate.stage.value,
            "round": gate.round,
            "kind": kind.value,
            "assignee": new.email if new is not None else None,
            "previous": previous.email if previous is not None else None,
            "by": by.actor.email,
        },
        gate.flow_run_id,
    )
    if new is not None and new.id != by.actor.person_id:
        emails(
            session,
            result,
            event_key=f"gate-assigned:{gate.id}:{record.id}",
            template="gate_assigned",
            recipients=[Recipient(new.email, new.name, new.language)],
            context=context_of(
                session,
                innovation,
                gate_id=gate.id,
                round=gate.round,
                flow_run_id=gate.flow_run_id,
                due_date=gate.due_at.date().isoformat() if gate.due_at else None,
                kind=kind.value,
                assigned_by=by.actor.name or by.actor.email,
                reason=record.reason,
            ),
            innovation=innovation,
        )
    return result


# ---------------------------------------------------------------- the role's queue


@dataclass(frozen=True)
class QueuedGate:
    """An open gate of a live innovation, with its unit and assignee (if any)."""

    gate: GateRequest
    innovation: Innovation
    unit: Unit
    assignee: Person | None


def open_gates(session: Session) -> list[QueuedGate]:
    """Every open gate of a live innovation, oldest first."""
    rows = session.execute(
        live_gates()
        .where(GateRequest.status == GateStatus.OPEN, GateRequest.stage == Innovation.stage)
        .order_by(GateRequest.opened_at, GateRequest.id)
    ).tuples()
    found = list(rows)
    assignee_ids = {g.assignee_id for g, _, _ in found if g.assignee_id}
    people = (
        {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(assignee_ids)))}
        if assignee_ids
        else {}
    )
    return [
        QueuedGate(g, i, u, people.get(g.assignee_id) if g.assignee_id else None)
        for g, i, u in found
    ]


@dataclass(frozen=True)
class Queue:
    """What one person sees in the role's queue: gates they may take that are not theirs
    (``unassigned``: free to claim; ``others``: assigned to someone else)."""

    person: Person
    unassigned: list[QueuedGate]
    others: list[QueuedGate]


def queues(session: Session) -> list[Queue]:
    """Per eligible person (by email), the queue, for everyone with a gate to claim."""
    gates = open_gates(session)
    wanted: set[Role] = set()
    for g in gates:
        wanted |= lifecycle.GATE_ASSIGNEES.get(g.gate.stage, frozenset())
    if not wanted:
        return []
    roles_of: dict[int, set[Role]] = {}
    people: dict[int, Person] = {}
    for person, role in session.execute(
        select(Person, PersonRole.role)
        .join(PersonRole, PersonRole.person_id == Person.id)
        .where(Person.active.is_(True), PersonRole.role.in_(list(wanted)))
        .order_by(Person.email)
    ).tuples():
        people[person.id] = person
        roles_of.setdefault(person.id, set()).add(role)
    found: list[Queue] = []
    for pid, person in people.items():
        mine = [
            g
            for g in gates
            if roles_of[pid] & lifecycle.GATE_ASSIGNEES.get(g.gate.stage, frozenset())
            and person.unit_id not in owner_unit_ids(g.unit)
            and g.gate.assignee_id != pid
        ]
        unassigned = [g for g in mine if g.gate.assignee_id is None]
        if unassigned:
            others = [g for g in mine if g.gate.assignee_id is not None]
            found.append(Queue(person, unassigned, others))
    return found
