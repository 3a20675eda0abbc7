"""Klinik Kinanti through the portal (FastAPI's test client, in process, a migrated SQLite
database, emails written as .eml files): booking in the region's time zone, attendees,
the public form's defences (flood, size, malformed input, honeypot, CSRF, nothing half
written) and Brida's triage into a proposal or a reply."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from domain import klinik
from domain.enums import Initiator, Language, PublicRequestStatus, Role, Stage
from domain.models import (
    AuditRecord,
    Consultation,
    ConsultationAttendee,
    DomainEventRecord,
    Innovation,
    OutboxMessage,
    PublicRequest,
    utcnow,
)
from kinanti.db import make_engine, unit_of_work, upgrade
from kinanti.portal.accounts import set_demo_password
from kinanti.portal.app import create_app
from kinanti.settings import Settings
from tests.support import snapshots
from tests.support.factories import Factory

OPERATOR = "operator.klinik@brida.mataramkota.go.id"
HEAD = "kepala.klinik@brida.mataramkota.go.id"
INNOVATOR = "inovator.klinik@unram.ac.id"
OFFICER = "inovasi.dinkes@mataramkota.go.id"
OTHER_OFFICER = "inovasi.dkp@mataramkota.go.id"
EN = Language.EN
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class World:
    engine: Engine
    settings: Settings
    passwords: dict[str, str]
    outbox: Path

    def client(self, address: str = "198.51.100.7") -> TestClient:
        return TestClient(create_app(self.settings, self.engine), client=(address, 40000))

    def count(self, *models: Any) -> tuple[int, ...]:
        with unit_of_work(self.engine) as session:
            return tuple(session.scalar(select(func.count()).select_from(m)) or 0 for m in models)


def _build_world(url: str, home: Path) -> dict[str, str]:
    """The Klinik world's database (the same for every time zone); returns the passwords."""
    upgrade(url)
    engine = make_engine(url)
    passwords = {e: secrets.token_urlsafe(12) for e in (OPERATOR, HEAD, INNOVATOR, OFFICER)}
    with unit_of_work(engine) as session:
        make = Factory(session)
        dinkes = make.unit("DINKES", name="Dinas Kesehatan", officer_email=None, head_email=None)
        dkp = make.unit("DKP", name="Dinas Kelautan dan Perikanan")
        make.person(OPERATOR, roles=[Role.BRIDA_OPERATOR], name="Operator Brida", language=EN)
        make.person(HEAD, roles=[Role.HEAD_OF_BRIDA], name="Kepala Brida", language=EN)
        make.person(INNOVATOR, roles=[Role.INNOVATOR], name="Ahmad Tauhid", language=EN)
        make.person(OFFICER, roles=[Role.UNIT_OFFICER], unit=dinkes, name="Baiq Nurul", language=EN)
        make.person(OTHER_OFFICER, roles=[Role.UNIT_OFFICER], unit=dkp, name="Lalu Hamzan")
        make.innovation(dinkes, code="MAHARESTU", title="Maharestu")
        for email, password in passwords.items():
            set_demo_password(session, email, password)
    engine.dispose()
    return passwords


def _world(tmp_path: Path, zone: str, **overrides: Any) -> World:
    """The Klinik world in ``tmp_path``: built once per process, copied for each test
    (tests/support/snapshots.py)."""
    url = f"sqlite:///{tmp_path / 'kinanti.db'}"
    passwords = snapshots.shared().restore("klinik-portal", url, tmp_path, _build_world)
    engine = make_engine(url)
    settings = Settings(
        home=tmp_path, database_url=url, timezone=zone, language=Language.EN,
        secret_key=secrets.token_urlsafe(40), outbox_dir=tmp_path / "outbox",
        portal_url="http://testserver", **overrides,
    )  # fmt: skip
    return World(engine, settings, passwords, tmp_path / "outbox")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = _world(tmp_path, "Asia/Makassar", public_max_per_client=3)
    yield made
    made.engine.dispose()


