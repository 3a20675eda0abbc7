"""Reminder, escalation and digest emails for what ``domain.reminders`` finds due, and the
daily digest of the role's queue of gates (``queue_queue_digests``).

``queue_reminders`` runs in the caller's transaction and writes outbox rows only; the
dispatcher delivers them. Each reminder is sent once: the gate's ``reminded_at`` /
``escalated_at`` is set in the same transaction, and every row has an idempotent key.
When one recipient has several items in one run, they get ONE ``digest`` email.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from sqlalchemy.orm import Session

from domain import reminders
from domain.assignment import QueuedGate, queues
from domain.changes import innovation_context
from domain.klinik import FOLLOW_UP_TEMPLATE, follow_up_context
from domain.models import FollowUp, GateRequest, Person, utcnow
from domain.outbox import Recipient, enqueue, people_with_roles, unit_recipients


@dataclass
class ReminderSummary:
    """What one run queued."""

    reminders: int = 0
    escalations: int = 0
    revision_reminders: int = 0
    follow_up_reminders: int = 0
    follow_up_escalations: int = 0
    digests: int = 0
    outbox_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The counts, and the emails written in place of their outbox ids."""
        counts = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "outbox_ids"}
        return {**counts, "emails": len(self.outbox_ids)}


@dataclass(frozen=True)
class _Item:
    event_key: str
    template: str
    context: dict[str, Any]
    innovation_id: int | None


def _reviewers(session: Session, gate: GateRequest) -> list[Recipient]:
    """Who is reminded of a waiting gate: its assignee, or else everyone of the role."""
    assignee = session.get(Person, gate.assignee_id) if gate.assignee_id else None
    if assignee is not None and assignee.active:
        return [Recipient(assignee.email, assignee.name, assignee.language)]
    preferred, everyone = reminders.reminder_roles(gate.stage)
    return people_with_roles(session, preferred) or people_with_roles(session, everyone)


