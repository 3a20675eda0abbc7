"""``kinanti backup`` / ``kinanti restore`` on SQLite and PostgreSQL: a round trip taken
while a writer keeps changing the installation through the domain, restored into a fresh
database that then holds the same innovations, history, claims and evidence files; and the
refusals (a tampered or partial backup, a non-empty installation), in id and en."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain import gates
from domain.enums import GateDecisionKind, Role
from domain.evidence import EvidenceStore, claim_indicator
from domain.models import IndicatorClaim, Innovation, StageHistory, Unit
from kinanti.backup import BackupError, backup, read_manifest, restore
from kinanti.db import make_engine, unit_of_work
from kinanti.settings import Settings
from tests.conftest import BACKENDS
from tests.support.engine_support import new_database
from tests.support.factories import Factory

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "rahasia-sekali"
PDF = b"%PDF-1.4\n% Kinanti backup test evidence\n"


def _pdf(folder: Path, n: int) -> Path:
    path = folder / f"bukti-{n}.pdf"
    path.write_bytes(PDF + f"innovation {n}\n".encode() * 20)
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def source(backend: str, tmp_path: Path) -> Iterator[Settings]:
    home = tmp_path / "source"
    home.mkdir()
    with new_database(backend, home) as url:
        # trust authentication ignores it; the manifest must not carry it
        url = url.replace("postgres@", f"postgres:{PASSWORD}@")
        yield Settings(home=home, database_url=url)


@pytest.fixture
def target(backend: str, tmp_path: Path) -> Iterator[Settings]:
    home = tmp_path / "target"
    home.mkdir()
    with new_database(backend, home) as url:  # migrated and empty, as after `kinanti db upgrade`
        yield Settings(home=home, database_url=url)


def read_manifest_files(folder: Path) -> dict[str, Any]:
    return {
        p.relative_to(folder).as_posix(): {
            "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
            "bytes": p.stat().st_size,
        }
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def _store(settings: Settings) -> EvidenceStore:
    return EvidenceStore(settings.resolved_evidence_dir, settings.evidence_max_bytes)


def _add(engine: Engine, settings: Settings, n: int, files: Path, *, decide: bool) -> None:
    """One innovation with an evidence file (and, with ``decide``, its planning gate approved)."""
    with unit_of_work(engine) as session:
        make = Factory(session)
        unit = session.scalars(select(Unit).where(Unit.code == "DINKES")).one()
        innovation = make.innovation(unit, code=f"ARSIP-{n:03d}")
        claim_indicator(
            session,
            _store(settings),
            code=innovation.code,
            indicator="sid01",
            level=2,
            actor="inovasi.dinkes@mataramkota.go.id",
            file=_pdf(files, n),
        )
        if decide:
            gate, _ = gates.open_gate(
                session, innovation, round_=1, flow_run_id=None, timeout=dt.timedelta(days=14)
            )
            session.flush()
            gates.decide_gate(
                session,
                gate.id,
                gates.DecisionCommand(
                    GateDecisionKind.APPROVE,
                    reason="lengkap",
                    decider="hendriani.brida@mataramkota.go.id",
                ),
                continue_in_run=False,
            )


def _seed(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        make = Factory(session)
        brida = make.unit("BRIDA", name="Badan Riset dan Inovasi Daerah")
        dinkes = make.unit("DINKES", name="Dinas Kesehatan")
        make.person("inovasi.dinkes@mataramkota.go.id", roles=[Role.UNIT_OFFICER], unit=dinkes)
        make.person("hendriani.brida@mataramkota.go.id", roles=[Role.REVIEWER], unit=brida)


def _state(engine: Engine) -> dict[str, Any]:
    """What a restore must bring back: innovations, their history, claims (by code)."""
    with Session(engine) as session:
        innovations = session.scalars(select(Innovation).order_by(Innovation.code)).all()
        by_id = {i.id: i.code for i in innovations}
        history = session.scalars(select(StageHistory).order_by(StageHistory.id)).all()
        claims = session.scalars(select(IndicatorClaim).order_by(IndicatorClaim.id)).all()
        return {
            "innovations": {
                i.code: (i.title, i.stage.value, i.version, i.updated_at) for i in innovations
            },
            "history": {
                (by_id[h.innovation_id], h.from_stage, h.to_stage, h.actor, h.occurred_at)
                for h in history
            },
            "claims": {
                by_id.get(c.innovation_id or 0, "SPD"): (
                    c.indicator,
                    c.claimed_level,
                    c.sha256,
                    Path(c.file_path or "").name,
                    c.updated_at,
                )
                for c in claims
            },
            "paths": {c.sha256: c.file_path for c in claims},
        }


def test_a_backup_taken_while_the_engine_writes_restores_the_same_installation(
    backend: str, source: Settings, target: Settings, tmp_path: Path
) -> None:
    files = tmp_path / "uploads"
    files.mkdir()
    engine = make_engine(source.resolved_database_url)
    stop = threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:  # keeps changing the installation while the backup runs
        try:
            n = 100
            while not stop.is_set():
                _add(engine, source, n, files, decide=n % 2 == 0)
                written.append(n)
                n += 1
        except BaseException as exc:
            errors.append(exc)

    try:
        _seed(engine)
        for n in range(6):
            _add(engine, source, n, files, decide=n % 2 == 0)
        thread = threading.Thread(target=writer)
        thread.start()
        try:
            while len(written) < 2 and thread.is_alive():
                stop.wait(0.05)
            before = len(written)
            report = backup(source, tmp_path / "backup")
            writing_throughout = thread.is_alive() and errors == []
        finally:
            stop.set()
            thread.join(timeout=120)
        assert errors == []
        after = _state(engine)
    finally:
        engine.dispose()

    manifest = read_manifest(report.folder)
    assert manifest["database"]["backend"] == engine.dialect.name
    assert manifest["database"]["schema_revision"] == report.revision is not None
    assert PASSWORD not in (report.folder / "manifest.json").read_text()
    if backend == "postgresql":
        assert ":***@" in manifest["database"]["source_url"]
    for name, entry in manifest["files"].items():
        digest = hashlib.sha256((report.folder / name).read_bytes()).hexdigest()
        assert entry["sha256"] == digest

    restore(target, report.folder)

    restored_engine = make_engine(target.resolved_database_url)
    try:
        restored = _state(restored_engine)
    finally:
        restored_engine.dispose()
    # a consistent snapshot: the seeded six, whatever the writer committed before it, and
    # each innovation complete (its history and claim), never half of a change
    assert len(restored["innovations"]) >= 6 + before
    assert set(restored["innovations"]) <= set(after["innovations"])
    assert {c: after["innovations"][c] for c in restored["innovations"]} == restored["innovations"]
    restored_codes = set(restored["innovations"])
    assert restored["history"] == {h for h in after["history"] if h[0] in restored_codes}
    assert restored["claims"] == {c: v for c, v in after["claims"].items() if c in restored_codes}
    assert {"ARSIP-000", "ARSIP-002"} <= {h[0] for h in restored["history"] if h[2] != h[1]}
    for sha, path in restored["paths"].items():  # every claim's file, in the new folder
        stored = Path(path or "")
        assert stored.is_relative_to(target.resolved_evidence_dir)
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == sha
    assert before >= 2 and writing_throughout


def test_restore_refuses_a_tampered_or_partial_backup_and_a_non_empty_installation(
    source: Settings, target: Settings, tmp_path: Path
) -> None:
    engine = make_engine(source.resolved_database_url)
    try:
        _seed(engine)
        _add(engine, source, 1, tmp_path, decide=False)
    finally:
        engine.dispose()
    folder = tmp_path / "backup"
    backup(source, folder)

    with pytest.raises(BackupError) as into_itself:
        restore(source, folder)
    assert into_itself.value.code == "backup.not_empty"
    assert "instalasi kosong" in into_itself.value.message("id")
    assert "empty installation" in into_itself.value.message("en")

    with pytest.raises(BackupError) as not_empty_folder:
        backup(source, folder)
    assert not_empty_folder.value.code == "backup.folder_not_empty"

    evidence = next((folder / "evidence").rglob("*.pdf"))
    original = evidence.read_bytes()
    evidence.write_bytes(original[:-1] + b"X")
    with pytest.raises(BackupError) as tampered:
        restore(target, folder)
    assert tampered.value.code == "backup.tampered"
    assert evidence.name in tampered.value.message("id")
    assert "Tidak ada yang dipulihkan" in tampered.value.message("id")
    evidence.write_bytes(original)

    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").unlink()
    with pytest.raises(BackupError) as partial:
        restore(target, folder)
    assert partial.value.code == "backup.no_manifest"
    assert "manifest.json tidak ada" in partial.value.message("id")

    manifest["files"].pop(next(iter(manifest["files"])))
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BackupError) as extra:
        restore(target, folder)
    assert extra.value.code == "backup.tampered"

    newer = json.loads(json.dumps(manifest))
    newer["files"] = read_manifest_files(folder)
    newer["database"]["schema_revision"] = "9999_from_the_future"
    (folder / "manifest.json").write_text(json.dumps(newer))
    with pytest.raises(BackupError) as future:
        restore(target, folder)
    assert future.value.code == "backup.newer_schema"
    assert "9999_from_the_future" in future.value.message("id")

    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(BackupError) as damaged:
        restore(target, folder)
    assert damaged.value.code == "backup.bad_manifest"

    check = make_engine(target.resolved_database_url)
    try:
        with Session(check) as session:  # every refusal left the target empty
            assert session.scalars(select(Innovation)).all() == []
    finally:
        check.dispose()
    assert not target.resolved_evidence_dir.exists() or not any(
        target.resolved_evidence_dir.iterdir()
    )


@pytest.mark.skipif("sqlite" not in BACKENDS, reason="SQLite backend not selected")
def test_the_cli_backs_up_and_restores_and_refuses_in_the_users_language(tmp_path: Path) -> None:
    home, fresh = tmp_path / "home", tmp_path / "fresh"

    def kinanti(*args: str, at: Path, language: str = "id") -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "KINANTI_HOME": str(at),
            "KINANTI_LANGUAGE": language,
            "PYTHONPATH": str(ROOT),
        }
        env.pop("KINANTI_DATABASE_URL", None)
        return subprocess.run(
            [sys.executable, "-m", "kinanti", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert kinanti("db", "upgrade", at=home).returncode == 0
    engine = make_engine(f"sqlite:///{home / 'kinanti.db'}")
    try:
        _seed(engine)
        _add(engine, Settings(home=home), 1, tmp_path, decide=True)
    finally:
        engine.dispose()

    made = kinanti("backup", str(tmp_path / "b"), at=home)
    assert made.returncode == 0, made.stderr
    assert "Cadangan tersimpan" in made.stdout
    done = kinanti("restore", str(tmp_path / "b"), at=fresh)
    assert done.returncode == 0, done.stderr
    assert "dipulihkan" in done.stdout
    again = kinanti("restore", str(tmp_path / "b"), at=fresh, language="en")
    assert again.returncode == 1
    assert "empty installation only" in " ".join(again.stderr.split())
    assert "Traceback" not in again.stderr

    engine = make_engine(f"sqlite:///{fresh / 'kinanti.db'}")
    try:
        with Session(engine) as session:
            assert session.scalars(select(Innovation.code)).all() == ["ARSIP-001"]
    finally:
        engine.dispose()
