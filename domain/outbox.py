"""Outbox: emails recorded in the transaction that causes them, delivered after commit.

Recipients come from the registry: the owning unit's head and innovation officer (and the
parent OPD's for a UPTD), Brida reviewers and the head of Brida. Inactive people are
skipped. Nothing here renders or sends; ``notifications`` does that.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.enums import Language, Role
from domain.models import OutboxMessage, Person, PersonRole, Unit


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str | None
    language: Language


def message_key(event_key: str, recipient: str, template: str) -> str:
    """Idempotency key of one email: the event, the recipient and the template."""
    raw = f"{event_key}|{recipient.lower()}|{template}"
    if len(raw) <= 250:
        return raw
    return raw[:180] + "|" + hashlib.sha256(raw.encode()).hexdigest()[:64]


def enqueue(
    session: Session,
    *,
    event_key: str,
    template: str,
    recipients: list[Recipient],
    context: dict[str, Any],
    innovation_id: int | None = None,
) -> list[OutboxMessage]:
    """Add one outbox row per recipient unless its key exists already (idempotent)."""
    wanted = {message_key(event_key, r.email, template): r for r in _dedupe(recipients)}
    if not wanted:
        return []
    existing = set(
        session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_(list(wanted))))
    )
    rows = [
        OutboxMessage(
            key=key,
            template=template,
            language=r.language,
            recipient_email=r.email,
            recipient_name=r.name,
            context={**context, "recipient_name": r.name or r.email},
            innovation_id=innovation_id,
        )
        for key, r in wanted.items()
        if key not in existing
    ]
    session.add_all(rows)
    return rows


def _dedupe(recipients: list[Recipient]) -> list[Recipient]:
    seen: dict[str, Recipient] = {}
    for r in recipients:
        seen.setdefault(r.email.lower(), r)
    return list(seen.values())


def unit_recipients(session: Session, unit: Unit) -> list[Recipient]:
    """Head and innovation officer of the unit, and of its parent OPD for a UPTD."""
    units = [unit]
    if unit.parent_id is not None:
        parent = session.get(Unit, unit.parent_id)
        if parent is not None:
            units.append(parent)
    found: list[Recipient] = []
    for u in units:
        if not u.active:
            continue
        for name, email in ((u.officer_name, u.officer_email), (u.head_name, u.head_email)):
            if email:
                found.append(Recipient(email, name, u.language))
    unit_ids = [u.id for u in units]
    people = session.scalars(
        select(Person)
        .join(PersonRole)
        .where(
            Person.unit_id.in_(unit_ids),
            Person.active.is_(True),
            PersonRole.role.in_([Role.UNIT_OFFICER, Role.UNIT_HEAD]),
        )
    ).unique()
    found.extend(Recipient(p.email, p.name, p.language) for p in people)
    return _dedupe(found)


def people_with_roles(session: Session, roles: frozenset[Role] | set[Role]) -> list[Recipient]:
    """Active people holding any of ``roles``."""
    people = session.scalars(
        select(Person)
        .join(PersonRole)
        .where(Person.active.is_(True), PersonRole.role.in_(list(roles)))
        .order_by(Person.email)
    ).unique()
    return [Recipient(p.email, p.name, p.language) for p in people]
