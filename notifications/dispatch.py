"""Deliver pending outbox rows: claim a batch, render, send over one connection, record.

- **Claim** in one short transaction: rows that are due (``pending`` and
  ``next_attempt_at <= now``) or whose lease expired (``sending`` and
  ``claimed_until < now``: a dispatcher died mid-batch) are set to ``sending`` with a
  lease ``claimed_until``. PostgreSQL picks them with ``FOR UPDATE SKIP LOCKED`` so
  several dispatchers share the work; SQLite serialises writers, and the claiming UPDATE
  re-checks the status, so two dispatchers never claim the same row.
- The lease value is also the claim's **fencing token**: a row is marked sent (or
  retried / failed) only ``WHERE status = 'sending' AND claimed_until = <token>``. A
  dispatcher renews its lease before it runs out, and never sends a row whose lease it
  no longer holds; a row marked sent is never claimed again.
- **Record** each row in its own short transaction right after its send: sent (with
  ``sent_at``, ``message_id``, ``delivered_to``); transient error -> back to pending with
  exponential backoff, or failed after ``max_attempts``; permanent error -> failed.
  Either way Brida's desk gets a ``delivery_failed`` email (idempotent key).

Delivery is at least once: a process killed after the server accepted a message and
before its row was marked sent sends it again on the next claim, with the same
Message-ID (receivers and the file sender deduplicate on it).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, and_, bindparam, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from domain.enums import Language, OutboxStatus
from domain.errors import DeliveryError, KinantiError
from domain.models import OutboxMessage, utcnow
from domain.outbox import Recipient, enqueue
from notifications.config import MailConfig
from notifications.files import FileSender
from notifications.mime import OutgoingEmail, Sender, build_message
from notifications.render import Renderer
from notifications.smtp import SmtpSender, SmtpUnavailableError

log = logging.getLogger(__name__)

OUTBOX = cast(Table, OutboxMessage.__table__)
#: How long a claim holds its rows before another dispatcher may take them over.
DEFAULT_LEASE = dt.timedelta(minutes=5)
#: How long a sent mark is retried while the database is unreachable (a restart, a
#: failover): the message was accepted, so it must be recorded, not sent again.
MARK_RETRY = dt.timedelta(seconds=120)
#: Backoff after the n-th failed attempt: BASE * 2**(n-1), at most CAP.
BACKOFF_BASE = dt.timedelta(seconds=60)
BACKOFF_CAP = dt.timedelta(hours=2)
DELIVERY_FAILED = "delivery_failed"


@dataclass
class DeliveryReport:
    """What one ``deliver_pending`` call did."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.retried += other.retried
        self.skipped += other.skipped


@dataclass(frozen=True)
class _Claimed:
    id: int
    key: str
    template: str
    language: Language
    recipient_email: str
    recipient_name: str | None
    context: dict[str, Any]
    attempts: int


def backoff(attempts: int) -> dt.timedelta:
    """Delay before the next attempt after ``attempts`` failed ones (exponential, capped)."""
    exponent = min(max(attempts - 1, 0), 20)
    return min(BACKOFF_BASE * (2**exponent), BACKOFF_CAP)


def _due(now: dt.datetime) -> Any:
    return or_(
        and_(OUTBOX.c.status == OutboxStatus.PENDING, OUTBOX.c.next_attempt_at <= now),
        and_(OUTBOX.c.status == OutboxStatus.SENDING, OUTBOX.c.claimed_until < now),
    )


