"""Shared fixtures: databases on SQLite and PostgreSQL, factories for domain data.

Every data-layer test that asks for ``session`` runs twice: on a fresh SQLite file and on a
fresh PostgreSQL database (created for this test session, dropped at its end). Both are
built by the real Alembic migrations. Each test runs in a transaction rolled back after it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kinanti.db import make_engine, upgrade
from kinanti.portal import security
from tests.support import postgres, snapshots
from tests.support.chromium import require_chromium
from tests.support.passwords import cheapest_hasher

BACKENDS = ["sqlite", "postgresql"]
if os.environ.get("KINANTI_TEST_BACKENDS"):
    BACKENDS = os.environ["KINANTI_TEST_BACKENDS"].split(",")

_pg_state: Path | None = None
_session = contextlib.ExitStack()


def pytest_configure(config: pytest.Config) -> None:
    """Without ``KINANTI_TEST_PG_URL``, prepare a throwaway PostgreSQL for the session.

    Only the starting process (not an xdist worker) does this; the server itself starts
    when a test first needs it (``tests/support/postgres.py``).
    """
    global _pg_state
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        _session.enter_context(snapshots.session_folder())  # templates the workers share
    if (
        "postgresql" not in BACKENDS
        or os.environ.get(postgres.URL_VARIABLE)
        or os.environ.get("PYTEST_XDIST_WORKER")
        or os.environ.get(postgres.STATE_VARIABLE)
    ):
        return
    if postgres.bin_dir() is None:
        raise pytest.UsageError(postgres.INSTALL_HINT)
    _pg_state = Path(tempfile.mkdtemp(prefix="kinanti-test-pg-state-"))
    os.environ[postgres.STATE_VARIABLE] = str(_pg_state)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    snapshots.close_shared()  # in every process, before the PostgreSQL server stops


def pytest_unconfigure(config: pytest.Config) -> None:
    global _pg_state
    _session.close()
    if _pg_state is not None:
        postgres.stop_server(_pg_state)
        shutil.rmtree(_pg_state, ignore_errors=True)
        os.environ.pop(postgres.STATE_VARIABLE, None)
        _pg_state = None


# End-to-end modules built around one world per backend (module-scoped, built once): under
# pytest-xdist the tests of one module and backend are one unit of work, on one worker (a
# world split over two workers would be built twice); the biggest units go first, and
# everything else is spread test by test.
WORLDS_PER_BACKEND = ("tests/e2e/test_engine_e2e.py::", "tests/e2e/test_replication_flow.py::")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Like ``--dist load``, except that the tests of one ``WORLDS_PER_BACKEND`` module and
    backend are one unit of work (units with the most tests go first). pytest-xdist's own
    ``loadgroup`` does not group under pytest 9."""
    if config.getvalue("dist") not in ("load", "loadscope"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BackendScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(WORLDS_PER_BACKEND) and nodeid.endswith("]"):
                return f"{nodeid.partition('::')[0]}[{nodeid.rpartition('[')[2]}"
            return nodeid

    return BackendScheduling(config, log)


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    urls: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        if "sqlite" in BACKENDS:
            urls["sqlite"] = f"sqlite:///{tmp_path_factory.mktemp('db') / 'kinanti.db'}"
        if "postgresql" in BACKENDS:
            urls["postgresql"] = stack.enter_context(postgres.temporary_database())
        yield urls


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """argon2 at its cheapest in this process's tests (a portal world hashes a few passwords
    and every sign-in verifies one: at the production cost, a quarter of a second each).
    Production's parameters stay as they are; ``tests/unit/test_password_hashing.py`` checks
    them. Commands run as separate processes hash at the production cost."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(security, "_hasher", cheapest_hasher)
        security._dummy_hash.cache_clear()
        yield
    security._dummy_hash.cache_clear()


_engines: dict[str, Engine] = {}


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, database_urls: dict[str, str]) -> Engine:
    """A migrated engine for each backend (migrations run once per test session)."""
    backend: str = request.param
    url = database_urls[backend]
    if url not in _engines:
        upgrade(url)
        _engines[url] = make_engine(url)
    return _engines[url]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = engine.connect()
    transaction = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def fresh_database(tmp_path: Path, database_urls: dict[str, str]) -> Iterator[str]:
    """An empty SQLite URL (for tests of migrations and CLI end to end)."""
    yield f"sqlite:///{tmp_path / 'fresh.db'}"


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a new, empty database on each backend (PostgreSQL: dropped after the test).

    For tests that must commit (migrations, optimistic locking, CLI end to end) without
    leaving rows behind in the shared test databases.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with postgres.temporary_database("kinanti_empty") as url:
        yield url


pytest_plugins = ["tests.support.factories"]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium (skipped with the install command if missing; failed under CI)."""
    return require_chromium()


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prefect API (the test harness: a fresh server on a migrated SQLite database).

    Session-scoped (one server start, ~7 s); flow heartbeats off (docs/prefect-notes.md). Yields
    the API URL.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_HOME,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    home = tmp_path_factory.mktemp("prefect-home")
    with (
        temporary_settings(
            updates={PREFECT_HOME: str(home), PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
        ),
        prefect_test_harness(server_startup_timeout=60),
    ):
        yield str(PREFECT_API_URL.value())
