"""``kinanti klinik ...`` in process (typer's CliRunner, a migrated SQLite database, the
installation in Bahasa Indonesia): every subcommand does its change, and refuses what it
must with the domain's error code, the message in the installation's language, and the
database exactly as it was."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from domain import klinik
from domain.access import actor_of
from domain.enums import ConsultationStatus, FollowUpStatus, Initiator, PublicRequestStatus, Role
from domain.errors import KinantiError
from domain.models import (
    AuditRecord,
    Base,
    Consultation,
    DomainEventRecord,
    FollowUp,
    Innovation,
    MentoringVisit,
    OutboxMessage,
    utcnow,
)
from domain.queries import get_person
from kinanti.audit import CLI_WRITE
from kinanti.cli.writes import os_user
from kinanti.db import get_engine, unit_of_work
from kinanti.settings import scoped_environment
from tests.integration.test_cli_registry import _forget_engine, _in_process
from tests.support import snapshots
from tests.support.factories import Factory

OPERATOR = "operator.klinik@brida.mataramkota.go.id"
INNOVATOR = "inovator.klinik@unram.ac.id"
OFFICER = "inovasi.dinkes@mataramkota.go.id"
OTHER_OFFICER = "inovasi.dkp@mataramkota.go.id"
CITIZEN = "warga.ampenan@example.org"
ZONE = "Asia/Makassar"


@dataclass
class Desk:
    cli: CliRunner
    consultation: int  # booked, in the future, OFFICER attends
    follow_up: int  # open, on ``consultation``
    reference: str  # a new public request
    today: dt.date  # the region's date

    def run(self, *args: str) -> str:
        from kinanti.cli import app

        result = self.cli.invoke(app, ["klinik", *args])
        assert result.exit_code == 0, (result.output, result.exception)
        return result.stdout

    def day(self, days: int) -> str:
        return (self.today + dt.timedelta(days=days)).isoformat()


def _seed_desk(today: dt.date) -> tuple[int, int, str]:
    """Units, people, a booked consultation with a follow-up, a public request."""
    with unit_of_work() as session:
        make = Factory(session)
        dinkes = make.unit("DINKES", name="Dinas Kesehatan")
        dkp = make.unit("DKP", name="Dinas Kelautan dan Perikanan")
        operator = make.person(OPERATOR, roles=[Role.BRIDA_OPERATOR], name="Operator Brida")
        make.person(INNOVATOR, roles=[Role.INNOVATOR], name="Ahmad Tauhid")
        make.person(OFFICER, roles=[Role.UNIT_OFFICER], unit=dinkes, name="Baiq Nurul")
        make.person(OTHER_OFFICER, roles=[Role.UNIT_OFFICER], unit=dkp, name="Lalu Hamzan")
        make.innovation(dinkes, code="MAHARESTU", title="Maharestu")
        actor = actor_of(session, operator)
        consultation, _ = klinik.book_consultation(
            session, actor, scheduled_at=utcnow() + dt.timedelta(days=5), topic="Uji coba",
            unit_code="DINKES", attendees=[OFFICER],
        )  # fmt: skip
        follow_up, _ = klinik.add_follow_up(
            session, actor, text="Kirim data baseline", owner_email=OFFICER,
            due_on=today + dt.timedelta(days=7), today=today, consultation_id=consultation.id,
        )  # fmt: skip
        request, _ = klinik.submit_public_request(
            session,
            klinik.PublicRequestIn(
                kind="idea", name="Komunitas Peduli Sampah", email=CITIZEN,
                subject="Bank sampah di setiap lingkungan",
                message="Kami mengusulkan bank sampah di setiap lingkungan, dikelola warga.",
            ),
            client="198.51.100.7",
        )  # fmt: skip
    return consultation.id, follow_up.id, request.reference


def _build_desk(today: dt.date, url: str, home: Path) -> tuple[int, int, str]:
    """The desk's world, through ``kinanti db upgrade`` and the domain (built once per process
    and day in the region, copied for each test: tests/support/snapshots.py); returns the
    consultation's and follow-up's ids and the public request's reference."""
    from kinanti.cli import app

    with scoped_environment({"KINANTI_HOME": str(home), "KINANTI_DATABASE_URL": url}):
        get_engine.cache_clear()
        try:
            assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
            made = _seed_desk(today)
            get_engine().dispose()
        finally:
            get_engine.cache_clear()
    return made


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    monkeypatch.setenv("KINANTI_TIMEZONE", ZONE)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    cli = _in_process(monkeypatch, tmp_path, url, "id")
    from zoneinfo import ZoneInfo

    today = utcnow().astimezone(ZoneInfo(ZONE)).date()
    consultation, follow_up, reference = snapshots.shared().restore(
        f"cli-klinik-desk-{today.isoformat()}", url, tmp_path, partial(_build_desk, today)
    )
    made = Desk(cli, consultation, follow_up, reference, today)
    yield made
    _forget_engine()


