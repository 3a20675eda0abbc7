"""``kinanti replication ...`` and ``kinanti lineage CODE``: offers, adoptions, lineage.

Every change runs in one transaction, then goes through the one publish path (events,
emails, hand-offs such as a replica's planning run).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from domain.changes import ChangeResult
from domain.enums import AdoptionModel, GateDecisionKind, Language
from domain.replication import LineageNode
from kinanti.cli.options import Actor, JsonOutput
from kinanti.i18n import t
from kinanti.settings import get_settings


def _lang() -> Language:
    return get_settings().language


def _store() -> object:
    from kinanti.cli.iid import _store as store

    return store()


def _evidence(file: Path | None, link: str | None) -> object:
    from domain.replication import EvidenceIn

    return EvidenceIn(file=file, link=link)


def render_lineage(node: LineageNode) -> str:
    """The tree as indented lines: label, then its facts (stage, outcome, model, ...)."""
    return "\n".join(
        f"{'    ' * depth}{'- ' if depth else ''}{n.label} [{', '.join(n.facts())}]"
        for depth, n in node.walk()
    )


def _publish(committed: object) -> None:
    from kinanti.cli.engine import after_commit

    after_commit(committed)  # type: ignore[arg-type]


def _change_adoption(
    command: str,
    adoption_id: int,
    actor: str,
    status: str,
    change: Callable[[Session], ChangeResult],
) -> None:
    """Run ``change`` on the adoption in one transaction with the CLI's audit row
    (``replication <command>``), say its new ``status``, publish what it did."""
    from kinanti.cli.writes import cli_write

    with cli_write(f"replication {command}", actor, f"adoption/{adoption_id}") as session:
        committed = change(session).committed(session)
    typer.echo(t("replication.decided", _lang(), adoption=adoption_id, status=status))
    _publish(committed)


def reason_text(code: str, values: dict[str, object], lang: Language) -> str:
    """One matching reason (``domain.matching.Reason``) in ``lang``."""
    return t(f"match.{code}", lang, **values)


def _suggestions(session: object, codes: list[str] | None) -> dict[str, list[dict[str, object]]]:
    """Suggested adopters per offered innovation, as plain rows with worded reasons."""
    import datetime as dt

    from domain.matching import suggest_adopters

    settings = get_settings()
    today = dt.datetime.now(settings.zone).date()
    found = suggest_adopters(
        session,  # type: ignore[arg-type]
        year=today.year,
        today=today,
        rules=settings.compliance_rules(),
        codes=codes,
    )
    lang = _lang()
    return {
        code: [
            {
                "unit": s.unit_code,
                "name": s.unit_name,
                "reasons": [r.code for r in s.reasons],
                "why": "; ".join(reason_text(r.code, r.values, lang) for r in s.reasons),
            }
            for s in items
        ]
        for code, items in found.items()
    }


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Replikasi: penawaran, adopsi, replika", no_args_is_help=True)
    app.add_typer(group, name="replication")

    @group.command("catalogue")
    def catalogue_cmd(as_json: JsonOutput = False) -> None:
        """Offers with their SID score, benefits, owner, replicas so far and suggested
        adopters (with why)."""
        from domain import replication as rep
        from domain.iid.portfolio import portfolio_figures
        from kinanti.db import unit_of_work

        with unit_of_work() as session:
            entries = rep.catalogue(session)
            scores: dict[str, float] = {}
            for year in {e.year for e in entries}:
                for f in portfolio_figures(session, year).innovations:
                    scores[f.code] = float(f.sid_claimed)
            suggested = _suggestions(session, None)
        rows = [
            {**asdict(e), "sid_score": scores.get(e.code), "suggestions": suggested.get(e.code, [])}
            for e in entries
        ]
        if as_json:
            typer.echo(json.dumps(rows, indent=2, default=str))
            return
        lang = _lang()
        for row in rows:
            typer.echo(t("replication.catalogue_row", lang, **row))
            for item in row["suggestions"][:3]:
                typer.echo(t("replication.suggestion_row", lang, **item))

    @group.command("suggest")
    def suggest_cmd(code: str, as_json: JsonOutput = False) -> None:
        """Units that could adopt CODE, and why: of the same kind or urusan and running
        nothing similar, or at risk of missing the yearly obligation."""
        from kinanti.db import unit_of_work

        with unit_of_work() as session:
            items = _suggestions(session, [code]).get(code.strip().upper(), [])
        if as_json:
            typer.echo(json.dumps(items, indent=2))
            return
        lang = _lang()
        for item in items:
            typer.echo(t("replication.suggestion_row", lang, **item))
        if not items:
            typer.echo(t("replication.no_suggestion", lang, code=code.upper()))

    @group.command("offer")
    def offer_cmd(
        code: str,
        file: Annotated[Path, typer.Option("--file")],
        actor: Actor,
    ) -> None:
        """Offer an innovation that passed reporting for replication."""
        from domain import replication as rep
        from domain.errors import ValidationError
        from domain.safe_yaml import load_yaml
        from kinanti.cli.writes import cli_write

        try:
            data = rep.OfferIn.model_validate(
                load_yaml(file.read_text(encoding="utf-8"), file.name)
            )
        except (OSError, ValueError) as exc:
            raise ValidationError(code="file.unreadable", file=file.name, detail=str(exc)) from None
        with cli_write("replication offer", actor, code.upper()) as session:
            offer, result = rep.offer_replication(session, code, data, actor=actor)
            committed = result.committed(session)
            offer_id = offer.id
        typer.echo(t("replication.offered", _lang(), code=code.upper(), offer=offer_id))
        _publish(committed)

    @group.command("interest")
    def interest_cmd(
        code: str,
        model: Annotated[AdoptionModel, typer.Option("--model")],
        actor: Actor,
        adopter: str | None = typer.Option(None, "--adopter"),
        region_name: str | None = typer.Option(None, "--region-name"),
        region_code: str | None = typer.Option(None, "--region-code"),
        region_contact: str | None = typer.Option(None, "--region-contact"),
        letter: Path | None = typer.Option(None, "--letter"),
        letter_link: str | None = typer.Option(None, "--letter-link"),
    ) -> None:
        """Register an adopter's interest with its request letter."""
        from domain import replication as rep
        from kinanti.cli.writes import cli_write

        region = (
            rep.Region(region_name or "", region_code or "", region_contact or "")
            if region_name or region_code or region_contact
            else None
        )
        with cli_write("replication interest", actor, code.upper()) as session:
            adoption, result = rep.register_interest(
                session, _store(), code, model=model,  # type: ignore[arg-type]
                letter=_evidence(letter, letter_link),  # type: ignore[arg-type]
                actor=actor, adopter_unit=adopter, region=region,
            )  # fmt: skip
            committed = result.committed(session)
            adoption_id = adoption.id
        typer.echo(t("replication.interest", _lang(), code=code.upper(), adoption=adoption_id))
        _publish(committed)

    @group.command("decide")
    def decide_cmd(
        adoption_id: int,
        decision: GateDecisionKind,
        actor: Annotated[str, typer.Option("--as", help="Your email (a Brida reviewer)")],
        reason: str = typer.Option("", "--reason"),
        wait: float = typer.Option(30.0, help="Seconds to wait for the flow run to record it"),
    ) -> None:
        """Brida approves or rejects an adoption at its gate (resumes the waiting adoption
        run, like the Prefect UI form; approval inside the city makes a replica).

        An operator's tool on the server: ``--as`` names the decider, and the operating
        system's user is recorded beside it. Record a kerja sama agreement first with
        ``kinanti replication agreement``."""
        import getpass

        from kinanti.db import get_engine
        from kinanti.orchestration.gates import decide_adoption
        from kinanti.publish import prefect_reachable

        settings = get_settings()
        with prefect_reachable(settings) as reachable:
            receipt = decide_adoption(
                get_engine(), adoption_id, decision, decider=actor, reason=reason,
                channel="cli", os_user=getpass.getuser(), wait_seconds=wait, resume=reachable,
            )  # fmt: skip
        lang = _lang()
        if receipt.refusal:
            typer.echo(t("replication.refused", lang, adoption=adoption_id, reason=receipt.refusal))
            raise typer.Exit(1)
        if not receipt.recorded:
            typer.echo(t("replication.sent", lang, adoption=adoption_id, run=receipt.flow_run_id))
            return
        typer.echo(t("replication.decided", lang, adoption=adoption_id, status=receipt.status))
        if receipt.replica:
            typer.echo(t("replication.replica", lang, replica=receipt.replica))

    @group.command("agreement")
    def agreement_cmd(
        adoption_id: int,
        actor: Actor,
        file: Path | None = typer.Option(None, "--file"),
        link: str | None = typer.Option(None, "--link"),
    ) -> None:
        """Record a kerja sama adoption's agreement (Nota Kesepakatan / PKS)."""
        from domain import replication as rep

        def change(session: Session) -> ChangeResult:
            return rep.attach_agreement(
                session, _store(), adoption_id, _evidence(file, link), actor=actor,  # type: ignore[arg-type]
            )  # fmt: skip

        _change_adoption("agreement", adoption_id, actor, "agreement", change)

    @group.command("advance")
    def advance_cmd(adoption_id: int, actor: Actor) -> None:
        """The adopter starts carrying out the replication (perencanaan -> replikasi)."""
        from domain import replication as rep

        def change(session: Session) -> ChangeResult:
            return rep.advance_adoption(session, adoption_id, actor=actor)

        _change_adoption("advance", adoption_id, actor, "replikasi", change)

    @group.command("complete")
    def complete_cmd(
        adoption_id: int,
        actor: Actor,
        evidence: Path | None = typer.Option(None, "--evidence"),
        evidence_link: str | None = typer.Option(None, "--evidence-link"),
    ) -> None:
        """Evaluasi done: record the implementation evidence (a verifier checks it)."""
        from domain import replication as rep

        def change(session: Session) -> ChangeResult:
            return rep.complete_adoption(
                session, _store(), adoption_id,  # type: ignore[arg-type]
                evidence=_evidence(evidence, evidence_link), actor=actor,  # type: ignore[arg-type]
            )  # fmt: skip

        _change_adoption("complete", adoption_id, actor, "completed", change)

    @group.command("verify")
    def verify_cmd(
        adoption_id: int,
        decision: Annotated[str, typer.Argument(help="accept | reject")],
        actor: Actor,
        reason: str | None = typer.Option(None, "--reason"),
    ) -> None:
        """A Brida verifier accepts or rejects a completed adoption's evidence."""
        from domain import replication as rep
        from domain.errors import ValidationError

        if decision not in ("accept", "reject"):
            raise ValidationError(code="replication.decision_invalid", decision=decision)

        def change(session: Session) -> ChangeResult:
            return rep.verify_adoption_evidence(
                session, adoption_id, accept=decision == "accept", actor=actor, reason=reason
            )

        _change_adoption("verify", adoption_id, actor, decision, change)

    @group.command("import")
    def import_cmd(
        file: Path = typer.Argument(..., help="replications.yaml (see examples/mataram)"),
    ) -> None:
        """Record replications made before Kinanti ran them (one transaction: all or none)."""
        from kinanti.cli.registry import run_import
        from kinanti.importers import import_replications_file

        committed: list[object] = []

        def do() -> object:
            report, done = import_replications_file(file)
            committed.append(done)
            return report

        run_import(file, "replications", do)  # type: ignore[arg-type]
        _publish(committed[0])

    @app.command("lineage")
    def lineage_cmd(
        code: str | None = typer.Argument(None, help="Innovation code (any node of the tree)"),
        show_incoming: bool = typer.Option(
            False, "--incoming", help="This city's adoptions of other regions' innovations"
        ),
    ) -> None:
        """The tree of origin, replicas and replicas of replicas, with stages, outcomes and
        models, and the origin's derived Replikasi level; or (``--incoming``) what the city
        adopted from other regions."""
        from domain import replication as rep
        from domain.errors import ValidationError
        from kinanti.db import unit_of_work

        lang = _lang()
        if (code is None) == (not show_incoming):
            raise ValidationError(code="replication.lineage_what")
        with unit_of_work() as session:
            if show_incoming:
                nodes = rep.incoming(session)
                for node in nodes:
                    typer.echo(render_lineage(node))
                if not nodes:
                    typer.echo(t("replication.no_incoming", lang))
                return
            assert code is not None
            tree = rep.lineage_tree(session, code)
        typer.echo(render_lineage(tree.root))
        derived = tree.derived
        typer.echo(t("replication.level_line", lang, level=derived.level, note=derived.note(lang)))
