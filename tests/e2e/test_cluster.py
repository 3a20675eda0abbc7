"""Kinanti on Prefect's distributed engine (tests/support/cluster.py): a Prefect server on
PostgreSQL with Redis messaging, a process work pool deployed from prefect.yaml, two process
workers (limit 1 each), the Kinanti database on a PostgreSQL server of this module's own
(so a test may restart it), emails to a real SMTP server.

A batch goes through the whole lifecycle with decisions arriving from several client threads
at once; then faults, each bounded in time: a worker killed mid stage, the Kinanti database
restarted, the Prefect server restarted while gates wait, Redis restarted, the SMTP server
down, a burst of 2,000 events; and a backup and restore while flows run. After each, every
transition, event and email is counted: none lost, none doubled. One cluster serves the
module (its start costs ~30-50 s); each test has its own innovations.
"""

from __future__ import annotations

import collections
import contextvars
import datetime as dt
import hashlib
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select, text

from domain.changes import Committed
from domain.enums import GateDecisionKind, Stage
from domain.models import (
    DomainEventRecord,
    IndicatorClaim,
    Innovation,
    OutboxMessage,
    StageHistory,
    StageWork,
)
from kinanti import db
from kinanti.db import get_engine, make_engine, unit_of_work
from kinanti.demo import actors
from kinanti.orchestration.announce import event_uuid
from kinanti.orchestration.gates import decide
from kinanti.orchestration.reconcile import ReconcileReport, reconcile
from kinanti.orchestration.runs import paused_runs
from kinanti.publish import publish
from kinanti.settings import get_settings
from tests.conftest import BACKENDS
from tests.support import postgres
from tests.support.cluster import REDIS_BIN, ROOT, Cluster, SmtpSink, cluster
from tests.support.engine_support import (
    HEAD,
    REVIEWER,
    REVIEWER_2,
    kinanti_env,
    load_city,
    step_of,
    submit,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.cluster, pytest.mark.xdist_group("cluster")]

UNITS = ["DINKES", "DISDIK", "DKP", "DISKOMINFO", "DPUPR", "RSUD"]
EXPECTED_HISTORY = [
    (None, Stage.PLANNING),
    (Stage.PLANNING, Stage.DEVELOPMENT),
    (Stage.DEVELOPMENT, Stage.DEPLOYMENT),
    (Stage.DEPLOYMENT, Stage.REPORTING),
    (Stage.REPORTING, Stage.REPLICATION),
]
#: A run Pending or Running this long is taken for dead by the test's reconciler passes. A
#: stage's stretch of running (between two gates) takes seconds; the margin is for a loaded
#: 2-core machine, where a process start alone has taken 15 s.
STUCK_AFTER = dt.timedelta(seconds=45)


@dataclass
class Lab:
    cluster: Cluster
    sink: SmtpSink
    pg: postgres.OwnServer
    home: Path
    kinanti: dict[str, str]
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    handled: set[tuple[int, int]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)  # what failed during a fault (retried)
    reconciled: list[ReconcileReport] = field(default_factory=list)


def _create_database(server: postgres.OwnServer, name: str) -> str:
    admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return server.database_url(name)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if "postgresql" not in BACKENDS:
        pytest.skip("the cluster runs on PostgreSQL (KINANTI_TEST_BACKENDS excludes it)")
    if REDIS_BIN is None:
        pytest.skip("redis-server not installed (apt-get install -y redis-server)")
    from prefect.settings import PREFECT_API_URL, temporary_settings

    home = tmp_path_factory.mktemp("cluster")
    sink = SmtpSink()
    sink.start()
    saved = os.environ.get("PREFECT_API_URL")
    try:
        with postgres.own_server() as server:
            url = _create_database(server, "kinanti")
            db.upgrade(url)
            with kinanti_env(home, url, **sink.env()):
                load_city()
                kinanti = {"KINANTI_HOME": str(home), "KINANTI_DATABASE_URL": url, **sink.env()}
                with cluster(home / "cluster", kinanti, workers=2) as running:
                    os.environ["PREFECT_API_URL"] = running.api_url  # for client threads
                    with temporary_settings(updates={PREFECT_API_URL: running.api_url}):
                        yield Lab(running, sink, server, home, kinanti)
    finally:
        sink.stop()
        get_engine.cache_clear()
        if saved is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = saved


