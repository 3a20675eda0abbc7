"""``kinanti units|people|innovations ...``: the registry and innovation proposals.

Imports write a whole file in one transaction or nothing; listings print rich tables, or
JSON with ``--json`` (the pydantic models of ``kinanti.views``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import typer
from pydantic import BaseModel, TypeAdapter
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from domain.changes import SYSTEM_ACTOR
from domain.enums import Language
from domain.errors import ValidationError, message_of
from kinanti import views
from kinanti.cli.options import JsonOutput
from kinanti.cli.writes import cli_write
from kinanti.db import unit_of_work
from kinanti.i18n import history_reason, rupiah, t
from kinanti.importers import ImportReport, RecordKind, read_records, write_records
from kinanti.settings import get_settings

RowT = TypeVar("RowT", bound=BaseModel)


def _lang() -> Language:
    return get_settings().language


def _echo_json(items: Sequence[BaseModel] | BaseModel) -> None:
    if isinstance(items, BaseModel):
        typer.echo(items.model_dump_json(indent=2))
    else:
        typer.echo(TypeAdapter(list[Any]).dump_json(list(items), indent=2).decode())


def run_import(file: Path, kind: str, do: Callable[[], ImportReport]) -> ImportReport:
    """Run one import and say what it changed, or list every problem and exit 1."""
    from kinanti.cli import console, err_console

    lang = _lang()
    try:
        report = do()
    except ValidationError as exc:
        err_console.print(
            t("registry.import_failed", lang, file=file.name, count=len(exc.problems)),
            style="red",
            markup=False,
            highlight=False,
        )
        for problem in exc.problems:
            err_console.print(f"  - {problem}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    console.print(
        t(
            "registry.imported",
            lang,
            file=report.file,
            kind=t(f"registry.kind.{kind}", lang),
            total=report.total,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
        ),
        highlight=False,
    )
    return report


def _import(kind: RecordKind, file: Path, actor: str = SYSTEM_ACTOR) -> None:
    def write() -> ImportReport:
        records = read_records(file, kind)
        with cli_write(f"{kind} import", actor, file.name) as session:
            return write_records(session, kind, records, file.name, actor=actor)

    report = run_import(file, kind, write)
    if kind == "innovations" and report.created:
        from domain.changes import Committed
        from kinanti.cli.engine import after_commit
        from kinanti.publish import Sweep

        # the import's events and hand-offs (and any left before it)
        after_commit(Committed(), sweep=Sweep.EVENTS | Sweep.HANDOFFS)


def _stage(value: str | None, lang: Language) -> str:
    return t(f"registry.stage.{value}", lang) if value else "-"


def _outcome(value: str | None, lang: Language) -> str:
    return t(f"registry.outcome.{value}", lang) if value else "-"


def _when(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def _yes(value: bool, lang: Language) -> str:
    return t("registry.yes" if value else "registry.no", lang)


def _table(title: str, columns: Sequence[str]) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for n, column in enumerate(columns):
        table.add_column(column, overflow="fold", no_wrap=n == 0)  # codes stay whole
    return table


def _add(table: Table, *cells: str) -> None:
    """Add a row of plain text (names and reasons may contain rich markup characters)."""
    table.add_row(*(Text(cell) for cell in cells))


def _cols(lang: Language, *names: str) -> list[str]:
    return [t(f"registry.col.{n}", lang) for n in names]


@dataclass(frozen=True)
class _Listing(Generic[RowT]):
    """How a listing prints as a table: its title, its columns, the cells of one row."""

    title_key: str
    columns: Sequence[str]
    cells: Callable[[RowT, Language], Sequence[str]]


def _print_listing(rows: Sequence[RowT], as_json: bool, listing: _Listing[RowT]) -> None:
    """Print a listing as JSON, or as a table with one row of ``cells`` per item."""
    from kinanti.cli import console

    if as_json:
        _echo_json(rows)
        return
    lang = _lang()
    if not rows:
        console.print(t("registry.empty", lang))
        return
    table = _table(t(listing.title_key, lang, count=len(rows)), _cols(lang, *listing.columns))
    for row in rows:
        _add(table, *listing.cells(row, lang))
    console.print(table)


def _named(name: str, active: bool, lang: Language) -> str:
    return name + ("" if active else f" ({t('registry.inactive', lang)})")


def _unit_cells(u: views.UnitRow, lang: Language) -> Sequence[str]:
    return (
        u.code,
        _named(u.name, u.active, lang),
        u.kind.upper(),
        u.parent or "-",
        f"{u.head_name or '-'}\n{u.head_email or ''}".strip(),
        f"{u.officer_name or '-'}\n{u.officer_email or ''}".strip(),
        u.language,
    )


def _person_cells(p: views.PersonRow, lang: Language) -> Sequence[str]:
    return (
        p.email,
        _named(p.name, p.active, lang),
        p.unit or "-",
        ", ".join(t(f"registry.role.{r}", lang) for r in p.roles),
        p.language,
    )


def _innovation_cells(i: views.InnovationRow, lang: Language) -> Sequence[str]:
    stage_text = _stage(i.stage, lang)
    if i.revision_requested:
        stage_text += f" ({t('registry.revision', lang)})"
    return (
        i.code,
        i.title,
        i.unit,
        str(i.year),
        stage_text,
        _outcome(i.outcome, lang),
        i.jenis,
    )


_UNITS = _Listing(
    "registry.units_title",
    ("code", "name", "kind", "parent", "head", "officer", "language"),
    _unit_cells,
)
_PEOPLE = _Listing(
    "registry.people_title", ("email", "name", "unit", "roles", "language"), _person_cells
)
_INNOVATIONS = _Listing(
    "registry.innovations_title",
    ("code", "title", "unit", "year", "stage", "outcome", "jenis"),
    _innovation_cells,
)


def _import_and_list(
    group: typer.Typer,
    kind: RecordKind,
    file_help: str,
    import_help: str,
    list_help: str,
    read: Callable[[Session], Sequence[RowT]],
    listing: _Listing[RowT],
) -> None:
    """The ``import FILE`` and ``list`` commands of a registry of ``kind``."""

    @group.command("import", help=import_help)
    def import_command(file: Path = typer.Argument(..., help=file_help)) -> None:
        _import(kind, file)

    @group.command("list", help=list_help)
    def list_command(as_json: JsonOutput = False) -> None:
        with unit_of_work() as session:
            rows = read(session)
        _print_listing(rows, as_json, listing)


def register(app: typer.Typer) -> None:
    units = typer.Typer(help="Units: OPD and UPTD (unit kerja).", no_args_is_help=True)
    people = typer.Typer(help="People: Brida staff, reviewers, innovators.", no_args_is_help=True)
    innovations = typer.Typer(
        help="Innovation proposals and their lifecycle.", no_args_is_help=True
    )

    _import_and_list(
        units,
        "units",
        "units.yaml, units.json or units.csv",
        "Create or update units from a file (all records or none).",
        "List the registered units.",
        views.list_units,
        _UNITS,
    )
    _import_and_list(
        people,
        "people",
        "people.yaml, people.json or people.csv",
        "Create or update people and their roles from a file (all records or none).",
        "List the registered people and their roles.",
        views.list_people,
        _PEOPLE,
    )

    @innovations.command("submit")
    def innovations_submit(
        file: Path = typer.Argument(..., help="One proposal or many (YAML or JSON)"),
        actor: str = typer.Option(
            SYSTEM_ACTOR, "--actor", help="Email recorded as the submitter in the history"
        ),
    ) -> None:
        """Submit innovation proposals (created at planning, or their profile updated)."""
        _import("innovations", file, actor=actor.strip().lower())

    @innovations.command("list")
    def innovations_list(
        as_json: JsonOutput = False,
        unit: str | None = typer.Option(None, "--unit", help="Only this unit's code"),
        stage: str | None = typer.Option(
            None, "--stage", help="planning, development, deployment, reporting, replication"
        ),
        year: int | None = typer.Option(None, "--year", help="Only this year"),
    ) -> None:
        """List innovations, optionally filtered by unit, stage and year."""
        stage_value = views.parse_stage(stage)
        with unit_of_work() as session:
            rows = views.list_innovations(session, unit=unit, stage=stage_value, year=year)
        _print_listing(rows, as_json, _INNOVATIONS)

    @innovations.command("show")
    def innovations_show(
        code: str = typer.Argument(..., help="Innovation code"),
        as_json: JsonOutput = False,
    ) -> None:
        """Show one innovation: profile, stage, history, gates and evaluations."""
        with unit_of_work() as session:
            detail = views.innovation_detail(session, code)
        if as_json:
            _echo_json(detail)
            return
        _print_detail(detail, _lang())

    app.add_typer(units, name="units")
    app.add_typer(people, name="people")
    app.add_typer(innovations, name="innovations")


def _print_detail(d: views.InnovationDetail, lang: Language) -> None:
    from kinanti.cli import console

    profile = Table(title=f"{d.code} — {d.title}", title_justify="left", show_header=False)
    profile.add_column(style="bold")
    profile.add_column(overflow="fold")
    stage = f"{_stage(d.stage, lang)} ({d.national_stage})"
    if d.revision_requested:
        stage += f", {t('registry.revision', lang)}"
    rows: list[tuple[str, str]] = [
        ("unit", f"{d.unit} — {d.unit_name}"),
        ("year", str(d.year)),
        ("stage", stage),
        ("outcome", _outcome(d.outcome, lang)),
        ("initiator", d.initiator + (f" ({d.initiator_name})" if d.initiator_name else "")),
        ("jenis", d.jenis),
        ("bentuk", d.bentuk),
        ("urusan", ", ".join([d.urusan_main, *d.urusan_other])),
        ("tematik", d.tematik or "-"),
        ("budget", rupiah(d.budget, lang)),
        ("trial_start", _when(d.trial_start)),
        ("implementation_start", _when(d.implementation_start)),
        ("adopting_act", views.adopting_act_text(d.adopting_act, d.adopting_act_number) or "-"),
        ("consultation", _yes(d.consultation_requested, lang)),
        ("origin", d.origin or "-"),
        ("replicas", ", ".join(d.replicas) or "-"),
        ("design", t("registry.words", lang, count=d.design_words)),
        ("goals", d.goals or "-"),
        ("benefits", d.benefits or "-"),
        ("problems", "\n".join(d.proposal_problems) or t("registry.complete", lang)),
    ]
    for key, value in rows:
        _add(profile, t(f"registry.col.{key}", lang), value)
    console.print(profile)

    history = _table(
        t("registry.history_title", lang),
        _cols(lang, "when", "from", "to", "outcome", "actor", "reason"),
    )
    for h in d.history:
        _add(
            history,
            _when(h.occurred_at),
            _stage(h.from_stage, lang),
            _stage(h.to_stage, lang),
            _outcome(h.outcome, lang),
            h.actor,
            history_reason(h.reason, lang),
        )
    console.print(history)

    if d.gates:
        gates = _table(
            t("registry.gates_title", lang),
            _cols(lang, "stage", "round", "status", "opened", "decided", "decisions"),
        )
        for g in d.gates:
            lines = [
                f"{_when(x.occurred_at)} {x.decision} — {x.reviewer}: "
                + (
                    (x.reason or t("registry.accepted", lang))
                    if x.accepted
                    else f"{t('registry.refused', lang)}: "
                    + message_of(x.refusal_code, x.refusal_params, lang, x.refusal or "-")
                )
                for x in g.decisions
            ]
            _add(
                gates,
                _stage(g.stage, lang),
                str(g.round),
                t(f"registry.gate.{g.status}", lang),
                _when(g.opened_at),
                _when(g.decided_at),
                "\n".join(lines) or "-",
            )
        console.print(gates)
    if d.evaluations:
        evaluations = _table(
            t("registry.evaluations_title", lang),
            _cols(lang, "stage", "evaluator", "scores", "total", "recommendation"),
        )
        for e in d.evaluations:
            _add(
                evaluations,
                _stage(e.stage, lang),
                e.evaluator,
                ", ".join(f"{k} {v}" for k, v in e.scores.items()),
                str(e.total),
                e.recommendation or "-",
            )
        console.print(evaluations)
