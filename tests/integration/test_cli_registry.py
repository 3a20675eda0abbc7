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


def test_the_example_city_loads_through_the_command_line(
    empty_database_url: str, tmp_path: Path
) -> None:
    env = _env(tmp_path, empty_database_url)
    for args in (
        ("db", "upgrade"),
        ("units", "import", str(EXAMPLES / "units.yaml")),
        ("people", "import", str(EXAMPLES / "people.yaml")),
        ("innovations", "submit", str(EXAMPLES / "innovations.yaml")),
    ):
        done = _kinanti(env, *args)
        assert done.returncode == 0, done.stderr
    assert "40 baru" in done.stdout

    listing = _kinanti(env, "innovations", "list")
    assert listing.returncode == 0 and "Inovasi (40)" in listing.stdout
    assert "PENDEKAR-SERASI" in listing.stdout and "perencanaan" in listing.stdout

    rows = json.loads(_kinanti(env, "innovations", "list", "--json").stdout)
    assert len(rows) == 40 and {r["stage"] for r in rows} == {"planning"}
    units = json.loads(_kinanti(env, "units", "list", "--json").stdout)
    assert {"BRIDA", "RSUD", "KEC-SANDUBAYA", "PKM-PAGESANGAN"} <= {u["code"] for u in units}
    people = json.loads(_kinanti(env, "people", "list", "--json").stdout)
    assert any("head_of_brida" in p["roles"] for p in people)

    shown = json.loads(_kinanti(env, "innovations", "show", "pendekar-serasi", "--json").stdout)
    assert shown["code"] == "PENDEKAR-SERASI" and shown["unit"] == "RSUD"
    assert [h["to_stage"] for h in shown["history"]] == ["planning"]
    assert shown["proposal_problems"] == [] and shown["design_words"] >= 300

    again = _kinanti(env, "innovations", "submit", str(EXAMPLES / "innovations.yaml"))
    assert again.returncode == 0 and "40 tidak berubah" in again.stdout


def test_a_bad_file_exits_non_zero_and_writes_nothing(tmp_path: Path) -> None:
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
    assert json.loads(_kinanti(env, "units", "list", "--json").stdout) == []

    missing = _kinanti(env, "innovations", "show", "NOPE")
    assert missing.returncode == 1 and "Error: innovation 'NOPE' does not exist" in missing.stderr
    wrong = _kinanti(env, "innovations", "list", "--stage", "done")
    assert wrong.returncode == 1 and "allowed: planning, development" in wrong.stderr


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """In-process CLI on a fresh SQLite database (settings and engine caches reset)."""
    monkeypatch.setenv("KINANTI_HOME", str(tmp_path))
    monkeypatch.setenv("KINANTI_DATABASE_URL", f"sqlite:///{tmp_path / 'k.db'}")
    monkeypatch.setenv("KINANTI_LANGUAGE", "en")
    monkeypatch.setenv("COLUMNS", "200")
    from kinanti.cli import console

    monkeypatch.setattr(console, "width", 200)  # the console may exist already
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield CliRunner()
    get_engine.cache_clear()
    get_settings.cache_clear()


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
