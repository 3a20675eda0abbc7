"""Changes to one innovation besides its gates: stage work done, evaluations, ending it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import lifecycle
from domain.changes import ChangeResult, finish_stage_starts, record_history
from domain.enums import (
    GateStatus,
    Outcome,
    Stage,
)
from domain.errors import (
    ValidationError,
)
from domain.models import (
    Evaluation,
    GateRequest,
    Innovation,
    StageWork,
    utcnow,
)
from domain.queries import get_person, stage_work_done
from domain.schemas import ScorecardIn


def record_stage_work(
    session: Session,
    innovation: Innovation,
    round_: int,
    summary: dict[str, Any],
    flow_run_id: str | None,
) -> ChangeResult:
    """Mark this stage's work done for ``round_`` (idempotent) and announce it."""
    result = ChangeResult()
    if stage_work_done(session, innovation, round_) is not None:
        return result
    session.add(
        StageWork(
            innovation_id=innovation.id,
            stage=innovation.stage,
            round=round_,
            summary=summary,
            flow_run_id=flow_run_id,
        )
    )
    result.event(
        session,
        "kinanti.innovation.stage-work-done",
        innovation,
        {"stage": innovation.stage.value, "round": round_, **summary},
        flow_run_id,
    )
    return result


def end_innovation(
    session: Session, innovation: Innovation, outcome: Outcome, *, actor: str, reason: str
) -> ChangeResult:
    """Withdraw or discontinue an innovation; its open gate closes without a decision."""
    if not reason.strip():
        raise ValidationError(code="innovation.reason_required", outcome=outcome.value)
    lifecycle.check_outcome(innovation.stage, outcome, innovation.outcome)
    innovation.outcome = outcome
    for gate in session.scalars(
        select(GateRequest).where(
            GateRequest.innovation_id == innovation.id, GateRequest.status == GateStatus.OPEN
        )
    ):
        gate.status = GateStatus.CLOSED
        gate.reason = reason
        gate.decided_at = utcnow()
    finish_stage_starts(session, innovation, innovation.stage)
    record_history(
        session,
        innovation,
        from_stage=innovation.stage,
        to_stage=innovation.stage,
        outcome=outcome,
        actor=actor,
        reason=reason,
        flow_run_id=None,
    )
    result = ChangeResult()
    result.event(
        session,
        "kinanti.innovation.ended",
        innovation,
        {"stage": innovation.stage.value, "outcome": outcome.value, "reason": reason},
    )
    return result


def record_evaluation(
    session: Session,
    innovation: Innovation,
    scorecard: ScorecardIn,
    *,
    evaluator: str,
    stage: Stage | None = None,
) -> tuple[Evaluation, ChangeResult]:
    """File a scorecard (five PP 38/2017 criteria) for the innovation's current stage."""
    get_person(session, evaluator)
    scores = scorecard.model_dump(exclude={"notes"})
    total = Decimal(sum(scores.values())) / Decimal(len(scores))
    evaluation = Evaluation(
        innovation_id=innovation.id,
        stage=stage or innovation.stage,
        evaluator=evaluator,
        scores=scores,
        total=total.quantize(Decimal("0.01")),
        recommendation="lanjut" if total >= 3 else "perbaiki",
        notes=scorecard.notes,
    )
    session.add(evaluation)
    result = ChangeResult()
    result.event(
        session,
        "kinanti.innovation.evaluated",
        innovation,
        {
            "stage": evaluation.stage.value,
            "total": str(evaluation.total),
            "evaluator": evaluator,
        },
    )
    return evaluation, result
