"""Portal accounts: sign-in with throttling, one-time links for a first sign-in or a reset.

Messages never tell whether an address is registered: an unknown address, an inactive
person and a wrong password all get the same answer, and link requests always "succeed".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from domain.enums import Role
from domain.models import (
    OutboxMessage,
    Person,
    PersonRole,
    PortalAccount,
    PortalLinkToken,
    SignInFailure,
    utcnow,
)
from domain.outbox import Recipient, enqueue
from kinanti import audit
from kinanti.portal.security import hash_password, new_link_token, token_digest, verify_password
from kinanti.settings import Settings

LINK_TEMPLATE = "portal_link"
REDACTED = "(sudah terkirim / sent)"


class SignInResult(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class SignIn:
    result: SignInResult
    person: Person | None = None
    epoch: int = 0


def _keys(email: str, client: str) -> tuple[str, str]:
    return f"address:{email}"[:300], f"client:{client}"[:300]


def throttled(session: Session, settings: Settings, email: str, client: str) -> bool:
    """Whether this address or this client failed too often in the window."""
    since = utcnow() - dt.timedelta(minutes=settings.signin_window_minutes)
    address_key, client_key = _keys(email, client)
    counts = dict(
        session.execute(
            select(SignInFailure.key, func.count(SignInFailure.id))
            .where(
                SignInFailure.key.in_([address_key, client_key]), SignInFailure.occurred_at >= since
            )
            .group_by(SignInFailure.key)
        ).all()
    )
    return (
        counts.get(address_key, 0) >= settings.signin_max_per_address
        or counts.get(client_key, 0) >= settings.signin_max_per_client
    )


def sign_in(session: Session, settings: Settings, email: str, password: str, client: str) -> SignIn:
    """Check the password (argon2) unless throttled; records failures and the audit row."""
    email = email.strip().lower()
    if throttled(session, settings, email, client):
        audit.add(session, audit.SIGN_IN_THROTTLED, actor=email, client=client)
        return SignIn(SignInResult.THROTTLED)
    row = session.execute(
        select(Person, PortalAccount)
        .outerjoin(PortalAccount, PortalAccount.person_id == Person.id)
        .where(Person.email == email)
    ).first()
    person, account = (row[0], row[1]) if row else (None, None)
    stored = account.password_hash if account is not None else None
    ok = verify_password(stored, password) and person is not None and person.active
    if not ok or person is None or account is None:
        for key in _keys(email, client):
            session.add(SignInFailure(key=key))
        audit.add(session, audit.SIGN_IN_FAILED, actor=email, client=client)
        return SignIn(SignInResult.WRONG)
    account.last_sign_in_at = utcnow()
    audit.add(session, audit.SIGNED_IN, actor=email, client=client)
    return SignIn(SignInResult.OK, person, account.session_epoch)


def request_link(
    session: Session,
    settings: Settings,
    email: str,
    *,
    client: str,
    purpose: str = "reset",
    actor: str | None = None,
) -> list[int]:
    """Email a one-time link to set a password, if ``email`` is an active registered person.

    Returns the outbox ids written (none for an unknown address; the caller answers the
    same either way). Only the token's SHA-256 is stored.
    """
    scrub_sent_links(session)
    email = email.strip().lower()
    person = session.scalar(select(Person).where(Person.email == email, Person.active.is_(True)))
    if person is None:
        audit.add(session, audit.LINK_REFUSED, actor=actor or email, client=client, why="unknown")
        return []
    account = _account_of(session, person)
    if purpose != "first" and account.password_hash is None:
        purpose = "first"
    token, digest = new_link_token()
    now = utcnow()
    session.add(
        PortalLinkToken(
            person_id=person.id,
            token_hash=digest,
            purpose=purpose,
            created_at=now,
            expires_at=now + dt.timedelta(hours=settings.link_valid_hours),
        )
    )
    rows = enqueue(
        session,
        event_key=f"portal-link:{digest}",
        template=LINK_TEMPLATE,
        recipients=[Recipient(person.email, person.name, person.language)],
        context={
            "link_url": f"{settings.resolved_portal_url}/set-password/{token}",
            "purpose": purpose,
            "valid_hours": round(settings.link_valid_hours),
        },
    )
    session.flush()
    audit.add(session, audit.LINK_SENT, actor=actor or email, client=client, target=email)
    return [r.id for r in rows]


def scrub_sent_links(session: Session) -> None:
    """Remove the link from delivered link emails: the token then exists nowhere."""
    for message in session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.template == LINK_TEMPLATE,
            OutboxMessage.sent_at.is_not(None),
        )
    ):
        if message.context.get("link_url") != REDACTED:
            message.context = {**message.context, "link_url": REDACTED}


def _account_of(session: Session, person: Person) -> PortalAccount:
    """The person's portal account, added (with no password yet) if they have none."""
    account = session.scalar(select(PortalAccount).where(PortalAccount.person_id == person.id))
    if account is None:
        account = PortalAccount(person_id=person.id, session_epoch=1)
        session.add(account)
    return account