def _token(client: TestClient, path: str) -> str:
    page = client.get(path)
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def _sign_in(world: World, email: str) -> TestClient:
    client = world.client()
    token = _token(client, "/sign-in")
    answer = client.post(
        "/sign-in",
        data={"csrf_token": token, "email": email, "password": world.passwords[email], "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    return client


def _post(client: TestClient, path: str, form_page: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={"csrf_token": _token(client, form_page), **data})


# ---------------------------------------------------------------- booking


@pytest.mark.parametrize(("zone", "utc_hour"), [("Asia/Makassar", 1), ("Asia/Jayapura", 0)])
def test_a_booking_is_typed_and_shown_in_the_regions_time_zone_and_stored_in_utc(
    tmp_path: Path, zone: str, utc_hour: int
) -> None:
    world = _world(tmp_path, zone)
    client = _sign_in(world, OPERATOR)
    day = (utcnow() + dt.timedelta(days=10)).date()

    answer = _post(client, "/consultations/new", "/consultations/new", {
        "unit": "DINKES", "innovation": "maharestu", "topic": "Rancang bangun Maharestu",
        "day": day.isoformat(), "time": "09:30", "place": "Ruang Klinik Kinanti",
        "mentor": INNOVATOR, "attendees": f"{OFFICER}\n{OPERATOR}",
    })  # fmt: skip

    assert answer.status_code == 200, answer.text[:800]
    with unit_of_work(world.engine) as session:
        booked = session.scalars(select(Consultation)).one()
        assert booked.scheduled_at == dt.datetime.combine(day, dt.time(utc_hour, 30), tzinfo=dt.UTC)
        assert booked.stage is Stage.PLANNING
        roles = {a.role.value for a in session.scalars(select(ConsultationAttendee))}
        cid = booked.id
    assert roles == {"innovator", "unit", "brida"}
    local_name = "WITA" if zone == "Asia/Makassar" else "WIT"
    when = re.search(r'<dd id="when">([^<]+)</dd>', answer.text)
    assert when and when.group(1).endswith(f"09:30 {local_name}"), when
    assert "Ahmad Tauhid" in answer.text and "Baiq Nurul" in answer.text
    # every attendee got the confirmation, with the invitation at 01:30 / 00:30 UTC
    invitations = [
        message_from_bytes(p.read_bytes(), policy=default_policy)
        for p in sorted(world.outbox.glob("*.eml"))
    ]
    assert {str(m["To"]).split("<")[-1].rstrip(">") for m in invitations} == {
        INNOVATOR,
        OFFICER,
        OPERATOR,
    }
    for message in invitations:
        calendar = next(p for p in message.iter_attachments() if p.get_filename().endswith(".ics"))
        text = calendar.get_content()
        text = text.decode() if isinstance(text, bytes) else text
        assert f"DTSTART:{day.strftime('%Y%m%d')}T{utc_hour:02d}3000Z" in text
        assert f"UID:kinanti-consultation-{cid}@kinanti" in text
    world.engine.dispose()


def test_an_attendee_from_another_unit_is_refused_and_nothing_is_booked(world: World) -> None:
    client = _sign_in(world, OPERATOR)
    day = (utcnow() + dt.timedelta(days=3)).date().isoformat()
    before = world.count(Consultation, ConsultationAttendee, OutboxMessage)

    answer = _post(client, "/consultations/new", "/consultations/new", {
        "unit": "DINKES", "topic": "Konsultasi", "day": day, "time": "10:00",
        "attendees": OTHER_OFFICER,
    })  # fmt: skip

    assert answer.status_code == 400
    assert "cannot attend a consultation of DINKES" in answer.text
    assert world.count(Consultation, ConsultationAttendee, OutboxMessage) == before


def test_a_unit_officer_books_only_for_its_own_unit(world: World) -> None:
    client = _sign_in(world, OFFICER)
    day = (utcnow() + dt.timedelta(days=3)).date().isoformat()
    answer = _post(client, "/consultations/new", "/consultations/new", {
        "unit": "DKP", "topic": "Konsultasi", "day": day, "time": "10:00",
    })  # fmt: skip
    assert answer.status_code == 403
    assert world.count(Consultation) == (0,)


def test_a_booking_in_the_past_or_at_a_bad_time_names_the_problem(world: World) -> None:
    client = _sign_in(world, OPERATOR)
    past = (utcnow() - dt.timedelta(days=1)).date().isoformat()
    answer = _post(client, "/consultations/new", "/consultations/new", {
        "unit": "DINKES", "topic": "Konsultasi", "day": past, "time": "10:00",
    })  # fmt: skip
    assert answer.status_code == 400 and "has already passed" in answer.text
    answer = _post(client, "/consultations/new", "/consultations/new", {
        "unit": "DINKES", "topic": "Konsultasi", "day": past, "time": "25:99",
    })  # fmt: skip
    assert answer.status_code == 400 and 'href="#time"' in answer.text
    assert world.count(Consultation) == (0,)


def test_the_mentor_records_attendance_notes_and_a_follow_up(world: World) -> None:
    with unit_of_work(world.engine) as session:
        from domain.access import actor_of
        from domain.queries import get_person

        operator = actor_of(session, get_person(session, OPERATOR))
        consultation, _ = klinik.book_consultation(
            session, operator, scheduled_at=utcnow() + dt.timedelta(hours=1), topic="Uji coba",
            unit_code="DINKES", mentor_email=INNOVATOR, attendees=[OFFICER],
        )  # fmt: skip
        consultation.scheduled_at = utcnow() - dt.timedelta(hours=1)  # the session took place
        cid = consultation.id
    client = _sign_in(world, INNOVATOR)
    page = f"/consultations/{cid}"

    answer = _post(client, f"{page}/session", page, {"notes": "Data baseline kurang.",
                                                     "present": [INNOVATOR]})  # fmt: skip
    assert answer.status_code == 200, answer.text[:500]
    due = (utcnow() + dt.timedelta(days=7)).date().isoformat()
    answer = _post(client, f"{page}/follow-ups", page,
                   {"text": "Kirim data baseline", "owner": OFFICER, "due_on": due})  # fmt: skip
    assert answer.status_code == 200
    assert "Kirim data baseline" in answer.text and "Data baseline kurang." in answer.text
    with unit_of_work(world.engine) as session:
        present = {a.person_id: a.present for a in session.scalars(select(ConsultationAttendee))}
        assert sorted(present.values()) == [False, True]
        assert session.get_one(Consultation, cid).status.value == "held"
        assigned = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "follow_up_due")
        ).one()
        assert assigned.recipient_email == OFFICER and assigned.context["kind"] == "assigned"