def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the whole database, to compare before and after)."""
    with get_engine().connect() as connection:
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in connection.execute(select(table))),
            )
            for table in Base.metadata.sorted_tables
        }


# ---------------------------------------------------------------- the happy paths


def test_every_subcommand_does_its_change_and_says_so_in_the_installations_language(
    desk: Desk,
) -> None:
    at = f"{desk.day(3)} 09:30"
    said = desk.run("book", "--at", at, "--topic", "Rancang bangun Maharestu",
                    "--as", OPERATOR, "--innovation", "maharestu", "--mentor", INNOVATOR,
                    "--place", "Ruang Klinik Kinanti", "--attendee", OFFICER)  # fmt: skip
    assert said.strip().endswith(f"dijadwalkan {at} WITA"), said
    with unit_of_work() as session:
        booked = session.scalars(select(Consultation).order_by(Consultation.id.desc())).first()
        assert booked is not None and booked.topic == "Rancang bangun Maharestu"
        # typed in WITA (UTC+8), stored in UTC
        assert booked.scheduled_at.replace(tzinfo=dt.UTC) == dt.datetime.fromisoformat(
            f"{desk.day(3)}T01:30"
        ).replace(tzinfo=dt.UTC)
        new = booked.id
        assert {p.email for p, _ in klinik.attendees_of(session, booked)} == {INNOVATOR, OFFICER}
    assert f"konsultasi #{new} dijadwalkan" in said

    moved = f"{desk.day(4)} 10:00"
    assert f"dipindah ke {moved} WITA" in desk.run(
        "reschedule", str(new), "--at", moved, "--as", OPERATOR
    )
    assert "diundang" in desk.run("invite", str(new), "--attendee", OPERATOR, "--as", OPERATOR)
    assert "dibatalkan" in desk.run("cancel", str(new), "--reason", "Mentor sakit",
                                    "--as", OPERATOR)  # fmt: skip
    with unit_of_work() as session:
        cancelled = session.get_one(Consultation, new)
        assert (cancelled.status, cancelled.cancel_reason) == (
            ConsultationStatus.CANCELLED,
            "Mentor sakit",
        )
        assert cancelled.sequence == 2  # moved, then cancelled: two calendar updates
        assert OPERATOR in {p.email for p, _ in klinik.attendees_of(session, cancelled)}
        # the session took place (the fixture's consultation, moved into the past)
        session.get_one(Consultation, desk.consultation).scheduled_at = utcnow() - dt.timedelta(
            hours=2
        )

    assert "sesi tercatat" in desk.run("record", str(desk.consultation), "--as", OPERATOR,
                                       "--notes", "Data kurang", "--present", OFFICER)  # fmt: skip
    added = desk.run("follow-up", "--text", "Lengkapi data", "--owner", OFFICER,
                     "--due", desk.day(7), "--as", OPERATOR,
                     "--consultation", str(desk.consultation))  # fmt: skip
    assert f"tenggat {desk.day(7)}" in added
    assert "selesai" in desk.run("done", str(desk.follow_up), "--as", OFFICER)
    with unit_of_work() as session:
        held = session.get_one(Consultation, desk.consultation)
        assert (held.status, held.notes) == (ConsultationStatus.HELD, "Data kurang")
        present = {p.email: a.present for p, a in klinik.attendees_of(session, held)}
        assert present == {OFFICER: True}
        follow_ups = klinik.follow_ups_of(session, consultation_id=desk.consultation)
        assert [(f.text, f.status) for f, _ in follow_ups] == [
            ("Kirim data baseline", FollowUpStatus.DONE),
            ("Lengkapi data", FollowUpStatus.OPEN),
        ]
        second = follow_ups[1][0].id
    assert "ditutup" in desk.run("done", str(second), "--close", "--note", "Tidak perlu lagi",
                                 "--as", OPERATOR)  # fmt: skip

    assert "tercatat" in desk.run("visit", "--unit", "dinkes", "--on", desk.day(0),
                                  "--place", "Puskesmas Pagesangan", "--purpose", "Pendampingan",
                                  "--as", INNOVATOR)  # fmt: skip
    with unit_of_work() as session:
        visit = session.scalars(select(MentoringVisit)).one()
        assert visit.recorded_by == INNOVATOR and visit.visited_on == desk.today
        assert session.get_one(FollowUp, second).status is FollowUpStatus.CLOSED

    listed = json.loads(desk.run("list", "--json"))
    assert [(r["id"], r["status"]) for r in listed] == [
        (new, "cancelled"),
        (desk.consultation, "held"),
    ]
    assert listed[1]["attendees"] == [OFFICER] and listed[1]["open_follow_ups"] == []
    assert f"#{desk.consultation} " in desk.run("list")

    requests = json.loads(desk.run("requests", "--json"))
    assert [(r["reference"], r["status"]) for r in requests] == [(desk.reference, "new")]
    assert f"{desk.reference} [new] idea" in desk.run("requests")
    triaged = desk.run("triage", desk.reference.lower(), "--unit", "DINKES",
                       "--code", "BANK-SAMPAH", "--jenis", "Non Digital",
                       "--bentuk", "Inovasi Pelayanan Publik", "--urusan", "Lingkungan Hidup",
                       "--as", OPERATOR)  # fmt: skip
    assert f"{desk.reference} -> usulan BANK-SAMPAH" in triaged
    with unit_of_work() as session:
        proposal = session.scalars(select(Innovation).where(Innovation.code == "BANK-SAMPAH")).one()
        assert proposal.initiator is Initiator.MASYARAKAT
        assert klinik.get_public_request(session, desk.reference).status is (
            PublicRequestStatus.PROPOSED
        )
        second_request, _ = klinik.submit_public_request(
            session,
            klinik.PublicRequestIn(kind="consultation", name="Baiq Warga", email=CITIZEN,
                                   subject="Minta jadwal konsultasi",
                                   message="Kami ingin berkonsultasi tentang inovasi kampung."),
            client=None,
        )  # fmt: skip
        reference = second_request.reference
    assert f"{reference} ditutup" in desk.run("close", reference, "--reply", "Datang Selasa.",
                                               "--as", OPERATOR)  # fmt: skip
    with unit_of_work() as session:
        closed = klinik.get_public_request(session, reference)
        assert (closed.status, closed.reply, closed.handled_by) == (
            PublicRequestStatus.CLOSED,
            "Datang Selasa.",
            OPERATOR,
        )
        told = session.scalars(
            select(OutboxMessage.context).where(OutboxMessage.recipient_email == CITIZEN)
        ).all()
        assert sorted(c["kind"] for c in told) == ["closed", "proposed", "received", "received"]


# ---------------------------------------------------------------- refusals

Args = Callable[[Desk], list[str]]

REFUSALS: list[tuple[str, Args, str, str]] = [
    ("book", lambda d: ["book", "--at", f"{d.day(2)} 09:00", "--topic", "Konsultasi",
                        "--unit", "DINKES", "--attendee", OTHER_OFFICER, "--as", OPERATOR],
     "klinik.attendee_not_allowed", "tidak dapat menghadiri konsultasi DINKES"),
    ("book-as-unknown", lambda d: ["book", "--at", f"{d.day(2)} 09:00", "--topic", "Konsultasi",
                                   "--unit", "DINKES", "--as", "siapa@example.org"],
     "person.unknown", "orang 'siapa@example.org' tidak terdaftar"),
    ("reschedule", lambda d: ["reschedule", str(d.consultation), "--at", f"{d.day(-1)} 09:00",
                              "--as", OPERATOR],
     "klinik.in_past", "sudah lewat; pilih waktu yang akan datang"),
    ("cancel", lambda d: ["cancel", str(d.consultation), "--reason", "Tidak jadi",
                          "--as", OTHER_OFFICER],
     "access.refused", f"{OTHER_OFFICER} tidak berwenang"),
    ("invite", lambda d: ["invite", str(d.consultation), "--attendee", "siapa@example.org",
                          "--as", OPERATOR],
     "klinik.person_unknown", "bukan orang terdaftar yang aktif"),
    ("record", lambda d: ["record", str(d.consultation), "--present", OFFICER, "--as", OPERATOR],
     "klinik.not_yet_held", "catat sesi setelah berlangsung"),
    ("follow-up", lambda d: ["follow-up", "--text", "Kirim data", "--owner", OFFICER,
                             "--due", d.day(-1), "--consultation", str(d.consultation),
                             "--as", OPERATOR],
     "klinik.due_past", "sebelum hari ini"),
    ("done", lambda d: ["done", str(d.follow_up), "--close", "--as", OPERATOR],
     "klinik.note_required", "tuliskan alasan tindak lanjut ditutup"),
    ("visit", lambda d: ["visit", "--unit", "DINKES", "--on", d.day(1), "--place", "Dinkes",
                         "--purpose", "Pendampingan", "--as", INNOVATOR],
     "klinik.visit_future", "belum tiba; catat kunjungan setelah berlangsung"),
    ("visit-by-an-officer", lambda d: ["visit", "--unit", "DINKES", "--on", d.day(0),
                                       "--place", "Dinkes", "--purpose", "Pendampingan",
                                       "--as", OFFICER],
     "klinik.not_innovator", "bukan inovator"),
    ("triage", lambda d: ["triage", d.reference, "--unit", "DINKES", "--code", "MAHARESTU",
                          "--jenis", "Digital", "--bentuk", "Inovasi Pelayanan Publik",
                          "--urusan", "Kesehatan", "--as", OPERATOR],
     "klinik.code_taken", "kode inovasi MAHARESTU sudah dipakai"),
    ("triage-by-a-unit", lambda d: ["triage", d.reference, "--unit", "DINKES", "--code", "BARU",
                                    "--jenis", "Digital", "--bentuk", "Inovasi Pelayanan Publik",
                                    "--urusan", "Kesehatan", "--as", OFFICER],
     "access.refused", f"{OFFICER} tidak berwenang"),
    ("close", lambda d: ["close", "KK-TIDAKADA", "--reply", "Terima kasih", "--as", OPERATOR],
     "klinik.request_unknown", "permohonan masyarakat 'KK-TIDAKADA' tidak ada"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [pytest.param(args, code, words, id=name) for name, args, code, words in REFUSALS],
)
def test_a_refusal_names_its_code_in_the_installations_language_and_changes_nothing(
    desk: Desk, args: Args, code: str, words: str
) -> None:
    from kinanti.cli import app

    before = _snapshot()

    result = desk.cli.invoke(app, ["klinik", *args(desk)])

    # in process the domain's error reaches the caller (``main`` prints it, below)
    assert result.exit_code == 1
    assert isinstance(result.exception, KinantiError), (result.output, result.exception)
    assert result.exception.code == code
    assert words in result.exception.message("id")
    assert _snapshot() == before


def test_a_done_follow_up_is_not_done_twice(desk: Desk) -> None:
    from kinanti.cli import app

    desk.run("done", str(desk.follow_up), "--as", OFFICER)
    before = _snapshot()
    again = desk.cli.invoke(app, ["klinik", "done", str(desk.follow_up), "--as", OFFICER])
    assert isinstance(again.exception, KinantiError)
    assert again.exception.code == "klinik.follow_up_finished"
    assert _snapshot() == before


@pytest.mark.parametrize("command", ["list", "requests"])
def test_the_listings_refuse_an_unknown_option(desk: Desk, command: str) -> None:
    from kinanti.cli import app

    before = _snapshot()
    result = desk.cli.invoke(app, ["klinik", command, "--stage", "held"])
    assert result.exit_code == 2 and "No such option: --stage" in result.output
    assert _snapshot() == before


def test_the_command_line_prints_the_refusal_in_the_installations_language(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real entry point (``main``) in process: the message comes from the translation
    table, not the error's English text, and the exit code is 1."""
    from kinanti.cli import main

    before = _snapshot()
    monkeypatch.setattr(
        "sys.argv",
        ["kinanti", "klinik", "cancel", str(desk.consultation), "--reason", "Tidak jadi",
         "--as", OTHER_OFFICER],
    )  # fmt: skip
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    printed = " ".join(capsys.readouterr().err.split())
    assert printed.startswith(f"Galat: {OTHER_OFFICER} tidak berwenang mengelola konsultasi"), (
        printed
    )
    assert "may not" not in printed
    assert _snapshot() == before