# ------------------------------------------------------------------ the reviewers' clients


def _decide_one(code: str, stage: Stage, rng_seed: int) -> None:
    rng = random.Random(rng_seed)
    engine, settings = get_engine(), get_settings()
    if stage in (Stage.DEPLOYMENT, Stage.REPORTING):
        actors.prepare_for_gate(engine, settings, actors.Cast.load(engine), code, stage, rng)
    decide(
        engine,
        code,
        GateDecisionKind.APPROVE,
        decider=HEAD if stage is Stage.REPORTING else (REVIEWER if rng_seed % 2 else REVIEWER_2),
        reason="Lanjut",
        scorecard=actors.scorecard(rng) if stage is Stage.DEVELOPMENT else None,
        channel="portal" if rng_seed % 2 else "cli",
        wait_seconds=0,
    )


def _open_gates(codes: list[str]) -> list[tuple[str, Stage, int, int]]:
    steps = [step_of(c) for c in codes]
    waiting = [s for s in steps if s.action == "gate" and s.gate_flow_run_id]
    paused = paused_runs([s.gate_flow_run_id for s in waiting if s.gate_flow_run_id])
    return [
        (s.code, s.stage, s.gate_id or 0, s.gate_attempts)
        for s in waiting
        if s.gate_flow_run_id in paused
    ]


def decide_waiting(lab: Lab, codes: list[str], pool: ThreadPoolExecutor) -> int:
    """Approve every suspended gate of ``codes``, several at once from client threads."""
    todo = [g for g in _open_gates(codes) if (g[2], g[3]) not in lab.handled]
    futures = []
    for code, stage, gate_id, attempts in todo:
        lab.handled.add((gate_id, attempts))
        context = contextvars.copy_context()
        seed = lab.rng.randint(0, 10**6)
        futures.append(
            (gate_id, attempts, pool.submit(context.run, _decide_one, code, stage, seed))
        )
    for gate_id, attempts, future in futures:
        try:
            future.result(timeout=120)
        except Exception as exc:  # the gate waits again; a later pass decides it
            lab.errors.append(f"{type(exc).__name__}: {exc}")
            lab.handled.discard((gate_id, attempts))
    return len(todo)


def _finished(codes: list[str]) -> bool:
    return all(step_of(c).action == "finished" for c in codes)


def drive(
    lab: Lab,
    codes: list[str],
    *,
    timeout: float,
    until: Callable[[], bool] | None = None,
    reconcile_every: float = 6.0,
    pause: float = 0.5,
) -> None:
    """Decide gates (4 client threads) and run the reconciler's pass until every innovation
    has finished (or ``until``); fail after ``timeout``. What fails during a fault (the
    database or the API is down) is recorded and tried again on the next pass."""
    deadline = time.monotonic() + timeout
    last = 0.0
    with ThreadPoolExecutor(max_workers=4) as pool:
        while time.monotonic() < deadline:
            try:
                if (until or (lambda: _finished(codes)))():
                    return
                if time.monotonic() - last > reconcile_every:
                    last = time.monotonic()
                    lab.reconciled.append(reconcile(get_engine(), stuck_after=STUCK_AFTER))
                decide_waiting(lab, codes, pool)
            except Exception as exc:
                lab.errors.append(f"drive: {type(exc).__name__}: {exc}")
            time.sleep(pause)
    raise AssertionError(
        f"not done in {timeout:.0f} s: { {c: step_of(c).action for c in codes} }; "
        f"last errors: {lab.errors[-5:]}"
    )


# ------------------------------------------------------------------ counting


def prefect_events(filter_: dict[str, Any]) -> list[dict[str, Any]]:
    from prefect import get_client

    events: list[dict[str, Any]] = []
    with get_client(sync_client=True) as client:
        page = client.request(
            "POST",
            "/events/filter",
            json={
                "filter": {**filter_, "occurred": {"since": "2000-01-01T00:00:00Z"}},
                "limit": 50,
            },
        ).json()
        events.extend(page["events"])
        while page.get("next_page"):
            page = client.request("GET", page["next_page"]).json()
            events.extend(page["events"])
    return events


def _of(codes: list[str]) -> Any:
    return Innovation.code.in_(codes)


