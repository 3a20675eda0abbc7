"""``kinanti units|people|innovations``: end to end through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.errors import NotFoundError, ValidationError
from kinanti.db import get_engine
from kinanti.settings import get_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mataram"


def _env(home: Path, url: str, language: str = "id") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINANTI_")}
    env.update(
        KINANTI_HOME=str(home),
        KINANTI_DATABASE_URL=url,
        KINANTI_LANGUAGE=language,
        COLUMNS="200",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    return env


def _kinanti(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from kinanti.cli import main; main()", *args],
        env=env,
        cwd=env["KINANTI_HOME"],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def forget_engine() -> Iterator[None]:
    yield
    _forget_engine()


def test_the_example_city_loads_through_the_command_line(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_engine: None
) -> None:
    """The commands a newcomer types, in process (the real entry point is the smoke test
    below): on each backend, a fresh database gets the city and its 40 proposals."""
    cli = _in_process(monkeypatch, tmp_path, empty_database_url, "id")
    from kinanti.cli import app

    def run(*args: str) -> str:
        result = cli.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    for args in (
        ("db", "upgrade"),
        ("units", "import", str(EXAMPLES / "units.yaml")),
        ("people", "import", str(EXAMPLES / "people.yaml")),
    ):
        run(*args)
    assert "40 baru" in run("innovations", "submit", str(EXAMPLES / "innovations.yaml"))

    listing = run("innovations", "list")
    assert "Inovasi (40)" in listing
    assert "PENDEKAR-SERASI" in listing and "perencanaan" in listing

    rows = json.loads(run("innovations", "list", "--json"))
    assert len(rows) == 40 and {r["stage"] for r in rows} == {"planning"}
    units = json.loads(run("units", "list", "--json"))
    assert {"BRIDA", "RSUD", "KEC-SANDUBAYA", "PKM-PAGESANGAN"} <= {u["code"] for u in units}
    people = json.loads(run("people", "list", "--json"))
    assert any("head_of_brida" in p["roles"] for p in people)

    shown = json.loads(run("innovations", "show", "pendekar-serasi", "--json"))
    assert shown["code"] == "PENDEKAR-SERASI" and shown["unit"] == "RSUD"
    assert [h["to_stage"] for h in shown["history"]] == ["planning"]
    assert shown["proposal_problems"] == [] and shown["design_words"] >= 300

    again = run("innovations", "submit", str(EXAMPLES / "innovations.yaml"))
    assert "40 tidak berubah" in again


def test_the_installed_command_exits_non_zero_on_a_bad_file_and_writes_nothing(
    tmp_path: Path,
) -> None:
    """The real entry point, as a separate process: exit codes and stderr as a shell sees
    them."""
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'k.db'}", language="en")
    assert _kinanti(env, "db", "upgrade").returncode == 0
    bad = tmp_path / "units.yaml"
    bad.write_text(
        "- {code: DINKES, name: Dinas Kesehatan, kind: opd}\n"
        "- {code: PKM-X, name: Puskesmas X, kind: uptd, parent: NOPE}\n"
    )
    done = _kinanti(env, "units", "import", str(bad))
    assert done.returncode == 1
    assert "Import of units.yaml failed (1 problems); nothing was written" in done.stderr
    assert "units.yaml: record 2 (code PKM-X): parent: unknown unit code 'NOPE'" in done.stderr
    assert done.stdout == ""


def test_errors_exit_non_zero_and_name_the_problem(cli: CliRunner) -> None:
    from kinanti.cli import app

    assert cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    bad = Path(os.environ["KINANTI_HOME"]) / "units.yaml"
    bad.write_text("- {code: PKM-X, name: Puskesmas X, kind: uptd, parent: NOPE}\n")
    refused = cli.invoke(app, ["units", "import", str(bad)])
    assert refused.exit_code == 1 and "unknown unit code 'NOPE'" in refused.stderr
    listed = cli.invoke(app, ["units", "list", "--json"])
    assert json.loads(listed.stdout) == []

    # in process the domain error reaches the caller; ``main`` prints it (smoke test above)
    missing = cli.invoke(app, ["innovations", "show", "NOPE"])
    assert isinstance(missing.exception, NotFoundError)
    assert (missing.exception.code, missing.exception.params) == (
        "innovation.unknown",
        {"innovation": "NOPE"},
    )
    wrong = cli.invoke(app, ["innovations", "list", "--stage", "done"])
    assert isinstance(wrong.exception, ValidationError)
    assert "allowed: planning, development" in str(wrong.exception)


def _in_process(monkeypatch: pytest.MonkeyPatch, home: Path, url: str, language: str) -> CliRunner:
    """Point the in-process CLI at ``home`` / ``url`` (settings and engine caches reset)."""
    monkeypatch.setenv("KINANTI_HOME", str(home))
    monkeypatch.setenv("KINANTI_DATABASE_URL", url)
    monkeypatch.setenv("KINANTI_LANGUAGE", language)
    monkeypatch.setenv("COLUMNS", "200")
    from kinanti.cli import console

    monkeypatch.setattr(console, "width", 200)  # the console may exist already
    _forget_engine()
    return CliRunner()


def _forget_engine() -> None:
    """Forget the cached engine and settings (the database is dropped WITH (FORCE))."""
    get_engine.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """In-process CLI on a fresh SQLite database."""
    yield _in_process(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'k.db'}", "en")
    _forget_engine()


def test_listings_filter_by_unit_stage_and_year(cli: CliRunner) -> None:
    from kinanti.cli import app

    for args in (
        ["db", "upgrade"],
        ["units", "import", str(EXAMPLES / "units.yaml")],
        ["people", "import", str(EXAMPLES / "people.yaml")],
        ["innovations", "submit", str(EXAMPLES / "innovations.yaml")],
    ):
        result = cli.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert "40 created" in result.output

    def codes(*args: str) -> list[str]:
        result = cli.invoke(app, ["innovations", "list", "--json", *args])
        assert result.exit_code == 0, result.output
        return [r["code"] for r in json.loads(result.output)]

    assert set(codes("--unit", "rsud")) == {"PENDEKAR-SERASI", "PASIEN-TANPA-ANTRE"}
    assert len(codes("--stage", "planning", "--year", "2026")) == 40
    assert codes("--stage", "development") == []
    assert codes("--year", "2025") == []

    table = cli.invoke(app, ["innovations", "show", "SAPA-LITERASI"])
    assert table.exit_code == 0
    assert "Stage history" in table.output and "at least 300 are required" in table.output
    units = cli.invoke(app, ["units", "list"])
    assert units.exit_code == 0 and "Units (44)" in units.output
    people = cli.invoke(app, ["people", "list"])
    assert people.exit_code == 0 and "head of Brida" in people.output
