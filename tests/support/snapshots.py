"""Worlds built once per test process, copied for each test.

Many fixtures build the same world for every test: migrations, the example city's imports,
accounts with argon2 password hashes. ``Snapshots.restore`` builds it once (the first time
a test asks for it in this process: one template database per world and backend, with a home
folder of its own) and then copies it into the test's own, still empty, database and home:

- SQLite: the template file through SQLite's backup API (a write-ahead log not yet
  checkpointed is copied too), and the template home's other files into the test's folder;
- PostgreSQL: the test's database is recreated ``TEMPLATE`` the template database (nobody
  but that statement ever connects to a template after it is built).

SQLite templates of worlds whose rows name themselves (no identifier from the factories'
per-process counter, ``tests/support/factories.py``) are built once per test session, by the
first process that needs them (under a file lock in the session's folder, ``SESSION_VARIABLE``,
made by the starting process), and shared by the pytest-xdist workers; PostgreSQL templates
and the others stay per process.

Each test writes only its own copy, so tests stay as isolated as when each built its world.
Paths into the template's home stored in the database (a sent email's .eml file) are
rewritten to the test's home in the copy, for the columns the caller names (``home_paths``);
any other such path would make the copy differ from a world built in place, so on SQLite the
template is dumped once after it is built and refused if it holds one.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import fcntl
import os
import pickle
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, text

from kinanti.db import upgrade
from tests.support import postgres

T = TypeVar("T")
SQLITE_PREFIX = "sqlite:///"
SESSION_VARIABLE = "KINANTI_TEST_SESSION_DIR"


def backend_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def _sqlite_path(url: str) -> Path:
    if not url.startswith(SQLITE_PREFIX) or url == f"{SQLITE_PREFIX}:memory:":
        raise ValueError(f"not a SQLite file URL: {url}")
    return Path(url.removeprefix(SQLITE_PREFIX))


def _pg_name(url: str) -> str:
    return url.rpartition("/")[2].partition("?")[0]


def _pg_admin(statements: list[str]) -> None:
    admin = create_engine(postgres.admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()


@dataclass(frozen=True)
class Snapshot:
    """A world's template: its database (never opened by tests) and home folder."""

    url: str
    home: Path
    value: Any


def _migrate(url: str, home: Path) -> None:
    upgrade(url)


class Snapshots:
    """The process's templates (see the module's docstring), removed at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stack = contextlib.ExitStack()
        self.built: dict[tuple[str, str], Snapshot] = {}

    def close(self) -> None:
        """Drop the PostgreSQL templates and remove the folder."""
        self.built.clear()
        with contextlib.suppress(Exception):  # the session's server may be gone already
            self.stack.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def restore(
        self,
        key: str,
        url: str,
        home: Path | None,
        build: Callable[[str, Path], T],
        *,
        home_paths: tuple[str, ...] = (),
        per_process: bool = False,
    ) -> T:
        """Fill the empty database ``url`` and the folder ``home`` with the world ``key``
        (``build(template_url, template_home)`` makes it, once per backend); returns a copy
        of what ``build`` returned.

        ``home_paths`` names the ``table.column`` that hold paths of files in the home (a
        sent email's .eml): in the copy they name the copied file in ``home``. A world with
        rows named by the factories' per-process counter must say ``per_process``: another
        process's tests would make the same names."""
        backend = backend_of(url)
        snapshot = self.built.get((key, backend))
        if snapshot is None:
            session = os.environ.get(SESSION_VARIABLE)
            if backend == "sqlite" and session and not per_process:
                snapshot = _session_built(Path(session), key, build, home_paths)
            else:
                snapshot = self._build(key, backend, build, home_paths)
            self.built[key, backend] = snapshot
        if home is not None:
            home.mkdir(parents=True, exist_ok=True)
            shutil.copytree(snapshot.home, home, dirs_exist_ok=True, symlinks=True)
        if backend == "sqlite":
            target = _sqlite_path(url)
            if target.exists() and target.stat().st_size:
                raise RuntimeError(f"{target} is not empty: a world is copied into a new file")
            target.parent.mkdir(parents=True, exist_ok=True)
            _sqlite_copy(_sqlite_path(snapshot.url), target)
        else:
            name = _pg_name(url)
            _pg_admin(
                [
                    f'DROP DATABASE IF EXISTS "{name}"',
                    f'CREATE DATABASE "{name}" TEMPLATE "{_pg_name(snapshot.url)}"',
                ]
            )
        if home_paths:
            if home is None:
                raise ValueError("home_paths need the test's home")
            _rewrite_paths(url, home_paths, str(snapshot.home), str(home))
        return copy.deepcopy(snapshot.value)

    def migrated(self, url: str) -> None:
        """``kinanti.db.upgrade(url)`` on a new, empty database, by copy of one migrated once."""
        self.restore("migrated", url, None, _migrate)

    def _build(
        self, key: str, backend: str, build: Callable[[str, Path], T], home_paths: tuple[str, ...]
    ) -> Snapshot:
        folder = Path(tempfile.mkdtemp(prefix=f"{key}-{backend}-", dir=self.root))
        if backend == "sqlite":
            return _build_sqlite(folder, key, build, home_paths)
        home = folder / "home"
        home.mkdir()
        name = f"kinanti_tpl_{uuid.uuid4().hex[:10]}"
        _pg_admin([f'CREATE DATABASE "{name}"'])
        self.stack.callback(_pg_admin, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])
        url = postgres.database_url(name)
        value = build(url, home)
        # connections a builder left in a pool would stop ``CREATE DATABASE ... TEMPLATE``
        _pg_admin(
            [
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ]
        )
        return Snapshot(url, home, value)


