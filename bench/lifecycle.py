"""Benchmark: N innovations through all five stages on a local Prefect server.

Measures, in one run, with one runner process serving both deployments:
  1. Prefect's floor: M trivial runs of the ``kinanti-probe`` deployment, each started by a
     ``kinanti.probe.requested`` event (deployment trigger); seconds per run (throughput).
  2. Kinanti: N innovations carried planning -> replication by the scripted reviewer
     through the same resume path as ``kinanti decide``; seconds and CPU seconds per
     innovation-stage (throughput; each stage is one flow process after its gate).
  3. The same domain service calls made directly, without Prefect.
Last line: ``ratio=<Kinanti seconds per innovation-stage / floor seconds per run>``.

The local Prefect server keeps its own database in SQLite (the embedded default) or, with
``--prefect-db postgresql``, in a fresh PostgreSQL database (docs/prefect-notes.md: SQLite's
"database is locked" retries stall runs for seconds under load; PostgreSQL removes them).

Usage: python bench/lifecycle.py [--n 20] [--probes 20] [--limit 4] [--prefect-db sqlite]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = 5


def _proc_cpu(pid: int) -> float:
    """CPU seconds of a process and its reaped children (utime+stime+cutime+cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


def _setup(home: Path, n: int, seed: int) -> list[str]:
    from sqlalchemy import select

    from domain.enums import Bentuk, Initiator, Jenis, Role, UnitKind
    from domain.models import Person, PersonRole, Unit
    from domain.schemas import InnovationIn
    from domain.submission import submit_innovation
    from kinanti import db
    from kinanti.db import get_engine, unit_of_work
    from kinanti.demo.actors import FULL_DESIGN_APPENDIX
    from kinanti.importers import import_file

    db.upgrade()
    examples = ROOT / "examples" / "mataram"
    import_file("units", examples / "units.yaml")
    import_file("people", examples / "people.yaml")
    rng = random.Random(seed)
    codes: list[str] = []
    with unit_of_work(get_engine()) as session:
        reviewer_units = set(
            session.scalars(
                select(Person.unit_id).join(PersonRole).where(PersonRole.role == Role.REVIEWER)
            )
        )
        units = [
            u
            for u in session.scalars(select(Unit).order_by(Unit.code))
            if u.id not in reviewer_units and u.kind in (UnitKind.OPD, UnitKind.UPTD)
        ]
        for i in range(n):
            unit = units[i % len(units)]
            data = InnovationIn(
                code=f"BENCH-{i + 1:03d}",
                title=f"Inovasi Uji Beban {i + 1}",
                unit=unit.code,
                year=2026,
                initiator=rng.choice(list(Initiator)),
                jenis=rng.choice(list(Jenis)),
                bentuk=rng.choice(list(Bentuk)),
                urusan_main="Kesehatan",
                tematik="Digitalisasi Layanan Pemerintahan",
                design=FULL_DESIGN_APPENDIX * 2,
                goals="Mempercepat layanan.",
                benefits="Warga terlayani lebih cepat.",
                budget=Decimal("25000000"),
            )
            submit_innovation(session, data, actor="bench@kinanti.local")
            codes.append(data.code)
    return codes


def _direct(home: Path, n: int, seed: int) -> tuple[float, float]:
    """The same domain calls without Prefect: stage work, what the gate needs, decision."""
    from domain.enums import Stage
    from kinanti.db import get_engine
    from kinanti.demo.run import RECORDED_STAGES, record_at_stage
    from kinanti.settings import get_settings

    codes = _setup(home, n, seed)
    rng = random.Random(seed)
    wall, cpu = time.perf_counter(), time.process_time()
    for code in codes:
        record_at_stage(get_engine(), get_settings(), code, Stage.REPLICATION, rng)
        # the replication stage's own work, as the lifecycle run does it
        _replication_work(code)
    assert RECORDED_STAGES[-1] is Stage.REPLICATION
    return time.perf_counter() - wall, time.process_time() - cpu


def _replication_work(code: str) -> None:
    import datetime as dt

    from domain import queries
    from domain.stages import StageParams, complete_stage
    from kinanti.db import get_engine, unit_of_work
    from kinanti.settings import get_settings

    with unit_of_work(get_engine()) as session:
        innovation = queries.get_innovation(session, code, for_update=True)
        complete_stage(
            session,
            innovation,
            1,
            StageParams(
                dt.timedelta(days=14), None, dt.datetime.now(dt.UTC).date(), get_settings().zone
            ),
        )


def _count_completed(flow_name: str) -> int:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        return client.count_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED]))
            ),
        )


