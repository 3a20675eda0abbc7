"""``kinanti backup DIR`` and ``kinanti restore DIR`` (see ``kinanti.backup``)."""

from __future__ import annotations

from pathlib import Path

import typer

from kinanti.backup import BackupError
from kinanti.i18n import t
from kinanti.settings import get_settings


def _refused(exc: BackupError, language: str) -> typer.Exit:
    """Print the refusal in the installation's language; the exit to raise."""
    from kinanti.cli import err_console

    err_console.print(t("error", language, message=exc.message(language)), style="red",
                      markup=False)  # fmt: skip
    return typer.Exit(1)


def register(app: typer.Typer) -> None:
    @app.command("backup")
    def backup_command(
        folder: Path = typer.Argument(..., help="A new or empty folder for the backup"),
    ) -> None:
        """Write a consistent snapshot: the database, the evidence files and a manifest."""
        from kinanti.backup import backup
        from kinanti.cli import console

        settings = get_settings()
        try:
            report = backup(settings, folder)
        except BackupError as exc:
            raise _refused(exc, settings.language) from exc
        console.print(
            t(
                "backup.written",
                settings.language,
                folder=report.folder,
                backend=report.backend,
                revision=report.revision or "-",
                files=report.files,
                bytes=report.bytes,
            ),
            markup=False,
        )

    @app.command("restore")
    def restore_command(
        folder: Path = typer.Argument(..., help="A folder written by `kinanti backup`"),
    ) -> None:
        """Restore a backup into this installation, which must be empty."""
        from kinanti.backup import restore, safe_url
        from kinanti.cli import console

        settings = get_settings()
        try:
            manifest = restore(settings, folder)
        except BackupError as exc:
            raise _refused(exc, settings.language) from exc
        console.print(
            t(
                "backup.restored",
                settings.language,
                folder=folder,
                created=manifest["created_at"],
                version=manifest["kinanti_version"],
                url=safe_url(settings.resolved_database_url),
            ),
            markup=False,
        )