# ---------------------------------------------------------------- the public form

VALID = {
    "kind": "idea",
    "name": "Komunitas Peduli Sampah Ampenan",
    "email": "warga.ampenan@example.org",
    "subject": "Bank sampah di setiap lingkungan",
    "message": "Kami mengusulkan bank sampah di setiap lingkungan Ampenan, dikelola warga.",
}
WRITTEN = (PublicRequest, OutboxMessage, DomainEventRecord)


def _submit(client: TestClient, data: dict[str, Any]) -> Any:
    return client.post("/klinik/public", data={"csrf_token": _token(client, "/klinik/public"),
                                               **data})  # fmt: skip


def test_the_public_form_needs_no_account_and_acknowledges_with_a_reference(
    world: World,
) -> None:
    client = world.client()
    assert client.get("/klinik/public").status_code == 200
    with unit_of_work(world.engine) as session:
        before_audit = session.scalar(select(func.count(AuditRecord.id)))

    answer = _submit(client, VALID)

    assert answer.status_code == 200
    reference = re.search(r'id="reference">(KK-[A-Z0-9]{8})<', answer.text)
    assert reference, answer.text[:800]
    with unit_of_work(world.engine) as session:
        stored = session.scalars(select(PublicRequest)).one()
        assert stored.reference == reference.group(1)
        assert stored.status is PublicRequestStatus.NEW and stored.client == "198.51.100.7"
        mails = {
            (m.recipient_email, m.context["kind"]) for m in session.scalars(select(OutboxMessage))
        }
        assert mails == {(VALID["email"], "received"), (OPERATOR, "waiting")}
        assert session.scalar(select(func.count(AuditRecord.id))) == (before_audit or 0) + 1


