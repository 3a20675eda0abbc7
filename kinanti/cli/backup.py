"""``kinanti backup DIR`` and ``kinanti restore DIR`` (see ``kinanti.backup``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from kinanti.backup import BackupError
from kinanti.i18n import t
from kinanti.settings import Settings, get_settings


def _report(action: Callable[[Settings], tuple[str, dict[str, Any]]]) -> None:
    """Run ``action``; print its message, or its refusal (exit 1), in the user's language."""
    from kinanti.cli import console, err_console

    settings = get_settings()
    try:
        key, values = action(settings)
    except BackupError as exc:
        message = exc.message(settings.language)
        err_console.print(t("error", settings.language, message=message), style="red",
                          markup=False)  # fmt: skip
        raise typer.Exit(1) from exc
    console.print(t(key, settings.language, **values), markup=False)


def register(app: typer.Typer) -> None:
    @app.command("backup")
    def backup_command(
        folder: Path = typer.Argument(..., help="A new or empty folder for the backup"),
    ) -> None:
        """Write a consistent snapshot: the database, the evidence files and a manifest."""
        from kinanti.backup import backup

        def action(settings: Settings) -> tuple[str, dict[str, Any]]:
            report = backup(settings, folder)
            return "backup.written", {
                "folder": report.folder,
                "backend": report.backend,
                "revision": report.revision or "-",
                "files": report.files,
                "bytes": report.bytes,
            }

        _report(action)

    @app.command("restore")
    def restore_command(
        folder: Path = typer.Argument(..., help="A folder written by `kinanti backup`"),
    ) -> None:
        """Restore a backup into this installation, which must be empty."""
        from kinanti.backup import restore, safe_url

        def action(settings: Settings) -> tuple[str, dict[str, Any]]:
            manifest = restore(settings, folder)
            return "backup.restored", {
                "folder": folder,
                "created": manifest["created_at"],
                "version": manifest["kinanti_version"],
                "url": safe_url(settings.resolved_database_url),
            }

        _report(action)
