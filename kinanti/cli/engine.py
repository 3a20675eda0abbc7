"""``kinanti serve | decide | resubmit | evaluate | withdraw | discontinue | gates |
reconcile | demo``: running the engine and deciding its gates."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import signal
import sys
from typing import Any

import typer
from sqlalchemy import select

from domain import innovations, queries, submission
from domain.changes import Committed
from domain.enums import GateDecisionKind, GateStatus, Outcome
from domain.errors import KinantiError
from domain.models import GateRequest, Innovation, Unit
from domain.schemas import ScorecardIn
from kinanti import db
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
    return ScorecardIn(**dict(zip(SCORE_NAMES, (int(p) for p in parts), strict=True)))


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
        from kinanti.orchestration.runtime import configure_prefect_env, prefect_api

        settings = get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        db.upgrade()
        # SIGINT stops serve like SIGTERM: until the runner starts, exit (stopping the
        # server in `finally`); then the runner's own SIGTERM handler shuts it down cleanly
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        signal.signal(signal.SIGINT, lambda *_: signal.raise_signal(signal.SIGTERM))
        if runner_only:
            configure_prefect_env(settings)
            from kinanti.orchestration.serve import serve_all

            serve_all(settings, _names(only))
            return
        with prefect_api(settings, fixed_port=True) as url:
            api_url_file(settings).write_text(url)
            ui = url.removesuffix("/api")
            _console().print(t("engine.serving", settings.language, ui=ui))
            from kinanti.orchestration.serve import serve_all

            try:
                serve_all(settings, _names(only))
            finally:
                api_url_file(settings).unlink(missing_ok=True)

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
                    os_user=getpass.getuser(),
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
            _console().print(t("engine.decision_refused", lang, reason=receipt.refusal))
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
        with unit_of_work() as session:
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
        with unit_of_work() as session:
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
        with unit_of_work() as session:
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
    def withdraw(
        code: str = typer.Argument(...),
        reason: str = typer.Option(..., "--reason", "-r"),
        actor: str = typer.Option(..., "--as"),
    ) -> None:
        """Withdraw an innovation (by its unit); a waiting gate run is cancelled."""
        _end(code, Outcome.WITHDRAWN, reason, actor)

    @app.command("discontinue")
    def discontinue(
        code: str = typer.Argument(...),
        reason: str = typer.Option(..., "--reason", "-r"),
        actor: str = typer.Option(..., "--as"),
    ) -> None:
        """Mark an implemented innovation as discontinued (it stopped running)."""
        _end(code, Outcome.DISCONTINUED, reason, actor)

    gates_app = typer.Typer(help="Gates waiting for a decision.", no_args_is_help=False)

    @gates_app.callback(invoke_without_command=True)
    def gates_list(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
    ) -> None:
        """List open gates (oldest first) with how long they have waited."""
        if ctx.invoked_subcommand:
            return
        now = dt.datetime.now(dt.UTC)
        with unit_of_work() as session:
            rows = session.execute(
                select(GateRequest, Innovation.code, Innovation.title, Unit.code)
                .join(Innovation, Innovation.id == GateRequest.innovation_id)
                .join(Unit, Unit.id == Innovation.unit_id)
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
                }
                for g, code, title, unit in rows
            ]
        if as_json:
            typer.echo(json.dumps(items, indent=2, ensure_ascii=False))
            return
        from rich.table import Table

        lang = get_settings().language
        table = Table(title=t("engine.gates_title", lang, n=len(items)))
        for col in ("innovation", "unit", "stage", "round", "waiting_days", "due", "flow_run_id"):
            table.add_column(col)
        for it in items:
            table.add_row(
                *(
                    str(it[c] or "-")
                    for c in (
                        "innovation",
                        "unit",
                        "stage",
                        "round",
                        "waiting_days",
                        "due",
                        "flow_run_id",
                    )
                )
            )
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
        _console().print(t("engine.reopened", settings.language, code=code, run=run_id))

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
