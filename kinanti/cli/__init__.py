"""The ``kinanti`` command line. Each command group lives in its own module and registers
itself on the main app (``register(app)``)."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from domain.errors import KinantiError
from kinanti.i18n import t
from kinanti.settings import get_settings

app = typer.Typer(
    name="kinanti",
    help="Kinanti: innovation lifecycle engine for Brida (Klinik Inovasi, Transformasi, "
    "dan Replikasi).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

#: Command modules, each with ``register(app)``.
COMMAND_MODULES = (
    "kinanti.cli.database",
    "kinanti.cli.registry",
    "kinanti.cli.engine",
    "kinanti.cli.notify",
    "kinanti.cli.iid",
    "kinanti.cli.backup",
    "kinanti.cli.web",
    "kinanti.cli.replication",
    "kinanti.cli.klinik",
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # module not written yet
                continue
            raise
        module.register(app)


_register_all()


def main() -> None:
    """Entry point: run the CLI; domain errors print a clear message and exit 1."""
    try:
        app()
    except KinantiError as exc:
        lang = get_settings().language
        err_console.print(t("error", lang, message=exc.message(lang)), style="red", markup=False)
        sys.exit(1)
