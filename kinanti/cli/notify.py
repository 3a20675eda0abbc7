"""``kinanti outbox ...``: look at the email outbox, re-queue failed emails, send now."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from domain.enums import OutboxStatus
from domain.models import OutboxMessage
from kinanti.cli.options import JsonOutput
from kinanti.db import get_engine, session_factory
from kinanti.i18n import t
from kinanti.settings import get_settings
from notifications.dispatch import deliver_pending, requeue_failed

StatusOption = Annotated[
    OutboxStatus | None,
    typer.Option("--status", "-s", help="Only rows with this status (pending, sent, failed)"),
]
LimitOption = Annotated[int, typer.Option("--limit", "-n", help="At most this many rows")]


def _show(status: OutboxStatus | None, as_json: bool, limit: int) -> None:
    from kinanti.cli import console

    settings = get_settings()
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    with session_factory(get_engine())() as session:
        rows = list(session.scalars(stmt))
    if as_json:
        payload = [
            {
                "id": r.id,
                "status": r.status.value,
                "template": r.template,
                "language": r.language.value,
                "recipient": r.recipient_email,
                "attempts": r.attempts,
                "created_at": r.created_at.isoformat(),
                "next_attempt_at": r.next_attempt_at.isoformat(),
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                "message_id": r.message_id,
                "delivered_to": r.delivered_to,
                "last_error": r.last_error,
                "key": r.key,
            }
            for r in rows
        ]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if not rows:
        suffix = f" ({status.value})" if status else ""
        console.print(t("outbox.empty", settings.language, status=suffix))
        return
    table = Table(title=t("outbox.title", settings.language))
    for index, column in enumerate(t("outbox.columns", settings.language).split("|")):
        table.add_column(column, no_wrap=index < 7, overflow="ellipsis")
    for r in rows:
        table.add_row(
            str(r.id),
            r.status.value,
            r.template,
            r.recipient_email,
            str(r.attempts),
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            r.sent_at.strftime("%Y-%m-%d %H:%M") if r.sent_at else "-",
            " ".join((r.last_error or "").split())[:80],
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Email outbox: list, re-queue failed emails, send pending ones now.",
        invoke_without_command=True,
    )

    @group.callback()
    def outbox(
        ctx: typer.Context,
        status: StatusOption = None,
        as_json: JsonOutput = False,
        limit: LimitOption = 200,
    ) -> None:
        """List outbox emails (newest first) when no subcommand is given."""
        if ctx.invoked_subcommand is None:
            _show(status, as_json, limit)

    @group.command("list")
    def list_(
        status: StatusOption = None, as_json: JsonOutput = False, limit: LimitOption = 200
    ) -> None:
        """List outbox emails, newest first."""
        _show(status, as_json, limit)

    @group.command("retry")
    def retry(
        ids: Annotated[
            list[int] | None,
            typer.Option("--id", help="Outbox row id (repeat); default: every failed row"),
        ] = None,
    ) -> None:
        """Put failed emails back in the queue (attempts reset) to be sent again."""
        from kinanti.cli import console
        from kinanti.cli.writes import record_cli_write

        count = requeue_failed(get_engine(), ids or None)
        record_cli_write("outbox retry", None, None, ids=ids or "failed", count=count)
        console.print(t("outbox.requeued", get_settings().language, count=count))

    @group.command("send")
    def send(limit: Annotated[int | None, typer.Option("--limit", "-n")] = None) -> None:
        """Deliver pending emails now and print what happened."""
        from kinanti.cli import console

        settings = get_settings()
        report = deliver_pending(get_engine(), settings.mail_config(), limit=limit)
        console.print(t("outbox.delivered", settings.language, **report.as_dict()))

    app.add_typer(group, name="outbox")
