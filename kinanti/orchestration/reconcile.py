"""The reconciler: make the database's intentions true in Prefect.

- announces domain events a crash left unannounced;
- starts hand-offs recorded but never started;
- reschedules runs a crashed runner left claimed (Pending) and replaces runs left Running
  with no process, or ended while their innovation still had work to do;
- reports gates whose wait ran out (they stay open in the database; `kinanti gates reopen`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import Engine, func, select

from domain import changes, progress, queries
from domain.changes import ChangeResult
from domain.enums import StageStartStatus
from domain.models import Innovation, StageStart, utcnow
from kinanti.db import unit_of_work
from kinanti.orchestration.handoff import StartedRun
from kinanti.orchestration.runs import live_run_at_gate
from kinanti.publish import Sweep, publish


@dataclass
class ReconcileReport:
    announced: int = 0
    started: list[StartedRun] = field(default_factory=list)
    rescheduled: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    expired_gates: list[str] = field(default_factory=list)
    closed: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "announced": self.announced,
            "started": [s.innovation_code for s in self.started],
            "rescheduled": self.rescheduled,
            "replaced": self.replaced,
            "expired_gates": self.expired_gates,
            "closed": self.closed,
        }


def reconcile(engine: Engine, *, stuck_after: dt.timedelta) -> ReconcileReport:
    """One pass of the reconciler (safe to run at any time, by several processes)."""
    from prefect import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Crashed, Scheduled

    report = ReconcileReport()
    replaced = ChangeResult()
    with unit_of_work(engine) as session:
        latest = (
            select(func.max(StageStart.id))
            .where(StageStart.status == StageStartStatus.STARTED)
            .group_by(StageStart.innovation_id)
        )
        rows = session.execute(
            select(StageStart.id, StageStart.flow_run_id, Innovation.code)
            .join(Innovation, Innovation.id == StageStart.innovation_id)
            .where(StageStart.id.in_(latest))
        ).all()
    now = dt.datetime.now(dt.UTC)
    with get_client(sync_client=True) as client:
        for row_id, run_id, code in rows:
            try:
                run = client.read_flow_run(UUID(run_id)) if run_id else None
            except ObjectNotFound:
                run = None
            with unit_of_work(engine) as session:
                step = progress.next_step(session, code)
            run_state = run.state if run is not None else None
            if run_state is None or run_state.is_final():
                waits = step.action == "gate" and live_run_at_gate(
                    client, step.gate_flow_run_id, other_than=run_id
                )
                if step.settled or waits:
                    _close(engine, row_id)
                    report.closed += 1
                else:
                    _replace(engine, code, row_id, replaced)
                    report.replaced.append(code)
                continue
            age = now - (run_state.timestamp or now)
            if run_state.type is StateType.PAUSED:
                timeout = run_state.state_details.pause_timeout
                if timeout is not None and timeout < now:
                    report.expired_gates.append(code)
                continue
            if age < stuck_after:
                continue
            if run_state.type is StateType.PENDING:
                client.set_flow_run_state(UUID(run_id), Scheduled(), force=True)
                report.rescheduled.append(code)
            elif run_state.type is StateType.RUNNING:
                client.set_flow_run_state(
                    UUID(run_id),
                    Crashed(message="No process is running this flow run (Kinanti reconciler)"),
                    force=True,
                )
                _replace(engine, code, row_id, replaced)
                report.replaced.append(code)
    with unit_of_work(engine) as session:
        committed = replaced.committed(session)
    published = publish(committed, engine=engine, sweep=Sweep.EVENTS | Sweep.HANDOFFS)
    report.announced, report.started = published.announced, published.started
    return report


def _close(engine: Engine, row_id: int) -> None:
    with unit_of_work(engine) as session:
        row = session.get_one(StageStart, row_id)
        row.status = StageStartStatus.DONE
        row.done_at = utcnow()


def _replace(engine: Engine, code: str, row_id: int, result: ChangeResult) -> None:
    """Retire the row of a dead run and record a new hand-off for the same stage."""
    with unit_of_work(engine) as session:
        row = session.get_one(StageStart, row_id, with_for_update=True)
        if row.status is not StageStartStatus.STARTED:
            return
        row.status = StageStartStatus.DONE
        row.done_at = utcnow()
        innovation = queries.get_innovation(session, code, for_update=True)
        changes.request_stage_start(session, innovation, result)
