"""Outbox delivery against a REAL SMTP server (aiosmtpd on loopback), on SQLite and
PostgreSQL: exactly-once under faults, concurrent dispatchers, a killed process."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.orm import Session

from domain.enums import Language, OutboxStatus
from domain.models import Base, OutboxMessage, utcnow
from domain.outbox import Recipient, enqueue
from kinanti.db import make_engine, upgrade
from kinanti.settings import Settings
from notifications.config import MailConfig
from notifications.dispatch import claim, deliver_pending, requeue_failed
from notifications.mime import message_id_for
from notifications.smtp import SmtpSender
from tests.conftest import BACKENDS
from tests.support import postgres

ROOT = Path(__file__).resolve().parents[2]
BRIDA = "brida.desk@mataramkota.go.id"


# ---------------------------------------------------------------- a real SMTP server


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SmtpServer:
    """aiosmtpd on 127.0.0.1: records what it accepts; can refuse or run a hook per RCPT."""

    port: int
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply
    on_rcpt: Callable[[str, int], None] | None = None
    rcpt_count: int = 0
    controller: Controller | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        with self.lock:
            self.rcpt_count += 1
            count = self.rcpt_count
        if self.on_rcpt is not None:
            self.on_rcpt(address, count)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def message_ids(self) -> Counter[str]:
        return Counter(str(r.message["Message-ID"]) for r in self.received)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(port=_free_port())
    server.start()
    yield server
    server.stop()


# ---------------------------------------------------------------- databases that commit


@pytest.fixture(scope="module", params=BACKENDS)
def outbox_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database of this module's own (dispatch tests commit), migrated once."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('outbox') / 'outbox.db'}"
        upgrade(url)
        yield url
        return
    with postgres.temporary_database("kinanti_outbox") as url:
        upgrade(url)
        yield url


@pytest.fixture
def engine_(outbox_db_url: str) -> Iterator[Engine]:
    engine = make_engine(outbox_db_url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))
    yield engine
    engine.dispose()


def config_for(tmp_path: Path, smtp: SmtpServer, **kw: Any) -> MailConfig:
    values: dict[str, Any] = {
        "home": tmp_path,
        "email_backend": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_timeout": 5,
        "brida_email": BRIDA,
        "base_url": "https://kinanti.mataramkota.go.id",
    }
    values.update(kw)
    return Settings(**values).mail_config()


def queue(
    engine: Engine,
    count: int,
    *,
    template: str = "gate_waiting",
    language: Language = Language.ID,
    title: str = "Maharestu (Mataram Harum Rendah Stunting)",
    name: str | None = "Kepala Brida",
    email: Callable[[int], str] = lambda i: f"reviewer{i}@mataramkota.go.id",
) -> list[int]:
    """Commit ``count`` realistic outbox rows; return their ids."""
    ids: list[int] = []
    with Session(engine) as session, session.begin():
        for i in range(count):
            rows = enqueue(
                session,
                event_key=f"gate-opened:{uuid.uuid4().hex[:8]}:{i}",
                template=template,
                recipients=[Recipient(email(i), name, language)],
                context={
                    "innovation_code": f"PLN-2026-{i:03d}",
                    "innovation_title": title,
                    "unit_code": "DINKES",
                    "unit_name": "Dinas Kesehatan",
                    "stage": "planning",
                    "year": 2026,
                    "gate_id": i + 1,
                    "round": 1,
                    "flow_run_id": str(uuid.uuid4()),
                    "due_date": "2026-12-12",
                    "checklist": ["Proposal complete", "Budget is realistic"],
                },
            )
            session.flush()
            ids.extend(r.id for r in rows)
    return ids


def rows_by_status(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(s.value for s in session.scalars(select(OutboxMessage.status)))


def make_due(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .values(next_attempt_at=utcnow() - dt.timedelta(seconds=1))
        )


# ---------------------------------------------------------------- delivery


def test_pending_emails_arrive_once_with_recipient_subject_language_parts_and_message_id(
    engine_: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    config = config_for(tmp_path, smtp)
    [id_row] = queue(engine_, 1, language=Language.ID, email=lambda i: "kepala@mataramkota.go.id")
    [en_row] = queue(engine_, 1, language=Language.EN, email=lambda i: "head@mataramkota.go.id")

    report = deliver_pending(engine_, config)

    assert (report.sent, report.failed, report.retried) == (2, 0, 0)
    by_rcpt = {r.rcpt_tos[0]: r for r in smtp.received}
    assert set(by_rcpt) == {"kepala@mataramkota.go.id", "head@mataramkota.go.id"}
    indonesian = by_rcpt["kepala@mataramkota.go.id"].message
    english = by_rcpt["head@mataramkota.go.id"].message
    assert str(indonesian["Subject"]).startswith(
        "[Kinanti] Menunggu keputusan: gerbang Perencanaan"
    )
    assert str(english["Subject"]).startswith("[Kinanti] Awaits a decision: Planning gate")
    for message, lang in ((indonesian, "id"), (english, "en")):
        plain = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert plain is not None and html is not None
        assert "PLN-2026-000" in plain.get_content()
        assert f'<html lang="{lang}">' in html.get_content()
        assert f"{config.portal_url}/gates/PLN-2026-000" in plain.get_content()
        assert str(message["From"]) == "Brida Kota Mataram <kinanti@brida.mataramkota.go.id>"
    assert by_rcpt["kepala@mataramkota.go.id"].mail_from == "kinanti@brida.mataramkota.go.id"
    with Session(engine_) as session:
        rows = {r.id: r for r in session.scalars(select(OutboxMessage))}
    for row_id, message in ((id_row, indonesian), (en_row, english)):
        row = rows[row_id]
        assert row.status is OutboxStatus.SENT and row.sent_at is not None
        assert row.attempts == 1 and row.claimed_until is None
        assert row.message_id == str(message["Message-ID"])
        assert row.message_id == message_id_for(row.key, config.region_code)
        assert row.delivered_to == row.recipient_email

    again = deliver_pending(engine_, config, ids=[id_row, en_row])
    assert (again.sent, again.skipped) == (0, 2)
    assert len(smtp.received) == 2


def test_script_in_a_title_arrives_escaped_in_html_and_plain_in_text(
    engine_: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    queue(engine_, 1, title="Sapa Warga <script>alert('x')</script>")
    deliver_pending(engine_, config_for(tmp_path, smtp))

    [received] = smtp.received
    html = received.message.get_body(("html",))
    plain = received.message.get_body(("plain",))
    assert html is not None and plain is not None
    assert "<script>" not in html.get_content()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html.get_content()
    assert "<script>alert('x')</script>" in plain.get_content()


def test_a_title_with_crlf_bcc_creates_no_header_and_no_extra_recipient(
    engine_: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    queue(engine_, 1, title="Maharestu\r\nBcc: x@y.go.id", name="Kepala\r\nBcc: evil@y.go.id")
    deliver_pending(engine_, config_for(tmp_path, smtp))

    [received] = smtp.received
    assert received.rcpt_tos == ["reviewer0@mataramkota.go.id"]
    assert received.message.get_all("Bcc") is None
    assert "Bcc: x@y.go.id" in str(received.message["Subject"])
    assert [a.addr_spec for a in received.message["To"].addresses] == [
        "reviewer0@mataramkota.go.id"
    ]


def test_server_down_mid_batch_then_back_delivers_everything_exactly_once(
    engine_: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    config = config_for(tmp_path, smtp, smtp_timeout=2)
    ids = queue(engine_, 12)

    class StopsTheServerAfterFive(SmtpSender):
        sends = 0

        def send(self, email: Any, before_rcpt: Any = None) -> str:
            if self.sends == 5:
                smtp.stop()  # the server goes away while the batch is running
            self.sends += 1
            return super().send(email, before_rcpt)

    report = deliver_pending(engine_, config, sender=StopsTheServerAfterFive(config.smtp))
    assert (report.sent, report.retried, report.failed) == (5, 7, 0)
    assert rows_by_status(engine_) == {"sent": 5, "pending": 7}

    down = deliver_pending(engine_, config)  # nothing is due yet (backoff)
    assert down.sent == down.retried == 0
    make_due(engine_)
    still_down = deliver_pending(engine_, config)
    assert (still_down.sent, still_down.retried) == (0, 7)

    smtp.start()  # back, on the same port
    make_due(engine_)
    report = deliver_pending(engine_, config)
    assert report.sent == 7
    assert rows_by_status(engine_) == {"sent": 12}
    counts = smtp.message_ids()
    assert len(counts) == 12 and set(counts.values()) == {1}
    with Session(engine_) as session:
        attempts = dict(
            session.execute(select(OutboxMessage.id, OutboxMessage.attempts)).tuples().all()
        )
    assert sorted(attempts.values()) == [1] * 5 + [3] * 7
    assert set(attempts) == set(ids)


def test_the_database_connection_lost_right_after_a_send_records_it_and_sends_it_once(
    engine_: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    """A database restart between the server's acceptance and the sent mark: the mark is
    retried on a new connection (else the row would be sent again when its lease ran out)."""
    if engine_.dialect.name != "postgresql":
        pytest.skip("a dropped server connection (PostgreSQL)")
    config = config_for(tmp_path, smtp)
    queue(engine_, 4)
    admin = make_engine(postgres.admin_url())

    class DropsTheConnectionsAfterTheSecond(SmtpSender):
        sends = 0

        def send(self, email: Any, before_rcpt: Any = None) -> str:
            delivered = super().send(email, before_rcpt)
            self.sends += 1
            if self.sends == 2:  # accepted; its mark is not committed yet
                with admin.begin() as conn:
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": engine_.url.database},
                    )
            return delivered

    try:
        report = deliver_pending(
            engine_, config, sender=DropsTheConnectionsAfterTheSecond(config.smtp)
        )
    finally:
        admin.dispose()
    assert (report.sent, report.retried, report.failed) == (4, 0, 0)
    assert rows_by_status(engine_) == {"sent": 4}
    counts = smtp.message_ids()
    assert len(counts) == 4 and set(counts.values()) == {1}


def test_a_permanent_refusal_fails_the_row_and_tells_brida(
    engine_: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    config = config_for(tmp_path, smtp)
    smtp.refuse["salah.alamat@mataramkota.go.id"] = "550 5.1.1 <salah.alamat>: mailbox unavailable"
    ids = queue(
        engine_,
        3,
        email=lambda i: "salah.alamat@mataramkota.go.id" if i == 1 else f"ok{i}@mataramkota.go.id",
    )

    report = deliver_pending(engine_, config)

    assert (report.sent, report.failed, report.retried) == (3, 1, 0)  # incl. Brida's email
    with Session(engine_) as session:
        rows = {r.id: r for r in session.scalars(select(OutboxMessage))}
    refused = rows[ids[1]]
    assert refused.status is OutboxStatus.FAILED and "550" in (refused.last_error or "")
    [told] = [r for r in rows.values() if r.template == "delivery_failed"]
    assert told.recipient_email == BRIDA and told.status is OutboxStatus.SENT
    assert told.context["outbox_id"] == refused.id
    assert told.context["failed_recipient"] == "salah.alamat@mataramkota.go.id"
    [brida_mail] = [r for r in smtp.received if r.rcpt_tos == [BRIDA]]
    assert "salah.alamat@mataramkota.go.id" in str(brida_mail.message["Subject"])
    brida_plain = brida_mail.message.get_body(("plain",))
    assert brida_plain is not None
    assert f"kinanti outbox retry --id {refused.id}" in brida_plain.get_content()

    smtp.refuse.clear()
    assert requeue_failed(engine_, [refused.id]) == 1
    assert deliver_pending(engine_, config).sent == 1
    assert rows_by_status(engine_) == {"sent": 4}


def test_a_transient_refusal_is_retried_with_backoff_then_fails_and_tells_brida(
    engine_: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    config = config_for(tmp_path, smtp, outbox_max_attempts=2)
    smtp.refuse["sibuk@mataramkota.go.id"] = "451 4.3.0 try again later"
    [row_id] = queue(engine_, 1, email=lambda i: "sibuk@mataramkota.go.id")

    before = utcnow()
    first = deliver_pending(engine_, config)
    with Session(engine_) as session:
        row = session.get_one(OutboxMessage, row_id)
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
        assert "451" in (row.last_error or "")
        assert before + dt.timedelta(seconds=55) < row.next_attempt_at
        assert row.next_attempt_at < utcnow() + dt.timedelta(seconds=65)
    assert first.retried == 1

    make_due(engine_)
    second = deliver_pending(engine_, config)
    assert second.failed == 1
    with Session(engine_) as session:
        assert session.get_one(OutboxMessage, row_id).status is OutboxStatus.FAILED
        told = session.scalars(select(OutboxMessage).where(OutboxMessage.id != row_id)).all()
        assert [(m.template, m.recipient_email) for m in told] == [
            ("delivery_failed", config.brida_email)
        ]
    # the refused recipient got nothing; Brida's desk got the notice in the same run
    assert [r.rcpt_tos for r in smtp.received] == [[config.brida_email]]


def test_a_context_that_cannot_render_fails_the_row_and_tells_brida(
    engine_: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    with Session(engine_) as session, session.begin():
        enqueue(
            session,
            event_key="broken",
            template="gate_waiting",
            recipients=[Recipient("kepala@mataramkota.go.id", None, Language.ID)],
            context={"innovation_code": "PLN-1"},
        )
    report = deliver_pending(engine_, config_for(tmp_path, smtp))
    assert (report.failed, report.sent) == (1, 1)
    with Session(engine_) as session:
        failed = session.scalar(
            select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
        )
    assert failed is not None and "gate_waiting" in (failed.last_error or "")
    assert "innovation_title" in (failed.last_error or "")
    assert [r.rcpt_tos for r in smtp.received] == [[BRIDA]]


def test_smtp_login_uses_the_password_and_no_error_or_log_line_shows_it(
    engine_: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    secret = "rahasia-Brida-2026!"
    logins: list[tuple[str, bytes]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login.decode(), auth_data.password))
        return AuthResult(success=auth_data.password == b"the-right-one", handled=False)

    server = SmtpServer(port=_free_port())
    server.controller = Controller(
        server,
        hostname="127.0.0.1",
        port=server.port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    server.controller.start()
    try:
        config = config_for(tmp_path, server, smtp_username="kinanti", smtp_password=secret)
        assert secret not in repr(config) and secret not in str(config)
        [row_id] = queue(engine_, 1)
        with caplog.at_level("DEBUG"):
            report = deliver_pending(engine_, config)
        assert (report.sent, report.retried) == (0, 1)
        assert logins and logins[0] == ("kinanti", secret.encode())
        with Session(engine_) as session:
            error = session.get_one(OutboxMessage, row_id).last_error or ""
        assert "login as 'kinanti'" in error and "535" in error
        assert secret not in error and secret not in caplog.text

        right = config_for(tmp_path, server, smtp_username="kinanti", smtp_password="the-right-one")
        make_due(engine_)
        assert deliver_pending(engine_, right).sent == 1
        assert [r.rcpt_tos for r in server.received] == [["reviewer0@mataramkota.go.id"]]
    finally:
        server.stop()


# ---------------------------------------------------------------- crashes and concurrency


def test_rows_of_an_abandoned_claim_are_delivered_once_after_the_lease_expires(
    engine_: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    config = config_for(tmp_path, smtp)
    queue(engine_, 6)
    _token, claimed = claim(engine_, limit=4, lease=dt.timedelta(seconds=1))  # then "dies"
    assert len(claimed) == 4

    meanwhile = deliver_pending(engine_, config)
    assert meanwhile.sent == 2  # the leased rows are left alone
    time.sleep(1.1)
    after = deliver_pending(engine_, config)

    assert after.sent == 4
    assert rows_by_status(engine_) == {"sent": 6}
    assert set(smtp.message_ids().values()) == {1} and len(smtp.message_ids()) == 6


KILLED_DISPATCHER = textwrap.dedent(
    """
    import datetime as dt, sys
    from kinanti.db import make_engine
    from kinanti.settings import Settings
    from notifications.dispatch import deliver_pending
    url, port = sys.argv[1], int(sys.argv[2])
    settings = Settings(home=sys.argv[3], email_backend="smtp", smtp_host="127.0.0.1",
                        smtp_port=port, smtp_timeout=30, outbox_batch_size=50)
    deliver_pending(make_engine(url), settings.mail_config(), lease=dt.timedelta(seconds=2))
    print("finished without being killed")
    """
)


def test_a_dispatcher_killed_mid_batch_loses_nothing_and_duplicates_nothing(
    engine_: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    queue(engine_, 10)
    child: dict[str, subprocess.Popen[bytes]] = {}

    def kill_at_the_sixth_recipient(address: str, count: int) -> None:
        if count == 6:  # mid-transaction: RCPT of the 6th message, before its DATA
            child["p"].send_signal(signal.SIGKILL)
            child["p"].wait()

    smtp.on_rcpt = kill_at_the_sixth_recipient
    url = engine_.url.render_as_string(hide_password=False)
    child["p"] = subprocess.Popen(
        [sys.executable, "-c", KILLED_DISPATCHER, url, str(smtp.port), str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _out, err = child["p"].communicate(timeout=120)
    assert child["p"].returncode == -signal.SIGKILL, err.decode()[-2000:]
    smtp.on_rcpt = None
    assert len(smtp.received) == 5
    assert rows_by_status(engine_) == {"sent": 5, "sending": 5}

    time.sleep(2.1)  # the dead process's lease runs out
    report = deliver_pending(engine_, config_for(tmp_path, smtp))

    assert report.sent == 5
    assert rows_by_status(engine_) == {"sent": 10}
    counts = smtp.message_ids()
    assert len(counts) == 10 and set(counts.values()) == {1}


def test_two_dispatchers_at_once_never_deliver_a_row_twice(
    engine_: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    config = config_for(tmp_path, smtp, outbox_batch_size=15)
    queue(engine_, 120)
    reports: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def dispatcher() -> None:
        try:
            start.wait()
            reports.append(deliver_pending(engine_, config))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(r.sent for r in reports) == 120
    assert rows_by_status(engine_) == {"sent": 120}
    counts = smtp.message_ids()
    assert len(counts) == 120 and set(counts.values()) == {1}
    if engine_.dialect.name == "postgresql":
        assert all(r.sent > 0 for r in reports), "SKIP LOCKED lets both share the work"


def test_the_file_backend_writes_each_email_once_as_an_eml(engine_: Engine, tmp_path: Path) -> None:
    config = Settings(home=tmp_path, email_backend="file").mail_config()
    ids = queue(engine_, 3)
    assert deliver_pending(engine_, config).sent == 3
    with engine_.begin() as conn:  # as if the marks were lost: the rows come back
        conn.execute(update(OutboxMessage).values(status=OutboxStatus.PENDING))
    assert deliver_pending(engine_, config, ids=ids).sent == 3
    files = sorted(config.outbox_dir.glob("*.eml"))
    assert len(files) == 3
    assert all("_gate_waiting_reviewer" in f.name for f in files)
    parsed = message_from_bytes(files[0].read_bytes(), policy=default_policy)
    assert "Menunggu keputusan" in str(parsed["Subject"])
