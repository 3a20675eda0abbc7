"""Alembic migrations build the whole schema from an empty database on both backends."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from domain.models import Base
from kinanti.db import MIGRATIONS_DIR, make_engine, upgrade


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_upgrade_twice_is_harmless(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    finally:
        engine.dispose()


def test_upgrade_from_empty_builds_the_models_schema_at_the_alembic_head(
    empty_database_url: str,
) -> None:
    """Every table, and no model change missing from the migration (``make migration``
    was run); the database is stamped with the head revision."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            diff = compare_metadata(context, Base.metadata)
            version = conn.scalar(text("SELECT version_num FROM alembic_version"))
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        assert diff == [], diff
        assert version == _head()
    finally:
        engine.dispose()


def test_the_initial_migration_file_exists() -> None:
    assert (Path(MIGRATIONS_DIR) / "versions" / "0001_initial.py").is_file()
