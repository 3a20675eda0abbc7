"""``kinanti lineage`` and ``kinanti replication catalogue`` in process (CliRunner, SQLite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain import replication as rep
from domain.enums import Stage
from domain.evidence import EvidenceStore
from kinanti.db import get_engine, unit_of_work
from kinanti.settings import get_settings
from tests.integration.test_replication import OFFER, City, _complete, _region_interest
from tests.support.factories import Factory


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("KINANTI_HOME", str(tmp_path))
    monkeypatch.setenv("KINANTI_DATABASE_URL", f"sqlite:///{tmp_path / 'k.db'}")
    monkeypatch.setenv("KINANTI_LANGUAGE", "en")
    monkeypatch.setenv("KINANTI_EVIDENCE_DIR", str(tmp_path / "evidence"))
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield CliRunner()
    get_engine.cache_clear()
    get_settings.cache_clear()


def test_lineage_and_catalogue_show_replicas_and_other_regions(
    cli: CliRunner, tmp_path: Path
) -> None:
    from kinanti.cli import app

    assert cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    store = EvidenceStore(tmp_path / "evidence", max_bytes=100_000)
    with unit_of_work() as session:
        make = Factory(session)
        city = City(make)
        origin = make.innovation(city.owner, code="SIDAK-SEHAT", title="Sidak Sehat")
        origin.stage = Stage.REPLICATION
        session.flush()
        rep.offer_replication(session, origin.code, OFFER, actor=city.owner_officer.email)
        link = rep.EvidenceIn(link="https://jdih.example.go.id/surat.pdf")
        inside, _ = rep.register_interest(
            session, store, origin.code, model="fasilitasi", letter=link,
            actor=city.adopter_officer.email, adopter_unit=city.adopter.code,
        )  # fmt: skip
        rep.decide_adoption(session, inside.id, "approve", actor=city.reviewer.email)
        _complete(session, store, _region_interest(session, store, origin, "52.01", "Lombok Barat"))

    result = cli.invoke(app, ["lineage", "SIDAK-SEHAT"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "SIDAK-SEHAT Sidak Sehat [replication, DINKES]"
    assert lines[1] == (
        "    - SIDAK-SEHAT-PKM-AMPENAN Sidak Sehat [planning, fasilitasi, "
        "perencanaan_pengembangan, approved, PKM-AMPENAN]"
    )
    assert lines[2] == (
        "    - Lombok Barat [evaluasi, mandiri, completed, evidence accepted, 52.01]"
    )
    catalogue = json.loads(cli.invoke(app, ["replication", "catalogue", "--json"]).output)
    assert [(c["code"], c["replicas_inside_city"], c["other_regions"]) for c in catalogue] == [
        ("SIDAK-SEHAT", 1, 1)
    ]
