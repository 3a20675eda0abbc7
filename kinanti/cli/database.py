"""``kinanti db ...``: schema migrations."""

from __future__ import annotations

import typer

from kinanti import db
from kinanti.i18n import t
from kinanti.settings import get_settings


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)

    @group.command("upgrade")
    def upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
        """Create or upgrade Kinanti's database to the latest schema."""
        from kinanti.cli import console

        settings = get_settings()
        db.upgrade(revision=revision)
        url = settings.resolved_database_url
        safe = url.split("@")[-1] if "@" in url else url
        console.print(t("db.upgraded", settings.language, url=safe))

    app.add_typer(group, name="db")
