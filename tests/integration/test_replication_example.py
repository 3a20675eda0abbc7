"""The example city's replications (``examples/mataram/replications.yaml``) through
``kinanti replication import``, ``kinanti lineage`` and the yearly report's lineage section;
a bad file is refused whole, with every problem named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from domain.models import Adoption, Innovation, ReplicationOffer
from kinanti.db import get_engine, unit_of_work
from kinanti.demo.run import EXAMPLES
from kinanti.settings import get_settings, scoped_environment
from tests.integration.test_one_path import _callers
from tests.support import snapshots

REPLICATIONS = EXAMPLES / "replications.yaml"
SIDAK = "Sidak Sehat (Deteksi Dini Penyakit Tidak Menular di Tempat Kerja)"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("KINANTI_HOME", str(tmp_path))
    monkeypatch.setenv("KINANTI_DATABASE_URL", f"sqlite:///{tmp_path / 'k.db'}")
    monkeypatch.setenv("KINANTI_LANGUAGE", "id")
    monkeypatch.setenv("KINANTI_EMAIL_BACKEND", "file")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield CliRunner()
    get_engine.cache_clear()
    get_settings.cache_clear()


def _run(cli: CliRunner, *args: str) -> str:
    from kinanti.cli import app

    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _build_city(url: str, home: Path) -> None:
    """The example city through the command line: units, people, innovations, then its
    replications (in the ``cli`` fixture's environment, pointed at ``home`` and ``url``)."""
    cli = CliRunner()
    with scoped_environment({"KINANTI_HOME": str(home), "KINANTI_DATABASE_URL": url}):
        get_engine.cache_clear()
        try:
            _run(cli, "db", "upgrade")
            _run(cli, "units", "import", str(EXAMPLES / "units.yaml"))
            _run(cli, "people", "import", str(EXAMPLES / "people.yaml"))
            _run(cli, "innovations", "submit", str(EXAMPLES / "innovations.yaml"))
            assert "5 baru" in _run(cli, "replication", "import", str(REPLICATIONS))
            get_engine().dispose()
        finally:
            get_engine.cache_clear()


@pytest.fixture
def city(cli: CliRunner, tmp_path: Path) -> CliRunner:
    """The example city: built once per process, copied into this test's home and database
    (tests/support/snapshots.py)."""
    snapshots.shared().restore(
        "replication-example-city",
        f"sqlite:///{tmp_path / 'k.db'}",
        tmp_path,
        _build_city,
        home_paths=("outbox.delivered_to",),  # the sent emails' .eml files
    )
    return cli


def test_lineage_of_the_example_city_shows_a_replica_of_a_replica(city: CliRunner) -> None:
    lines = _run(city, "lineage", "SIDAK-SEHAT-PKM-AMPENAN").splitlines()
    assert lines == [
        f"SIDAK-SEHAT {SIDAK} [planning, PKM-PAGESANGAN]",
        f"    - SIDAK-SEHAT-PKM-AMPENAN {SIDAK} [planning, fasilitasi, replikasi, approved, "
        "PKM-AMPENAN]",
        f"        - SIDAK-SEHAT-PKM-AMPENAN-PKM-CAKRANEG {SIDAK} [planning, mandiri, "
        "perencanaan_pengembangan, approved, PKM-CAKRANEGARA]",
        "Level Replikasi (IID): 0; diturunkan dari replikasi selesai dengan bukti diterima: "
        "0 daerah lain (-); 1 replika di dalam kota tidak dihitung",
    ]


def test_two_adoptions_by_the_same_other_region_count_once(city: CliRunner) -> None:
    lines = _run(city, "lineage", "PARIMANTA").splitlines()
    assert lines[1:3] == [
        "    - Kabupaten Lombok Barat [evaluasi, kerja_sama, completed, evidence accepted, 52.01]",
        "    - Kabupaten Lombok Barat [evaluasi, mandiri, completed, evidence accepted, 52.01]",
    ]
    assert lines[3].startswith("Level Replikasi (IID): 1; ")
    assert "1 daerah lain (52.01)" in lines[3]


def test_incoming_replication_is_listed_with_its_origin_region(city: CliRunner) -> None:
    assert _run(city, "lineage", "--incoming").splitlines() == [
        "Lahir Procot Pulang Bawa Akta [replikasi, kerja_sama, approved, "
        "Kabupaten Banyuwangi (35.10), DUKCAPIL]"
    ]


def test_the_yearly_report_has_the_lineage_section(city: CliRunner, tmp_path: Path) -> None:
    import re

    _run(city, "report", "--year", "2026", "--out", str(tmp_path / "report"))
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    start, end = page.index('id="lineage"'), page.index("Kepatuhan perangkat daerah")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[start:end])).replace(" ]", "]")
    assert "Silsilah replikasi" in text
    assert (
        f"SIDAK-SEHAT {SIDAK} [planning, PKM-PAGESANGAN] ↳ SIDAK-SEHAT-PKM-AMPENAN {SIDAK} "
        "[planning, fasilitasi, replikasi, approved, PKM-AMPENAN] ↳ "
        f"SIDAK-SEHAT-PKM-AMPENAN-PKM-CAKRANEG {SIDAK} [planning, mandiri, "
        "perencanaan_pengembangan, approved, PKM-CAKRANEGARA]"
    ) in text
    assert "Level Replikasi (IID) 1: diturunkan" in text  # Parimanta
    assert "Replikasi masuk" in text and "Lahir Procot Pulang Bawa Akta [replikasi" in text
    # the replica of the replica is indented one level deeper than the replica
    assert re.search(r'margin-left: 3\.0rem">↳ <strong>SIDAK-SEHAT-PKM-AMPENAN-PKM-CAKRANEG', page)


