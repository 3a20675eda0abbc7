"""``kinanti serve | decide | resubmit | evaluate | withdraw | discontinue | gates |
reconcile | demo``: running the engine and deciding its gates."""

from __future__ import annotations

import datetime as dt
import json
import signal
from collections.abc import Callable
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from domain import innovations, queries, submission
from domain.assignment import By
from domain.changes import ChangeResult, Committed
from domain.enums import GateDecisionKind, GateStatus, Outcome
from domain.errors import KinantiError
from domain.models import GateRequest, Innovation, Person, Unit
from domain.schemas import ScorecardIn
from kinanti import db
from kinanti.cli.options import Actor, JsonOutput
from kinanti.cli.writes import cli_write, os_user, record_cli_write
from kinanti.db import get_engine, unit_of_work
from kinanti.i18n import t
from kinanti.publish import Sweep
from kinanti.settings import get_settings

SCORE_NAMES = ("renewal", "benefit", "no_burden", "authority", "replicable")


def _console() -> Any:
    from kinanti.cli import console

    return console


def _parse_scores(value: str | None) -> ScorecardIn | None:
    if not value:
        return None
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != len(SCORE_NAMES) or not all(p.isdigit() for p in parts):
        raise typer.BadParameter(
            "give five scores 1-5 separated by commas, in this order: " + ", ".join(SCORE_NAMES)
        )
    return ScorecardIn.parse(
        dict(zip(SCORE_NAMES, (int(p) for p in parts), strict=True)), get_settings().language
    )


def after_commit(committed: Committed, *, sweep: Sweep | None = None) -> None:
    """After a CLI change: the one publish path (``kinanti.publish``), and say what it did."""
    from kinanti.publish import publish

    settings = get_settings()
    report = publish(committed, sweep=sweep or Sweep.NONE)
    if not report.prefect:
        _console().print(t("engine.no_api_later", settings.language))
    for run in report.started:
        _console().print(
            t(
                "engine.run_started",
                settings.language,
                code=run.innovation_code,
                stage=run.stage,
                run=run.flow_run_id,
            )
        )


