"""Backups: a consistent snapshot of an installation, and its restore into an empty one.

``backup(settings, folder)`` writes into an empty (or new) folder:

- the database: ``kinanti.db`` through SQLite's online backup API (one read transaction:
  a consistent copy while the engine keeps writing), or ``kinanti.pgdump`` through
  ``pg_dump --format=custom`` (one repeatable-read snapshot) for PostgreSQL;
- ``evidence/``: the evidence files (content addressed and written before the change that
  refers to them commits, so every file the snapshot names is there);
- ``manifest.json``, written last: the sha256 and size of every file, the schema revision,
  Kinanti's version, the time, the source URL without its password and the evidence folder
  it came from. A folder without a manifest is a partial backup.

``restore(settings, folder)`` checks the manifest against the files (a changed, missing or
extra file refuses the whole backup), refuses an installation that already holds data,
then brings back the database and the evidence files and points the evidence claims at the
new evidence folder. Errors are ``BackupError`` with their message in id/en
(``kinanti.i18n``).
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, inspect, select, text, update
from sqlalchemy.engine import make_url

from domain.errors import KinantiError
from domain.models import Base, IndicatorClaim
from kinanti import __version__
from kinanti.db import MIGRATIONS_DIR, make_engine, unit_of_work, upgrade
from kinanti.settings import Settings

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_FILE = "kinanti.db"
PG_FILE = "kinanti.pgdump"
EVIDENCE = "evidence"
_CHUNK = 1024 * 1024


class BackupError(KinantiError):
    """Raised when a backup cannot be written, or a backup cannot be restored."""

    code = "backup"


@dataclass(frozen=True)
class BackupReport:
    folder: Path
    backend: str
    revision: str | None
    files: int
    bytes: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def safe_url(url: str) -> str:
    """``url`` without its password."""
    return make_url(url).render_as_string(hide_password=True)


def _libpq_url(url: str) -> str:
    """The URL as ``pg_dump`` / ``pg_restore`` take it (no SQLAlchemy driver suffix)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def pg_tool(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise BackupError(code="backup.tool_missing", tool=name)
    return candidates[-1]


def _run(command: list[str], url: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().replace(_libpq_url(url), safe_url(url))
        raise BackupError(
            code="backup.tool_failed", tool=Path(command[0]).name, detail=detail[-800:]
        )


def schema_revision(engine: Engine) -> str | None:
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as conn:
        return conn.scalar(text("SELECT version_num FROM alembic_version"))


def known_revisions() -> set[str]:
    """The schema revisions this version of Kinanti knows (its Alembic scripts)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    return {script.revision for script in scripts.walk_revisions()}


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(code="backup.not_a_file", url=url)
    return Path(database)


def _dump_database(url: str, folder: Path) -> Path:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        target = folder / SQLITE_FILE
        source = sqlite3.connect(_sqlite_path(url), timeout=30)
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)  # one step: a consistent read of the whole database
        finally:
            copy.close()
            source.close()
        return target
    target = folder / PG_FILE
    _run(
        [
            pg_tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(target),
            _libpq_url(url),
        ],
        url,
    )
    return target


def _copy_evidence(source: Path, target: Path) -> None:
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        if path.is_file() and not path.name.startswith(".incoming-"):
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)


def _listing(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        path.relative_to(folder).as_posix(): {"sha256": _sha256(path), "bytes": path.stat().st_size}
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def backup(settings: Settings, folder: Path) -> BackupReport:
    """Write a consistent snapshot of the installation into ``folder`` (new or empty)."""
    folder = folder.expanduser().resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(code="backup.folder_not_empty", folder=folder)
    folder.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    engine = make_engine(url)
    try:
        revision = schema_revision(engine)
        backend = engine.dialect.name
    finally:
        engine.dispose()
    database = _dump_database(url, folder)
    evidence_root = settings.resolved_evidence_dir
    _copy_evidence(evidence_root, folder / EVIDENCE)
    files = _listing(folder)
    manifest = {
        "format": FORMAT,
        "kinanti_version": __version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": {
            "backend": backend,
            "file": database.name,
            "source_url": safe_url(url),
            "schema_revision": revision,
        },
        "evidence_root": str(evidence_root),
        "files": files,
    }
    partial = folder / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    os.replace(partial, folder / MANIFEST)  # last: without it the backup is incomplete
    return BackupReport(
        folder, backend, revision, len(files), sum(f["bytes"] for f in files.values())
    )


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the backup in ``folder``, checked against the files there."""
    folder = folder.expanduser().resolve()
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(code="backup.no_manifest", folder=folder)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        listed: dict[str, dict[str, Any]] = manifest["files"]
        database = manifest["database"]
        if manifest["format"] != FORMAT or database["file"] not in listed:
            raise ValueError("unknown format")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise BackupError(code="backup.bad_manifest", folder=folder, detail=str(exc)[:200]) from exc
    present = _listing(folder)
    missing = sorted(set(listed) - set(present))
    extra = sorted(set(present) - set(listed))
    changed = sorted(name for name in set(listed) & set(present) if listed[name] != present[name])
    if missing or extra or changed:
        raise BackupError(
            code="backup.tampered",
            folder=folder,
            files=", ".join((missing + extra + changed)[:10]),
        )
    return manifest


def _holds_data(engine: Engine) -> list[str]:
    """The Kinanti tables of ``engine`` that hold rows."""
    existing = set(inspect(engine).get_table_names())
    busy: list[str] = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in existing and conn.scalar(select(func.count()).select_from(table)):
                busy.append(table.name)
    return busy


def restore(settings: Settings, folder: Path) -> dict[str, Any]:
    """Bring the backup in ``folder`` back into this (empty) installation."""
    folder = folder.expanduser().resolve()
    manifest = read_manifest(folder)
    url = settings.resolved_database_url
    backend = make_url(url).get_backend_name()
    if backend != manifest["database"]["backend"]:
        raise BackupError(
            code="backup.wrong_backend", found=manifest["database"]["backend"], expected=backend
        )
    revision = manifest["database"]["schema_revision"]
    if revision is not None and revision not in known_revisions():
        raise BackupError(code="backup.newer_schema", revision=revision, version=__version__)
    evidence_root = settings.resolved_evidence_dir
    engine = make_engine(url)
    try:
        busy = _holds_data(engine)
    finally:
        engine.dispose()
    if busy or (evidence_root.is_dir() and any(evidence_root.iterdir())):
        raise BackupError(
            code="backup.not_empty",
            tables=", ".join(busy[:5]) or "-",
            evidence=evidence_root,
        )
    source = folder / manifest["database"]["file"]
    if backend == "sqlite":
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        copy = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(source, copy)
        os.replace(copy, target)
    else:
        _run(
            [
                pg_tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--clean",
                "--if-exists",
                "--single-transaction",
                "--dbname",
                _libpq_url(url),
                str(source),
            ],
            url,
        )
    _copy_evidence(folder / EVIDENCE, evidence_root)
    upgrade(url)  # a backup of an older schema comes up to this version's
    _repoint_evidence(url, Path(manifest["evidence_root"]), evidence_root)
    return manifest


def _repoint_evidence(url: str, old_root: Path, new_root: Path) -> None:
    """Claims name their files by absolute path: move them under the new evidence folder."""
    if old_root == new_root:
        return
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            claims = session.scalars(
                select(IndicatorClaim).where(IndicatorClaim.file_path.is_not(None))
            ).all()
            for claim in claims:
                path = Path(claim.file_path or "")
                if path.is_relative_to(old_root):
                    session.execute(
                        update(IndicatorClaim)
                        .where(IndicatorClaim.id == claim.id)
                        .values(
                            file_path=str(new_root / path.relative_to(old_root)),
                            updated_at=claim.updated_at,  # a move, not a change of the claim
                        )
                    )
    finally:
        engine.dispose()
