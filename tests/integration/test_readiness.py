"""Readiness for the national collection (issue 12 item 5) on the example city, the
export marking innovations not ready, spreadsheet formulas neutralised, and messages a
person reads in their language."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from domain.compliance import UnitFacts, classify
from domain.enums import VerificationStatus
from domain.iid.catalogue import catalogue_for_year
from domain.iid.readiness import BlockerKind, national_readiness
from domain.models import IndicatorClaim, Innovation
from kinanti.db import get_engine, make_engine, upgrade
from kinanti.importers import (
    import_file,
    import_innovations,
    import_people,
    import_units,
    read_records,
)
from kinanti.reports import build_report
from kinanti.reports.export import neutralise
from kinanti.reports.readiness import blocker_text
from kinanti.settings import Settings, get_settings
from kinanti.views import adopting_act_text
from tests.support import snapshots

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mataram"
MANDATORY = (
    "sid01_regulasi",
    "sid02_sdm",
    "sid17_kecepatan",
    "sid18_kemanfaatan",
    "sid20_kualitas",
)


def _load_examples(session: Session) -> None:
    for kind, importer in (
        ("units", import_units),
        ("people", import_people),
        ("innovations", import_innovations),
    ):
        path = EXAMPLES / f"{kind}.yaml"
        importer(session, read_records(path, kind), path.name)  # type: ignore[operator]


def _kinds(blockers: tuple) -> set[BlockerKind]:
    return {b.kind for b in blockers}


def _make_ready(session: Session, code: str, start: dt.date) -> Innovation:
    inv = session.scalars(select(Innovation).where(Innovation.code == code)).one()
    inv.implementation_start = start
    inv.results = inv.results or "Waktu tanggap turun dari 6 jam menjadi 45 menit."
    inv.initiator_name = inv.initiator_name or "dr. Contoh"
    inv.adopting_act_number = inv.adopting_act_number or "SK No. 1/2025"
    for code_ in MANDATORY:
        session.add(
            IndicatorClaim(
                year=2026,
                aspect="sid",
                innovation_id=inv.id,
                indicator=code_,
                claimed_level=2,
                status=VerificationStatus.ACCEPTED,
                verified_level=2,
                measurement_basis="penerima_manfaat" if code_ == "sid18_kemanfaatan" else None,
            )
        )
    session.flush()
    return inv


def test_readiness_of_the_example_city(session: Session) -> None:
    _load_examples(session)
    data = yaml.safe_load((EXAMPLES / "innovations.yaml").read_text(encoding="utf-8"))
    short = {r["code"] for r in data["innovations"] if len((r.get("design") or "").split()) < 300}
    assert short  # the example file has deliberately short proposals
    readiness = national_readiness(session, 2026)
    items = readiness.by_code()
    assert len(items) == 40 and readiness.ready == 0
    assert readiness.window is not None and readiness.window.start == dt.date(2024, 1, 1)
    for code, item in items.items():
        kinds = _kinds(item.blockers)
        assert BlockerKind.NO_IMPLEMENTATION in kinds, code  # proposals: not implemented yet
        mandatory = next(b for b in item.blockers if b.kind is BlockerKind.MANDATORY_MISSING)
        assert mandatory.codes == MANDATORY
        assert (BlockerKind.DESIGN_WORDS in kinds) == (code in short), code

    inv = _make_ready(session, "PENDEKAR-SERASI", dt.date(2025, 3, 1))
    assert national_readiness(session, 2026).by_code()["PENDEKAR-SERASI"].ready
    for start, ready in (
        (dt.date(2023, 12, 31), False),
        (dt.date(2024, 1, 1), True),
        (dt.date(2025, 12, 31), True),
        (dt.date(2026, 1, 1), False),
    ):
        inv.implementation_start = start
        session.flush()
        item = national_readiness(session, 2026, ["PENDEKAR-SERASI"]).innovations[0]
        assert item.ready is ready, start
        if not ready:
            (blocker,) = item.blockers
            assert blocker.kind is BlockerKind.OUTSIDE_WINDOW
            assert blocker_text(blocker, "id") == (
                f"penerapan mulai {start.isoformat()}, di luar rentang 2024-01-01 s.d. 2025-12-31"
            )
    inv.implementation_start = dt.date(2025, 3, 1)
    session.execute(
        update(IndicatorClaim)
        .where(
            IndicatorClaim.innovation_id == inv.id, IndicatorClaim.indicator == "sid18_kemanfaatan"
        )
        .values(status=VerificationStatus.PENDING, measurement_basis=None)
    )
    item = national_readiness(session, 2026, ["PENDEKAR-SERASI"]).innovations[0]
    assert [(b.kind, b.codes) for b in item.blockers] == [
        (BlockerKind.UNVERIFIED, ("sid18_kemanfaatan",)),
        (BlockerKind.BASIS_MISSING, ("sid18_kemanfaatan",)),
    ]
    assert blocker_text(item.blockers[0], "en") == "evidence not yet verified: sid18_kemanfaatan"
    inv.design = "Terlalu pendek."
    inv.goals = None
    session.flush()
    item = national_readiness(session, 2026, ["PENDEKAR-SERASI"]).innovations[0]
    texts = [blocker_text(b, "id") for b in item.blockers]
    assert texts[:2] == ["rancang bangun 2 kata; minimal 300 kata", "isian profil kosong: tujuan"]


def test_the_export_marks_innovations_not_ready_and_runs_no_formula(
    session: Session, tmp_path: Path
) -> None:
    _load_examples(session)
    _make_ready(session, "MAHARESTU", dt.date(2025, 2, 1))
    payload = '=HYPERLINK("http://x","Klik")'
    session.execute(update(Innovation).where(Innovation.code == "PARIMANTA").values(title=payload))
    session.execute(
        update(Innovation).where(Innovation.code == "SORGUM-KOTA").values(title="@SUM(1+1)")
    )
    files = build_report(
        session, 2026, tmp_path, settings=Settings(), lang="id", today=dt.date(2026, 6, 1)
    )
    with files.csv.open(encoding="utf-8") as f:
        rows = {r["code"]: r for r in csv.DictReader(f)}
    assert rows["PARIMANTA"]["title"] == "'" + payload
    assert rows["SORGUM-KOTA"]["title"] == "'@SUM(1+1)"
    assert rows["MAHARESTU"]["national_ready"] == "ya" and rows["MAHARESTU"]["blockers"] == ""
    assert rows["PARIMANTA"]["national_ready"] == "tidak"
    assert "tanggal mulai penerapan belum diisi" in rows["PARIMANTA"]["blockers"]
    sheet = load_workbook(files.xlsx).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value is not None]
    assert cells and all(c.data_type in ("s", "n", "d") for c in cells)  # never "f"
    titles = {row[0].value: row[header.index("title")] for row in sheet.iter_rows(min_row=2)}
    assert titles["PARIMANTA"].value == payload and titles["PARIMANTA"].data_type == "s"
    budget = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "MAHARESTU")[
        header.index("budget")
    ]
    assert budget.data_type == "n"


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+62 370 123", "'+62 370 123"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Pendekar Serasi", "Pendekar Serasi"),
        ("", ""),
    ],
)
def test_csv_values_that_start_a_formula_are_neutralised(value: str, safe: str) -> None:
    assert neutralise(value) == safe


def _build_city(url: str, home: Path) -> None:
    """The example city (built once per process, copied for each test:
    tests/support/snapshots.py)."""
    upgrade(url)
    engine = make_engine(url)
    for kind in ("units", "people", "innovations"):
        import_file(kind, EXAMPLES / f"{kind}.yaml", engine=engine, language="id")  # type: ignore[arg-type]
    engine.dispose()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    snapshots.shared().restore("readiness-city", url, tmp_path, _build_city)
    monkeypatch.setenv("KINANTI_HOME", str(tmp_path))
    monkeypatch.setenv("KINANTI_DATABASE_URL", url)
    from kinanti.cli import console

    monkeypatch.setattr(console, "_width", 200)  # a wide terminal; restored to auto after
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield url
    get_engine.cache_clear()
    get_settings.cache_clear()


def test_cli_report_check_lists_what_blocks_each_innovation(
    cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kinanti.cli import app

    monkeypatch.setenv("KINANTI_LANGUAGE", "id")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["report", "--check", "2026"])
    assert result.exit_code == 1, result.output
    out = result.output
    assert "Kesiapan pengumpulan nasional 2026: 0 dari 40 inovasi siap" in out
    assert "PENDEKAR-SERASI (RSUD, planning): belum siap" in out
    assert "    - tanggal mulai penerapan belum diisi" in out
    assert "    - indikator wajib belum diklaim: " + ", ".join(MANDATORY) in out
    data = json.loads(CliRunner().invoke(app, ["report", "--check", "2026", "--json"]).output)
    assert (
        data["total"] == 40
        and data["ready"] == 0
        and data["window"]
        == [
            "2024-01-01",
            "2025-12-31",
        ]
    )
    first = data["innovations"][0]
    assert {"kind": "no_implementation", "field": "implementation_start"} in first["blockers"]


def test_compliance_reasons_come_in_the_readers_language(
    cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kinanti.cli import app

    monkeypatch.setenv("KINANTI_LANGUAGE", "id")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["compliance", "--year", "2026"])
    assert result.exit_code == 0, result.output
    assert "no innovation" not in result.output and "in progress" not in result.output
    assert "sedang berjalan" in result.output or "belum ada inovasi" in result.output
    verdict = classify(
        UnitFacts(1, counted=0, in_progress=2),
        year=2026,
        today=dt.date(2026, 10, 1),
        warning_month=9,
    )
    assert verdict.reason.startswith("no innovation has reached the counting stage yet")
    from kinanti.i18n import t

    assert t(f"compliance.{verdict.key}", "id", **verdict.values) == (
        "belum ada inovasi yang mencapai tahap hitung (2 sedang berjalan); "
        "tahun berakhir 2026-12-31"
    )


def test_every_blocker_and_compliance_reason_has_both_languages() -> None:
    from domain.compliance import REASONS
    from domain.iid.readiness import Blocker
    from domain.messages import MESSAGES  # the domain owns its reasons

    for key in REASONS:
        assert set(MESSAGES[f"compliance.{key}"]) == {"id", "en"}
    window = catalogue_for_year(2026).implementation_window
    for kind in BlockerKind:
        blocker = Blocker(
            kind,
            field="rejected" if kind is BlockerKind.ENDED else "goals",
            date=dt.date(2023, 1, 1),
            window=window,
            codes=("sid01_regulasi",),
        )
        assert blocker_text(blocker, "id") != blocker_text(blocker, "en")


@pytest.mark.parametrize(
    ("act", "number", "text"),
    [
        (
            "SK",
            "SK Direktur RSUD Kota Mataram No. 445/112/RSUD/2025",
            "SK Direktur RSUD Kota Mataram No. 445/112/RSUD/2025",
        ),
        ("SK", "Direktur RSUD No. 1", "SK Direktur RSUD No. 1"),
        (
            "Perkada",
            "Peraturan Wali Kota Mataram No. 21 Tahun 2025",
            "Peraturan Wali Kota Mataram No. 21 Tahun 2025",
        ),
        ("Perda", "No. 3 Tahun 2024", "Perda No. 3 Tahun 2024"),
        ("SK", None, "SK"),
        (None, None, ""),
    ],
)
def test_the_adopting_act_type_is_not_repeated(
    act: str | None, number: str | None, text: str
) -> None:
    assert adopting_act_text(act, number) == text


def test_cli_iid_explains_the_count_term_of_the_city(
    cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kinanti.cli import app

    monkeypatch.setenv("KINANTI_LANGUAGE", "en")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["iid", "--year", "2026"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    # the example city's proposals are all at planning: nothing is counted yet
    assert "JumlahInovasi = 0: only 0 of the 6 basic-service affairs present; 5 required" in flat
    assert "missing: Pendidikan; Kesehatan;" in flat
    assert "Empty seats (kursi kosong): 12 more innovation(s) until n reaches k = 12" in flat
    data = json.loads(CliRunner().invoke(app, ["iid", "--year", "2026", "--json"]).output)
    assert data["verified"]["count_term_explained"]["empty_seats"] == 12
    assert data["prognosis"] is False
    data = json.loads(CliRunner().invoke(app, ["iid", "--year", "2027", "--json"]).output)
    assert data["prognosis"] is True and data["verified"]["count_term_explained"]["k"] == 14
    text = CliRunner().invoke(app, ["iid", "--year", "2027"]).output
    assert "PROGNOSIS: the 2027 catalogue is a forecast" in " ".join(text.split())
    listing = CliRunner().invoke(app, ["iid", "urusan", "--json"])
    items = json.loads(listing.output)
    assert len(items) == 32 and sum(i["basic_service"] for i in items) == 6


def test_innovations_show_does_not_repeat_the_act_type(
    cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kinanti.cli import app

    monkeypatch.setenv("KINANTI_LANGUAGE", "id")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["innovations", "show", "PENDEKAR-SERASI"])
    assert result.exit_code == 0, result.output
    assert "SK Direktur RSUD Kota Mataram" in result.output
    assert "SK SK" not in result.output


def test_evidence_cli_records_the_basis_and_speaks_the_readers_language(
    cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kinanti.cli import app

    monkeypatch.setenv("KINANTI_LANGUAGE", "id")
    get_settings.cache_clear()
    officer = "operator1.brida@mataramkota.go.id"
    args = ["evidence", "add", "PENDEKAR-SERASI", "sid18", "--level", "3", "--as", officer]
    link = ["--link", "https://mataramkota.go.id/data/penerima.pdf"]
    result = CliRunner().invoke(app, [*args, *link, "--basis", "penerima_manfaat"])
    assert result.exit_code == 0, result.output
    assert "PENDEKAR-SERASI sid18_kemanfaatan 2026: tingkat 3, menunggu [penerima_manfaat]" in (
        result.output
    )
    bad = CliRunner().invoke(app, [*args, *link, "--basis", "jumlah"])
    assert bad.exit_code != 0
    listing = CliRunner().invoke(app, ["evidence", "list", "PENDEKAR-SERASI"]).output
    assert "diklaim 3 terverifikasi - menunggu" in listing and "[penerima_manfaat]" in listing
    verify = ["evidence", "verify", "PENDEKAR-SERASI", "sid18", "accept"]
    result = CliRunner().invoke(app, [*verify, "--as", "hendriani.brida@mataramkota.go.id"])
    assert result.exit_code == 0, result.output
    assert "PENDEKAR-SERASI sid18_kemanfaatan 2026: diterima" in result.output
    check = CliRunner().invoke(app, ["report", "--check", "2026", "--json"])
    first = next(
        i for i in json.loads(check.output)["innovations"] if i["code"] == "PENDEKAR-SERASI"
    )
    missing = next(b for b in first["blockers"] if b["kind"] == "mandatory_missing")
    assert "sid18_kemanfaatan" not in missing["codes"]