#: The arguments of the commands that end an innovation (withdraw, discontinue).
_Code = Annotated[str, typer.Argument()]
_Reason = Annotated[str, typer.Option("--reason", "-r")]


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        runner_only: bool = typer.Option(
            False, "--runner-only", help="Only serve deployments (PREFECT_API_URL must be set)"
        ),
        only: str | None = typer.Option(
            None, help="Serve only these deployments (comma-separated names)"
        ),
    ) -> None:
        """Run the whole engine on this machine: Prefect server (yours via PREFECT_API_URL,
        or a local one), every deployment served from one process, schedules on."""
        from kinanti.orchestration.api import api_url_file
        from kinanti.orchestration.runtime import (
            configure_prefect_env,
            prefect_api,
            stop_own_server,
        )

        settings = get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        db.upgrade()
        from kinanti.orchestration import serve as serving

        # SIGINT stops serve like SIGTERM: before the runner runs, unwind (`finally` stops
        # what was started); then the runner's loop stops it (kinanti.orchestration.serve)
        signal.signal(signal.SIGTERM, serving.request_stop)
        signal.signal(signal.SIGINT, serving.request_stop)
        if runner_only:
            configure_prefect_env(settings)
            serving.serve_all(settings, _names(only))
            return
        api_url_file(settings).unlink(missing_ok=True)  # a serve killed before left it
        with prefect_api(settings, fixed_port=True) as url:
            api_url_file(settings).write_text(url)
            serving.on_forced_stop(lambda: stop_own_server(settings))
            serving.on_forced_stop(lambda: api_url_file(settings).unlink(missing_ok=True))
            ui = url.removesuffix("/api")
            _console().print(t("engine.serving", settings.language, ui=ui))
            from kinanti.portal.process import start_portal, stop_portal

            portal = start_portal(settings, url)
            serving.on_forced_stop(lambda: stop_portal(portal, wait=2))
            _console().print(t("web.serving", settings.language, url=settings.resolved_portal_url))
            try:
                serving.serve_all(settings, _names(only))
            finally:
                api_url_file(settings).unlink(missing_ok=True)
                stop_portal(portal)

    @app.command("decide")
    def decide(
        code: str = typer.Argument(..., help="Innovation code"),
        decision: GateDecisionKind = typer.Argument(..., help="approve, revise or reject"),
        reason: str = typer.Option("", "--reason", "-r", help="Why (required for revise/reject)"),
        reviewer: str = typer.Option(..., "--as", help="Your email (a Brida reviewer)"),
        scores: str | None = typer.Option(
            None, "--scorecard", help="Trial scorecard for the development gate: 5 scores 1-5"
        ),
        wait: float = typer.Option(30.0, help="Seconds to wait for the flow run to record it"),
    ) -> None:
        """Decide an innovation's open gate (resumes the waiting flow run, like the UI).

        An operator's tool on the server: ``--as`` names the decider, and the operating
        system's user is recorded beside it."""
        from kinanti.orchestration.api import find_api_url, using_api
        from kinanti.orchestration.gates import decide as decide_gate

        settings = get_settings()
        scorecard = _parse_scores(scores)
        url = find_api_url(settings)
        try:
            with using_api(url):
                receipt = decide_gate(
                    get_engine(),
                    code,
                    decision,
                    decider=reviewer,
                    reason=reason,
                    scorecard=scorecard,
                    channel="cli",
                    os_user=os_user(),
                    wait_seconds=wait,
                )
        except KinantiError as exc:
            _console().print(
                t(
                    "engine.decision_refused",
                    settings.language,
                    reason=exc.message(settings.language),
                )
            )
            raise typer.Exit(1) from exc
        lang = settings.language
        if receipt.refusal:
            why = receipt.refusal_message(lang)
            _console().print(t("engine.decision_refused", lang, reason=why))
            raise typer.Exit(1)
        if not receipt.recorded:
            _console().print(t("engine.decision_sent", lang, code=code, run=receipt.flow_run_id))
            return
        _console().print(
            t(
                "engine.decision_recorded",
                lang,
                code=code,
                decision=decision.value,
                stage=receipt.new_stage.value if receipt.new_stage else "-",
                via=receipt.via,
            )
        )

    @app.command("evaluate")
    def evaluate(
        code: str = typer.Argument(..., help="Innovation code"),
        scores: str = typer.Option(..., "--scores", help="5 scores 1-5: " + ",".join(SCORE_NAMES)),
        evaluator: str = typer.Option(..., "--as", help="Evaluator's email (innovator/reviewer)"),
        notes: str | None = typer.Option(None, "--notes"),
    ) -> None:
        """File a trial (uji coba) evaluation scorecard for an innovation."""
        scorecard = _parse_scores(scores)
        assert scorecard is not None
        if notes:
            scorecard = scorecard.model_copy(update={"notes": notes})
        with cli_write("evaluate", evaluator, code) as session:
            innovation = queries.get_innovation(session, code)
            evaluation, result = innovations.record_evaluation(
                session, innovation, scorecard, evaluator=evaluator
            )
            committed = result.committed(session)
            total = evaluation.total
        _console().print(t("engine.evaluated", get_settings().language, code=code, total=total))
        after_commit(committed)

    @app.command("resubmit")
    def resubmit(
        code: str = typer.Argument(..., help="Innovation code"),
        actor: str = typer.Option(..., "--as", help="Unit officer's email"),
        file: str | None = typer.Option(None, "--file", help="Updated proposal (YAML/JSON)"),
        note: str | None = typer.Option(None, "--note"),
    ) -> None:
        """Resubmit an innovation after a revise decision; its stage runs again."""
        with cli_write("resubmit", actor, code) as session:
            if file:
                from pathlib import Path

                from kinanti.importers import import_innovations, read_records

                path = Path(file)
                import_innovations(
                    session, read_records(path, "innovations"), path.name, actor=actor
                )
            innovation = queries.get_innovation(session, code, for_update=True)
            result = submission.resubmit(session, innovation, actor=actor, note=note)
            committed = result.committed(session)
        _console().print(t("engine.resubmitted", get_settings().language, code=code))
        after_commit(committed)

    def _end(code: str, outcome: Outcome, reason: str, actor: str) -> None:
        with cli_write(outcome.value, actor, code) as session:
            innovation = queries.get_innovation(session, code, for_update=True)
            gate = queries.current_gate(session, innovation)
            run_id = gate.flow_run_id if gate and gate.status is GateStatus.OPEN else None
            result = innovations.end_innovation(
                session, innovation, outcome, actor=actor, reason=reason
            )
            committed = result.committed(session)
        _cancel_run(run_id)
        _console().print(
            t("engine.ended", get_settings().language, code=code, outcome=outcome.value)
        )
        after_commit(committed)

    @app.command("withdraw")
    def withdraw(code: _Code, reason: _Reason, actor: Actor) -> None:
        """Withdraw an innovation (by its unit); a waiting gate run is cancelled."""
        _end(code, Outcome.WITHDRAWN, reason, actor)

    @app.command("discontinue")
    def discontinue(code: _Code, reason: _Reason, actor: Actor) -> None:
        """Mark an implemented innovation as discontinued (it stopped running)."""
        _end(code, Outcome.DISCONTINUED, reason, actor)

    gates_app = typer.Typer(help="Gates waiting for a decision.", no_args_is_help=False)

    @gates_app.callback(invoke_without_command=True)
    def gates_list(
        ctx: typer.Context,
        as_json: JsonOutput = False,
    ) -> None:
        """List open gates (oldest first) with how long they have waited."""
        if ctx.invoked_subcommand:
            return
        now = dt.datetime.now(dt.UTC)
        with unit_of_work() as session:
            assignee = aliased(Person)
            rows = session.execute(
                select(GateRequest, Innovation.code, Innovation.title, Unit.code, assignee.email)
                .join(Innovation, Innovation.id == GateRequest.innovation_id)
                .join(Unit, Unit.id == Innovation.unit_id)
                .outerjoin(assignee, assignee.id == GateRequest.assignee_id)
                .where(GateRequest.status == GateStatus.OPEN)
                .order_by(GateRequest.opened_at)
            ).all()
            items = [
                {
                    "innovation": code,
                    "title": title,
                    "unit": unit,
                    "stage": g.stage.value,
                    "round": g.round,
                    "waiting_days": round((now - g.opened_at).total_seconds() / 86400, 1),
                    "due": g.due_at.isoformat() if g.due_at else None,
                    "flow_run_id": g.flow_run_id,
                    "refused_attempts": g.attempts,
                    "assignee": assignee_email,
                }
                for g, code, title, unit, assignee_email in rows
            ]
        if as_json:
            typer.echo(json.dumps(items, indent=2, ensure_ascii=False))
            return
        from rich.table import Table

        lang = get_settings().language
        table = Table(title=t("engine.gates_title", lang, n=len(items)))
        for col in _GATE_COLUMNS:
            table.add_column(col)
        for it in items:
            table.add_row(*(str(it[c] or "-") for c in _GATE_COLUMNS))
        _console().print(table)

    @gates_app.command("show")
    def gates_show(code: str) -> None:
        """Show the open gate of an innovation as reviewers see it in the Prefect form."""
        from kinanti.orchestration.gates import describe_gate

        with unit_of_work() as session:
            gate = queries.open_gate_of(session, queries.get_innovation(session, code))
            gate_id = gate.id
        _console().print(describe_gate(get_engine(), gate_id))

    @gates_app.command("reopen")
    def gates_reopen(code: str) -> None:
        """Start a new run waiting at the open gate (its old run was lost or timed out)."""
        from kinanti.orchestration.api import find_api_url, using_api
        from kinanti.orchestration.gates import reopen

        settings = get_settings()
        with using_api(find_api_url(settings)):
            run_id = reopen(get_engine(), code)
        record_cli_write("gates reopen", None, code, flow_run_id=run_id)
        _console().print(t("engine.reopened", settings.language, code=code, run=run_id))

    @gates_app.command("assign")
    def gates_assign(
        code: str = typer.Argument(..., help="Innovation code"),
        to: str = typer.Option(..., "--to", help="Email of the eligible reviewer"),
        actor: str = typer.Option(..., "--as", help="Your email (a Brida operator)"),
        note: str | None = typer.Option(None, "--note", help="Why (told to the assignee)"),
    ) -> None:
        """Reassign an open gate to an eligible reviewer (Brida operators); they are emailed."""
        from domain.assignment import reassign_gate

        _assignment("gates assign", code, actor, lambda s, by: reassign_gate(s, code, to, by, note))

    @gates_app.command("claim")
    def gates_claim(
        code: str = typer.Argument(..., help="Innovation code"),
        actor: str = typer.Option(..., "--as", help="Your email (an eligible reviewer)"),
    ) -> None:
        """Take an unassigned open gate from the role's queue."""
        from domain.assignment import claim_gate

        _assignment("gates claim", code, actor, lambda s, by: claim_gate(s, code, by))

    @gates_app.command("hand-back")
    def gates_hand_back(
        code: str = typer.Argument(..., help="Innovation code"),
        actor: str = typer.Option(..., "--as", help="Your email (the gate's assignee)"),
        note: str | None = typer.Option(None, "--note"),
    ) -> None:
        """Give your open gate back to the role's queue."""
        from domain.assignment import hand_back_gate

        _assignment("gates hand-back", code, actor, lambda s, by: hand_back_gate(s, code, by, note))

    app.add_typer(gates_app, name="gates")

    @app.command("reconcile")
    def reconcile_cmd(
        stuck_after: float | None = typer.Option(
            None, help="Seconds after which a Pending/Running run counts as stuck"
        ),
    ) -> None:
        """Start recorded hand-offs, replace runs left dead by a crash, announce events."""
        from kinanti.orchestration.api import find_api_url, using_api
        from kinanti.orchestration.reconcile import reconcile

        settings = get_settings()
        with using_api(find_api_url(settings)):
            report = reconcile(
                get_engine(),
                stuck_after=dt.timedelta(seconds=stuck_after or settings.stuck_after_seconds),
            )
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))

    @app.command("demo")
    def demo(
        live: int = typer.Option(8, help="Innovations carried live through Prefect"),
        seed: int = typer.Option(2026, help="Seed of the scripted reviewer"),
        keep: bool = typer.Option(False, help="Keep the Prefect server running at the end"),
    ) -> None:
        """The main job: load the example city and carry proposals through the lifecycle
        with a clearly labelled scripted reviewer; print a summary."""
        from kinanti.demo.run import run_demo

        run_demo(get_settings(), live=live, seed=seed, keep=keep)


