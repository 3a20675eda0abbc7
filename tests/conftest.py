"""Shared fixtures: databases on SQLite and PostgreSQL, factories for domain data.

Every data-layer test that asks for ``session`` runs twice: on a fresh SQLite file and on a
fresh PostgreSQL database (created for this test session, dropped at its end). Both are
built by the real Alembic migrations. Each test runs in a transaction rolled back after it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from kinanti.db import make_engine, upgrade

PG_ADMIN_URL = os.environ.get(
    "KINANTI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]
if os.environ.get("KINANTI_TEST_BACKENDS"):
    BACKENDS = os.environ["KINANTI_TEST_BACKENDS"].split(",")


def _pg_database(name: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    urls: dict[str, str] = {}
    created_pg: str | None = None
    if "sqlite" in BACKENDS:
        urls["sqlite"] = f"sqlite:///{tmp_path_factory.mktemp('db') / 'kinanti.db'}"
    if "postgresql" in BACKENDS:
        created_pg = f"kinanti_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{created_pg}"'))
        admin.dispose()
        urls["postgresql"] = _pg_database(created_pg)
    yield urls
    if created_pg:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{created_pg}" WITH (FORCE)'))
        admin.dispose()


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
    name = f"kinanti_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _pg_database(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


pytest_plugins = ["tests.factories"]


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
