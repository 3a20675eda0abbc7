"""The portal's replication pages on the example city (FastAPI's test client, SQLite): the
catalogue searched by urusan and kind of unit, an offer with its lineage and suggestions,
registering interest with a request letter, and Brida's decision at the adoption's gate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from domain.adoptions import complete_adoption_step
from domain.enums import AdoptionStatus
from domain.models import Adoption, Innovation, Unit
from kinanti.db import get_engine, unit_of_work, upgrade
from kinanti.demo.run import EXAMPLES
from kinanti.importers import import_file, import_replications_file
from kinanti.portal.accounts import set_demo_password
from kinanti.settings import get_settings, scoped_environment
from tasks.lifecycle import stage_params
from tests.support import snapshots

PASSWORD = "kata-sandi-uji-yang-panjang-1"
REVIEWER = "hendriani.brida@mataramkota.go.id"
OFFICER = "inovasi.diskominfo@mataramkota.go.id"  # Diskominfo's officer
AMPENAN = "inovasi.pkm.ampenan@mataramkota.go.id"
PDF = b"%PDF-1.4\n% surat permohonan replikasi\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def _build_city(url: str, home: Path) -> None:
    """The example city with its replications and three accounts (built once per process,
    copied for each test: tests/support/snapshots.py)."""
    values = {"KINANTI_HOME": str(home), "KINANTI_DATABASE_URL": url, "KINANTI_LANGUAGE": "id"}
    with scoped_environment(values):
        get_engine.cache_clear()
        try:
            upgrade()
            for kind in ("units", "people", "innovations"):
                import_file(kind, EXAMPLES / f"{kind}.yaml")  # type: ignore[arg-type]
            import_replications_file(EXAMPLES / "replications.yaml")
            with unit_of_work() as session:
                for email in (REVIEWER, OFFICER, AMPENAN):
                    set_demo_password(session, email, PASSWORD)
            get_engine().dispose()
        finally:
            get_engine.cache_clear()


@pytest.fixture
def portal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    for name, value in {
        "KINANTI_HOME": str(tmp_path),
        "KINANTI_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
        "KINANTI_EMAIL_BACKEND": "file",
        "KINANTI_LANGUAGE": "id",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    snapshots.shared().restore(
        "replication-portal", f"sqlite:///{tmp_path / 'k.db'}", tmp_path, _build_city
    )
    from kinanti.portal.app import create_app

    with TestClient(create_app(get_settings(), get_engine())) as client:
        yield client
    get_engine.cache_clear()
    get_settings.cache_clear()


def _csrf(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def _sign_in(client: TestClient, email: str) -> None:
    response = client.post(
        "/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": _csrf(client, "/sign-in")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_the_catalogue_is_searchable_by_urusan_and_by_kind_of_unit(portal: TestClient) -> None:
    _sign_in(portal, OFFICER)
    everything = portal.get("/replication").text
    assert "SIDAK-SEHAT" in everything and "PARIMANTA" in everything
    health = portal.get("/replication", params={"urusan": "Kesehatan"}).text
    assert "SIDAK-SEHAT" in health and "PARIMANTA" not in health
    uptd = portal.get("/replication", params={"kind": "uptd"}).text
    assert "SIDAK-SEHAT" in uptd and "PARIMANTA" not in uptd  # Parimanta's owner is an OPD


def test_an_offer_shows_its_lineage_level_and_suggested_adopters(portal: TestClient) -> None:
    _sign_in(portal, OFFICER)
    page = portal.get("/replication/PARIMANTA").text
    assert "Kabupaten Lombok Barat" in page and "Level Replikasi (IID): 1" in page
    sidak = portal.get("/replication/SIDAK-SEHAT").text
    assert "SIDAK-SEHAT-PKM-AMPENAN-PKM-CAKRANEG" in sidak  # the replica of the replica
    assert "PKM-DASAN-AGUNG" in sidak and "unit sejenis dengan pemiliknya" in sidak


def _interest(client: TestClient, code: str, unit: str, content: bytes, name: str) -> object:
    return client.post(
        f"/replication/{code}/interest",
        data={"adopter_unit": unit, "model": "fasilitasi",
              "csrf_token": _csrf(client, f"/replication/{code}")},
        files={"letter": (name, content, "application/pdf")},
        follow_redirects=False,
    )  # fmt: skip


def _adoptions_of(unit: str) -> list[Adoption]:
    with unit_of_work() as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == unit))
        rows = list(session.scalars(select(Adoption).where(Adoption.adopter_unit_id == unit_id)))
        for row in rows:
            session.expunge(row)
        return rows


def test_a_unit_registers_interest_with_its_letter_once(portal: TestClient) -> None:
    _sign_in(portal, OFFICER)
    response = _interest(portal, "SIDAK-SEHAT", "DISKOMINFO", PDF, "surat.pdf")
    assert response.status_code == 303  # type: ignore[attr-defined]
    (adoption,) = _adoptions_of("DISKOMINFO")
    assert adoption.letter["sha256"] and Path(adoption.letter["file_path"]).is_file()
    again = _interest(portal, "SIDAK-SEHAT", "DISKOMINFO", PDF, "surat.pdf")
    assert again.status_code == 400  # type: ignore[attr-defined]
    assert "sudah memiliki minat replikasi" in again.text  # type: ignore[attr-defined]
    assert len(_adoptions_of("DISKOMINFO")) == 1


def test_a_letter_the_evidence_store_refuses_writes_nothing(portal: TestClient) -> None:
    _sign_in(portal, OFFICER)
    response = _interest(portal, "SIDAK-SEHAT", "DISKOMINFO", b"MZ\x90\x00 not a pdf", "surat.pdf")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert _adoptions_of("DISKOMINFO") == []


def test_an_officer_cannot_ask_for_another_unit(portal: TestClient) -> None:
    _sign_in(portal, OFFICER)
    response = _interest(portal, "SIDAK-SEHAT", "PKM-MATARAM", PDF, "surat.pdf")
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert _adoptions_of("PKM-MATARAM") == []


def test_brida_decides_the_adoption_gate_in_the_portal(portal: TestClient) -> None:
    _sign_in(portal, OFFICER)
    _interest(portal, "SIDAK-SEHAT", "DISKOMINFO", PDF, "surat.pdf")
    (adoption,) = _adoptions_of("DISKOMINFO")
    with unit_of_work() as session:  # what the adoption flow's persiapan step does
        complete_adoption_step(session, adoption.id, stage_params(None))
    path = f"/replication/adoptions/{adoption.id}"
    assert portal.get(path).status_code == 403  # the adopter's own officer may not decide
    assert f"#{adoption.id}" in portal.get("/replication").text  # the adopter sees its own
    portal.cookies.clear()
    _sign_in(portal, REVIEWER)
    waiting = portal.get("/replication").text  # the reviewer finds the gate to decide
    assert f'href="/replication/adoptions/{adoption.id}"' in waiting
    page = portal.get(path)
    assert page.status_code == 200 and "Gerbang replikasi" in page.text
    refused = portal.post(path, data={"decision": "reject", "reason": "",
                                      "csrf_token": _csrf(portal, path)})  # fmt: skip
    assert refused.status_code == 400 and "wajib" in refused.text
    decided = portal.post(path, data={"decision": "approve", "reason": "Prasyarat terpenuhi",
                                      "csrf_token": _csrf(portal, path)},
                          follow_redirects=False)  # fmt: skip
    assert decided.status_code == 303
    with unit_of_work() as session:
        found = session.get_one(Adoption, adoption.id)
        assert found.status is AdoptionStatus.APPROVED and found.decided_by == REVIEWER
        replica = session.get_one(Innovation, found.replica_id)
        assert replica.unit_id == found.adopter_unit_id
        assert session.scalar(select(func.count(Adoption.id))) == 6
