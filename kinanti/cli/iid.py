"""``kinanti iid | evidence | compliance | report``: scoring, evidence, compliance, reports."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer

from domain.errors import ValidationError
from domain.iid.scoring import Gain, RegionScore, display
from kinanti.cli.options import JsonOutput
from kinanti.i18n import t
from kinanti.reports.readiness import explanation_lines


def _console() -> Any:
    from kinanti.cli import console

    return console


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _gain(g: Gain) -> dict[str, Any]:
    return {
        "indicator": g.indicator,
        "name": g.name,
        "level": g.level,
        "points": display(g.points),
        "iid_points": display(g.iid_points, 3),
    }


def _print_wrapped(text: str, indent: str = "  ", hang: str = "    ") -> None:
    """Print ``text`` wrapped at the console width between words only (a code such as
    ``sid18_kemanfaatan`` is never split); rich must not wrap it again."""
    console = _console()
    width = max(20, console.width)
    lines = textwrap.wrap(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=hang,
        break_long_words=False,
        break_on_hyphens=False,
    )
    for line in lines or [indent]:
        console.print(line, soft_wrap=True, markup=False, highlight=False)


def _print_explanation(score: RegionScore, lang: str) -> None:
    head, present, missing, seats = explanation_lines(score, lang)
    _print_wrapped(head)
    _print_wrapped(present, indent="    ", hang="      ")
    _print_wrapped(missing, indent="    ", hang="      ")
    _print_wrapped(seats)


def _language() -> str:
    from kinanti.settings import get_settings

    return get_settings().language.value


def _print_score(title: str, claimed: RegionScore, verified: RegionScore, lang: str) -> None:
    console = _console()
    if verified.prognosis:
        console.print(f"[bold yellow]{t('iid.prognosis', lang, year=verified.year)}[/bold yellow]")
    for line in _score_lines(title, claimed, verified, lang):
        console.print(line)
    _print_explanation(verified, lang)


def _codes(items: Iterable[str]) -> str:
    return ", ".join(items)


def _score_lines(
    title: str, claimed: RegionScore, verified: RegionScore, lang: str = "id"
) -> list[str]:
    return [
        f"[bold]{title}[/bold]",
        "  "
        + t(
            "iid.verified_line",
            lang,
            iid=f"[bold]{display(verified.iid)}[/bold]",
            band=verified.band.value,
        ),
        "  " + t("iid.claimed_line", lang, iid=display(claimed.iid), band=claimed.band.value),
        f"  n={verified.n}  max(k,n)={verified.divisor}  SPD={display(verified.spd)}/"
        f"{display(claimed.spd)}  SID={display(verified.sid)}/{display(claimed.sid)}  "
        f"JumlahInovasi={display(verified.count_term)}",
    ]


def register(app: typer.Typer) -> None:
    _register_iid(app)
    _register_evidence(app)
    _register_compliance(app)
    _register_report(app)


_YEAR_THIS = typer.Option(None, "--year", help="Year (default: this year)")

# ---------------------------------------------------------------- iid


def _register_iid(app: typer.Typer) -> None:
    group = typer.Typer(help="Indeks Inovasi Daerah: the city's score and what raises it.")

    @group.callback(invoke_without_command=True)
    def current(
        ctx: typer.Context,
        year: int = _YEAR_THIS,
        as_json: JsonOutput = False,
        top: int = typer.Option(3, "--top", help="Largest gains shown per innovation"),
    ) -> None:
        """Show the city's current IID (claimed and verified), band, and the indicators
        that would raise it most for each innovation."""
        if ctx.invoked_subcommand is not None:
            return
        from domain.iid.catalogue import catalogue_for_year
        from domain.iid.portfolio import claim_levels, portfolio_figures
        from domain.iid.scoring import Basis, largest_gains
        from kinanti.db import unit_of_work
        from kinanti.settings import get_settings

        settings = get_settings()
        year = year or dt.date.today().year
        lang = settings.language.value
        with unit_of_work() as session:
            figures = portfolio_figures(session, year)
            levels = claim_levels(session, year, Basis.VERIFIED)
            spd_levels = claim_levels(session, year, Basis.VERIFIED, aspect="spd").get(None, {})
        catalogue = catalogue_for_year(year)
        n = figures.verified.n
        gains = {
            f.code: largest_gains(catalogue, "sid", levels.get(f.id, {}), n=n, limit=top, lang=lang)
            for f in figures.innovations
        }
        spd_gains = largest_gains(catalogue, "spd", spd_levels, limit=top, lang=lang)
        if as_json:
            _print_json(
                {
                    "region": settings.region_name,
                    "year": year,
                    "prognosis": catalogue.prognosis,
                    "claimed": figures.claimed.as_dict(),
                    "verified": figures.verified.as_dict(),
                    "innovations": [
                        {
                            "code": f.code,
                            "title": f.title,
                            "sid_claimed": display(f.sid_claimed),
                            "sid_verified": display(f.sid_verified),
                            "mandatory_missing": f.mandatory_missing_verified,
                            "largest_gains": [_gain(g) for g in gains[f.code]],
                        }
                        for f in figures.innovations
                    ],
                    "spd_largest_gains": [_gain(g) for g in spd_gains],
                }
            )
            return
        console = _console()
        _print_score(f"{settings.region_name} {year}", figures.claimed, figures.verified, lang)
        if spd_gains:
            hints = (f"{g.indicator} +{display(g.iid_points, 3)}" for g in spd_gains)
            console.print("  SPD: " + "; ".join(hints))
        for f in figures.innovations:
            hint = "; ".join(f"{g.indicator} +{display(g.iid_points, 3)}" for g in gains[f.code])
            console.print(
                f"  {f.code:<16} SID {display(f.sid_verified):>6} / {display(f.sid_claimed):>6}"
                f"  {hint}"
            )

    @group.command("score")
    def score(
        file: Path = typer.Argument(..., help="Region file (.yaml/.json)"),
        year: int = typer.Option(None, "--year", help="Catalogue year (or 'year:' in the file)"),
        as_json: JsonOutput = False,
    ) -> None:
        """Score a region described in a YAML/JSON file, without the database."""
        from domain.iid.scorefile import load_region_file, score_region_file

        lang = _language()
        result = score_region_file(load_region_file(file, lang), year)
        if as_json:
            _print_json(
                {
                    "region": result.region,
                    "year": result.catalogue.year,
                    "prognosis": result.catalogue.prognosis,
                    "claimed": result.claimed.as_dict(),
                    "verified": result.verified.as_dict(),
                    "innovations": [
                        {
                            "code": i.code,
                            "sid_claimed": str(i.sid_claimed),
                            "sid_verified": str(i.sid_verified),
                            "missing_mandatory": list(i.missing_mandatory),
                            "largest_gains": [_gain(g) for g in i.gains],
                        }
                        for i in result.innovations
                    ],
                    "spd_largest_gains": [_gain(g) for g in result.spd_gains],
                }
            )
            return
        title = f"{result.region or file.name} {result.catalogue.year}"
        _print_score(title, result.claimed, result.verified, lang)
        label = t("iid.mandatory_missing", lang)
        for i in result.innovations:
            missing = f"  {label}: {_codes(i.missing_mandatory)}" if i.missing_mandatory else ""
            _print_wrapped(f"{i.code:<16} SID {i.sid_verified} / {i.sid_claimed}{missing}")

    @group.command("urusan")
    def urusan(as_json: JsonOutput = False) -> None:
        """The official urusan pemerintahan (UU 23/2014 art. 12) with their accepted
        aliases; * marks the six basic-service affairs the count term looks for."""
        from domain.iid.urusan import urusan_list

        listing = urusan_list()
        if as_json:
            _print_json(
                [
                    {
                        "name": u.name,
                        "group": u.group,
                        "basic_service": u.basic_service,
                        "aliases": list(u.aliases),
                    }
                    for u in listing.items
                ]
            )
            return
        lang = _language()
        console = _console()
        group_of = ""
        for u in listing.items:
            if u.group != group_of:
                group_of = u.group
                console.print(f"[bold]{listing.group_labels[u.group][lang]}[/bold]")
            mark = "*" if u.basic_service else " "
            aliases = f" ({'; '.join(u.aliases)})" if u.aliases else ""
            _print_wrapped(f"{mark} {u.name}{aliases}", indent="  ", hang="      ")

    app.add_typer(group, name="iid")


# ---------------------------------------------------------------- evidence


def _store() -> Any:
    from domain.evidence import EvidenceStore
    from kinanti.settings import get_settings

    settings = get_settings()
    return EvidenceStore(settings.resolved_evidence_dir, settings.evidence_max_bytes)


def _register_evidence(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Evidence (bukti dukung) for IID indicator claims.", no_args_is_help=True
    )

    @group.command("add")
    def add(
        args: list[str] = typer.Argument(None, help="CODE INDICATOR (SID), or nothing with --spd"),
        spd: str = typer.Option(None, "--spd", help="SPD INDICATOR of the region"),
        level: int = typer.Option(..., "--level", min=1, max=3, help="Claimed level 1..3"),
        file: Path = typer.Option(None, "--file", help="Evidence file (pdf, png, jpg, mp4)"),
        link: str = typer.Option(None, "--link", help="Evidence link (http/https)"),
        actor: str = typer.Option(..., "--as", help="Email of the person claiming"),
        year: int = typer.Option(None, "--year", help="Year (SID default: the innovation's)"),
        basis: str = typer.Option(
            None,
            "--basis",
            help="Measurement basis chosen, for an indicator with alternative bases "
            "(2026 Kemanfaatan: penerima_manfaat, pengguna_layanan, efisiensi_waktu, ...)",
        ),
    ) -> None:
        """Claim an indicator level with its evidence (a changed claim resets verification)."""
        from domain.evidence import claim_indicator
        from kinanti.cli.writes import cli_write

        code, indicator = _target(args or [], spd)
        if spd and year is None:
            year = dt.date.today().year
        with cli_write("evidence add", actor, f"{code or 'SPD'}/{indicator}") as session:
            change = claim_indicator(
                session,
                _store(),
                code=code,
                indicator=indicator,
                level=level,
                actor=actor,
                file=file,
                link=link,
                year=year,
                basis=basis,
            )
            claim = change.claim
            lang = _language()
            text = _claim_line("evidence.claimed", claim, code, lang, level=claim.claimed_level)
            text += f" [{claim.measurement_basis}]" if claim.measurement_basis else ""
        if not change.changed:
            text += f" ({t('evidence.unchanged', lang)})"
        elif change.reset:
            text += f" ({t('evidence.reset', lang)})"
        _console().print(text, markup=False)

    @group.command("verify")
    def verify(
        args: list[str] = typer.Argument(
            ..., help="CODE INDICATOR accept|reject, or with --spd: accept|reject"
        ),
        spd: str = typer.Option(None, "--spd", help="SPD INDICATOR of the region"),
        reason: str = typer.Option(None, "--reason", help="Why (required to reject)"),
        level: int = typer.Option(None, "--level", min=1, max=3, help="Accept at this level"),
        actor: str = typer.Option(..., "--as", help="Email of the verifier"),
        year: int = typer.Option(None, "--year", help="Year (SID default: the innovation's)"),
    ) -> None:
        """Accept or reject a claim's evidence (brida_operator, reviewer, head_of_brida)."""
        from domain.evidence import verify_claim
        from kinanti.cli.writes import cli_write

        code, indicator = _target(args[:-1], spd)
        decision = args[-1].lower()
        if decision not in ("accept", "reject"):
            raise ValidationError(code="cli.decision_invalid", decision=args[-1])
        if spd and year is None:
            year = dt.date.today().year
        target = f"{code or 'SPD'}/{indicator}"
        with cli_write("evidence verify", actor, target, decision=decision) as session:
            claim = verify_claim(
                session,
                code=code,
                indicator=indicator,
                decision=decision,
                actor=actor,
                reason=reason,
                level=level,
                year=year,
            )
            lang = _language()
            text = _claim_line("evidence.verified", claim, code, lang)
            if claim.verified_level:
                text += t("evidence.verified_level", lang, level=claim.verified_level)
        _console().print(text, markup=False)

    @group.command("list")
    def list_(
        code: str = typer.Argument(None, help="Innovation code (omit with --spd)"),
        spd: bool = typer.Option(False, "--spd", help="List the region's SPD claims"),
        year: int = typer.Option(None, "--year"),
        as_json: JsonOutput = False,
    ) -> None:
        """List an innovation's claims (or the region's SPD claims) with their status."""
        from domain.evidence import list_claims
        from kinanti.db import unit_of_work
        from kinanti.settings import get_settings

        if not spd and not code:
            raise ValidationError(code="cli.code_or_spd")
        with unit_of_work() as session:
            views = list_claims(
                session, None if spd else code, year=year, lang=get_settings().language.value
            )
        if as_json:
            _print_json([v.__dict__ for v in views])
            return
        console = _console()
        lang = _language()
        for v in views:
            row = t(
                "evidence.row",
                lang,
                year=v.year,
                indicator=f"{v.indicator:<28}",
                mark="*" if v.mandatory else " ",
                claimed=v.claimed_level,
                verified=v.verified_level or "-",
                status=f"{t(f'evidence.status.{v.status}', lang):<10}",
                evidence=v.evidence or "",
            )
            basis = f" [{v.measurement_basis}]" if v.measurement_basis else ""
            console.print(row + basis + (f"  ({v.reason})" if v.reason else ""), markup=False)
        if not views:
            console.print(t("evidence.none", _language()))

    app.add_typer(group, name="evidence")


