"""Helpers for the engine's end-to-end tests: a Kinanti database with the example city, a
runner process serving the deployments against the test Prefect API, and a loop that plays
the reviewers and units of each scenario."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.enums import Bentuk, Initiator, Jenis
from domain.progress import Step, next_step
from domain.schemas import InnovationIn
from domain.submission import submit_innovation
from kinanti.db import get_engine, unit_of_work
from kinanti.demo.actors import FULL_DESIGN_APPENDIX
from kinanti.demo.run import EXAMPLES
from kinanti.importers import import_file
from kinanti.orchestration.runs import paused_runs
from kinanti.settings import scoped_environment
from tests.support import postgres, snapshots

REVIEWER = "hendriani.brida@mataramkota.go.id"
REVIEWER_2 = "sahnan.brida@mataramkota.go.id"
HEAD = "kepala.brida@mataramkota.go.id"
OPERATOR = "operator1.brida@mataramkota.go.id"


@contextlib.contextmanager
def new_database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, migrated Kinanti database on ``backend`` (PostgreSQL: dropped afterwards)."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'kinanti.db'}"
        snapshots.shared().migrated(url)  # db.upgrade(url), by copy of one migrated once
        yield url
        return
    try:
        with postgres.temporary_database("kinanti_e2e") as url:
            snapshots.shared().migrated(url)
            yield url
    finally:
        get_engine.cache_clear()


@contextlib.contextmanager
def kinanti_env(home: Path, database_url: str, **extra: str) -> Iterator[None]:
    """Point this process's settings at ``home`` / ``database_url`` for the duration."""
    values = {
        "KINANTI_HOME": str(home),
        "KINANTI_DATABASE_URL": database_url,
        "KINANTI_EMAIL_BACKEND": "file",
        **extra,
    }
    with scoped_environment(values):
        get_engine.cache_clear()
        try:
            yield
        finally:
            get_engine.cache_clear()


def load_city() -> None:
    import_file("units", EXAMPLES / "units.yaml")
    import_file("people", EXAMPLES / "people.yaml")


def submit(code: str, unit: str, **overrides: Any) -> str:
    data: dict[str, Any] = {
        "code": code,
        "title": f"Inovasi {code.title()}",
        "unit": unit,
        "year": 2026,
        "initiator": Initiator.OPD,
        "jenis": Jenis.DIGITAL,
        "bentuk": Bentuk.PELAYANAN_PUBLIK,
        "urusan_main": "Kesehatan",
        "tematik": "Digitalisasi Layanan Pemerintahan",
        "design": FULL_DESIGN_APPENDIX * 2,
        "goals": "Mempercepat layanan.",
        "benefits": "Warga terlayani lebih cepat.",
        "budget": Decimal("25000000"),
    }
    data.update(overrides)
    with unit_of_work() as session:
        submit_innovation(session, InnovationIn.model_validate(data), actor=OPERATOR)
    return code


@dataclass
class Scenario:
    """What to do when one innovation waits at a paused gate or for its unit."""

    code: str
    on_gate: Callable[[Step], None]
    on_unit: Callable[[Step], None] | None = None


def step_of(code: str) -> Step:
    """Where ``code``'s lifecycle stands now (read in its own transaction)."""
    with unit_of_work() as session:
        return next_step(session, code)


def play(scenarios: list[Scenario], timeout: float = 240) -> dict[str, Step]:
    """Loop until every scenario's innovation is settled; returns the final steps."""
    handled: set[tuple[int, int]] = set()
    unit_handled: set[tuple[str, str, int]] = set()
    deadline = time.monotonic() + timeout
    final: dict[str, Step] = {}
    while time.monotonic() < deadline:
        steps = {s.code: step_of(s.code) for s in scenarios}
        waiting = [st for st in steps.values() if st.action == "gate" and st.gate_flow_run_id]
        paused = paused_runs([st.gate_flow_run_id for st in waiting if st.gate_flow_run_id])
        for scenario in scenarios:
            step = steps[scenario.code]
            if step.action in ("ended", "finished"):
                final[scenario.code] = step
            elif step.action == "waiting_for_unit":
                key = (step.code, step.stage.value, step.round)
                if scenario.on_unit is None:
                    final[scenario.code] = step
                elif key not in unit_handled:
                    unit_handled.add(key)
                    scenario.on_unit(step)
            elif step.gate_flow_run_id in paused and step.gate_id is not None:
                key2 = (step.gate_id, step.gate_attempts)
                if key2 not in handled:
                    handled.add(key2)
                    scenario.on_gate(step)
        if len(final) == len(scenarios):
            return final
        time.sleep(0.3)
    raise AssertionError(f"not settled in {timeout} s: { {c: s.action for c, s in steps.items()} }")


def wait_until(predicate: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def cancel_open_runs() -> int:
    """Cancel every flow run left open (scheduled, pending, running, paused) on the test
    API, so a runner started next serves only its own test's runs, not those an earlier
    test on the same Prefect harness left behind (say, after it failed)."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled

    open_states = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED]
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=open_states))
            )
        )
        for run in runs:
            client.set_flow_run_state(run.id, Cancelled(), force=True)
    return len(runs)
