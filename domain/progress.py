"""Where an innovation's lifecycle stands, read from the database (the source of truth).

The lifecycle flow asks ``next_step`` at every turn, so a flow body re-executed from the top
(after a resume, a retry or a crash) always continues from what the database says. Each
function takes the caller's session; none commits.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from domain import queries
from domain.enums import GateStatus, Outcome, Stage, StageStartStatus
from domain.models import GateRequest, Innovation, StageStart, Unit, utcnow

Action = Literal["stage", "gate", "waiting_for_unit", "ended", "finished"]


@dataclass(frozen=True)
class FlowStep:
    """What a flow's next step says (the lifecycle's ``Step``, an adoption's
    ``domain.adoptions.AdoptionStep``): its ``action`` and, at a gate, how often it was
    decided and which flow run waits there."""

    action: str
    _: KW_ONLY
    gate_attempts: int = 0
    gate_flow_run_id: str | None = None

    #: the actions that leave a run nothing to do now (ended, finished, or waiting for people)
    SETTLED: ClassVar[frozenset[str]] = frozenset({"ended", "finished"})

    @property
    def settled(self) -> bool:
        """Nothing for a run to do now (``SETTLED``)."""
        return self.action in self.SETTLED


@dataclass(frozen=True)
class Step(FlowStep):
    """The next thing the lifecycle run must do for one innovation."""

    SETTLED = FlowStep.SETTLED | {"waiting_for_unit"}

    action: Action
    code: str
    title: str
    unit_code: str
    unit_name: str
    stage: Stage
    round: int = 1
    gate_id: int | None = None
    outcome: Outcome | None = None


def next_step(session: Session, code: str) -> Step:
    """The next thing the lifecycle run must do for innovation ``code``."""
    innovation = queries.get_innovation(session, code)
    unit = session.get_one(Unit, innovation.unit_id)
    base: dict[str, Any] = {
        "code": innovation.code,
        "title": innovation.title,
        "unit_code": unit.code,
        "unit_name": unit.name,
        "stage": innovation.stage,
    }
    if innovation.outcome is not None:
        return Step("ended", outcome=innovation.outcome, **base)
    if innovation.revision_requested:
        return Step("waiting_for_unit", **base)
    gate = queries.current_gate(session, innovation)
    if innovation.stage is Stage.REPLICATION:
        done = queries.stage_work_done(session, innovation, 1)
        return Step("finished" if done else "stage", **base)
    if gate is None:
        return Step("stage", round=1, **base)
    if gate.status is GateStatus.REVISE:
        return Step("stage", round=gate.round + 1, **base)
    if gate.status is GateStatus.OPEN:
        work = queries.stage_work_done(session, innovation, gate.round)
        if work is None:  # gate opened by an older version / by hand: do the work first
            return Step("stage", round=gate.round, **base)
        return Step(
            "gate",
            round=gate.round,
            gate_id=gate.id,
            gate_attempts=gate.attempts,
            gate_flow_run_id=gate.flow_run_id,
            **base,
        )
    # approved/rejected gates move the stage or end the innovation; closed ends it
    return Step("ended", outcome=innovation.outcome, **base)


def claim_gate(session: Session, gate_id: int, flow_run_id: str) -> None:
    """Record that ``flow_run_id`` now waits at this open gate."""
    session.execute(
        update(GateRequest)
        .where(GateRequest.id == gate_id, GateRequest.status == GateStatus.OPEN)
        .values(flow_run_id=flow_run_id)
        .execution_options(synchronize_session=False)
    )


def claim_stage_start(session: Session, code: str, flow_run_id: str) -> None:
    """A run started by a trigger or by hand takes over the innovation's pending hand-off."""
    innovation_id = session.scalar(select(Innovation.id).where(Innovation.code == code))
    session.execute(
        update(StageStart)
        .where(
            StageStart.innovation_id == innovation_id,
            StageStart.status == StageStartStatus.PENDING,
        )
        .values(status=StageStartStatus.STARTED, flow_run_id=flow_run_id, started_at=utcnow())
        .execution_options(synchronize_session=False)
    )