def _claim_line(key: str, claim: Any, code: str | None, lang: str, **values: object) -> str:
    """One claim as a line: ``<code or SPD> <indicator> <year>: ... <status>``."""
    status = t(f"evidence.status.{claim.status.value}", lang)
    target = code or "SPD"
    return t(
        key,
        lang,
        target=target,
        indicator=claim.indicator,
        year=claim.year,
        status=status,
        **values,
    )


def _target(args: list[str], spd: str | None) -> tuple[str | None, str]:
    if spd:
        if args:
            raise ValidationError(code="cli.spd_no_code")
        return None, spd
    if len(args) != 2:
        raise ValidationError(code="cli.target_required")
    return args[0], args[1]


# ---------------------------------------------------------------- compliance


def _register_compliance(app: typer.Typer) -> None:
    group = typer.Typer(help="Yearly obligation: at least one innovation per unit.")

    @group.callback(invoke_without_command=True)
    def listing(ctx: typer.Context, year: int = _YEAR_THIS, as_json: JsonOutput = False) -> None:
        """List every active unit with its compliance status for the year."""
        if ctx.invoked_subcommand is not None:
            return
        from domain.compliance import evaluate
        from kinanti.db import unit_of_work
        from kinanti.reports.labels import label
        from kinanti.reports.readiness import compliance_reason
        from kinanti.settings import get_settings

        settings = get_settings()
        today = dt.date.today()
        year = year or today.year
        with unit_of_work() as session:
            rows = evaluate(
                session,
                year=year,
                today=today,
                rules=settings.compliance_rules(),
            )
        lang = settings.language.value
        if as_json:
            units = [{**r.as_dict(), "reason": compliance_reason(r, lang)} for r in rows]
            _print_json({"year": year, "units": units})
            return
        console = _console()
        for r in rows:
            console.print(
                f"{r.unit_code:<16} {label(lang, 'status.' + r.status.value):<14} "
                f"{r.innovations_counted:>3}  {compliance_reason(r, lang)}",
                markup=False,
            )
        if not rows:
            console.print(t("compliance.no_units", lang))

    @group.command("exempt")
    def exempt(
        unit: str = typer.Argument(..., help="Unit code"),
        year: int = typer.Option(..., "--year"),
        reason: str = typer.Option(..., "--reason", help="Why the unit is exempt"),
        actor: str = typer.Option("kinanti@cli", "--as", help="Who exempts"),
    ) -> None:
        """Exempt a unit from the obligation for a year (with a reason)."""
        from domain.compliance import exempt_unit
        from kinanti.cli.writes import cli_write

        with cli_write("compliance exempt", actor, f"{unit.upper()}/{year}") as session:
            exempt_unit(session, unit, year=year, reason=reason, actor=actor)
        _console().print(
            t("compliance.exempted", _language(), unit=unit.upper(), year=year, reason=reason),
            markup=False,
        )

    @group.command("sweep")
    def sweep_now(
        year: int = typer.Option(None, "--year"),
        year_end: bool = typer.Option(False, "--year-end", help="Run the year-end evaluation"),
    ) -> None:
        """Run the compliance sweep now, without Prefect (the scheduled flow does the same)."""
        from domain.compliance import sweep
        from kinanti.cli.writes import cli_write
        from kinanti.reports.labels import label
        from kinanti.settings import get_settings

        settings = get_settings()
        today = dt.date.today()
        with cli_write("compliance sweep", None, str(year or today.year)) as session:
            summary = sweep(
                session,
                year=year or today.year,
                today=today,
                rules=settings.compliance_rules(),
                year_end=year_end,
            )
        _console().print(
            t(
                "compliance.swept",
                settings.language.value,
                year=summary.year,
                counts=", ".join(
                    f"{label(settings.language.value, 'status.' + k)} {v}"
                    for k, v in sorted(summary.counts.items())
                ),
                warned=len(summary.warned),
                special=len(summary.special_evaluations),
            ),
            markup=False,
        )

    app.add_typer(group, name="compliance")


