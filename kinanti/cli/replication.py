"""``kinanti replication ...`` and ``kinanti lineage CODE``: offers, adoptions, lineage.

Every change runs in one transaction, then goes through the one publish path (events,
emails, hand-offs such as a replica's planning run).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer

from domain.enums import AdoptionModel, GateDecisionKind, Language
from domain.replication import LineageNode
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


def _node_lines(node: LineageNode, depth: int = 0) -> list[str]:
    facts = [node.stage]
    for value in (node.outcome, node.model, node.status, node.region, node.unit):
        if value:
            facts.append(value)
    lines = [f"{'    ' * depth}{'- ' if depth else ''}{node.label} [{', '.join(facts)}]"]
    for child in node.children:
        lines.extend(_node_lines(child, depth + 1))
    return lines


def render_lineage(node: LineageNode) -> str:
    return "\n".join(_node_lines(node))


def _publish(committed: object) -> None:
    from kinanti.cli.engine import after_commit

    after_commit(committed)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Replikasi: penawaran, adopsi, replika", no_args_is_help=True)
    app.add_typer(group, name="replication")

    @group.command("catalogue")
    def catalogue_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
        """Offers with their SID score, benefits, owner and replicas so far."""
        from domain import replication as rep
        from domain.iid.portfolio import portfolio_figures
        from kinanti.db import unit_of_work

        with unit_of_work() as session:
            entries = rep.catalogue(session)
            scores: dict[str, float] = {}
            for year in {e.year for e in entries}:
                for f in portfolio_figures(session, year).innovations:
                    scores[f.code] = float(f.sid_claimed)
        rows = [{**asdict(e), "sid_score": scores.get(e.code)} for e in entries]
        if as_json:
            typer.echo(json.dumps(rows, indent=2, default=str))
            return
        lang = _lang()
        for row in rows:
            typer.echo(t("replication.catalogue_row", lang, **row))

    @group.command("offer")
    def offer_cmd(
        code: str,
        file: Path = typer.Option(..., "--file"),
        actor: str = typer.Option(..., "--as"),
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
        model: AdoptionModel = typer.Option(..., "--model"),
        actor: str = typer.Option(..., "--as"),
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
        actor: str = typer.Option(..., "--as"),
        reason: str | None = typer.Option(None, "--reason"),
        agreement: Path | None = typer.Option(None, "--agreement"),
        agreement_link: str | None = typer.Option(None, "--agreement-link"),
    ) -> None:
        """Brida approves or rejects an adoption (approval inside the city makes a replica)."""
        from domain import replication as rep
        from kinanti.cli.writes import cli_write

        given = agreement is not None or agreement_link is not None
        with cli_write("replication decide", actor, f"adoption/{adoption_id}") as session:
            result = rep.decide_adoption(
                session, adoption_id, decision, actor=actor, reason=reason,
                agreement=_evidence(agreement, agreement_link) if given else None,  # type: ignore[arg-type]
                store=_store(),  # type: ignore[arg-type]
            )  # fmt: skip
            committed = result.committed(session)
            adoption = rep.get_adoption(session, adoption_id)
            status = adoption.status.value
        typer.echo(t("replication.decided", _lang(), adoption=adoption_id, status=status))
        _publish(committed)

    @group.command("complete")
    def complete_cmd(
        adoption_id: int,
        actor: str = typer.Option(..., "--as"),
        evidence: Path | None = typer.Option(None, "--evidence"),
        evidence_link: str | None = typer.Option(None, "--evidence-link"),
    ) -> None:
        """Evaluasi done: record the implementation evidence (a verifier checks it)."""
        from domain import replication as rep
        from kinanti.cli.writes import cli_write

        with cli_write("replication complete", actor, f"adoption/{adoption_id}") as session:
            result = rep.complete_adoption(
                session, _store(), adoption_id,  # type: ignore[arg-type]
                evidence=_evidence(evidence, evidence_link), actor=actor,  # type: ignore[arg-type]
            )  # fmt: skip
            committed = result.committed(session)
        typer.echo(t("replication.decided", _lang(), adoption=adoption_id, status="completed"))
        _publish(committed)

    @group.command("verify")
    def verify_cmd(
        adoption_id: int,
        decision: str = typer.Argument(..., help="accept | reject"),
        actor: str = typer.Option(..., "--as"),
        reason: str | None = typer.Option(None, "--reason"),
    ) -> None:
        """A Brida verifier accepts or rejects a completed adoption's evidence."""
        from domain import replication as rep
        from domain.errors import ValidationError
        from kinanti.cli.writes import cli_write

        if decision not in ("accept", "reject"):
            raise ValidationError(code="replication.decision_invalid", decision=decision)
        with cli_write("replication verify", actor, f"adoption/{adoption_id}") as session:
            result = rep.verify_adoption_evidence(
                session, adoption_id, accept=decision == "accept", actor=actor, reason=reason
            )
            committed = result.committed(session)
        typer.echo(t("replication.decided", _lang(), adoption=adoption_id, status=decision))
        _publish(committed)

    @app.command("lineage")
    def lineage_cmd(code: str) -> None:
        """The tree of origin, replicas and replicas of replicas."""
        from domain import replication as rep
        from kinanti.db import unit_of_work

        with unit_of_work() as session:
            tree = rep.lineage(session, code)
        typer.echo(render_lineage(tree))