def _build_sqlite(
    folder: Path, key: str, build: Callable[[str, Path], T], home_paths: tuple[str, ...]
) -> Snapshot:
    home = folder / "home"
    home.mkdir()
    url = f"{SQLITE_PREFIX}{folder / 'template.db'}"
    value = build(url, home)
    allowed = tuple(f'INSERT INTO "{p.partition(".")[0]}"' for p in home_paths)
    for line in _sqlite_dump(_sqlite_path(url)):
        if str(folder) in line and not line.startswith(allowed):
            raise RuntimeError(
                f"world {key!r} stores a path into its template folder that the "
                f"copy would not rewrite (home_paths): {line[:300]}"
            )
    return Snapshot(url, home, value)


def _session_built(
    session: Path, key: str, build: Callable[[str, Path], T], home_paths: tuple[str, ...]
) -> Snapshot:
    """The session's SQLite template of ``key``: built here unless another process did."""
    folder = session / f"{key}-sqlite"
    with (session / f"{key}-sqlite.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = folder / "snapshot.pickle"
            if done.exists():
                snapshot: Snapshot = pickle.loads(done.read_bytes())
                return snapshot
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed half way
            folder.mkdir()
            snapshot = _build_sqlite(folder, key, build, home_paths)
            (folder / "snapshot.partial").write_bytes(pickle.dumps(snapshot))
            (folder / "snapshot.partial").rename(done)
            return snapshot
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _rewrite_paths(url: str, columns: tuple[str, ...], old: str, new: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            for column in columns:
                table, _, name = column.partition(".")
                conn.execute(
                    text(
                        f'UPDATE "{table}" SET "{name}" = :new || substr("{name}", :cut) '
                        f'WHERE substr("{name}", 1, :length) = :old'
                    ),
                    {"new": new, "old": old, "cut": len(old) + 1, "length": len(old)},
                )
    finally:
        engine.dispose()


def _sqlite_copy(source: Path, target: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def _sqlite_dump(path: Path) -> Iterator[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        yield from conn.iterdump()


_shared: Snapshots | None = None


def shared() -> Snapshots:
    """This process's templates (made on first use; dropped when the process exits)."""
    global _shared
    if _shared is None:
        _shared = Snapshots(Path(tempfile.mkdtemp(prefix="kinanti-snapshots-")))
        atexit.register(_shared.close)
    return _shared


@contextlib.contextmanager
def session_folder() -> Iterator[None]:
    """The session's folder for shared templates (tests/conftest.py: in the starting process;
    pytest-xdist workers inherit the variable), removed at the end."""
    if os.environ.get(SESSION_VARIABLE):
        yield
        return
    folder = tempfile.mkdtemp(prefix="kinanti-test-session-")
    os.environ[SESSION_VARIABLE] = folder
    try:
        yield
    finally:
        os.environ.pop(SESSION_VARIABLE, None)
        shutil.rmtree(folder, ignore_errors=True)


def close_shared() -> None:
    """Drop this process's templates now (tests/conftest.py: at the end of the session, while
    the session's PostgreSQL still runs)."""
    global _shared
    if _shared is not None:
        _shared.close()
        _shared = None
