"""The yearly report: HTML (rendered by headless Chromium), CSV, XLSX, and the flow's
Prefect artifacts and outbox notice."""

from __future__ import annotations

import csv
import datetime as dt
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.enums import Role, Stage, VerificationStatus
from domain.iid.catalogue import catalogue_for_year
from domain.models import IndicatorClaim, OutboxMessage, StageHistory
from kinanti.reports import build_report
from kinanti.settings import Settings, get_settings
from tests.support import snapshots
from tests.support.factories import Factory

YEAR = 2026


def populate(session: Session, make: Factory) -> None:
    """A small city: 3 units, 6 innovations at various stages, claims, Brida people."""
    units = [make.unit(f"R-{n}", name=f"Dinas <Contoh> {n}") for n in ("KES", "PEN", "SOS")]
    stages = [
        Stage.REPORTING,
        Stage.REPORTING,
        Stage.REPLICATION,
        Stage.DEPLOYMENT,
        Stage.DEVELOPMENT,
        Stage.PLANNING,
    ]
    catalogue = catalogue_for_year(YEAR)
    for i, stage in enumerate(stages):
        inv = make.innovation(units[i % 3], year=YEAR, title=f"Inovasi <b>{i}</b> & co")
        inv.stage = stage
        if stage is Stage.DEPLOYMENT:
            inv.implementation_start = dt.date(YEAR, 2, 1)
        session.flush()
        if stage is not Stage.PLANNING:
            session.add(
                StageHistory(
                    innovation_id=inv.id,
                    from_stage=Stage.PLANNING,
                    to_stage=Stage.DEVELOPMENT,
                    actor="t@x.id",
                    occurred_at=dt.datetime(YEAR, 2, 1, tzinfo=dt.UTC),
                )
            )
        for j, ind in enumerate(catalogue.sid):
            status = [VerificationStatus.ACCEPTED, VerificationStatus.PENDING][j % 2]
            session.add(
                IndicatorClaim(
                    year=YEAR,
                    aspect="sid",
                    innovation_id=inv.id,
                    indicator=ind.code,
                    claimed_level=1 + (i + j) % 3,
                    status=status,
                    verified_level=1 if status == "accepted" else None,
                )
            )
    for ind in catalogue.spd:
        session.add(
            IndicatorClaim(
                year=YEAR,
                aspect="spd",
                indicator=ind.code,
                claimed_level=2,
                status=VerificationStatus.ACCEPTED,
                verified_level=2,
            )
        )
    make.person(roles=[Role.BRIDA_OPERATOR], email="operator@brida.mataramkota.go.id")
    make.person(roles=[Role.HEAD_OF_BRIDA], email="kepala@brida.mataramkota.go.id")
    session.flush()


@pytest.fixture
def report_dir(session: Session, make: Factory, tmp_path: Path) -> Path:
    populate(session, make)
    out = tmp_path / "report"
    build_report(session, YEAR, out, settings=Settings(), lang="id", today=dt.date(YEAR, 6, 1))
    return out


def test_report_files_hold_the_figures(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 5  # funnel, units, SID, SPD, compliance grid
    assert "Laporan Portofolio Inovasi Daerah 2026" in html
    assert "Dinas &lt;Contoh&gt;" in html and "<Contoh>" not in html  # escaped
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    with (report_dir / "innovations.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6
    assert {
        "code",
        "tahapan",
        "urusan_main",
        "sid01_regulasi_claimed",
        "sid20_kualitas_verified",
    } <= set(rows[0])
    assert sum(r["counted_for_iid"] == "ya" for r in rows) == 4
    sheet = load_workbook(report_dir / "innovations.xlsx").active
    assert sheet is not None and sheet.max_row == 7
    assert sheet.cell(1, 1).value == "code"


def test_report_in_english(session: Session, make: Factory, tmp_path: Path) -> None:
    populate(session, make)
    files = build_report(session, YEAR, tmp_path, settings=Settings(), lang="en")
    assert "Regional Innovation Portfolio Report 2026" in files.html.read_text(encoding="utf-8")


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def test_report_renders_in_headless_chromium(
    report_dir: Path, tmp_path: Path, chromium: str
) -> None:
    png = tmp_path / "report.png"
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chrome'}",
            f"--screenshot={png}",
            "--window-size=1280,2000",
            (report_dir / "report.html").resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert png.exists() and png.stat().st_size > 20_000
    width, height, pixels = _png_pixels(png)
    assert (width, height) == (1280, 2000)
    assert len(set(pixels)) > 50, "the screenshot looks blank"


@pytest.fixture
def configured_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point Kinanti's settings at a fresh migrated SQLite database (for flows)."""
    from kinanti.db import get_engine, make_engine

    url = f"sqlite:///{tmp_path / 'flow.db'}"
    monkeypatch.setenv("KINANTI_DATABASE_URL", url)
    monkeypatch.setenv("KINANTI_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    get_engine.cache_clear()
    snapshots.shared().migrated(url)  # upgrade(url), by copy of a database migrated once
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        populate(session, Factory(session))
    engine.dispose()
    yield url
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.mark.prefect
def test_yearly_report_flow_publishes_artifacts_and_tells_brida(
    prefect_api: str, configured_database: str, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.reports import yearly_report
    from kinanti.db import get_engine

    state = yearly_report(year=YEAR, out_dir=str(tmp_path / "out"), return_state=True)
    assert state.is_completed()
    result = state.result()
    assert all(Path(p).exists() for p in result["files"])
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    by_key = {a.key: a for a in artifacts}
    assert {
        "kinanti-iid-2026",
        "kinanti-iid-indicators-2026",
        "kinanti-compliance-2026",
        "kinanti-report-2026",
    } <= set(by_key)
    assert by_key["kinanti-iid-2026"].type == "table"
    assert by_key["kinanti-report-2026"].type == "markdown"
    assert "IID" in str(by_key["kinanti-report-2026"].data)
    with Session(get_engine()) as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "report_ready")
        ).all()
    assert {r.recipient_email for r in rows} == {
        "operator@brida.mataramkota.go.id",
        "kepala@brida.mataramkota.go.id",
    }
    ctx = rows[0].context
    assert ctx["year"] == YEAR and ctx["report_path"].endswith("report.html")
    assert ctx["flow_run_id"] == str(state.state_details.flow_run_id) and ctx["report_title"]


@pytest.mark.prefect
def test_compliance_sweep_flow_runs_at_year_end(prefect_api: str, configured_database: str) -> None:
    from flows.compliance import compliance_sweep
    from kinanti.db import get_engine

    summary = compliance_sweep(year=YEAR, today=dt.date(YEAR + 1, 1, 2))
    assert summary["counts"] == {"compliant": 3}
    with Session(get_engine()) as session:
        assert session.scalars(select(OutboxMessage.template)).all() == []