def assert_exactly_once(lab: Lab, codes: list[str], *, timeout: float = 240) -> None:
    """Every transition, event and email of ``codes`` happened once: none lost or doubled.

    What is left after the lifecycle (an email whose send failed, an event whose
    announcement failed) is the engine's own to finish: the scheduled outbox-dispatcher
    and reconciler (every 60 s, on the workers).
    """
    engine = get_engine()
    tag = str(engine.url.render_as_string(hide_password=True))

    def settled() -> bool:
        with unit_of_work() as session:
            unsent = session.scalar(
                select(func.count(OutboxMessage.id))
                .join(Innovation, Innovation.id == OutboxMessage.innovation_id)
                .where(_of(codes), OutboxMessage.status != "sent")
            )
            unannounced = session.scalar(
                select(func.count(DomainEventRecord.id))
                .join(Innovation, Innovation.id == DomainEventRecord.innovation_id)
                .where(_of(codes), DomainEventRecord.announced_at.is_(None))
            )
        return unsent == 0 and unannounced == 0

    wait_until(settled, timeout, "every email of the batch sent and every event announced")
    with unit_of_work() as session:
        for code in codes:
            history = session.execute(
                select(StageHistory.from_stage, StageHistory.to_stage)
                .join(Innovation, Innovation.id == StageHistory.innovation_id)
                .where(Innovation.code == code)
                .order_by(StageHistory.id)
            ).all()
            assert [tuple(h) for h in history] == EXPECTED_HISTORY, code
            work = session.scalar(
                select(func.count(StageWork.id))
                .join(Innovation, Innovation.id == StageWork.innovation_id)
                .where(Innovation.code == code)
            )
            assert work == 5, code
        rows = session.execute(
            select(Innovation.code, OutboxMessage.template, OutboxMessage.message_id)
            .join(Innovation, Innovation.id == OutboxMessage.innovation_id)
            .where(_of(codes))
        ).all()
        records = session.execute(
            select(Innovation.code, DomainEventRecord.id)
            .join(Innovation, Innovation.id == DomainEventRecord.innovation_id)
            .where(_of(codes))
        ).all()
    # emails: the same set for every innovation, each accepted by the SMTP server once
    per_code: dict[str, collections.Counter[str]] = {}
    for code, template, _ in rows:
        per_code.setdefault(code, collections.Counter())[template] += 1
    first = per_code[codes[0]]
    assert first["stage_entered"] > 0 and first["gate_decided"] > 0, first
    assert all(per_code[c] == first for c in codes), per_code
    accepted = collections.Counter(a.message_id for a in lab.sink.accepted)
    assert all(accepted[message_id or ""] == 1 for _, _, message_id in rows), [
        (c, t, accepted[m or ""]) for c, t, m in rows if accepted[m or ""] != 1
    ]
    # events: every domain event in Prefect's feed exactly once
    expected = {str(event_uuid(record_id, tag)) for _, record_id in records}
    resources = {"resource": {"id": [f"kinanti.innovation.{c}" for c in codes]}}

    def fed() -> collections.Counter[str]:
        return collections.Counter(str(e["id"]) for e in prefect_events(resources))

    wait_until(lambda: expected <= set(fed()), 90, "every event in Prefect's feed")
    time.sleep(6)  # one more flush of the server's event persister: nothing doubled late
    seen = fed()
    assert all(seen[e] == 1 for e in expected), {e: seen[e] for e in expected if seen[e] != 1}


def batch(prefix: str, n: int = 4) -> list[str]:
    return [submit(f"{prefix}-{i}", UNITS[i % len(UNITS)]) for i in range(n)]


def start(codes: list[str]) -> None:
    from kinanti.orchestration.handoff import start_pending

    start_pending(get_engine(), codes=codes)


def _lifecycle_runs(codes: list[str]) -> set[str]:
    """The flow-run ids Kinanti recorded for ``codes`` (hand-offs and gates)."""
    from domain.models import GateRequest, StageStart

    with unit_of_work() as session:
        starts = session.scalars(
            select(StageStart.flow_run_id)
            .join(Innovation, Innovation.id == StageStart.innovation_id)
            .where(_of(codes))
        ).all()
        gates = session.scalars(
            select(GateRequest.flow_run_id)
            .join(Innovation, Innovation.id == GateRequest.innovation_id)
            .where(_of(codes))
        ).all()
    return {r for r in (*starts, *gates) if r}


