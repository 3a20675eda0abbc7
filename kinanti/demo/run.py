"""``kinanti demo`` (``make run``): the example city carried through the lifecycle.

A fresh demo home (``<home>/demo``): Kinanti's database, a local Prefect server, one runner
serving the lifecycle deployment. The example city is loaded; ``live`` proposals run live
through Prefect, decided by a clearly labelled SCRIPTED REVIEWER that resumes the suspended
gate runs exactly like ``kinanti decide`` (most approved, one revised then approved, one
rejected, an incomplete proposal sent back and resubmitted; seeded, reproducible). The rest
of the city is recorded at plausible stages through the same domain services, without
Prefect, and is picked up by the reconciler when you keep the engine running.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, func, select

from domain import gates, innovations, progress, queries
from domain.changes import Committed
from domain.enums import GateDecisionKind, Role, Stage
from domain.errors import KinantiError
from domain.lifecycle import STAGE_ORDER
from domain.models import (
    Adoption,
    DomainEventRecord,
    GateDecisionRecord,
    Innovation,
    OutboxMessage,
    Person,
    PersonRole,
)
from domain.stages import StageParams, complete_stage
from kinanti.db import get_engine, unit_of_work
from kinanti.demo import actors
from kinanti.demo.replication import DemoReplication, replicate_one
from kinanti.i18n import t
from kinanti.orchestration.gates import decide
from kinanti.orchestration.runs import paused_runs
from kinanti.publish import Sweep, publish
from kinanti.settings import Settings, scoped_environment

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mataram"
#: The stages the demo records innovations at: every stage, in lifecycle order.
RECORDED_STAGES = STAGE_ORDER


@dataclass
class DriveReport:
    decisions: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    resubmitted: int = 0
    unfinished: list[str] = field(default_factory=list)


def drive(
    engine: Engine,
    settings: Settings,
    plans: dict[str, actors.Plan],
    *,
    seed: int,
    timeout: float,
    on_decision: Callable[[str], None] = lambda _: None,
    refuse_once: str | None = None,
) -> DriveReport:
    """Scripted reviewer and units: decide every gate of ``plans``' innovations as planned,
    through the same resume path as ``kinanti decide``, until all are settled."""
    rng = random.Random(seed)
    cast = actors.Cast.load(engine)
    report = DriveReport()
    with unit_of_work(engine) as session:  # the submissions' hand-offs
        publish(Committed(handoff_ids=queries.pending_handoffs(session, plans)), engine=engine)
    sent: set[tuple[int, int]] = set()
    prepared: set[tuple[str, str]] = set()
    pending = set(plans)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        waiting: list[progress.Step] = []
        for code in sorted(pending):
            with unit_of_work(engine) as session:
                step = progress.next_step(session, code)
            if step.action in ("ended", "finished"):
                pending.discard(code)
            elif step.action == "waiting_for_unit":
                officer = actors.unit_officer(engine, cast, code)
                publish(actors.fix_and_resubmit(engine, code, officer), engine=engine)
                report.resubmitted += 1
                on_decision(f"{code}: unit resubmitted")
            elif (
                step.action == "gate"
                and step.gate_flow_run_id
                and (step.gate_id, step.gate_attempts) not in sent
            ):
                waiting.append(step)
        paused = paused_runs([s.gate_flow_run_id for s in waiting if s.gate_flow_run_id])
        for step in waiting:
            if step.gate_flow_run_id not in paused:
                continue
            code = step.code
            # one generator per gate: the same choices whatever order the gates pause in
            rng = random.Random(f"{seed}:{code}:{step.stage.value}:{step.round}")
            decision = plans[code].decision_at(step.stage, step.round)
            if decision is GateDecisionKind.APPROVE and (code, step.stage) not in prepared:
                actors.prepare_for_gate(engine, settings, cast, code, step.stage, rng)
                prepared.add((code, step.stage))
            if refuse_once == code and report.refused == 0:
                try:  # the owning unit's officer tries to approve its own innovation
                    officer = actors.unit_officer(engine, cast, code)
                    decide(engine, code, decision, decider=officer, reason="", wait_seconds=0)
                except KinantiError as exc:
                    report.refused += 1
                    on_decision(f"{code}: refused ({type(exc).__name__})")
            decide(
                engine,
                code,
                decision,
                decider=cast.decider(step.stage, rng),
                reason=actors.REASONS[decision],
                scorecard=actors.scorecard(rng) if step.stage is Stage.DEVELOPMENT else None,
                wait_seconds=0,
            )
            sent.add((step.gate_id or 0, step.gate_attempts))
            report.decisions[decision.value] += 1
            on_decision(f"{code}: {step.stage.value} {decision.value}")
        time.sleep(0.5)
    report.unfinished = sorted(pending)
    return report


def record_at_stage(
    engine: Engine, settings: Settings, code: str, target: Stage, rng: random.Random
) -> None:
    """Carry an innovation to ``target`` through the domain services (no Prefect): each
    stage's work, then an approval by a (scripted) reviewer. The target stage's own work
    is left to the lifecycle run the reconciler starts."""
    cast = actors.Cast.load(engine)
    params = StageParams(
        dt.timedelta(days=settings.gate_timeout_days),
        None,
        dt.datetime.now(settings.zone).date(),
        settings.zone,
    )
    for stage in RECORDED_STAGES[: RECORDED_STAGES.index(target)]:
        with unit_of_work(engine) as session:
            innovation = queries.get_innovation(session, code, for_update=True)
            completion = complete_stage(session, innovation, 1, params)
            gate_id = completion.gate_id
            if completion.auto_revised:
                return
        if stage is not Stage.PLANNING:
            actors.prepare_for_gate(engine, settings, cast, code, stage, rng)
        with unit_of_work(engine) as session:
            innovation = queries.get_innovation(session, code, for_update=True)
            if stage is Stage.DEVELOPMENT:
                innovations.record_evaluation(
                    session, innovation, actors.scorecard(rng), evaluator=cast.verifier
                )
                session.flush()
            assert gate_id is not None
            decided = gates.decide_gate(
                session,
                gate_id,
                gates.DecisionCommand(
                    GateDecisionKind.APPROVE,
                    reason="Tercatat (data contoh)",
                    channel="import",
                    decider=cast.decider(stage, rng),
                ),
                continue_in_run=False,
            )
        if not decided.accepted:  # e.g. Brida's own innovation: no Brida reviewer may decide
            return


def run_demo(settings: Settings, *, live: int, seed: int, keep: bool) -> None:
    """Everything ``make run`` does; prints a summary and where to look. The demo's home,
    database and outbox are set for its duration only."""
    console = Console()
    started = time.monotonic()
    home = settings.home.resolve() / "demo"
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    demo_env = {
        "KINANTI_HOME": str(home),
        "KINANTI_DATABASE_URL": f"sqlite:///{home / 'kinanti.db'}",
        "KINANTI_EMAIL_BACKEND": "file",
        "PREFECT_HOME": str(home / "prefect"),
    }
    get_engine.cache_clear()
    try:
        with scoped_environment(demo_env) as demo_settings:
            _run(console, demo_settings, home, live=live, seed=seed, keep=keep, started=started)
    finally:
        get_engine.cache_clear()


def _run(
    console: Console,
    settings: Settings,
    home: Path,
    *,
    live: int,
    seed: int,
    keep: bool,
    started: float,
) -> None:
    from kinanti import db
    from kinanti.importers import import_file
    from kinanti.orchestration.handoff import ADOPTION_DEPLOYMENT, LIFECYCLE_DEPLOYMENT
    from kinanti.orchestration.runtime import (
        prefect_api,
        spawn_runner,
        stop_process_group,
        wait_for_deployments,
    )

    lang = settings.language
    engine = get_engine()
    console.print(t("demo.start", lang, home=home))
    db.upgrade()
    for kind, name in (
        ("units", "units.yaml"),
        ("people", "people.yaml"),
        ("innovations", "innovations.yaml"),
    ):
        report = import_file(kind, EXAMPLES / name)  # type: ignore[arg-type]
        console.print(t("demo.imported", lang, kind=kind, n=report.created))
    from kinanti.importers import import_replications_file

    replications, _ = import_replications_file(EXAMPLES / "replications.yaml")
    console.print(t("demo.imported", lang, kind="replications", n=replications.created))
    with unit_of_work(engine) as session:  # the imported replications keep their stages
        in_replication = set(
            session.scalars(
                select(Innovation.code).where(
                    Innovation.replicable.is_(True) | Innovation.id.in_(select(Adoption.replica_id))
                )
            )
        )
    with unit_of_work(engine) as session:  # the example city's year (its latest proposals)
        year = session.scalar(select(func.max(Innovation.year))) or dt.date.today().year

    rng = random.Random(seed)
    with unit_of_work(engine) as session:
        reviewer_units = set(
            session.scalars(
                select(Person.unit_id).join(PersonRole).where(PersonRole.role == Role.REVIEWER)
            )
        )
        rows = session.execute(
            select(Innovation.code, Innovation.design, Innovation.unit_id).order_by(Innovation.code)
        )
        complete = [
            c
            for c, d, u in rows
            if len((d or "").split()) >= 300 and u not in reviewer_units and c not in in_replication
        ]
        incomplete = [
            c
            for c in session.scalars(select(Innovation.code).order_by(Innovation.code))
            if c not in complete and c not in in_replication
        ]
    live_codes = rng.sample(complete, k=min(max(live - 1, 1), len(complete)))
    plans = {code: actors.Plan("approve") for code in live_codes}
    if len(live_codes) >= 3:
        plans[live_codes[1]] = actors.Plan("revise", Stage.DEVELOPMENT)
        plans[live_codes[2]] = actors.Plan("reject", Stage.PLANNING)
    if incomplete:
        plans[incomplete[0]] = actors.Plan("approve")
    with unit_of_work(engine) as session:
        recorded = [
            c
            for c in session.scalars(select(Innovation.code).order_by(Innovation.code))
            if c not in plans and c not in in_replication
        ]
    actors.fill_region_spd(engine, settings, actors.Cast.load(engine), year, rng)
    for code in recorded:
        record_at_stage(engine, settings, code, rng.choice(RECORDED_STAGES[:4]), rng)
    console.print(t("demo.recorded", lang, n=len(recorded), live=len(plans)))

    with prefect_api(settings) as api_url:
        runner = spawn_runner(settings, api_url, only="lifecycle,adoption")
        try:
            wait_for_deployments([LIFECYCLE_DEPLOYMENT, ADOPTION_DEPLOYMENT], runner)
            total = sum(5 if p.kind != "reject" else 1 for p in plans.values()) + 3
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            ) as progress:
                task = progress.add_task(t("demo.reviewer", lang), total=total)

                def tick(message: str) -> None:
                    progress.update(
                        task, advance=1, description=f"{t('demo.reviewer', lang)} {message}"
                    )

                outcome = drive(
                    engine,
                    settings,
                    plans,
                    seed=seed,
                    timeout=240,
                    on_decision=tick,
                    refuse_once=live_codes[0],
                )
                _wait_settled(engine, list(plans), timeout=30)
                replicated = _replicate_one(engine, settings, plans, seed=seed)
                if replicated is not None:
                    tick(replicated.origin)
                    _wait_settled(engine, list(plans), timeout=30)
                progress.update(task, completed=total)
            if replicated is not None:
                console.print(t("demo.replicated", lang, **replicated.__dict__))
            publish(Committed(), engine=engine, sweep=Sweep.EVENTS)  # what the runs left
        finally:
            stop_process_group(runner)
        publish(Committed(), engine=engine, sweep=Sweep.EMAILS)
        _summary(
            console, engine, settings, outcome, api_url, home, time.monotonic() - started, year
        )
        if keep:
            console.print(t("demo.keep", lang))
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass


def _replicate_one(
    engine: Engine, settings: Settings, plans: dict[str, actors.Plan], *, seed: int
) -> DemoReplication | None:
    """One live innovation that finished its lifecycle goes through a replication flow."""
    finished = [c for c in sorted(plans) if _step(engine, c).action == "finished"]
    if not finished:
        return None
    return replicate_one(engine, settings, finished[0], seed=seed, timeout=120)


def _step(engine: Engine, code: str) -> progress.Step:
    with unit_of_work(engine) as session:
        return progress.next_step(session, code)


def _wait_settled(engine: Engine, codes: list[str], timeout: float) -> None:
    """Wait until the innovations are settled in the database and no flow run is still
    scheduled or running (so stopping the runner interrupts nothing)."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    busy = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        settled = all(_step(engine, c).settled for c in codes)
        if settled:
            with get_client(sync_client=True) as client:
                running = client.count_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=busy))
                    )
                )
            if running == 0:
                return
        time.sleep(0.5)


