"""``kinanti backup DIR`` and ``kinanti restore DIR`` (see ``kinanti.backup``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from kinanti.backup import BackupError
from kinanti.i18n import t
from kinanti.settings import Settings, get_settings


def _backup(settings: Settings, folder: Path) -> dict[str, Any]:
    """Write the snapshot; what ``backup.written`` says of it."""
    from kinanti.backup import backup

    report = backup(settings, folder)
    return {
        "folder": report.folder,
        "backend": report.backend,
        "revision": report.revision or "-",
        "files": report.files,
        "bytes": report.bytes,
    }


def _restore(settings: Settings, folder: Path) -> dict[str, Any]:
    """Restore the snapshot; what ``backup.restored`` says of it."""
    from kinanti.backup import restore, safe_url

    manifest = restore(settings, folder)
    return {
        "folder": folder,
        "created": manifest["created_at"],
        "version": manifest["kinanti_version"],
        "url": safe_url(settings.resolved_database_url),
    }


def _report(key: str, action: Callable[[Settings, Path], dict[str, Any]], folder: Path) -> None:
    """Run ``action`` on ``folder``; print message ``key`` with what it returns, or its
    refusal (exit 1), in the user's language."""
    from kinanti.cli import console, err_console

    settings = get_settings()
    try:
        values = action(settings, folder)
    except BackupError as exc:
        message = exc.message(settings.language)
        err_console.print(t("error", settings.language, message=message), style="red",
                          markup=False)  # fmt: skip
        raise typer.Exit(1) from exc
    console.print(t(key, settings.language, **values), markup=False)


def _folder_command(
    app: typer.Typer,
    name: str,
    action: Callable[[Settings, Path], dict[str, Any]],
    key: str,
    *,
    help_text: str,
    folder_help: str,
) -> None:
    """Command ``name FOLDER``: run ``action`` on the folder and report it (``_report``)."""

    @app.command(name, help=help_text)
    def command(folder: Path = typer.Argument(..., help=folder_help)) -> None:
        _report(key, action, folder)


def register(app: typer.Typer) -> None:
    _folder_command(
        app,
        "backup",
        _backup,
        "backup.written",
        help_text="Write a consistent snapshot: the database, the evidence files and a manifest.",
        folder_help="A new or empty folder for the backup",
    )
    _folder_command(
        app,
        "restore",
        _restore,
        "backup.restored",
        help_text="Restore a backup into this installation, which must be empty.",
        folder_help="A folder written by `kinanti backup`",
    )