# ------------------------------------------------------------------ the tests


def test_two_workers_carry_a_batch_with_concurrent_decisions_exactly_once(lab: Lab) -> None:
    codes = batch("DUA", 4)
    start(codes)
    drive(lab, codes, timeout=480)
    assert_exactly_once(lab, codes)


def test_a_worker_killed_mid_stage_loses_and_doubles_nothing(lab: Lab) -> None:
    codes = batch("KILL", 4)
    start(codes)
    victim: Any = None
    killed: list[str] = []

    def a_worker_runs_a_stage() -> bool:
        nonlocal victim
        ours = _lifecycle_runs(codes)
        for worker in lab.cluster.workers:
            running = [r for r in lab.cluster.flow_runs_on(worker) if r in ours]
            if running:
                victim, killed[:] = worker, running
                return True
        return False

    # decide gates until a worker is executing one of these lifecycle runs, then kill it
    drive(lab, codes, timeout=300, until=a_worker_runs_a_stage, pause=0.2)
    lab.cluster.kill_worker(victim)
    lab.cluster.workers.remove(victim)
    lab.cluster.start_worker()
    reports = len(lab.reconciled)
    drive(lab, codes, timeout=420)
    assert_exactly_once(lab, codes)
    # the killed run was taken for dead and replaced (or given back to the pool)
    after = lab.reconciled[reports:]
    codes_recovered = {c for r in after for c in (*r.replaced, *r.rescheduled)}
    assert codes_recovered & set(codes), (killed, [r.as_dict() for r in after])


def test_the_kinanti_database_restarted_mid_run_loses_and_doubles_nothing(lab: Lab) -> None:
    codes = batch("PGRESTART", 4)
    start(codes)
    ours: set[str] = set()

    def stages_running() -> bool:
        ours.update(_lifecycle_runs(codes))
        running = [r for w in lab.cluster.workers for r in lab.cluster.flow_runs_on(w)]
        return any(r in ours for r in running) and bool(lab.handled)

    drive(lab, codes, timeout=300, until=stages_running, pause=0.2)
    lab.pg.restart(down_seconds=3)
    drive(lab, codes, timeout=420)
    assert_exactly_once(lab, codes)


def test_gates_are_decided_after_the_prefect_server_restarts(lab: Lab) -> None:
    codes = batch("RESTART", 4)
    start(codes)
    wait_until(lambda: len(_open_gates(codes)) == len(codes), 180, "every gate suspended")
    lab.cluster.restart_server(down_seconds=3)
    drive(lab, codes, timeout=420)
    assert_exactly_once(lab, codes)


def test_redis_restart_under_redis_messaging_loses_nothing(lab: Lab) -> None:
    codes = batch("REDIS", 3)
    start(codes)
    # restart Redis while decisions, stage changes and their events are under way
    drive(lab, codes, timeout=300, until=lambda: len(lab.handled) and bool(_open_gates(codes)))
    lab.cluster.restart_redis(down_seconds=3)
    drive(lab, codes, timeout=420)
    assert_exactly_once(lab, codes)


def test_smtp_down_then_back_delivers_later_once(lab: Lab) -> None:
    codes = batch("SMTP", 3)
    lab.sink.stop()
    try:
        start(codes)
        drive(
            lab,
            codes,
            timeout=240,
            until=lambda: all(step_of(c).stage is not Stage.PLANNING for c in codes),
        )
        with unit_of_work() as session:
            waiting = session.scalar(
                select(func.count(OutboxMessage.id))
                .join(Innovation, Innovation.id == OutboxMessage.innovation_id)
                .where(_of(codes), OutboxMessage.status == "pending")
            )
        assert waiting, "emails wait for the server"
    finally:
        lab.sink.start()
    drive(lab, codes, timeout=420)
    # a row that failed while the server was down is retried after its backoff (60 s,
    # then 120 s, ...) by the dispatcher scheduled every 60 s
    assert_exactly_once(lab, codes, timeout=480)


