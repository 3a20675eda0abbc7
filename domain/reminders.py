"""Reminder policy: when a waiting gate is reminded or escalated, and who is told.

- A gate open for ``remind_after`` is reminded once, to the people who can decide it
  (Brida operators only when nobody else can).
- A gate open for ``escalate_after`` (and at least ``remind_after``) is escalated once,
  to the head of Brida.
- After a *revise* decision, a unit that has not resubmitted within ``revision_after``
  is reminded once (about its latest round), through the unit's recipients.

- An open Klinik Kinanti follow-up past its due date (the whole due day in the region's
  time zone) is reminded once, to its owner; ``follow_up_escalate_after`` after the due
  date it is escalated once, to the head of Brida (like a gate).

A gate's (or follow-up's) ``reminded_at`` / ``escalated_at`` records that it was done.
The rules are pure functions of the times and ``now``; ``due_gates`` / ``due_revisions`` /
``due_follow_ups`` read the candidates (locking them on PostgreSQL)
and apply them. Writing emails is the caller's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from domain import lifecycle
from domain.enums import FollowUpStatus, GateStatus, Role, Stage
from domain.models import (
    Consultation,
    FollowUp,
    GateRequest,
    Innovation,
    MentoringVisit,
    Person,
    Unit,
)
from domain.queries import live_gates

_GateRows = Select[GateRequest, Innovation, Unit]

#: Who hears of an escalation.
ESCALATION_ROLES: frozenset[Role] = frozenset({Role.HEAD_OF_BRIDA})


@dataclass(frozen=True)
class ReminderPolicy:
    """How long things may wait before someone is reminded (or escalated to)."""

    remind_after: dt.timedelta
    escalate_after: dt.timedelta
    revision_after: dt.timedelta
    #: how long after its due date an open follow-up is escalated (default: escalate_after)
    follow_up_escalate_after: dt.timedelta | None = None
    #: the region's time zone: a follow-up is due until the end of its due day there
    zone: dt.tzinfo = field(default=dt.UTC)

    @property
    def follow_up_escalation(self) -> dt.timedelta:
        return self.follow_up_escalate_after or self.escalate_after

    def follow_up_days(self, now: dt.datetime) -> tuple[dt.date, dt.date]:
        """The region's date at ``now`` and ``follow_up_escalation`` before it: an open
        follow-up due before the first is reminded, before the second escalated."""
        today = now.astimezone(self.zone).date()
        return today, (now - self.follow_up_escalation).astimezone(self.zone).date()


@dataclass(frozen=True)
class GateNudges:
    """What a waiting gate is due for now."""

    remind: bool
    escalate: bool

    @classmethod
    def once(
        cls,
        due: bool,
        escalation_due: bool,
        reminded_at: dt.datetime | None,
        escalated_at: dt.datetime | None,
    ) -> GateNudges:
        """Nothing before ``due``; then a reminder and (once ``escalation_due``) an
        escalation, each unless it was sent already."""
        if not due:
            return cls(remind=False, escalate=False)
        return cls(remind=reminded_at is None, escalate=escalated_at is None and escalation_due)


def gate_nudges(
    policy: ReminderPolicy,
    now: dt.datetime,
    *,
    opened_at: dt.datetime,
    reminded_at: dt.datetime | None,
    escalated_at: dt.datetime | None,
) -> GateNudges:
    """An open gate is reminded once after ``remind_after``, escalated once after
    ``escalate_after``; nothing happens before ``remind_after``."""
    return GateNudges.once(
        opened_at <= now - policy.remind_after,
        opened_at <= now - policy.escalate_after,
        reminded_at,
        escalated_at,
    )


def revision_reminder_due(
    policy: ReminderPolicy,
    now: dt.datetime,
    *,
    decided_at: dt.datetime | None,
    reminded_at: dt.datetime | None,
) -> bool:
    """A unit asked to revise is reminded once, ``revision_after`` after the decision."""
    return (
        decided_at is not None and reminded_at is None and decided_at <= now - policy.revision_after
    )


def follow_up_nudges(
    policy: ReminderPolicy,
    now: dt.datetime,
    *,
    due_on: dt.date,
    reminded_at: dt.datetime | None,
    escalated_at: dt.datetime | None,
) -> GateNudges:
    """An open follow-up is reminded once when its due day (in the region's time zone) has
    passed, and escalated once ``follow_up_escalation`` later; nothing before."""
    today, escalate_day = policy.follow_up_days(now)
    return GateNudges.once(today > due_on, escalate_day > due_on, reminded_at, escalated_at)


def overdue_days(due_on: dt.date, now: dt.datetime, zone: dt.tzinfo) -> int:
    """Whole days a follow-up is past its due date, in the region's calendar."""
    return max((now.astimezone(zone).date() - due_on).days, 0)


def reminder_roles(stage: Stage) -> tuple[frozenset[Role], frozenset[Role]]:
    """Who is reminded of a gate at ``stage``: the first set, or the second (every role
    that may decide it) when nobody holds a role of the first."""
    deciders = lifecycle.GATE_DECIDERS.get(stage, frozenset())
    return deciders - {Role.BRIDA_OPERATOR}, deciders


def waiting_days(since: dt.datetime, now: dt.datetime) -> int:
    """Whole days between ``since`` and ``now`` (never negative)."""
    return max(int((now - since).total_seconds() // 86400), 0)


@dataclass(frozen=True)
class DueGate:
    """An open gate due for a reminder, an escalation or both."""

    gate: GateRequest
    innovation: Innovation
    unit: Unit
    nudges: GateNudges


@dataclass(frozen=True)
class DueRevision:
    """The latest revise round of an innovation whose unit is due for a reminder."""

    gate: GateRequest
    innovation: Innovation
    unit: Unit


def _with_innovation_and_unit() -> _GateRows:
    return live_gates().order_by(GateRequest.id)


def _locked(session: Session, stmt: _GateRows) -> _GateRows:
    """On PostgreSQL, lock the gates (skipping those another sweep holds)."""
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(of=GateRequest, skip_locked=True)
    return stmt


def due_gates(session: Session, policy: ReminderPolicy, now: dt.datetime) -> list[DueGate]:
    """Open gates of live innovations due for a reminder or an escalation, by gate id."""
    remind_before = now - policy.remind_after
    escalate_before = now - policy.escalate_after
    stmt = _with_innovation_and_unit().where(
        GateRequest.status == GateStatus.OPEN,
        GateRequest.opened_at <= remind_before,
        (GateRequest.reminded_at.is_(None))
        | ((GateRequest.escalated_at.is_(None)) & (GateRequest.opened_at <= escalate_before)),
    )
    due: list[DueGate] = []
    for gate, innovation, unit in session.execute(_locked(session, stmt)).tuples():
        nudges = gate_nudges(
            policy,
            now,
            opened_at=gate.opened_at,
            reminded_at=gate.reminded_at,
            escalated_at=gate.escalated_at,
        )
        if nudges.remind or nudges.escalate:
            due.append(DueGate(gate, innovation, unit, nudges))
    return due


def due_revisions(session: Session, policy: ReminderPolicy, now: dt.datetime) -> list[DueRevision]:
    """Innovations waiting for their unit to resubmit after a revise decision (the
    latest round each), in the order their first due round was found."""
    stmt = _with_innovation_and_unit().where(
        Innovation.revision_requested.is_(True),
        GateRequest.stage == Innovation.stage,
        GateRequest.status == GateStatus.REVISE,
        GateRequest.decided_at <= now - policy.revision_after,
        GateRequest.reminded_at.is_(None),
    )
    latest: dict[int, DueRevision] = {}
    for gate, innovation, unit in session.execute(_locked(session, stmt)).tuples():
        if not revision_reminder_due(
            policy, now, decided_at=gate.decided_at, reminded_at=gate.reminded_at
        ):
            continue
        if innovation.id not in latest or gate.round > latest[innovation.id].gate.round:
            latest[innovation.id] = DueRevision(gate, innovation, unit)
    return list(latest.values())


@dataclass(frozen=True)
class DueFollowUp:
    """An open follow-up past its due date, with its owner and what it belongs to."""

    follow_up: FollowUp
    owner: Person
    unit: Unit
    consultation: Consultation | None
    visit: MentoringVisit | None
    nudges: GateNudges


def due_follow_ups(session: Session, policy: ReminderPolicy, now: dt.datetime) -> list[DueFollowUp]:
    """Open follow-ups (with an owner and a due date) due for a reminder or an escalation,
    by id; locked on PostgreSQL (skipping those another sweep holds)."""
    today, escalate_day = policy.follow_up_days(now)
    stmt = (
        select(FollowUp, Person, Consultation, MentoringVisit)
        .join(Person, Person.id == FollowUp.owner_id)
        .outerjoin(Consultation, Consultation.id == FollowUp.consultation_id)
        .outerjoin(MentoringVisit, MentoringVisit.id == FollowUp.visit_id)
        .where(
            FollowUp.status == FollowUpStatus.OPEN,
            FollowUp.due_on.is_not(None),
            FollowUp.due_on < today,
            (FollowUp.reminded_at.is_(None))
            | ((FollowUp.escalated_at.is_(None)) & (FollowUp.due_on < escalate_day)),
        )
        .order_by(FollowUp.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=FollowUp, skip_locked=True)
    due: list[DueFollowUp] = []
    for follow_up, owner, consultation, visit in session.execute(stmt).tuples():
        assert follow_up.due_on is not None
        nudges = follow_up_nudges(
            policy,
            now,
            due_on=follow_up.due_on,
            reminded_at=follow_up.reminded_at,
            escalated_at=follow_up.escalated_at,
        )
        if not (nudges.remind or nudges.escalate):
            continue
        unit_id = consultation.unit_id if consultation is not None else visit.unit_id
        due.append(
            DueFollowUp(
                follow_up, owner, session.get_one(Unit, unit_id), consultation, visit, nudges
            )
        )
    return due