def _summary(
    console: Console,
    engine: Engine,
    settings: Settings,
    outcome: DriveReport,
    api_url: str,
    home: Path,
    seconds: float,
    year: int,
) -> None:
    from rich.table import Table

    lang = settings.language
    with unit_of_work(engine) as session:
        by_stage = Counter(
            (stage.value, out.value if out else "-")
            for stage, out in session.execute(select(Innovation.stage, Innovation.outcome))
        )
        decided = session.scalar(
            select(func.count(GateDecisionRecord.id)).where(GateDecisionRecord.accepted.is_(True))
        )
        refused = session.scalar(
            select(func.count(GateDecisionRecord.id)).where(GateDecisionRecord.accepted.is_(False))
        )
        events = session.scalar(select(func.count(DomainEventRecord.id)))
        announced_total = session.scalar(
            select(func.count(DomainEventRecord.id)).where(
                DomainEventRecord.announced_at.is_not(None)
            )
        )
        emails = Counter(s.value for s in session.scalars(select(OutboxMessage.status)))
        iid_line = _iid_line(session, lang, year)
    table = Table(title=t("demo.summary_title", lang))
    table.add_column(t("demo.col_stage", lang))
    table.add_column(t("demo.col_outcome", lang))
    table.add_column("n", justify="right")
    for (stage, out), n in sorted(
        by_stage.items(),
        key=lambda kv: ([s.value for s in RECORDED_STAGES].index(kv[0][0]), kv[0][1]),
    ):
        table.add_row(stage, out, str(n))
    console.print(table)
    outbox_dir = settings.resolved_outbox_dir
    report_path = _write_report(settings, home, year)
    console.print(
        t(
            "demo.figures",
            lang,
            decided=decided,
            refused=(refused or 0) + outcome.refused,
            events=events,
            announced=announced_total,
            sent=emails.get("sent", 0),
            failed=emails.get("failed", 0),
            files=len(list(outbox_dir.glob("*.eml"))) if outbox_dir.exists() else 0,
        )
    )
    console.print(iid_line)
    console.print(
        t(
            "demo.where",
            lang,
            ui=api_url.removesuffix("/api"),
            outbox=outbox_dir,
            report=report_path,
            home=home,
            seconds=f"{seconds:.0f}",
        )
    )
    from kinanti.portal.accounts import give_demo_passwords

    with unit_of_work(engine) as session:
        accounts = give_demo_passwords(session)
    console.print(t("demo.portal", lang, url=settings.resolved_portal_url, home=home))
    for role, email, password in accounts:
        console.print(f"  {role:<15} {email:<42} {password}", markup=False, highlight=False)
    if outcome.unfinished:
        console.print(t("demo.unfinished", lang, codes=", ".join(outcome.unfinished)))


def _iid_line(session: object, lang: str, year: int) -> str:
    from domain.iid.portfolio import portfolio_figures

    figures = portfolio_figures(session, year)  # type: ignore[arg-type]
    return t(
        "demo.iid",
        lang,
        claimed=f"{figures.claimed.iid:.2f}",
        claimed_band=figures.claimed.band.value,
        verified=f"{figures.verified.iid:.2f}",
        verified_band=figures.verified.band.value,
        n=figures.claimed.n,
        year=year,
    )


def _write_report(settings: Settings, home: Path, year: int) -> Path:
    from kinanti.reports import build_report

    with unit_of_work(get_engine()) as session:
        files = build_report(
            session, year, home / "report", settings=settings, lang=settings.language.value
        )
    return files.html


__all__ = ["drive", "record_at_stage", "run_demo"]