def test_importing_the_file_again_changes_nothing(city: CliRunner) -> None:
    with unit_of_work() as session:
        before = session.scalar(select(func.count(Adoption.id)))
    assert "0 baru, 0 diperbarui, 5 tidak berubah" in _run(
        city, "replication", "import", str(REPLICATIONS)
    )
    with unit_of_work() as session:
        assert session.scalar(select(func.count(Adoption.id))) == before == 5


def _bad_copy(tmp_path: Path, change: object) -> Path:
    document = yaml.safe_load(REPLICATIONS.read_text(encoding="utf-8"))
    change(document)  # type: ignore[operator]
    path = tmp_path / "replications.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def _nothing_written() -> None:
    with unit_of_work() as session:
        assert session.scalar(select(func.count(Adoption.id))) == 0
        assert session.scalar(select(func.count(ReplicationOffer.id))) == 0
        assert not session.scalars(select(Innovation.code).where(Innovation.replicable)).all()


def _break_references(doc: dict) -> None:  # type: ignore[type-arg]
    doc["adoptions"][0]["adopter_unit"] = "PKM-NOWHERE"
    doc["adoptions"][1]["replica_of"] = "nobody"
    doc["offers"][1]["offered_by"] = "stranger@example.com"


def _break_shapes(doc: dict) -> None:  # type: ignore[type-arg]
    doc["adoptions"][2]["model"] = "paksa"
    doc["adoptions"][3]["region"]["colour"] = "blue"
    del doc["incoming"][0]["origin_name"]


def _break_a_rule(doc: dict) -> None:  # type: ignore[type-arg]
    doc["adoptions"][3]["decided_by"] = "inovasi.dkp@mataramkota.go.id"  # the origin's own unit


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_break_references, ["PKM-NOWHERE", "replica_of 'nobody'", "stranger@example.com"]),
        (_break_shapes, ["adoptions.2.model", "adoptions.3.region.colour", "origin_name"]),
        (_break_a_rule, ["adoptions[4] (lombok-barat-uptd)", "inovasi.dkp@mataramkota.go.id"]),
    ],
)
def test_a_bad_file_is_refused_whole_with_every_problem_named(
    cli: CliRunner, tmp_path: Path, change: object, expected: list[str]
) -> None:
    from kinanti.cli import app

    _run(cli, "db", "upgrade")
    for kind, name in (("units", "units"), ("people", "people")):
        _run(cli, kind, "import", str(EXAMPLES / f"{name}.yaml"))
    _run(cli, "innovations", "submit", str(EXAMPLES / "innovations.yaml"))
    result = cli.invoke(app, ["replication", "import", str(_bad_copy(tmp_path, change))])
    assert result.exit_code == 1
    for text in expected:
        assert text in result.output, result.output
    _nothing_written()


def test_only_the_importer_records_that_an_innovation_passed_reporting() -> None:
    """Passing reporting is the lifecycle's own state; the importer is the one trusted
    channel for reports made before Kinanti (``domain.replication.record_passed_reporting``)."""
    assert {f for f, _ in _callers("record_passed_reporting")} == {
        "kinanti/importers/replications.py"
    }