def valid_link(session: Session, token: str) -> PortalLinkToken | None:
    """The unused, unexpired link for ``token`` (``None`` otherwise)."""
    link = session.scalar(
        select(PortalLinkToken).where(PortalLinkToken.token_hash == token_digest(token))
    )
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    return link


def use_link(
    session: Session, token: str, password: str, *, client: str
) -> tuple[Person, int] | None:
    """Set the password through a one-time link; the link is used up, other sessions end.

    Returns the person and their new session epoch, or ``None`` if the link is invalid,
    used or expired. Marking it used is a guarded UPDATE, so two concurrent uses cannot
    both succeed.
    """
    link = valid_link(session, token)
    if link is None:
        audit.add(session, audit.LINK_REFUSED, actor=None, client=client, why="invalid")
        return None
    now = utcnow()
    result = session.execute(
        update(PortalLinkToken)
        .where(PortalLinkToken.id == link.id, PortalLinkToken.used_at.is_(None))
        .values(used_at=now)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        return None
    person = session.get_one(Person, link.person_id)
    account = _account_of(session, person)
    account.password_hash = hash_password(password)
    account.password_set_at = now
    account.session_epoch = (account.session_epoch or 1) + 1
    account.last_sign_in_at = now
    session.flush()
    scrub_sent_links(session)
    audit.add(session, audit.PASSWORD_SET, actor=person.email, client=client, purpose=link.purpose)
    return person, account.session_epoch


def session_person(session: Session, person_id: int, epoch: int) -> Person | None:
    """The active person of a session whose epoch is still current."""
    row = session.execute(
        select(Person)
        .join(PortalAccount, PortalAccount.person_id == Person.id)
        .where(
            Person.id == person_id,
            Person.active.is_(True),
            PortalAccount.session_epoch == epoch,
        )
    ).first()
    return row[0] if row else None


def set_demo_password(session: Session, email: str, password: str) -> None:
    """Give a registered person a password directly (the demo city; operators' tooling)."""
    person = session.scalars(select(Person).where(Person.email == email.lower())).one()
    account = _account_of(session, person)
    account.password_hash = hash_password(password)
    account.password_set_at = utcnow()


def people_with_role(session: Session, role: Role) -> list[str]:
    return list(
        session.scalars(
            select(Person.email)
            .join(PersonRole)
            .where(PersonRole.role == role)
            .order_by(Person.email)
        )
    )


def give_demo_passwords(session: Session) -> list[tuple[str, str, str]]:
    """One active person of each role gets a fresh random password (demo cities only):
    ``(role, email, password)`` rows. Passwords are generated here, never fixed in code."""
    import secrets

    from domain.models import Person, PersonRole

    rows: list[tuple[str, str, str]] = []
    for role in Role:
        email = session.scalar(
            select(Person.email)
            .join(PersonRole)
            .where(PersonRole.role == role, Person.active.is_(True))
            .order_by(Person.email)
            .limit(1)
        )
        if email and email not in {r[1] for r in rows}:
            password = secrets.token_urlsafe(12)
            set_demo_password(session, email, password)
            rows.append((role.value, email, password))
    return rows
