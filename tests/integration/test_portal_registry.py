"""Brida operators manage units and people in the portal (issue 9 item 3): the hand-written
/admin pages (docs/decisions/0001-admin-screens-not-sqladmin.md) write through the registry
importer, so the domain's rules hold; every write is audited in its transaction, a
non-operator is refused and audited, bad input is shown beside its field and writes nothing.
A committed database on each backend, the real app (FastAPI's test client)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from domain.enums import Role, UnitKind
from domain.models import AuditRecord, Person, PersonRole, Unit
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
    settings: Settings
    operator: str
    officer: str


def _build_world(url: str, home: Path) -> tuple[str, str]:
    """Dinkes, an operator and an officer with passwords (built once per process and
    backend, copied for each test: tests/support/snapshots.py); returns their emails."""
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        make = Factory(session)
        dinkes = make.unit("DINKES")
        operator = make.person("operator.brida@mataramkota.go.id", roles=[Role.BRIDA_OPERATOR])
        officer = make.person(
            "inovasi.dinkes@mataramkota.go.id", roles=[Role.UNIT_OFFICER], unit=dinkes
        )
        for person in (operator, officer):
            set_demo_password(session, person.email, PASSWORD)
        emails = operator.email, officer.email
    engine.dispose()
    return emails


@pytest.fixture
def world(empty_database_url: str, tmp_path: Path) -> Iterator[World]:
    emails = snapshots.shared().restore(
        "portal-registry", empty_database_url, tmp_path, _build_world
    )
    engine = make_engine(empty_database_url)
    settings = Settings(
        home=tmp_path, database_url=empty_database_url, secret_key="s" * 40, email_backend="file"
    )
    yield World(engine, settings, *emails)
    engine.dispose()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def _client(world: World, email: str) -> TestClient:
    client = TestClient(create_app(world.settings, world.engine), follow_redirects=False)
    token = _csrf(client.get("/sign-in").text)
    signed = client.post(
        "/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert signed.status_code == 303, signed.text[:500]
    return client


def _post(client: TestClient, path: str, data: dict[str, object]) -> object:
    return client.post(path, data={**data, "csrf_token": _csrf(client.get(path).text)})


def _registry_audit(world: World) -> list[dict[str, object]]:
    with Session(world.engine) as session:
        rows = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.event == "registry_changed")
            .order_by(AuditRecord.id)
        ).all()
        return [{"actor": r.actor, "target": r.target, **r.detail} for r in rows]


def _counts(world: World) -> tuple[int, int, int]:
    with Session(world.engine) as session:
        return (
            session.scalar(select(func.count(Unit.id))) or 0,
            session.scalar(select(func.count(Person.id))) or 0,
            session.scalar(select(func.count(AuditRecord.id)).where(
                AuditRecord.event == "registry_changed")) or 0,
        )  # fmt: skip


UPTD = {
    "code": "pkm-ampenan",
    "name": "Puskesmas Ampenan",
    "kind": "uptd",
    "parent": "DINKES",
    "officer_email": "pkm.ampenan@mataramkota.go.id",
    "language": "id",
    "active": "on",
}


def test_an_operator_creates_and_edits_a_unit_and_each_write_is_audited(world: World) -> None:
    operator = _client(world, world.operator)
    assert 'href="/admin/units/new"' in operator.get("/units").text

    created = _post(operator, "/admin/units/new", UPTD)

    assert created.status_code == 303  # type: ignore[attr-defined]
    assert created.headers["location"] == "/admin/units/PKM-AMPENAN?saved=true"  # type: ignore[attr-defined]
    page = operator.get("/admin/units/PKM-AMPENAN?saved=true").text
    assert "Unit kerja tersimpan." in page and 'value="Puskesmas Ampenan"' in page
    edited = _post(operator, "/admin/units/PKM-AMPENAN",
                   {**UPTD, "name": "UPTD Puskesmas Ampenan", "active": ""})  # fmt: skip
    assert edited.status_code == 303  # type: ignore[attr-defined]
    with Session(world.engine) as session:
        unit = session.scalars(select(Unit).where(Unit.code == "PKM-AMPENAN")).one()
        parent = session.get_one(Unit, unit.parent_id)
        assert (unit.name, unit.kind, parent.code, unit.active) == (
            "UPTD Puskesmas Ampenan", UnitKind.UPTD, "DINKES", False)  # fmt: skip
    assert [(a["actor"], a["target"], a["kind"], a["created"]) for a in _registry_audit(world)] == [
        (world.operator, "PKM-AMPENAN", "units", True),
        (world.operator, "PKM-AMPENAN", "units", False),
    ]


def test_an_operator_creates_a_person_with_roles_and_changes_them(world: World) -> None:
    operator = _client(world, world.operator)
    created = _post(operator, "/admin/people/new", {
        "email": "Kepala.Dinkes@MataramKota.go.id", "name": "Kepala Dinkes", "unit": "DINKES",
        "language": "en", "active": "on", "roles": ["unit_head", "unit_officer"]})  # fmt: skip
    assert created.status_code == 303, created.text[:800]  # type: ignore[attr-defined]
    email = "kepala.dinkes@mataramkota.go.id"
    assert created.headers["location"] == f"/admin/people/{email}"  # type: ignore[attr-defined]

    edited = _post(operator, f"/admin/people/{email}", {
        "name": "Kepala Dinas Kesehatan", "unit": "DINKES", "language": "en", "active": "on",
        "roles": ["unit_head"]})  # fmt: skip

    assert edited.status_code == 303  # type: ignore[attr-defined]
    with Session(world.engine) as session:
        person = session.scalars(select(Person).where(Person.email == email)).one()
        roles = session.scalars(select(PersonRole.role).where(PersonRole.person_id == person.id))
        assert (person.name, person.language.value, set(roles)) == (
            "Kepala Dinas Kesehatan", "en", {Role.UNIT_HEAD})  # fmt: skip
    audited = _registry_audit(world)
    assert [(a["target"], a["created"], a["roles"]) for a in audited] == [
        (email, True, ["unit_head", "unit_officer"]),
        (email, False, ["unit_head"]),
    ]


def test_a_unit_officer_is_refused_every_registry_page_and_the_refusal_is_audited(
    world: World,
) -> None:
    officer = _client(world, world.officer)
    before = _counts(world)
    token = _csrf(officer.get("/").text)
    for path in ("/admin/units/new", "/admin/units/DINKES", "/admin/people/new"):
        assert officer.get(path).status_code == 403, path
    refused = officer.post("/admin/units/new", data={**UPTD, "csrf_token": token})
    assert refused.status_code == 403
    refused = officer.post("/admin/people/new", data={"email": "x@mataramkota.go.id",
        "name": "X", "roles": ["brida_operator"], "csrf_token": token})  # fmt: skip
    assert refused.status_code == 403
    assert 'href="/admin/units/new"' not in officer.get("/units").text
    assert _counts(world) == before
    with Session(world.engine) as session:
        refusals = session.scalars(
            select(AuditRecord).where(AuditRecord.event == "access_refused")
        ).all()
    assert {(r.actor, r.detail["path"], r.detail["method"]) for r in refusals} >= {
        (world.officer, "/admin/units/new", "POST"),
        (world.officer, "/admin/people/new", "POST"),
        (world.officer, "/admin/units/DINKES", "GET"),
    }


@pytest.mark.parametrize(
    ("path", "data", "field", "text"),
    [
        ("/admin/units/new", {**UPTD, "parent": ""}, "", "parent"),
        ("/admin/units/new", {**UPTD, "parent": "DINSOS"}, "parent", "DINSOS"),
        ("/admin/units/new", {**UPTD, "code": "PKM AMPENAN!"}, "code", ""),
        ("/admin/units/new", {**UPTD, "code": "DINKES", "kind": "opd", "parent": ""}, "code",
         "DINKES sudah terdaftar"),
        ("/admin/units/new", {**UPTD, "officer_email": "bukan-email"}, "officer_email", ""),
        ("/admin/units/DINKES", {"name": "Dinas Kesehatan", "kind": "uptd", "parent": "DINKES"},
         "parent", "own parent"),
        ("/admin/people/new", {"email": "bukan-email", "name": "X", "roles": ["reviewer"]},
         "email", "Tulis alamat email yang benar"),
        ("/admin/people/new", {"email": "x@mataramkota.go.id", "name": "X", "roles": []},
         "roles", "Pilih sedikitnya satu peran yang dikenal"),
        ("/admin/people/new", {"email": "x@mataramkota.go.id", "name": "X",
                               "roles": ["unit_officer"]}, "", "unit"),
        ("/admin/people/new", {"email": "x@mataramkota.go.id", "name": "X", "unit": "NOPE",
                               "roles": ["unit_officer"]}, "unit", "NOPE"),
        ("/admin/people/new", {"email": "x@mataramkota.go.id", "name": "X",
                               "roles": ["wizard"]}, "roles", "Pilih sedikitnya satu peran"),
    ],
    ids=["uptd-without-parent", "unknown-parent", "bad-code", "code-taken", "bad-email",
         "own-parent", "person-bad-email", "no-role", "officer-without-unit", "unknown-unit",
         "unknown-role"],
)  # fmt: skip
def test_bad_registry_input_is_shown_beside_its_field_and_writes_nothing(
    world: World, path: str, data: dict[str, object], field: str, text: str
) -> None:
    operator = _client(world, world.operator)
    before = _counts(world)

    refused = _post(operator, path, data)

    assert refused.status_code == 400, refused.text[:800]  # type: ignore[attr-defined]
    html = refused.text  # type: ignore[attr-defined]
    assert 'class="error-summary"' in html
    if field:
        assert f'id="{field}-error"' in html or f'href="#{field}"' in html, html[:3000]
    assert text in html
    assert _counts(world) == before