def queue_reminders(
    session: Session, policy: reminders.ReminderPolicy, *, now: dt.datetime | None = None
) -> ReminderSummary:
    """Queue reminders, escalations, revision reminders and overdue Klinik Kinanti
    follow-ups' reminders and escalations that are due (idempotent)."""
    now = now or utcnow()
    summary = ReminderSummary()
    recipients_of: dict[str, Recipient] = {}
    items_of: dict[str, list[_Item]] = defaultdict(list)

    def add(recipients: Iterable[Recipient], item: _Item) -> None:
        for recipient in recipients:
            email = recipient.email.lower()
            recipients_of.setdefault(email, recipient)
            if all(i.event_key != item.event_key for i in items_of[email]):
                items_of[email].append(item)

    for due in reminders.due_gates(session, policy, now):
        gate, innovation = due.gate, due.innovation
        base = innovation_context(
            innovation,
            due.unit,
            stage=gate.stage.value,
            gate_id=gate.id,
            flow_run_id=gate.flow_run_id,
            due_date=gate.due_at.date().isoformat() if gate.due_at else None,
            waiting_days=reminders.waiting_days(gate.opened_at, now),
        )
        reviewers = _reviewers(session, gate)
        if due.nudges.remind:
            add(
                reviewers,
                _Item(
                    f"gate-reminder:{gate.id}",
                    "reminder",
                    {**base, "kind": "gate_waiting"},
                    innovation.id,
                ),
            )
            gate.reminded_at = now
            summary.reminders += 1
        if due.nudges.escalate:
            add(
                people_with_roles(session, reminders.ESCALATION_ROLES),
                _Item(
                    f"gate-escalation:{gate.id}",
                    "escalation",
                    {
                        **base,
                        "opened_on": gate.opened_at.date().isoformat(),
                        "reviewers": [r.name or r.email for r in reviewers],
                    },
                    innovation.id,
                ),
            )
            gate.escalated_at = now
            summary.escalations += 1

    for revision in reminders.due_revisions(session, policy, now):
        gate, innovation = revision.gate, revision.innovation
        assert gate.decided_at is not None
        context = innovation_context(
            innovation,
            revision.unit,
            kind="revision",
            gate_id=gate.id,
            flow_run_id=gate.flow_run_id,
            waiting_days=reminders.waiting_days(gate.decided_at, now),
            reason=gate.reason,
        )
        add(
            unit_recipients(session, revision.unit),
            _Item(f"revision-reminder:{gate.id}", "reminder", context, innovation.id),
        )
        gate.reminded_at = now
        summary.revision_reminders += 1

    for due_follow_up in reminders.due_follow_ups(session, policy, now):
        follow_up, owner = due_follow_up.follow_up, due_follow_up.owner
        assert follow_up.due_on is not None
        overdue = reminders.overdue_days(follow_up.due_on, now, policy.zone)
        if due_follow_up.nudges.remind:
            to_owner = [Recipient(owner.email, owner.name, owner.language)]
            add(to_owner, _follow_up_item(session, follow_up, owner, "reminder", overdue))
            follow_up.reminded_at = now
            summary.follow_up_reminders += 1
        if due_follow_up.nudges.escalate:
            to_heads = people_with_roles(session, reminders.ESCALATION_ROLES)
            add(to_heads, _follow_up_item(session, follow_up, owner, "escalation", overdue))
            follow_up.escalated_at = now
            summary.follow_up_escalations += 1

    for email, items in items_of.items():
        recipient = recipients_of[email]
        if len(items) == 1:
            item = items[0]
            rows = enqueue(
                session,
                event_key=item.event_key,
                template=item.template,
                recipients=[recipient],
                context=item.context,
                innovation_id=item.innovation_id,
            )
        else:
            name = recipient.name or recipient.email
            keys = "|".join(sorted(i.event_key for i in items))
            rows = enqueue(
                session,
                event_key=f"digest:{hashlib.sha256(keys.encode()).hexdigest()[:24]}",
                template="digest",
                recipients=[recipient],
                context={
                    "items": [
                        {"template": i.template, "context": {**i.context, "recipient_name": name}}
                        for i in items
                    ]
                },
            )
            summary.digests += len(rows)
        session.flush()
        summary.outbox_ids.extend(r.id for r in rows)
    return summary


def _follow_up_item(
    session: Session,
    follow_up: FollowUp,
    owner: Person,
    kind: Literal["reminder", "escalation"],
    overdue_days: int,
) -> _Item:
    """The ``kind`` email of an overdue Klinik Kinanti follow-up (once each: its key)."""
    return _Item(
        f"follow-up-{kind}:{follow_up.id}",
        FOLLOW_UP_TEMPLATE,
        follow_up_context(session, follow_up, owner, kind=kind, overdue_days=overdue_days),
        None,
    )


def queue_queue_digests(session: Session, *, today: dt.date) -> list[int]:
    """Queue today's digest of the role's queue for every eligible reviewer who has an
    unassigned gate to claim (``domain.assignment.queues``): the unassigned gates and
    those assigned to others, oldest first. Once per person and day (idempotent key);
    returns the outbox ids written."""
    ids: list[int] = []
    for queue in queues(session):
        person = queue.person
        rows = enqueue(
            session,
            event_key=f"queue-digest:{today.isoformat()}",
            template="queue_digest",
            recipients=[Recipient(person.email, person.name, person.language)],
            context={
                "unassigned": [_queued(g) for g in queue.unassigned],
                "others": [_queued(g) for g in queue.others],
            },
        )
        session.flush()
        ids.extend(r.id for r in rows)
    return ids


def _queued(item: QueuedGate) -> dict[str, Any]:
    gate = item.gate
    return {
        "innovation_code": item.innovation.code,
        "innovation_title": item.innovation.title,
        "unit_name": item.unit.name,
        "stage": gate.stage.value,
        "round": gate.round,
        "opened_on": gate.opened_at.date().isoformat(),
        "due_date": gate.due_at.date().isoformat() if gate.due_at else None,
        "assignee": item.assignee.name if item.assignee else None,
    }