def test_the_public_form_refuses_a_flood_from_one_address(world: World) -> None:
    flooding = world.client("203.0.113.5")
    for n in range(3):
        assert _submit(flooding, {**VALID, "subject": f"Usulan nomor {n}"}).status_code == 200

    refused = _submit(flooding, {**VALID, "subject": "Usulan keempat"})

    assert refused.status_code == 429
    assert "Too many requests from your address" in refused.text
    assert world.count(PublicRequest) == (3,)
    # another address is not held up by the flood
    assert _submit(world.client("203.0.113.6"), VALID).status_code == 200
    assert world.count(PublicRequest) == (4,)


def test_invalid_submissions_count_toward_the_limit_too(world: World) -> None:
    flooding = world.client("203.0.113.8")
    before = world.count(*WRITTEN)
    for _ in range(3):
        assert _submit(flooding, {**VALID, "message": "pendek"}).status_code == 400
    assert _submit(flooding, VALID).status_code == 429
    assert world.count(*WRITTEN) == before


def test_an_oversize_submission_is_refused_before_it_is_read(world: World) -> None:
    client = world.client()
    token = _token(client, "/klinik/public")
    before = world.count(*WRITTEN)
    huge = {**VALID, "csrf_token": token, "message": "x" * (world.settings.public_max_bytes + 1)}

    declared = client.post("/klinik/public", data=huge)

    assert declared.status_code == 413 and "at most 32 KB" in declared.text
    body = "&".join(f"{k}={v}" for k, v in huge.items()).encode()
    chunked = client.post(
        "/klinik/public",
        content=iter([body[i : i + 4096] for i in range(0, len(body), 4096)]),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert chunked.status_code == 413
    assert world.count(*WRITTEN) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"email": "bukan-email"}, "email"),
        ({"message": "terlalu pendek"}, "message"),
        ({"message": "x" * 5001}, "message"),
        ({"kind": "complaint"}, "kind"),
        ({"phone": "0812; DROP TABLE"}, "phone"),
        ({"subject": "Bank sampah\x00 lingkungan"}, "subject"),
    ],
    ids=["no-name", "bad-email", "short", "long", "kind", "phone", "control-char"],
)
def test_malformed_input_is_shown_back_with_its_field_and_nothing_is_written(
    world: World, change: dict[str, str], field: str
) -> None:
    client = world.client()
    before = world.count(*WRITTEN)

    answer = _submit(client, {**VALID, **change})

    assert answer.status_code == 400
    assert f'href="#{field}"' in answer.text  # the error summary links to the field
    assert f'id="{field}-error"' in answer.text  # and the field shows its own message
    assert world.count(*WRITTEN) == before


def test_errors_are_in_the_citizens_language(world: World) -> None:
    client = world.client()
    token = _token(client, "/klinik/public")
    client.post("/language", data={"csrf_token": token, "language": "id", "next": "/klinik/public"})
    answer = _submit(client, {**VALID, "email": "bukan-email"})
    assert answer.status_code == 400 and "Tulis alamat email yang benar" in answer.text


def test_a_filled_honeypot_is_acknowledged_but_nothing_is_recorded(world: World) -> None:
    client = world.client()
    before = world.count(*WRITTEN)

    answer = _submit(client, {**VALID, "website": "http://spam.example"})

    assert answer.status_code == 200 and 'id="reference"' not in answer.text
    assert world.count(*WRITTEN) == before
    with unit_of_work(world.engine) as session:
        refusal = session.scalars(
            select(AuditRecord).where(AuditRecord.event == "public_refused")
        ).one()
        assert refusal.detail == {"reason": "honeypot"}


def test_a_post_without_the_forms_csrf_token_is_refused(world: World) -> None:
    client = world.client()
    client.get("/klinik/public")
    before = world.count(*WRITTEN)
    answer = client.post("/klinik/public", data={**VALID, "csrf_token": "forged"})
    assert answer.status_code == 403
    assert world.count(*WRITTEN) == before


