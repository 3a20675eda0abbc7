"""The append-only security log (``audit_log``): sign-ins, failures, refusals, decisions,
gate assignments, and every write command of the CLI (with the OS user who ran it).

Rows are only ever added: the ORM refuses to update or delete one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from domain.models import AuditRecord
from kinanti.db import unit_of_work

SIGNED_IN = "signed_in"
SIGN_IN_FAILED = "sign_in_failed"
SIGN_IN_THROTTLED = "sign_in_throttled"
SIGNED_OUT = "signed_out"
LINK_SENT = "link_sent"
PASSWORD_SET = "password_set"
LINK_REFUSED = "link_refused"
ACCESS_REFUSED = "access_refused"
CSRF_REFUSED = "csrf_refused"
DECISION = "decision"
DECISION_REFUSED = "decision_refused"
EVIDENCE_CLAIMED = "evidence_claimed"
EVIDENCE_VERIFIED = "evidence_verified"
REGISTRY_CHANGED = "registry_changed"
PUBLIC_REQUEST = "public_request"  # the public form accepted a request
PUBLIC_REFUSED = "public_refused"  # ... refused one (invalid, honeypot filled)
PUBLIC_THROTTLED = "public_throttled"  # ... refused a client over its limit
PUBLIC_TRIAGED = "public_triaged"
GATE_ASSIGNMENT = "gate_assignment"
GATE_ASSIGNMENT_REFUSED = "gate_assignment_refused"
CLI_WRITE = "cli_write"


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete an audit row."""


def _refuse(*_: Any) -> None:
    raise AppendOnlyError("the audit log is append-only; rows cannot change or be deleted")


event.listen(AuditRecord, "before_update", _refuse)
event.listen(AuditRecord, "before_delete", _refuse)


def add(
    session: Session,
    name: str,
    *,
    actor: str | None,
    client: str | None,
    target: str | None = None,
    **detail: Any,
) -> None:
    """Append one audit row in the caller's transaction."""
    session.add(
        AuditRecord(
            event=name,
            actor=actor,
            client=client,
            target=target[:300] if target else None,
            detail={k: v for k, v in detail.items() if v is not None},
        )
    )


def record(
    engine: Engine,
    name: str,
    *,
    actor: str | None,
    client: str | None,
    target: str | None = None,
    **detail: Any,
) -> None:
    """Append one audit row in its own transaction (kept even when the request fails)."""
    with unit_of_work(engine) as session:
        add(session, name, actor=actor, client=client, target=target, **detail)


def recent(session: Session, events: Collection[str], *, client: str, since: dt.datetime) -> int:
    """How many of ``events`` ``client`` caused since ``since`` (throttling; the log is the
    same for every portal replica)."""
    return (
        session.scalar(
            select(func.count(AuditRecord.id)).where(
                AuditRecord.event.in_(list(events)),
                AuditRecord.client == client,
                AuditRecord.occurred_at >= since,
            )
        )
        or 0
    )
