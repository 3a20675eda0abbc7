"""The append-only security log (``audit_log``): sign-ins, failures, refusals, decisions.

Rows are only ever added: the ORM refuses to update or delete one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
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
INTEREST_REGISTERED = "interest_registered"
REGISTRY_CHANGED = "registry_changed"


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