def claim(
    engine: Engine,
    *,
    limit: int,
    lease: dt.timedelta = DEFAULT_LEASE,
    ids: Sequence[int] | None = None,
) -> tuple[dt.datetime, list[_Claimed]]:
    """Claim up to ``limit`` due rows in one short transaction; return (token, rows)."""
    now = utcnow()
    token = now + lease
    due = _due(now)
    pick = select(OUTBOX.c.id).where(due).order_by(OUTBOX.c.id).limit(limit)
    if ids is not None:
        pick = pick.where(OUTBOX.c.id.in_(list(ids)))
    claim_stmt = update(OUTBOX)
    if engine.dialect.name == "postgresql":
        # A locking CTE runs once. ``id IN (subquery ... LIMIT n FOR UPDATE SKIP LOCKED)``
        # was planned as a semi-join that re-ran the subquery and claimed MORE than n rows.
        picked = pick.with_for_update(skip_locked=True).cte("picked")
        claim_stmt = claim_stmt.where(OUTBOX.c.id == picked.c.id)
    else:  # SQLite: one writer at a time; the IN list is computed once
        claim_stmt = claim_stmt.where(OUTBOX.c.id.in_(pick.scalar_subquery()), due)
    stmt = claim_stmt.values(status=OutboxStatus.SENDING, claimed_until=token).returning(
        OUTBOX.c.id,
        OUTBOX.c.key,
        OUTBOX.c.template,
        OUTBOX.c.language,
        OUTBOX.c.recipient_email,
        OUTBOX.c.recipient_name,
        OUTBOX.c.context,
        OUTBOX.c.attempts,
    )
    with engine.begin() as conn:
        rows = conn.execute(stmt).all()
    claimed = sorted((_Claimed(*row) for row in rows), key=lambda r: r.id)
    return token, claimed


def _renew(
    engine: Engine, ids: list[int], token: dt.datetime, lease: dt.timedelta
) -> tuple[dt.datetime, set[int]]:
    """Extend the lease of rows still held with ``token``; return the new token and ids."""
    new_token = utcnow() + lease
    with engine.begin() as conn:
        kept = conn.execute(
            update(OUTBOX)
            .where(
                OUTBOX.c.id.in_(ids),
                OUTBOX.c.status == OutboxStatus.SENDING,
                OUTBOX.c.claimed_until == token,
            )
            .values(claimed_until=new_token)
            .returning(OUTBOX.c.id)
        ).scalars()
        return new_token, set(kept)


def _held(row_id: int, token: dt.datetime) -> Any:
    return and_(
        OUTBOX.c.id == row_id,
        OUTBOX.c.status == OutboxStatus.SENDING,
        OUTBOX.c.claimed_until == token,
    )


def _release(
    conn: Connection,
    row: _Claimed,
    token: dt.datetime,
    status: OutboxStatus,
    exc: Exception,
    **values: Any,
) -> bool:
    """Give a row still held with ``token`` back as ``status`` (pending or failed), its
    attempt counted and its error kept; ``False`` if the lease was lost meanwhile."""
    released = conn.execute(
        update(OUTBOX)
        .where(_held(row.id, token))
        .values(
            status=status,
            attempts=row.attempts + 1,
            claimed_until=None,
            last_error=str(exc)[:2000],
            **values,
        )
    )
    return bool(released.rowcount)


#: Built once (compiled once): marking a row sent is the per-message database cost.
_MARK_SENT = (
    update(OUTBOX)
    .where(
        OUTBOX.c.id == bindparam("row_id"),
        OUTBOX.c.status == OutboxStatus.SENDING,
        OUTBOX.c.claimed_until == bindparam("token"),
    )
    .values(
        status=OutboxStatus.SENT,
        sent_at=bindparam("now"),
        message_id=bindparam("mid"),
        delivered_to=bindparam("to"),
        attempts=OUTBOX.c.attempts + 1,
        claimed_until=None,
        last_error=None,
    )
)


