"""Crash test: the serving process is killed with SIGKILL while some innovations wait at
gates and others are mid-stage. After a restart and the reconciler, every innovation goes
on past the stage it was in, through one more gate, with no transition, stage work or email
doubled or lost. (The whole lifecycle, end to end, is ``test_engine_e2e.py``'s job: carrying
these on to the end again only repeats it, at two more stages' cost.)"""

from __future__ import annotations

import datetime as dt
import random
import signal
import time

import pytest
from sqlalchemy import func, select

from domain.enums import GateDecisionKind, Stage
from domain.models import Innovation, OutboxMessage, StageHistory, StageWork
from kinanti.db import get_engine, unit_of_work
from kinanti.demo import actors
from kinanti.orchestration.gates import decide
from kinanti.orchestration.handoff import LIFECYCLE_DEPLOYMENT, start_pending
from kinanti.orchestration.reconcile import reconcile
from kinanti.orchestration.runs import paused_runs
from kinanti.orchestration.runtime import spawn_runner, stop_process_group, wait_for_deployments
from kinanti.settings import get_settings
from tests.conftest import BACKENDS
from tests.support.engine_support import (
    HEAD,
    REVIEWER,
    cancel_open_runs,
    kinanti_env,
    load_city,
    new_database,
    step_of,
    submit,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.prefect]

UNITS = ["DINKES", "DISDIK", "DKP", "DISKOMINFO"]
#: every innovation is carried until it waits at this stage's gate
UNTIL = Stage.DEPLOYMENT


def _approve_paused(codes: list[str], rng: random.Random, handled: set[tuple[int, int]]) -> int:
    """Approve every gate of ``codes`` whose run is suspended; returns how many."""
    engine, settings = get_engine(), get_settings()
    steps = [step_of(c) for c in codes]
    waiting = [s for s in steps if s.action == "gate" and s.gate_flow_run_id]
    paused = paused_runs([s.gate_flow_run_id for s in waiting if s.gate_flow_run_id])
    done = 0
    for step in waiting:
        if (
            step.gate_flow_run_id not in paused
            or (step.gate_id or 0, step.gate_attempts) in handled
        ):
            continue
        handled.add((step.gate_id or 0, step.gate_attempts))
        if step.stage in (Stage.DEPLOYMENT, Stage.REPORTING):
            actors.prepare_for_gate(
                engine, settings, actors.Cast.load(engine), step.code, step.stage, rng
            )
        decide(
            engine,
            step.code,
            GateDecisionKind.APPROVE,
            decider=HEAD if step.stage is Stage.REPORTING else REVIEWER,
            reason="Lanjut",
            scorecard=actors.scorecard(rng) if step.stage is Stage.DEVELOPMENT else None,
            wait_seconds=0,
        )
        done += 1
    return done


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_killed_runner_loses_and_doubles_nothing(
    backend: str, prefect_api: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp(f"crash-{backend}")
    rng = random.Random(5)
    with new_database(backend, home) as url, kinanti_env(home, url):
        load_city()
        codes = [submit(f"CRASH-{i}", unit) for i, unit in enumerate(UNITS)]
        settings = get_settings()
        cancel_open_runs()
        runner = spawn_runner(settings, prefect_api, only="lifecycle", log_name="runner-1.log")
        handled: set[tuple[int, int]] = set()
        try:
            wait_for_deployments([LIFECYCLE_DEPLOYMENT], runner)
            start_pending(get_engine())
            # all six wait at their planning gate, suspended
            wait_until(
                lambda: (
                    len(
                        paused_runs(
                            [
                                s.gate_flow_run_id
                                for s in (step_of(c) for c in codes)
                                if s.gate_flow_run_id
                            ]
                        )
                    )
                    == len(codes)
                ),
                300,
                "every planning gate suspended",
            )
            # resume half of them, then kill the runner while their next stage is running
            _approve_paused(codes[:2], rng, handled)
            time.sleep(1.0)
        finally:
            stop_process_group(runner, signal.SIGKILL)
        mid_stage = [
            c
            for c in codes[:2]
            if step_of(c).stage is Stage.PLANNING or step_of(c).action == "stage"
        ]

        runner = spawn_runner(settings, prefect_api, only="lifecycle", log_name="runner-2.log")
        try:
            wait_for_deployments([LIFECYCLE_DEPLOYMENT], runner)
            deadline = time.monotonic() + 900
            last_reconcile = 0.0
            while time.monotonic() < deadline:
                if time.monotonic() - last_reconcile > 5:
                    reconcile(get_engine(), stuck_after=dt.timedelta(seconds=8))
                    last_reconcile = time.monotonic()
                steps = [step_of(c) for c in codes]
                at_gate = [s for s in steps if s.stage is UNTIL and s.action == "gate"]
                # suspended: the stage flow has published (and delivered) all it wrote
                if len(at_gate) == len(codes) and len(
                    paused_runs([s.gate_flow_run_id for s in at_gate if s.gate_flow_run_id])
                ) == len(codes):
                    break
                _approve_paused([s.code for s in steps if s.stage is not UNTIL], rng, handled)
                time.sleep(0.5)
            else:
                raise AssertionError(
                    f"not at the {UNTIL} gate: {[(s.code, s.stage, s.action) for s in steps]}"
                )
        finally:
            stop_process_group(runner)
        from notifications.dispatch import deliver_pending

        deliver_pending(get_engine(), settings.mail_config())  # what the scheduled dispatcher does

        expected = [
            (None, Stage.PLANNING),
            (Stage.PLANNING, Stage.DEVELOPMENT),
            (Stage.DEVELOPMENT, Stage.DEPLOYMENT),
        ]
        with unit_of_work() as session:
            for code in codes:
                history = session.execute(
                    select(StageHistory.from_stage, StageHistory.to_stage)
                    .join(Innovation, Innovation.id == StageHistory.innovation_id)
                    .where(Innovation.code == code)
                    .order_by(StageHistory.id)
                ).all()
                assert [tuple(h) for h in history] == expected, (code, mid_stage)
                work = session.scalar(
                    select(func.count(StageWork.id))
                    .join(Innovation, Innovation.id == StageWork.innovation_id)
                    .where(Innovation.code == code)
                )
                assert work == len(expected), code
            per_innovation = session.execute(
                select(Innovation.code, OutboxMessage.template, func.count(OutboxMessage.id))
                .join(Innovation, Innovation.id == OutboxMessage.innovation_id)
                .group_by(Innovation.code, OutboxMessage.template)
            ).all()
            unsent = session.scalar(
                select(func.count(OutboxMessage.id)).where(OutboxMessage.status != "sent")
            )
        counts: dict[str, dict[str, int]] = {}
        for code, template, n in per_innovation:
            counts.setdefault(code, {})[template] = n
        # the same emails for every innovation: nothing doubled, nothing lost
        assert all(c == counts[codes[-1]] for c in counts.values()), counts
        assert counts[codes[-1]]["stage_entered"] > 0 and counts[codes[-1]]["gate_decided"] > 0
        assert unsent == 0