def test_a_burst_of_2000_events_under_redis_messaging_all_arrive_once(lab: Lab) -> None:
    token = uuid.uuid4().hex[:8]
    with unit_of_work() as session:
        rows = [
            DomainEventRecord(name="kinanti.region.burst", payload={"token": token, "i": i})
            for i in range(2000)
        ]
        session.add_all(rows)
        session.flush()
        committed = Committed(event_ids=tuple(r.id for r in rows))
    began = time.monotonic()
    report = publish(committed)
    assert report.errors == [] and report.announced == 2000
    tag = str(get_engine().url.render_as_string(hide_password=True))
    expected = {str(event_uuid(i, tag)) for i in committed.event_ids}

    def fed() -> collections.Counter[str]:
        return collections.Counter(
            str(e["id"])
            for e in prefect_events({"event": {"name": ["kinanti.region.burst"]}})
            if e["payload"].get("token") == token
        )

    wait_until(lambda: len(fed()) >= 2000, 180, "2,000 events in Prefect's feed")
    print(f"2000 events announced and stored in {time.monotonic() - began:.1f} s")
    time.sleep(6)
    seen = fed()
    assert set(seen) == expected and set(seen.values()) == {1}


def _snapshot(engine: Engine, codes: list[str]) -> dict[str, Any]:
    with unit_of_work(engine) as session:
        history: dict[str, list[tuple[Any, Any]]] = collections.defaultdict(list)
        for code, from_stage, to_stage in session.execute(
            select(Innovation.code, StageHistory.from_stage, StageHistory.to_stage)
            .join(Innovation, Innovation.id == StageHistory.innovation_id)
            .where(_of(codes))
            .order_by(StageHistory.id)
        ):
            history[code].append((from_stage, to_stage))
        claims = {
            (code, indicator, sha): path
            for code, indicator, sha, path in session.execute(
                select(
                    Innovation.code,
                    IndicatorClaim.indicator,
                    IndicatorClaim.sha256,
                    IndicatorClaim.file_path,
                )
                .join(Innovation, Innovation.id == IndicatorClaim.innovation_id)
                .where(_of(codes))
            )
        }
        titles = dict(
            session.execute(select(Innovation.code, Innovation.title).where(_of(codes))).all()
        )
    return {"history": dict(history), "claims": claims, "titles": titles}


def _kinanti_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kinanti", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_backup_taken_while_flows_run_restores_the_same_installation(lab: Lab) -> None:
    codes = batch("ARSIP", 3)
    start(codes)
    # past the deployment gate (its evidence claims) and still running
    drive(
        lab,
        codes,
        timeout=420,
        until=lambda: any(step_of(c).stage is Stage.REPORTING for c in codes),
    )
    before = _snapshot(get_engine(), codes)
    folder = lab.home / "backup"
    _kinanti_cli(lab.kinanti, "backup", str(folder))
    after = _snapshot(get_engine(), codes)
    assert any(s.action != "finished" for s in map(step_of, codes)), "flows were in progress"

    target_home = lab.home / "restored"
    target_home.mkdir()
    target_url = _create_database(lab.pg, "kinanti_restored")
    db.upgrade(target_url)
    target = {**lab.kinanti, "KINANTI_HOME": str(target_home), "KINANTI_DATABASE_URL": target_url}
    _kinanti_cli(target, "restore", str(folder))
    restored_engine = make_engine(target_url)
    try:
        restored = _snapshot(restored_engine, codes)
    finally:
        restored_engine.dispose()
    # a snapshot between the two readings: every innovation, its history a prefix of what
    # came after and at least what was there before, claims likewise; evidence in place
    assert restored["titles"] == after["titles"]
    for code in codes:
        got = restored["history"][code]
        assert before["history"][code] == got[: len(before["history"][code])], code
        assert got == after["history"][code][: len(got)], code
    assert set(before["claims"]) <= set(restored["claims"]) <= set(after["claims"])
    assert restored["claims"], "the deployment gates' evidence was claimed"
    evidence = (target_home / "evidence").resolve()
    for (_, _, sha), path in restored["claims"].items():
        if path:
            stored = Path(path)
            assert stored.is_relative_to(evidence), path
            assert hashlib.sha256(stored.read_bytes()).hexdigest() == sha
    # the engine carries on in the source installation, untouched by the backup
    drive(lab, codes, timeout=420)
    assert_exactly_once(lab, codes)