def _prefect_database(kind: str, admin_url: str) -> str | None:
    """With PostgreSQL: create a fresh database for the Prefect server, point Prefect at it."""
    if kind != "postgresql":
        return None
    import uuid

    import psycopg

    name = f"kinanti_bench_prefect_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://")
    os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = f"{base}/{name}"
    return name


def _drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="innovations carried live")
    parser.add_argument("--probes", type=int, default=20, help="trivial runs for the floor")
    parser.add_argument("--limit", type=int, default=4, help="runner concurrency")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--prefect-db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--pg-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="where to create the Prefect database with --prefect-db postgresql",
    )
    args = parser.parse_args()
    prefect_db = _prefect_database(args.prefect_db, args.pg_admin_url)

    tmp = Path(tempfile.mkdtemp(prefix="kinanti-bench-"))
    # 3. direct domain calls (own database)
    os.environ.update(
        {
            "KINANTI_HOME": str(tmp / "direct"),
            "KINANTI_EMAIL_BACKEND": "file",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
    )
    direct_wall, direct_cpu = _direct(tmp / "direct", args.n, args.seed)

    from kinanti.db import get_engine
    from kinanti.settings import get_settings

    os.environ.update(
        {
            "KINANTI_HOME": str(tmp / "live"),
            "PREFECT_HOME": str(tmp / "live" / "prefect"),
            "KINANTI_RUNNER_LIMIT": str(args.limit),
        }
    )
    get_settings.cache_clear()
    get_engine.cache_clear()
    settings = get_settings()
    codes = _setup(tmp / "live", args.n, args.seed)

    from kinanti.demo import actors
    from kinanti.demo.run import drive
    from kinanti.orchestration.handoff import LIFECYCLE_DEPLOYMENT
    from kinanti.orchestration.runtime import (
        prefect_api,
        spawn_runner,
        stop_process_group,
        wait_for_deployments,
    )

    with prefect_api(settings) as api_url:
        runner = spawn_runner(settings, api_url, only="lifecycle,probe")
        try:
            wait_for_deployments([LIFECYCLE_DEPLOYMENT, "kinanti-probe/probe"], runner)
            time.sleep(3)  # let the trigger reach the server's automation cache
            from prefect.events import emit_event

            # 1. Prefect's floor
            cpu0, wall0 = _proc_cpu(runner.pid), time.perf_counter()
            for i in range(args.probes):
                emit_event(
                    "kinanti.probe.requested",
                    resource={"prefect.resource.id": f"kinanti.probe.{i}"},
                )
            while _count_completed("kinanti-probe") < args.probes:
                if time.perf_counter() - wall0 > 600:
                    sys.exit("probe runs did not complete within 600 s")
                time.sleep(0.2)
            floor_wall = time.perf_counter() - wall0
            floor_cpu = _proc_cpu(runner.pid) - cpu0

            # 2. Kinanti
            plans = {code: actors.Plan("approve") for code in codes}
            cpu0, wall0 = _proc_cpu(runner.pid), time.perf_counter()
            report = drive(get_engine(), settings, plans, seed=args.seed, timeout=1800)
            kin_wall = time.perf_counter() - wall0
            kin_cpu = _proc_cpu(runner.pid) - cpu0
        finally:
            stop_process_group(runner)
    if prefect_db:
        _drop_database(args.pg_admin_url, prefect_db)
    if report.unfinished:
        sys.exit(f"unfinished innovations: {report.unfinished}")

    stages = args.n * STAGES
    floor = floor_wall / args.probes
    kin = kin_wall / stages
    print(
        f"innovations={args.n} stages={stages} runner_limit={args.limit} "
        f"prefect_db={args.prefect_db} on {os.cpu_count()} cores"
    )
    print(
        f"prefect floor (event-triggered trivial run): {floor:.3f} s/run, "
        f"{floor_cpu / args.probes:.3f} runner CPU-s/run ({args.probes} runs in {floor_wall:.1f} s)"
    )
    print(
        f"kinanti via prefect: {kin:.3f} s/innovation-stage, "
        f"{kin_cpu / stages:.3f} runner CPU-s/innovation-stage ({kin_wall:.1f} s wall, "
        f"{sum(report.decisions.values())} gate decisions)"
    )
    print(
        f"direct domain calls: {direct_wall / stages * 1000:.2f} ms/innovation-stage, "
        f"{direct_cpu / stages * 1000:.2f} CPU-ms ({direct_wall:.2f} s wall)"
    )
    print(f"ratio={kin / floor:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