def test_every_desk_write_records_the_as_person_and_the_os_user(desk: Desk) -> None:
    """As the rest of the command line (``kinanti.cli.writes``): each write appends an
    audit row naming the command, the ``--as`` person, the OS user and the target, in the
    change's transaction (a refusal writes none: the snapshots above hold ``audit_log``)."""
    desk.run("visit", "--unit", "dinkes", "--on", desk.day(0), "--place", "Dinkes",
             "--purpose", "Pendampingan", "--as", INNOVATOR)  # fmt: skip
    desk.run("cancel", str(desk.consultation), "--reason", "Tidak jadi", "--as", OPERATOR)
    with unit_of_work() as session:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.event == CLI_WRITE).order_by(AuditRecord.id)
        ).all()
        assert [(r.detail["command"], r.actor, r.target, r.client) for r in rows] == [
            ("klinik visit", INNOVATOR, "DINKES", "cli"),
            ("klinik cancel", OPERATOR, f"consultation/{desk.consultation}", "cli"),
        ]
        assert {r.detail["os_user"] for r in rows} == {os_user()}
        visit = session.scalars(select(MentoringVisit)).one()
        assert visit.recorded_by == INNOVATOR
        assert get_person(session, INNOVATOR).id == visit.innovator_id
        events = session.scalars(
            select(DomainEventRecord.payload).where(
                DomainEventRecord.name == "kinanti.klinik.visit-recorded"
            )
        ).all()
        assert [e["innovator"] for e in events] == [INNOVATOR]


def test_the_snapshot_sees_a_change(desk: Desk) -> None:
    """The refusals' check can fail: a change shows in the snapshot."""
    before = _snapshot()
    assert before["consultations"] and before["public_requests"]
    desk.run("cancel", str(desk.consultation), "--reason", "Tidak jadi", "--as", OPERATOR)
    assert _snapshot() != before