# ---------------------------------------------------------------- report


def _register_report(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        year: int = _YEAR_THIS,
        out: Path = typer.Option(None, "--out", help="Folder (default: <home>/reports/<year>)"),
        lang: str = typer.Option(None, "--lang", help="id or en (default: KINANTI_LANGUAGE)"),
        check: int = typer.Option(
            None,
            "--check",
            metavar="YEAR",
            help="Write nothing: list, per innovation, what blocks it in the national "
            "collection of YEAR; exit 1 when any innovation is not ready",
        ),
        as_json: bool = typer.Option(False, "--json", help="With --check: print JSON"),
    ) -> None:
        """Write the yearly report: report.html, innovations.csv and innovations.xlsx (the
        export marks innovations not ready for the national collection)."""
        from kinanti.db import unit_of_work
        from kinanti.reports import build_report
        from kinanti.settings import get_settings

        settings = get_settings()
        lang = lang or settings.language.value
        if lang not in ("id", "en"):
            raise ValidationError(code="cli.lang_invalid", lang=lang)
        if check is not None:
            _check_readiness(check, lang, as_json)
            return
        year = year or dt.date.today().year
        folder = out or settings.home / "reports" / str(year)
        with unit_of_work() as session:
            files = build_report(session, year, folder, settings=settings, lang=lang)
        for path in files.paths:
            typer.echo(str(path.resolve()))


def _check_readiness(year: int, lang: str, as_json: bool) -> None:
    from domain.iid.readiness import national_readiness
    from kinanti.db import unit_of_work
    from kinanti.reports.readiness import blocker_text

    with unit_of_work() as session:
        readiness = national_readiness(session, year)
    if as_json:
        _print_json(readiness.as_dict())
    else:
        console = _console()
        if readiness.prognosis:
            console.print(t("iid.prognosis", lang, year=year), markup=False)
        total = len(readiness.innovations)
        console.print(
            t("readiness.title", lang, year=year, ready=readiness.ready, total=total),
            markup=False,
        )
        if readiness.window is None:
            _print_wrapped(t("readiness.no_window", lang, year=year))
        for item in readiness.innovations:
            state = t("readiness.ready" if item.ready else "readiness.not_ready", lang)
            _print_wrapped(f"{item.code} ({item.unit_code}, {item.stage}): {state}", indent="")
            for blocker in item.blockers:
                _print_wrapped("- " + blocker_text(blocker, lang), indent="    ", hang="      ")
    if readiness.ready < len(readiness.innovations):
        raise typer.Exit(1)