class _Batch:
    """Processes claimed rows with one renderer and one open sender.

    Rows are sent strictly one after the other, and row N is marked sent (committed)
    before row N+1's ``RCPT TO`` (so before it can be accepted): at most one accepted
    message is ever unrecorded. With ``recorder`` (one helper thread), row N's mark is
    committed there while this thread renders and builds row N+1 and its ``MAIL FROM``
    round trip runs; this thread waits for the commit before ``RCPT TO`` or before it
    records anything else. Without it, each mark is committed inline.
    """

    def __init__(
        self,
        engine: Engine,
        config: MailConfig,
        renderer: Renderer,
        sender: Sender,
        lease: dt.timedelta,
        recorder: ThreadPoolExecutor | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.renderer = renderer
        self.sender = sender
        self.lease = lease
        self.recorder = recorder
        self.report = DeliveryReport()
        self._marking: Future[None] | None = None

    def run(self, token: dt.datetime, rows: list[_Claimed]) -> None:
        with self.engine.connect() as conn:  # one connection for the batch's sent marks
            try:
                self._run(conn, token, rows)
            finally:
                self._settle()

    def _settle(self) -> None:
        """Wait until the previous row's sent mark is committed (re-raising its error)."""
        marking, self._marking = self._marking, None
        if marking is not None:
            marking.result()

    def _run(self, conn: Connection, token: dt.datetime, rows: list[_Claimed]) -> None:
        renew_at = token - self.lease / 2
        held = {row.id for row in rows}
        for index, row in enumerate(rows):
            if utcnow() >= renew_at:
                self._settle()
                remaining = [r.id for r in rows[index:] if r.id in held]
                token, kept = _renew(self.engine, remaining, token, self.lease)
                renew_at = token - self.lease / 2
                lost = len(remaining) - len(kept)
                if lost:
                    log.warning("lease lost on %d outbox rows; leaving them", lost)
                    self.report.skipped += lost
                held = kept
            if row.id not in held:  # another dispatcher took it over: never send it
                continue
            try:
                email = self._build(row)  # meanwhile the previous row's mark commits
                # ... and during MAIL FROM; it is committed before RCPT TO, so before
                # this row can be accepted (and before the server could see a crash).
                delivered_to = self.sender.send(email, before_rcpt=self._settle)
            except SmtpUnavailableError as exc:
                # The server is down: this row and the rest of the batch wait together.
                for waiting in rows[index:]:
                    if waiting.id in held:
                        self._retry(waiting, token, exc)
                return
            except DeliveryError as exc:
                if exc.permanent:
                    self._fail(row, token, exc)
                else:
                    self._retry(row, token, exc)
                continue
            except KinantiError as exc:  # bad context or unknown template: never renders
                self._fail(row, token, exc)
                continue
            args = (conn, row, token, email.message_id, delivered_to)
            if self.recorder is None:
                self._mark_sent(*args)
            else:
                self._marking = self.recorder.submit(self._mark_sent, *args)

    def _build(self, row: _Claimed) -> OutgoingEmail:
        rendered = self.renderer.render(row.template, row.language, row.context)
        code = row.context.get("innovation_code") or row.context.get("unit_code") or ""
        return build_message(
            rendered,
            config=self.config,
            to_email=row.recipient_email,
            to_name=row.recipient_name,
            key=row.key,
            label="_".join(part for part in (str(code), row.template) if part),
            attachments=list(row.context.get("attachments") or []),
        )

    def _mark_sent(
        self,
        conn: Connection,
        row: _Claimed,
        token: dt.datetime,
        message_id: str,
        delivered_to: str,
    ) -> None:
        values = {
            "row_id": row.id,
            "token": token,
            "now": utcnow(),
            "mid": message_id,
            "to": delivered_to[:500],
        }
        deadline, delay = time.monotonic() + MARK_RETRY.total_seconds(), 0.25
        while True:
            try:
                with conn.begin():
                    done = conn.execute(_MARK_SENT, values).rowcount
                break
            except OperationalError as exc:  # the database went away (a restart)
                # The server accepted the message: giving up here would send it again
                # once the lease ran out. The mark is fenced by the token: retry it.
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("outbox row %s sent; recording it again after: %s", row.id, exc)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        if done:
            self.report.sent += 1
        else:  # only if this process stalled past its lease; the row was taken over
            log.warning("outbox row %s was sent but its lease had been taken over", row.id)
            self.report.skipped += 1

    def _retry(self, row: _Claimed, token: dt.datetime, exc: Exception) -> None:
        self._settle()
        attempts = row.attempts + 1
        if attempts >= self.config.max_attempts:
            self._fail(row, token, exc)  # out of retries: failed, and Brida is told
            return
        with self.engine.begin() as conn:
            later = utcnow() + backoff(attempts)
            done = _release(conn, row, token, OutboxStatus.PENDING, exc, next_attempt_at=later)
        if done:
            self.report.retried += 1
            log.info("outbox row %s will be retried (attempt %d): %s", row.id, attempts, exc)
        else:
            self.report.skipped += 1

    def _fail(self, row: _Claimed, token: dt.datetime, exc: Exception) -> None:
        self._settle()
        with Session(self.engine) as session, session.begin():
            done = _release(session.connection(), row, token, OutboxStatus.FAILED, exc)
            if done and row.template != DELIVERY_FAILED:
                self._tell_brida(session, row, row.attempts + 1, exc)
        if done:
            self.report.failed += 1
            log.warning("outbox row %s failed permanently: %s", row.id, exc)
        else:
            self.report.skipped += 1

    def _tell_brida(self, session: Session, row: _Claimed, attempts: int, exc: Exception) -> None:
        ctx = row.context
        context = {
            "outbox_id": row.id,
            "failed_template": row.template,
            "failed_recipient": row.recipient_email,
            "error": str(exc)[:500],
            "attempts": attempts,
            **{
                k: ctx[k]
                for k in ("innovation_code", "innovation_title", "unit_code", "unit_name", "stage")
                if isinstance(ctx.get(k), str)
            },
        }
        enqueue(
            session,
            event_key=f"delivery-failed:{row.id}:{attempts}",
            template=DELIVERY_FAILED,
            recipients=[Recipient(self.config.brida_email, "Brida", self.config.language)],
            context=context,
        )


def make_sender(config: MailConfig) -> Sender:
    """The sender the configuration asks for (``backend``: file or smtp)."""
    if config.backend == "smtp":
        return SmtpSender(config.smtp)
    return FileSender(config.outbox_dir)


def deliver_pending(
    engine: Engine,
    config: MailConfig,
    *,
    ids: list[int] | None = None,
    limit: int | None = None,
    sender: Sender | None = None,
    lease: dt.timedelta = DEFAULT_LEASE,
) -> DeliveryReport:
    """Deliver due outbox rows (only ``ids`` if given; at most ``limit``) and record each.

    Claims ``config.batch_size`` rows at a time and keeps ONE sender connection
    open for the whole call. Safe to run in several processes at once.
    """
    report = DeliveryReport()
    if ids is not None and not ids:
        return report
    renderer = Renderer(
        base_url=config.base_url,
        zone=config.zone,
        region_name=config.region_name,
        portal_url=config.portal_url,
    )
    remaining = limit
    claimed_total = 0
    # The sent marks are committed on a helper thread (see ``_Batch``); an in-memory
    # SQLite database lives on its creating thread only, so it records inline.
    in_memory = engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")
    recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kinanti-outbox-record")
    with recorder, sender or make_sender(config) as active:
        while remaining is None or remaining > 0:
            size = config.batch_size
            if remaining is not None:
                size = min(size, remaining)
            token, rows = claim(engine, limit=size, lease=lease, ids=ids)
            if not rows:
                break
            claimed_total += len(rows)
            batch = _Batch(engine, config, renderer, active, lease, None if in_memory else recorder)
            batch.run(token, rows)
            report.add(batch.report)
            if remaining is not None:
                remaining -= len(rows)
            if ids is not None:
                break  # the requested rows were claimed once; what is left is not due
            if batch.report.retried and not batch.report.sent:
                break  # the server is unavailable: stop until the next run
    if ids is not None:
        report.skipped += len(set(ids)) - claimed_total  # already sent, not due, or taken
    return report


def requeue_failed(engine: Engine, ids: list[int] | None = None) -> int:
    """Put failed rows back to pending (attempts reset), e.g. after fixing an address."""
    stmt = (
        update(OUTBOX)
        .where(OUTBOX.c.status == OutboxStatus.FAILED)
        .values(
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
            claimed_until=None,
        )
    )
    if ids:
        stmt = stmt.where(OUTBOX.c.id.in_(ids))
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount
