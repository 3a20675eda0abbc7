"""Benchmark: Kinanti on Prefect's distributed engine, with 1 and then 2 process workers.

The setup is the cluster tests' (tests/support/cluster.py): a Prefect server on PostgreSQL
with Redis messaging (prefect-redis), the process work pool deployed from prefect.yaml, process
workers limited to one concurrent run each, the Kinanti database on PostgreSQL, emails to a
real SMTP server (aiosmtpd) on loopback. Measures, in one run:

  1. Prefect's floor with 1 worker: M trivial runs of the ``kinanti-probe`` deployment, each
     started by a ``kinanti.probe.requested`` event (its deployment trigger), as
     ``bench/lifecycle.py`` measures it; seconds per run.
  2. Kinanti with 1 worker: N innovations carried planning -> replication by the scripted
     reviewer (``kinanti.demo.run.drive``, the resume path of ``kinanti decide``);
     innovation-stages per second.
  3. The same with 2 workers (N other innovations).
  4. Event-to-email latency over both phases: from the stage change committed (the
     ``stage_entered`` outbox row is written in the transaction that moves the innovation)
     to the SMTP server accepting that message; median and p95.

Both PostgreSQL databases live on a throwaway server of the benchmark's own (durability off,
as in the tests), or on ``--pg-admin-url``. Needs ``redis-server`` and the PostgreSQL binaries.
Last line: ``ratio=<innovation-stages/s with 2 workers / with 1 worker>``.

Usage: python bench/scale.py [--n 6] [--probes 10] [--pg-admin-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from lifecycle import _count_completed  # noqa: E402 - the floor counted as bench/lifecycle.py does

STAGES = 5


def _request_probes(n: int) -> None:
    import uuid

    from prefect import get_client
    from prefect.events import Event

    events = [
        Event(
            event="kinanti.probe.requested",
            resource={"prefect.resource.id": f"kinanti.probe.{uuid.uuid4().hex[:8]}"},
        ).model_dump(mode="json")
        for _ in range(n)
    ]
    with get_client(sync_client=True) as client:
        client.request("POST", "/events", json=events)


def _floor(probes: int) -> float:
    """Seconds per event-triggered trivial run (what Prefect itself costs per run)."""
    # the server evaluates a new deployment trigger only once it has loaded it: one probe
    # at a time until one runs (this also warms the worker up)
    began, warm_up = time.perf_counter(), 0
    while _count_completed("kinanti-probe") == 0:
        if time.perf_counter() - began > 300:
            sys.exit("no probe run within 300 s: is the probe trigger deployed?")
        _request_probes(1)
        warm_up += 1
        time.sleep(8)
    # warm-up requests sent before the trigger was loaded never run: wait until the count
    # has not moved for 20 s (or all of them ran)
    before, still = _count_completed("kinanti-probe"), time.perf_counter()
    while before < warm_up and time.perf_counter() - still < 20:
        time.sleep(1)
        now = _count_completed("kinanti-probe")
        if now != before:
            before, still = now, time.perf_counter()
    began = time.perf_counter()
    _request_probes(probes)
    while _count_completed("kinanti-probe") < before + probes:
        if time.perf_counter() - began > 900:
            sys.exit("probe runs did not complete within 900 s")
        time.sleep(0.3)
    return (time.perf_counter() - began) / probes


def _submit(prefix: str, n: int) -> list[str]:
    from tests.support.engine_support import submit

    units = ["DINKES", "DISDIK", "DKP", "DISKOMINFO", "DPUPR", "RSUD"]
    return [submit(f"{prefix}-{i + 1:03d}", units[i % len(units)]) for i in range(n)]


def _lifecycle(codes: list[str], seed: int) -> float:
    """Carry ``codes`` through the lifecycle; wall seconds."""
    from kinanti.db import get_engine
    from kinanti.demo import actors
    from kinanti.demo.run import drive
    from kinanti.settings import get_settings

    began = time.perf_counter()
    report = drive(
        get_engine(),
        get_settings(),
        {code: actors.Plan("approve") for code in codes},
        seed=seed,
        timeout=1800,
    )
    if report.unfinished:
        sys.exit(f"unfinished innovations: {report.unfinished}")
    return time.perf_counter() - began


def _latencies(codes: list[str], accepted: dict[str, float], timeout: float = 300) -> list[float]:
    """Seconds from each stage change's commit to its ``stage_entered`` email's acceptance."""
    from sqlalchemy import select

    from domain.models import Innovation, OutboxMessage
    from kinanti.db import unit_of_work

    deadline = time.monotonic() + timeout
    while True:
        with unit_of_work() as session:
            rows = session.execute(
                select(OutboxMessage.message_id, OutboxMessage.created_at, OutboxMessage.status)
                .join(Innovation, Innovation.id == OutboxMessage.innovation_id)
                .where(Innovation.code.in_(codes), OutboxMessage.template == "stage_entered")
            ).all()
        if all(status == "sent" and mid in accepted for mid, _, status in rows):
            break
        if time.monotonic() > deadline:
            sys.exit("stage_entered emails not all accepted")
        time.sleep(1)
    return [accepted[mid] - created.timestamp() for mid, created, _ in rows]


@contextlib.contextmanager
def _postgres(admin_url: str | None) -> Iterator[str]:
    from tests.support import postgres

    if admin_url:
        yield admin_url
        return
    with postgres.own_server() as server:
        yield server.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6, help="innovations per phase")
    parser.add_argument("--probes", type=int, default=10, help="trivial runs for the floor")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pg-admin-url", default=None, help="PostgreSQL to use (default: own)")
    args = parser.parse_args()

    from sqlalchemy import create_engine, text

    from kinanti import db
    from kinanti.db import get_engine
    from tests.support import postgres
    from tests.support.cluster import SmtpSink, cluster
    from tests.support.engine_support import kinanti_env, load_city

    tmp = Path(tempfile.mkdtemp(prefix="kinanti-bench-scale-"))
    sink = SmtpSink()
    sink.start()
    with _postgres(args.pg_admin_url) as admin_url:
        os.environ[postgres.URL_VARIABLE] = admin_url
        url = f"{admin_url.rpartition('/')[0]}/kinanti_bench_scale_{os.getpid()}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{url.rpartition("/")[2]}"'))
        db.upgrade(url)
        kinanti = {"KINANTI_HOME": str(tmp), "KINANTI_DATABASE_URL": url, **sink.env()}
        try:
            with kinanti_env(tmp, url, **sink.env()):
                load_city()
                # each phase's innovations are submitted when it starts: the scheduled
                # reconciler starts every recorded hand-off, not only the phase's
                one = _submit("SATU", args.n)
                from prefect.settings import PREFECT_API_URL, temporary_settings

                with cluster(tmp / "cluster", kinanti, workers=1) as running:
                    os.environ["PREFECT_API_URL"] = running.api_url
                    with temporary_settings(updates={PREFECT_API_URL: running.api_url}):
                        floor = _floor(args.probes)
                        wall_1 = _lifecycle(one, args.seed)
                        running.start_worker()
                        time.sleep(3)  # the second worker polls the pool
                        two = _submit("DUA", args.n)
                        wall_2 = _lifecycle(two, args.seed)
                        accepted = {a.message_id: a.at for a in sink.accepted}
                        latency = sorted(_latencies(one + two, accepted))
        finally:
            sink.stop()
            get_engine.cache_clear()
            with admin.connect() as conn:
                conn.execute(
                    text(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')
                )
            admin.dispose()

    stages = args.n * STAGES
    rate_1, rate_2 = stages / wall_1, stages / wall_2
    per_stage_1 = wall_1 / stages
    p95 = statistics.quantiles(latency, n=20, method="inclusive")[18]
    print(
        f"innovations={args.n} per phase, stages={stages}, workers limit 1 each, "
        f"on {os.cpu_count()} cores; timings: {running.timings}"
    )
    print(f"prefect floor, 1 worker (event-triggered trivial run): {floor:.2f} s/run")
    print(
        f"kinanti, 1 worker: {rate_1:.3f} innovation-stages/s ({wall_1:.1f} s wall, "
        f"{per_stage_1:.2f} s/innovation-stage, overhead vs floor {per_stage_1 / floor:.2f})"
    )
    print(
        f"kinanti, 2 workers: {rate_2:.3f} innovation-stages/s ({wall_2:.1f} s wall, "
        f"{wall_2 / stages:.2f} s/innovation-stage)"
    )
    print(
        f"event-to-email latency (stage change committed -> SMTP accepted, "
        f"{len(latency)} emails): median {statistics.median(latency):.2f} s, p95 {p95:.2f} s"
    )
    print(f"ratio={rate_2 / rate_1:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    main()
