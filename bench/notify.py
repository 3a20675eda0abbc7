"""Benchmark: Kinanti's outbox delivery over SMTP against a plain smtplib loop.

Creates a temporary SQLite database (real migrations), inserts 5,000 outbox rows with
realistic contexts, starts a local aiosmtpd server on 127.0.0.1 (free port, a handler
that counts messages) in a SEPARATE process, so that neither loop shares its interpreter
(and GIL) with the server, delivers everything with ``deliver_pending`` over SMTP, then
sends the same 5,000 messages pre-rendered with a plain ``smtplib`` loop over one
connection. Both loops talk to the same server process.
The two alternate for ``--rounds`` rounds (the rows are reset to pending in between) and
the best time of each is kept, so load from other processes on the machine weighs less.
Prints both rates; the last line is ``ratio=<kinanti rate / plain loop rate>``.

``--mime stdlib`` makes ``deliver_pending`` build each message with the standard
library's ``EmailMessage`` and ``email.policy.SMTP``, ``--mime compat32`` with its legacy
``email.mime`` classes and ``email.policy.compat32``, instead of ``notifications.mime``'s
writer (the same headers and parts), to measure what that choice costs.

    python bench/notify.py [--rows 5000] [--mime kinanti|stdlib|compat32]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import smtplib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from email.charset import QP, Charset
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP, compat32
from email.utils import format_datetime, formataddr

from aiosmtpd.controller import Controller
from sqlalchemy import func, insert, select, update

from domain.enums import Language, OutboxStatus, Stage
from domain.models import OutboxMessage
from domain.outbox import message_key
from kinanti.db import make_engine, upgrade
from kinanti.settings import Settings
from notifications import dispatch
from notifications.config import MailConfig
from notifications.dispatch import deliver_pending
from notifications.mime import (
    OutgoingEmail,
    build_message,
    checked_address,
    message_id_for,
    parse_from,
    safe_attachment,
)
from notifications.render import RenderedEmail, Renderer, clean_header

UNITS = [
    ("DINKES", "Dinas Kesehatan"),
    ("DIKBUD", "Dinas Pendidikan"),
    ("DISKOMINFO", "Dinas Komunikasi dan Informatika"),
    ("DKP", "Dinas Kelautan dan Perikanan"),
    ("PKM-MTR", "Puskesmas Mataram"),
    ("PKM-PGS", "Puskesmas Pagesangan"),
    ("RSUD", "RSUD Kota Mataram"),
]
TITLES = [
    "Pendekar Serasi: layanan terpadu stroke bersama PSC 119",
    "Maharestu (Mataram Harum Rendah Stunting)",
    "Parimanta: pemantauan bantuan nelayan dengan kartu Kusuka",
    "Sorgum untuk ketahanan pangan kelurahan",
    "Sapa Warga Ampenan: pengaduan daring kecamatan",
]


class CountingHandler:
    """Counts accepted messages (the server side of the benchmark)."""

    def __init__(self, counter: Any) -> None:
        self.counter = counter  # a multiprocessing.Value("q") shared with the bench

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 Message accepted for delivery"


def _serve(port: int, counter: Any, ready: Any, stop: Any) -> None:
    """The server process: aiosmtpd with the counting handler until ``stop`` is set."""
    controller = Controller(CountingHandler(counter), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        stop.wait()
    finally:
        controller.stop()


class SmtpServerProcess:
    """aiosmtpd in its own (spawned) process; ``count`` is how many messages it accepted."""

    def __init__(self, port: int) -> None:
        ctx = mp.get_context("spawn")
        self.port = port
        self._counter = ctx.Value("q", 0)
        self._ready = ctx.Event()
        self._stop = ctx.Event()
        self._process = ctx.Process(
            target=_serve, args=(port, self._counter, self._ready, self._stop), daemon=True
        )

    @property
    def count(self) -> int:
        return int(self._counter.value)

    def start(self) -> None:
        self._process.start()
        if not self._ready.wait(timeout=60):
            self._process.kill()
            raise RuntimeError("the SMTP server process did not start")

    def stop(self) -> None:
        self._stop.set()
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()


def realistic_row(i: int) -> dict[str, Any]:
    code, name = UNITS[i % len(UNITS)]
    stage = list(Stage)[i % 4]
    title = TITLES[i % len(TITLES)]
    base: dict[str, Any] = {
        "innovation_code": f"{stage.value[:3].upper()}-2026-{i:04d}",
        "innovation_title": title,
        "unit_code": code,
        "unit_name": name,
        "stage": stage.value,
        "year": 2026,
        "flow_run_id": f"6f1c2d3e-0000-4000-8000-{i:012d}",
    }
    kind = i % 3
    if kind == 0:
        template = "gate_waiting"
        context = {
            **base,
            "gate_id": i,
            "round": 1,
            "due_date": "2026-12-12",
            "checklist": [
                "Proposal complete: profile fields and a design narrative of 300+ words",
                "The five criteria: renewal, benefit, no extra burden, within authority",
                "Budget and goals are realistic",
            ],
        }
    elif kind == 1:
        template = "gate_decided"
        context = {
            **base,
            "gate_id": i,
            "decision": "revise",
            "reason": "Lengkapi data baseline stunting per kelurahan tahun 2025.",
            "reviewer": "reviewer@brida.mataramkota.go.id",
            "next_stage": None,
        }
    else:
        template = "stage_entered"
        context = dict(base)
    email = f"inovasi.{code.lower()}.{i}@mataramkota.go.id"
    context["recipient_name"] = f"Operator {name}"
    return {
        "key": message_key(f"bench:{i}", email, template),
        "template": template,
        "language": Language.ID if i % 5 else Language.EN,
        "recipient_email": email,
        "recipient_name": f"Operator {name}",
        "context": context,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
        "created_at": dt.datetime.now(dt.UTC),
    }


def stdlib_build_message(
    rendered: RenderedEmail, *, config: MailConfig, to_email: str, **options: Any
) -> OutgoingEmail:
    """``build_message`` written with ``EmailMessage`` and ``email.policy.SMTP``."""
    message = EmailMessage(policy=SMTP)
    sender, recipient = _headers(message, rendered, config, to_email, options, modern=True)
    message.set_content(rendered.text, cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    for item in options.get("attachments") or []:
        path = safe_attachment(item, config.evidence_dir)
        message.add_attachment(path.read_bytes(), "application", "octet-stream", filename=path.name)
    return _outgoing(message.as_bytes(), sender, recipient, message, options)


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
_COMPAT32_SMTP = compat32.clone(linesep="\r\n")


def compat32_build_message(
    rendered: RenderedEmail, *, config: MailConfig, to_email: str, **options: Any
) -> OutgoingEmail:
    """``build_message`` written with ``email.mime`` and ``email.policy.compat32``."""
    message = MIMEMultipart("alternative", policy=_COMPAT32_SMTP)
    sender, recipient = _headers(message, rendered, config, to_email, options, modern=False)
    message.attach(MIMEText(rendered.text, "plain", _UTF8_QP))  # type: ignore[arg-type]
    message.attach(MIMEText(rendered.html, "html", _UTF8_QP))  # type: ignore[arg-type]
    return _outgoing(message.as_bytes(policy=_COMPAT32_SMTP), sender, recipient, message, options)


def _headers(
    message: Message,
    rendered: RenderedEmail,
    config: MailConfig,
    to_email: str,
    options: dict[str, Any],
    *,
    modern: bool,
) -> tuple[str, str]:
    key: str = options["key"]
    sender = parse_from(config.mail_from)
    recipient = checked_address(to_email, options.get("to_name"))
    people = ("From", sender), ("To", recipient)
    if modern:
        message["Subject"] = rendered.subject
        for name, who in people:
            message[name] = Address(who.display_name, addr_spec=who.addr_spec)  # type: ignore[assignment]
    else:
        message["Subject"] = Header(rendered.subject, "utf-8")  # type: ignore[assignment]
        for name, who in people:
            message[name] = formataddr((who.display_name, who.addr_spec), charset="utf-8")
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = message_id_for(key, config.region_code)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Kinanti-Key"] = clean_header(key[:200])
    return sender.addr_spec, recipient.addr_spec


def _outgoing(
    data: bytes, sender: str, recipient: str, message: Message, options: dict[str, Any]
) -> OutgoingEmail:
    return OutgoingEmail(
        data=data,
        sender=sender,
        recipient=recipient,
        message_id=str(message["Message-ID"]),
        label=options.get("label", ""),
    )


BUILDERS = {"stdlib": stdlib_build_message, "compat32": compat32_build_message}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; best kept")
    parser.add_argument(
        "--mime",
        choices=["kinanti", *BUILDERS],
        default="kinanti",
        help="how deliver_pending builds messages (stdlib: EmailMessage + policy.SMTP; "
        "compat32: email.mime + policy.compat32)",
    )
    args = parser.parse_args()
    if args.mime in BUILDERS:
        dispatch.build_message = BUILDERS[args.mime]

    port = free_port()
    server = SmtpServerProcess(port)
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(url)
            engine = make_engine(url)
            config = Settings(
                home=Path(tmp),
                database_url=url,
                email_backend="smtp",
                smtp_host="127.0.0.1",
                smtp_port=port,
                smtp_timeout=10,
                outbox_batch_size=500,
            ).mail_config()
            rows = [realistic_row(i) for i in range(args.rows)]
            with engine.begin() as conn:
                conn.execute(insert(OutboxMessage), rows)

            renderer = Renderer(
                base_url=config.base_url, zone=config.zone, region_name=config.region_name
            )
            prepared = []
            for row in rows:
                rendered = renderer.render(row["template"], row["language"], row["context"])
                email = build_message(
                    rendered,
                    config=config,
                    to_email=row["recipient_email"],
                    to_name=row["recipient_name"],
                    key=row["key"],
                )
                prepared.append((email.sender, email.recipient, email.data))

            kinanti_times: list[float] = []
            plain_times: list[float] = []
            for round_ in range(args.rounds):  # alternate, keep the best of each (noise)
                if round_:
                    with engine.begin() as conn:  # the same rows, pending again
                        conn.execute(
                            update(OutboxMessage).values(
                                status=OutboxStatus.PENDING,
                                attempts=0,
                                sent_at=None,
                                message_id=None,
                                next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
                            )
                        )
                received_before = server.count
                start = time.perf_counter()
                report = deliver_pending(engine, config)
                kinanti_times.append(time.perf_counter() - start)
                with engine.connect() as conn:
                    sent_rows = conn.scalar(
                        select(func.count()).where(OutboxMessage.status == OutboxStatus.SENT)
                    )
                received = server.count - received_before
                assert report.sent == args.rows == sent_rows == received, (report, received)

                received_before = server.count
                start = time.perf_counter()
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                    for sender, recipient, data in prepared:
                        smtp.sendmail(sender, [recipient], data)
                plain_times.append(time.perf_counter() - start)
                assert server.count - received_before == args.rows
            engine.dispose()
    finally:
        server.stop()

    kinanti_seconds, plain_seconds = min(kinanti_times), min(plain_times)
    print(f"rounds (s): kinanti {[round(x, 2) for x in kinanti_times]}, "
          f"plain {[round(x, 2) for x in plain_times]}")  # fmt: skip
    kinanti_rate = args.rows / kinanti_seconds
    plain_rate = args.rows / plain_seconds
    print(f"rows={args.rows} smtp=127.0.0.1:{port} (aiosmtpd in its own process, counting handler)")
    print(f"messages built by: {args.mime}")
    print(
        f"kinanti deliver_pending: {kinanti_seconds:.2f} s, {kinanti_rate:.0f} msgs/s "
        f"(claim, render id/en, build, send, mark each row sent)"
    )
    print(f"plain smtplib loop:      {plain_seconds:.2f} s, {plain_rate:.0f} msgs/s (pre-rendered)")
    print(f"ratio={kinanti_rate / plain_rate:.3f}")


if __name__ == "__main__":
    main()