def test_a_failure_half_way_leaves_nothing_written(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request row is flushed, then its operators' email fails: all is rolled back."""
    real = klinik._public_email

    def failing(*args: Any, **kwargs: Any) -> None:
        if kwargs.get("kind") == "waiting":
            raise RuntimeError("the outbox is unavailable")
        real(*args, **kwargs)

    monkeypatch.setattr(klinik, "_public_email", failing)
    client = TestClient(create_app(world.settings, world.engine), raise_server_exceptions=False)
    before = world.count(*WRITTEN)

    answer = _submit(client, VALID)

    assert answer.status_code == 500
    assert world.count(*WRITTEN) == before
    with unit_of_work(world.engine) as session:
        assert not session.scalars(
            select(AuditRecord).where(AuditRecord.event == "public_request")
        ).all()


# ---------------------------------------------------------------- triage


def _new_request(world: World, **change: str) -> str:
    answer = _submit(world.client(f"192.0.2.{secrets.randbelow(200) + 1}"), {**VALID, **change})
    found = re.search(r'id="reference">(KK-[A-Z0-9]{8})<', answer.text)
    assert found, answer.text[:500]
    return found.group(1)


def test_an_operator_triages_a_request_into_a_units_proposal_by_masyarakat(
    world: World,
) -> None:
    reference = _new_request(world)
    client = _sign_in(world, OPERATOR)
    page = f"/klinik/requests/{reference}"
    assert reference in client.get("/klinik/requests").text

    answer = _post(client, f"{page}/proposal", page, {
        "unit": "DINKES", "code": "BANK-SAMPAH", "title": "Bank Sampah Lingkungan",
        "year": "2026", "jenis": "Non Digital", "bentuk": "Inovasi Pelayanan Publik",
        "urusan_main": "Lingkungan Hidup",
    })  # fmt: skip

    assert answer.status_code == 200, answer.text[:800]
    with unit_of_work(world.engine) as session:
        innovation = session.scalars(
            select(Innovation).where(Innovation.code == "BANK-SAMPAH")
        ).one()
        assert innovation.initiator is Initiator.MASYARAKAT
        assert innovation.initiator_name == VALID["name"]
        assert innovation.stage is Stage.PLANNING and innovation.design == VALID["message"]
        request = klinik.get_public_request(session, reference)
        assert request.status is PublicRequestStatus.PROPOSED
        assert request.innovation_id == innovation.id and request.handled_by == OPERATOR
        told = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.recipient_email == VALID["email"],
                OutboxMessage.template == "public_request",
            )
        ).all()
        assert sorted(m.context["kind"] for m in told) == ["proposed", "received"]
    # a second triage is refused with the reason; nothing changes
    again = _post(client, f"{page}/close", page, {"reply": "Terima kasih."})
    assert again.status_code == 400 and "was already handled" in again.text


def test_an_operator_closes_a_request_with_a_reply_emailed_to_the_citizen(world: World) -> None:
    reference = _new_request(world, kind="consultation")
    client = _sign_in(world, OPERATOR)
    page = f"/klinik/requests/{reference}"
    reply = "Silakan datang ke Klinik Kinanti setiap Selasa pukul 09.00 WITA."

    answer = _post(client, f"{page}/close", page, {"reply": reply})

    assert answer.status_code == 200
    with unit_of_work(world.engine) as session:
        request = klinik.get_public_request(session, reference)
        assert (request.status, request.reply) == (PublicRequestStatus.CLOSED, reply)
        closing = session.scalars(
            select(OutboxMessage).where(OutboxMessage.key.like("public-request-closed:%"))
        ).one()
        assert closing.recipient_email == VALID["email"] and closing.context["reply"] == reply
    sent = [
        message_from_bytes(p.read_bytes(), policy=default_policy)
        for p in world.outbox.glob("*.eml")
    ]
    answers = [
        m for m in sent if VALID["email"] in str(m["To"]) and "our answer" in str(m["Subject"])
    ]
    assert len(answers) == 1 and reference in str(answers[0]["Subject"])
    body = answers[0].get_body(("plain",))
    assert body is not None and reply in body.get_content()


def test_only_brida_triages(world: World) -> None:
    reference = _new_request(world)
    client = _sign_in(world, OFFICER)
    assert client.get(f"/klinik/requests/{reference}").status_code == 403
    assert client.get("/klinik/requests").status_code == 403