def _assignment(
    command: str, code: str, actor: str, change: Callable[[Session, By], ChangeResult]
) -> None:
    """Run an assignment change as ``--as`` (its rules in ``domain.access``), recorded with
    the OS user; then publish it and say who holds the gate now."""
    from domain.access import actor_of

    lang = get_settings().language
    with cli_write(command, actor, code.upper()) as session:
        by = By(actor_of(session, queries.get_person(session, actor)), "cli", os_user())
        result = change(session, by)
        committed = result.committed(session)
        gate = queries.open_gate_of(session, queries.get_innovation(session, code))
        holder = session.get(Person, gate.assignee_id) if gate.assignee_id else None
    _console().print(
        t("engine.assigned", lang, code=code.upper(), assignee=holder.email)
        if holder
        else t("engine.unassigned", lang, code=code.upper()),
        markup=False,
    )
    after_commit(committed)


#: The columns of ``kinanti gates`` (keys of its JSON items).
_GATE_COLUMNS = (
    "innovation",
    "unit",
    "stage",
    "round",
    "waiting_days",
    "due",
    "assignee",
    "flow_run_id",
)


def _names(only: str | None) -> set[str] | None:
    return {n.strip() for n in only.split(",") if n.strip()} if only else None


def _cancel_run(run_id: str | None) -> None:
    if not run_id:
        return
    from uuid import UUID

    from kinanti.orchestration.api import PrefectUnavailableError, find_api_url, using_api

    try:
        url = find_api_url(get_settings())
    except PrefectUnavailableError:
        return
    from prefect import get_client
    from prefect.states import Cancelled

    with using_api(url), get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(run_id), Cancelled(message="innovation ended"), force=True)
