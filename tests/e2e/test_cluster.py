"""Kinanti on Prefect's distributed engine (tests/support/cluster.py): a Prefect server on
PostgreSQL with Redis messaging, a process work pool deployed from prefect.yaml, two process
workers (limit 1 each), the Kinanti database on PostgreSQL, emails to a real SMTP server.

A batch goes through the whole lifecycle with decisions arriving from several client threads
at once; then faults. After each, every transition, event and email is counted: none lost,
none doubled. One cluster serves the module (its start costs ~30 s); each test has its own
innovations.
"""

from __future__ import annotations

import collections
import contextvars
import datetime as dt
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from domain.enums import GateDecisionKind, Stage
from domain.models import DomainEventRecord, Innovation, OutboxMessage, StageHistory, StageWork
from kinanti.db import get_engine, unit_of_work
from kinanti.demo import actors
from kinanti.orchestration.announce import event_uuid
from kinanti.orchestration.gates import decide
from kinanti.orchestration.reconcile import reconcile
from kinanti.orchestration.runs import paused_runs
from kinanti.settings import get_settings
from tests.conftest import BACKENDS
from tests.support.cluster import REDIS_BIN, Cluster, SmtpSink, cluster
from tests.support.engine_support import (
    HEAD,
    REVIEWER,
    REVIEWER_2,
    kinanti_env,
    load_city,
    new_database,
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


@dataclass
class Lab:
    cluster: Cluster
    sink: SmtpSink
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    handled: set[tuple[int, int]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)  # decisions that failed (retried later)


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
        with (
            new_database("postgresql", home) as url,
            kinanti_env(home, url, **sink.env()),
        ):
            load_city()
            kinanti = {"KINANTI_HOME": str(home), "KINANTI_DATABASE_URL": url, **sink.env()}
            with cluster(home / "cluster", kinanti, workers=2) as running:
                os.environ["PREFECT_API_URL"] = running.api_url  # for client threads
                with temporary_settings(updates={PREFECT_API_URL: running.api_url}):
                    yield Lab(running, sink)
    finally:
        sink.stop()
        if saved is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = saved


def _decide_one(lab: Lab, code: str, stage: Stage, rng_seed: int) -> None:
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
            (gate_id, attempts, pool.submit(context.run, _decide_one, lab, code, stage, seed))
        )
    for gate_id, attempts, future in futures:
        try:
            future.result(timeout=60)
        except Exception as exc:  # the gate waits again; a later pass decides it
            lab.errors.append(f"{type(exc).__name__}: {exc}")
            lab.handled.discard((gate_id, attempts))
    return len(todo)


