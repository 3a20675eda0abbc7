"""The reconciler: make the database's intentions true in Prefect, for the lifecycle's
runs and the adoptions' runs alike.

- announces domain events a crash left unannounced;
- starts hand-offs recorded but never started;
- reschedules runs a crashed runner left claimed (Pending) and replaces runs left Running
  with no process, or ended while their innovation still had work to do;
- reports gates whose wait ran out (they stay open in the database; `kinanti gates reopen`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from domain import adoptions, changes, progress
from domain.changes import ChangeResult
from domain.enums import StageStartStatus
from domain.models import (
    Adoption,
    AdoptionStart,
    HandOffMixin,
    Innovation,
    StageStart,
    utcnow,
)
from kinanti.db import unit_of_work
from kinanti.orchestration.handoff import StartedRun, adoption_label
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


@dataclass(frozen=True)
class _Runs:
    """One kind of durable hand-off the reconciler watches: the lifecycle's ``stage_starts``
    or the adoptions' ``adoption_starts``."""

    model: type[StageStart] | type[AdoptionStart]
    owner: Any  # the column naming what the row is for (innovation, adoption)
    #: (label, settled?, the run the database says waits at its gate) of an owner id
    where: Callable[[Session, int], tuple[str, bool, str | None]]
    #: record a new hand-off for the owner (its run is dead) into the change result
    again: Callable[[Session, int, ChangeResult], None]


def _innovation_at(session: Session, innovation_id: int) -> tuple[str, bool, str | None]:
    code = session.get_one(Innovation, innovation_id).code
    step = progress.next_step(session, code)
    return code, step.settled, step.gate_flow_run_id if step.action == "gate" else None


def _innovation_again(session: Session, innovation_id: int, result: ChangeResult) -> None:
    innovation = session.get_one(Innovation, innovation_id, with_for_update=True)
    changes.request_stage_start(session, innovation, result)


def _adoption_at(session: Session, adoption_id: int) -> tuple[str, bool, str | None]:
    step = adoptions.next_adoption_step(session, adoption_id)
    waiting = step.gate_flow_run_id if step.action == "gate" else None
    return adoption_label(adoption_id), step.settled, waiting


def _adoption_again(session: Session, adoption_id: int, result: ChangeResult) -> None:
    adoption = session.get_one(Adoption, adoption_id, with_for_update=True)
    changes.request_adoption_start(session, adoption, result)


_KINDS = (
    _Runs(StageStart, StageStart.innovation_id, _innovation_at, _innovation_again),
    _Runs(AdoptionStart, AdoptionStart.adoption_id, _adoption_at, _adoption_again),
)


def reconcile(engine: Engine, *, stuck_after: dt.timedelta) -> ReconcileReport:
    """One pass of the reconciler (safe to run at any time, by several processes)."""
    from prefect import get_client

    report = ReconcileReport()
    replaced = ChangeResult()
    with get_client(sync_client=True) as client:
        for kind in _KINDS:
            _reconcile_kind(engine, client, kind, stuck_after, report, replaced)
    with unit_of_work(engine) as session:
        committed = replaced.committed(session)
    published = publish(committed, engine=engine, sweep=Sweep.EVENTS | Sweep.HANDOFFS)
    report.announced, report.started = published.announced, published.started
    return report


def _reconcile_kind(
    engine: Engine,
    client: Any,
    kind: _Runs,
    stuck_after: dt.timedelta,
    report: ReconcileReport,
    replaced: ChangeResult,
) -> None:
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Crashed, Scheduled

    model = kind.model
    with unit_of_work(engine) as session:
        latest = (
            select(func.max(model.id))
            .where(model.status == StageStartStatus.STARTED)
            .group_by(kind.owner)
        )
        rows = session.execute(
            select(model.id, model.flow_run_id, kind.owner).where(model.id.in_(latest))
        ).all()
    now = dt.datetime.now(dt.UTC)
    for row_id, run_id, owner_id in rows:
        try:
            run = client.read_flow_run(UUID(run_id)) if run_id else None
        except ObjectNotFound:
            run = None
        with unit_of_work(engine) as session:
            label, settled, gate_run = kind.where(session, owner_id)
        run_state = run.state if run is not None else None
        if run_state is None or run_state.is_final():
            waits = gate_run is not None and live_run_at_gate(client, gate_run, other_than=run_id)
            if settled or waits:
                _close(engine, model, row_id)
                report.closed += 1
            else:
                _replace(engine, kind, owner_id, row_id, replaced)
                report.replaced.append(label)
            continue
        age = now - (run_state.timestamp or now)
        if run_state.type is StateType.PAUSED:
            timeout = run_state.state_details.pause_timeout
            if timeout is not None and timeout < now:
                report.expired_gates.append(label)
            continue
        if age < stuck_after:
            continue
        if run_state.type is StateType.PENDING:
            client.set_flow_run_state(UUID(run_id), Scheduled(), force=True)
            report.rescheduled.append(label)
        elif run_state.type is StateType.RUNNING:
            client.set_flow_run_state(
                UUID(run_id),
                Crashed(message="No process is running this flow run (Kinanti reconciler)"),
                force=True,
            )
            _replace(engine, kind, owner_id, row_id, replaced)
            report.replaced.append(label)


def _close(engine: Engine, model: type[StageStart] | type[AdoptionStart], row_id: int) -> None:
    with unit_of_work(engine) as session:
        row = session.get_one(model, row_id)
        assert isinstance(row, HandOffMixin)
        row.status = StageStartStatus.DONE
        row.done_at = utcnow()


def _replace(engine: Engine, kind: _Runs, owner_id: int, row_id: int, result: ChangeResult) -> None:
    """Retire the row of a dead run and record a new hand-off for the same owner."""
    with unit_of_work(engine) as session:
        row = session.get_one(kind.model, row_id, with_for_update=True)
        assert isinstance(row, HandOffMixin)
        if row.status is not StageStartStatus.STARTED:
            return
        row.status = StageStartStatus.DONE
        row.done_at = utcnow()
        kind.again(session, owner_id, result)
