"""Reminder policy: when a waiting gate is reminded or escalated, and who is told.

- A gate open for ``remind_after`` is reminded once, to the people who can decide it
  (Brida operators only when nobody else can).
- A gate open for ``escalate_after`` (and at least ``remind_after``) is escalated once,
  to the head of Brida.
- After a *revise* decision, a unit that has not resubmitted within ``revision_after``
  is reminded once (about its latest round), through the unit's recipients.

A gate's ``reminded_at`` / ``escalated_at`` records that it was done. The rules are pure
functions of the gate's times and ``now``; ``due_gates`` / ``due_revisions`` read the
candidates (locking them on PostgreSQL) and apply them. Writing emails is the caller's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from domain import lifecycle
from domain.enums import GateStatus, Role, Stage
from domain.models import GateRequest, Innovation, Unit

_GateRows = Select[GateRequest, Innovation, Unit]

#: Who hears of an escalation.
ESCALATION_ROLES: frozenset[Role] = frozenset({Role.HEAD_OF_BRIDA})


@dataclass(frozen=True)
class ReminderPolicy:
    """How long things may wait before someone is reminded (or escalated to)."""

    remind_after: dt.timedelta
    escalate_after: dt.timedelta
    revision_after: dt.timedelta


@dataclass(frozen=True)
class GateNudges:
    """What a waiting gate is due for now."""

    remind: bool
    escalate: bool


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
    if opened_at > now - policy.remind_after:
        return GateNudges(remind=False, escalate=False)
    return GateNudges(
        remind=reminded_at is None,
        escalate=escalated_at is None and opened_at <= now - policy.escalate_after,
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
    return (
        select(GateRequest, Innovation, Unit)
        .join(Innovation, Innovation.id == GateRequest.innovation_id)
        .join(Unit, Unit.id == Innovation.unit_id)
        .where(Innovation.outcome.is_(None))
        .order_by(GateRequest.id)
    )


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