def drive(
    lab: Lab,
    codes: list[str],
    *,
    timeout: float,
    until: Callable[[], bool] | None = None,
    reconcile_every: float = 6.0,
) -> None:
    """Decide gates (4 client threads) and run the reconciler's pass until every innovation
    has finished (or ``until``); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = 0.0
    with ThreadPoolExecutor(max_workers=4) as pool:
        while time.monotonic() < deadline:
            if until is not None and until():
                return
            if until is None and all(step_of(c).action == "finished" for c in codes):
                return
            if time.monotonic() - last > reconcile_every:
                try:
                    reconcile(get_engine(), stuck_after=dt.timedelta(seconds=10))
                except Exception as exc:  # the API may be down during a fault; next pass
                    lab.errors.append(f"reconcile: {type(exc).__name__}: {exc}")
                last = time.monotonic()
            try:
                decide_waiting(lab, codes, pool)
            except Exception as exc:  # the API may be down during a fault
                lab.errors.append(f"decide: {type(exc).__name__}: {exc}")
            time.sleep(0.5)
    raise AssertionError(
        f"not done in {timeout:.0f} s: { {c: step_of(c).action for c in codes} }; "
        f"last errors: {lab.errors[-5:]}"
    )


def prefect_events(resource_id: str) -> list[dict[str, object]]:
    from prefect import get_client

    events: list[dict[str, object]] = []
    with get_client(sync_client=True) as client:
        response = client.request(
            "POST",
            "/events/filter",
            json={
                "filter": {
                    "resource": {"id": [resource_id]},
                    "occurred": {"since": "2000-01-01T00:00:00Z"},
                },
                "limit": 50,
            },
        )
        page = response.json()
        events.extend(page["events"])
        while page.get("next_page"):
            page = client.request("GET", page["next_page"]).json()
            events.extend(page["events"])
    return events


def assert_exactly_once(lab: Lab, codes: list[str], *, timeout: float = 150) -> None:
    """Every transition, event and email of ``codes`` happened once: none lost or doubled."""
    engine = get_engine()
    tag = str(engine.url.render_as_string(hide_password=True))

    def delivered() -> bool:
        with unit_of_work() as session:
            pending = session.scalar(
                select(func.count(OutboxMessage.id))
                .join(Innovation, Innovation.id == OutboxMessage.innovation_id)
                .where(Innovation.code.in_(codes), OutboxMessage.status != "sent")
            )
        return pending == 0

    # the scheduled outbox-dispatcher (every 60 s, on the workers) delivers what is left
    wait_until(delivered, timeout, "every email of the batch sent")
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
            .where(Innovation.code.in_(codes))
        ).all()
        records = session.execute(
            select(Innovation.code, DomainEventRecord.id, DomainEventRecord.announced_at)
            .join(Innovation, Innovation.id == DomainEventRecord.innovation_id)
            .where(Innovation.code.in_(codes))
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
    # events: every domain event announced, and in Prefect's feed exactly once
    assert records and all(announced is not None for _, _, announced in records)
    expected = {str(event_uuid(record_id, tag)) for _, record_id, _ in records}

    def fed() -> collections.Counter[str]:
        seen: collections.Counter[str] = collections.Counter()
        for code in codes:
            seen.update(str(e["id"]) for e in prefect_events(f"kinanti.innovation.{code}"))
        return seen

    wait_until(lambda: expected <= set(fed()), 60, "every event in Prefect's feed")
    seen = fed()
    assert all(seen[e] == 1 for e in expected), {e: seen[e] for e in expected if seen[e] != 1}


def batch(prefix: str, n: int = 6) -> list[str]:
    return [submit(f"{prefix}-{i}", UNITS[i % len(UNITS)]) for i in range(n)]


def start(codes: list[str]) -> None:
    from kinanti.orchestration.handoff import start_pending

    start_pending(get_engine(), codes=codes)


def test_two_workers_carry_a_batch_with_concurrent_decisions_exactly_once(lab: Lab) -> None:
    codes = batch("DUA", 4)
    start(codes)
    drive(lab, codes, timeout=420)
    assert_exactly_once(lab, codes)


def test_a_worker_killed_mid_stage_loses_and_doubles_nothing(lab: Lab) -> None:
    codes = batch("KILL", 4)
    start(codes)
    # let the planning gates be decided, then kill a worker while a stage flow runs on it
    with ThreadPoolExecutor(max_workers=4) as pool:
        wait_until(lambda: len(_open_gates(codes)) >= 2, 120, "two suspended gates")
        decide_waiting(lab, codes, pool)
    victim = lab.cluster.workers[0]
    time.sleep(2.0)  # the resumed runs are executing on the workers now
    lab.cluster.kill_worker(victim)
    lab.cluster.workers.remove(victim)
    lab.cluster.start_worker()
    drive(lab, codes, timeout=300)
    assert_exactly_once(lab, codes)


def test_gates_are_decided_after_the_prefect_server_restarts(lab: Lab) -> None:
    codes = batch("RESTART", 4)
    start(codes)
    wait_until(lambda: len(_open_gates(codes)) == len(codes), 150, "every gate suspended")
    lab.cluster.restart_server(down_seconds=3)
    drive(lab, codes, timeout=300)
    assert_exactly_once(lab, codes)


def test_a_burst_of_2000_events_under_redis_messaging_all_arrive(lab: Lab) -> None:
    from prefect.events import emit_event

    token = uuid.uuid4().hex[:8]
    resource = f"kinanti.burst.{token}"
    ids: set[str] = set()
    for i in range(2000):
        event = emit_event(
            event="kinanti.burst.tick",
            resource={"prefect.resource.id": resource},
            payload={"i": i},
        )
        assert event is not None
        ids.add(str(event.id))

    def count() -> int:
        return len({str(e["id"]) for e in prefect_events(resource)} & ids)

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and count() < 2000:
        time.sleep(1)
    assert count() == 2000


def test_redis_restart_under_redis_messaging_loses_nothing(lab: Lab) -> None:
    codes = batch("REDIS", 3)
    start(codes)
    wait_until(lambda: len(_open_gates(codes)) >= 1, 150, "a suspended gate")
    lab.cluster.restart_redis(down_seconds=2)
    drive(lab, codes, timeout=300)
    assert_exactly_once(lab, codes)


def test_smtp_down_then_back_delivers_later_once(lab: Lab) -> None:
    codes = batch("SMTP", 3)
    lab.sink.stop()
    try:
        start(codes)
        drive(
            lab,
            codes,
            timeout=150,
            until=lambda: all(step_of(c).stage is not Stage.PLANNING for c in codes),
        )
    finally:
        lab.sink.start()
    drive(lab, codes, timeout=300)
    assert_exactly_once(lab, codes, timeout=200)
