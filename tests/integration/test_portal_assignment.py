"""The portal's assignment buttons (issue 9 item 6) over HTTP: claim from the inbox, hand
back and reassign on the gate page, CSRF required, refusals in the person's language and
audited. A committed database on each backend, the real app (FastAPI's test client)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.enums import GateAssignment, Language, Role
from domain.gates import open_gate
from domain.models import AuditRecord, GateRequest, Innovation, OutboxMessage, Person
from kinanti.db import make_engine, unit_of_work, upgrade
from kinanti.portal.accounts import set_demo_password
from kinanti.portal.app import create_app
from kinanti.settings import Settings
from tests.support import snapshots
from tests.support.factories import Factory

PASSWORD = "kata-sandi-uji-123"


@dataclass
class World:
    engine: Engine
    app_settings: Settings
    code: str
    ana: str
    budi: str
    operator: str
    officer: str


def _build_world(url: str, home: Path) -> tuple[str, dict[str, str]]:
    """Dinsos's innovation at its planning gate, two reviewers, an operator and an officer
    with passwords (built once per process and backend, copied for each test:
    tests/support/snapshots.py); returns the innovation's code and the people's emails."""
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        make = Factory(session)
        unit = make.unit("DINSOS")
        people = {
            "ana": make.person("ana.brida@mataramkota.go.id", roles=[Role.REVIEWER]),
            "budi": make.person(
                "budi.brida@mataramkota.go.id", roles=[Role.REVIEWER], language=Language.EN
            ),
            "operator": make.person(
                "operator.brida@mataramkota.go.id", roles=[Role.BRIDA_OPERATOR]
            ),
            "officer": make.person(
                "inovasi.dinsos@mataramkota.go.id", roles=[Role.UNIT_OFFICER], unit=unit
            ),
        }
        innovation = make.innovation(unit, title="Sigap Sosial")
        open_gate(session, innovation, round_=1, flow_run_id=None,
                  timeout=dt.timedelta(days=14), assignment=GateAssignment.ROLE_QUEUE)  # fmt: skip
        for person in people.values():
            set_demo_password(session, person.email, PASSWORD)
        code = innovation.code
        emails = {k: p.email for k, p in people.items()}
    engine.dispose()
    return code, emails


@pytest.fixture
def world(empty_database_url: str, tmp_path: Path) -> Iterator[World]:
    code, emails = snapshots.shared().restore(
        "portal-assignment",
        empty_database_url,
        tmp_path,
        _build_world,
        per_process=True,  # the innovation's code comes from the factories' counter
    )
    engine = make_engine(empty_database_url)
    settings = Settings(
        home=tmp_path, database_url=empty_database_url, secret_key="s" * 40, email_backend="file"
    )
    yield World(engine, settings, code, **emails)
    engine.dispose()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def _client(world: World, email: str) -> TestClient:
    client = TestClient(create_app(world.app_settings, world.engine), follow_redirects=False)
    token = _csrf(client.get("/sign-in").text)
    signed = client.post(
        "/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert signed.status_code == 303, signed.text[:500]
    return client


def _gate(world: World) -> GateRequest:
    with Session(world.engine) as session:
        innovation = session.scalars(select(Innovation).where(Innovation.code == world.code)).one()
        return session.scalars(
            select(GateRequest).where(GateRequest.innovation_id == innovation.id)
        ).one()


def _person_id(world: World, email: str) -> int:
    with Session(world.engine) as session:
        return session.scalars(select(Person.id).where(Person.email == email)).one()


def test_a_reviewer_claims_from_the_inbox_and_hands_back_on_the_gate_page(world: World) -> None:
    ana = _client(world, world.ana)
    inbox = ana.get("/gates")
    assert "Belum ditugaskan" in inbox.text and f'action="/gates/{world.code}/claim"' in inbox.text

    claimed = ana.post(
        f"/gates/{world.code}/claim", data={"csrf_token": _csrf(inbox.text), "back": "inbox"}
    )

    assert claimed.status_code == 303 and claimed.headers["location"] == "/gates?done=claimed"
    assert _gate(world).assignee_id == _person_id(world, world.ana)
    inbox = ana.get("/gates?done=claimed")
    assert "Gerbang ini kini ditugaskan kepada Anda." in inbox.text
    assert "Ditugaskan kepada Anda" in inbox.text and "/claim" not in inbox.text

    page = ana.get(f"/gates/{world.code}")
    assert 'id="hand-back"' in page.text
    back = ana.post(f"/gates/{world.code}/hand-back", data={"csrf_token": _csrf(page.text)})
    assert back.headers["location"] == f"/gates/{world.code}?done=handed_back"
    assert _gate(world).assignee_id is None
    with Session(world.engine) as session:
        changes = session.scalars(
            select(AuditRecord.detail).where(AuditRecord.event == "gate_assignment")
        ).all()
    assert [c["change"] for c in changes] == ["claimed", "handed_back"]


def test_a_claim_without_csrf_is_refused_and_changes_nothing(world: World) -> None:
    ana = _client(world, world.ana)
    refused = ana.post(f"/gates/{world.code}/claim", data={})
    assert refused.status_code == 403
    assert _gate(world).assignee_id is None


def test_a_taken_gate_refuses_a_second_claim_in_the_readers_language(world: World) -> None:
    ana, budi = _client(world, world.ana), _client(world, world.budi)
    page = budi.get(f"/gates/{world.code}")  # budi sees the claim button, then ana is quicker
    ana.post(f"/gates/{world.code}/claim", data={"csrf_token": _csrf(ana.get("/gates").text)})

    refused = budi.post(f"/gates/{world.code}/claim", data={"csrf_token": _csrf(page.text)})

    assert refused.status_code == 409
    assert "is already assigned to" in refused.text  # budi reads English
    assert "sudah ditugaskan" not in refused.text
    assert _gate(world).assignee_id == _person_id(world, world.ana)
    with Session(world.engine) as session:
        audited = session.scalars(
            select(AuditRecord.detail).where(AuditRecord.event == "gate_assignment_refused")
        ).all()
    assert [a["code"] for a in audited] == ["gate.claim_taken"]


def test_an_operator_reassigns_on_the_gate_page_and_the_assignee_is_emailed(
    world: World,
) -> None:
    operator = _client(world, world.operator)
    page = operator.get(f"/gates/{world.code}")
    assert page.status_code == 200 and 'id="reassign"' in page.text
    assert f'<option value="{world.budi}">' in page.text

    done = operator.post(
        f"/gates/{world.code}/assign",
        data={"csrf_token": _csrf(page.text), "to": world.budi, "note": "ahli bidang sosial"},
    )

    assert done.status_code == 303
    assert _gate(world).assignee_id == _person_id(world, world.budi)
    with Session(world.engine) as session:
        [mail] = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "gate_assigned")
        ).all()
    assert mail.recipient_email == world.budi and mail.context["reason"] == "ahli bidang sosial"

    to_officer = operator.post(
        f"/gates/{world.code}/assign", data={"csrf_token": _csrf(page.text), "to": world.officer}
    )
    assert to_officer.status_code == 403
    assert "tidak dapat ditugaskan gerbang" in to_officer.text  # the operator reads Indonesian


def test_a_reviewer_may_not_reassign_and_an_officer_may_not_claim(world: World) -> None:
    ana = _client(world, world.ana)
    page = ana.get(f"/gates/{world.code}")
    assert 'id="reassign"' not in page.text
    refused = ana.post(
        f"/gates/{world.code}/assign", data={"csrf_token": _csrf(page.text), "to": world.ana}
    )
    assert refused.status_code == 403 and "tidak berwenang menugaskan gerbang" in refused.text

    officer = _client(world, world.officer)
    home = officer.get("/")
    claim = officer.post(f"/gates/{world.code}/claim", data={"csrf_token": _csrf(home.text)})
    assert claim.status_code == 403
    assert _gate(world).assignee_id is None


def test_the_innovation_page_translates_history_reasons_and_formats_the_budget(
    world: World,
) -> None:
    officer = _client(world, world.officer)  # reads Indonesian
    page = officer.get(f"/innovations/{world.code}").text
    assert "<td>diajukan</td>" in page and "<td>submitted</td>" not in page
    assert "Rp 25.000.000" in page

    budi = _client(world, world.budi)  # reads English
    gate = budi.get(f"/gates/{world.code}").text
    assert "Rp 25,000,000" in gate
    assert "<td>submitted</td>" in budi.get(f"/innovations/{world.code}").text
