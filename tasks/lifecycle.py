"""Tasks of the lifecycle: stage work, gate decisions, publishing after commit.

Each task takes ids, reloads in its own transaction and returns a small typed result.
Tasks use ``NO_CACHE``: the database decides what is done, never Prefect's cache.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.orm import Session

from domain import gates, queries
from domain.changes import Committed
from domain.enums import GateDecisionKind, Language, Stage
from domain.errors import GateNotOpenError, KinantiError
from domain.schemas import ScorecardIn
from domain.stages import StageParams, complete_stage
from kinanti.db import get_engine, unit_of_work
from kinanti.publish import PublishReport, publish
from kinanti.settings import get_settings

if TYPE_CHECKING:
    from domain.adoptions import AdoptionDecisionOutcome


@dataclass(frozen=True)
class StageDone:
    """What ``complete-stage`` did for one round of a stage."""

    stage: Stage
    round: int
    summary: dict[str, Any]
    gate_id: int | None
    auto_revised: bool
    already_done: bool
    committed: Committed


@dataclass(frozen=True)
class Decided:
    """What a decision task did at its gate: accepted, refused (with its typed reason), or
    stale (decided meanwhile through another channel: nothing changed)."""

    accepted: bool
    stale: bool
    decider: str
    committed: Committed
    refusal: str | None = None
    refusal_code: str | None = None

    @classmethod
    def stale_by(cls, exc: KinantiError, **extra: Any) -> Self:
        """The gate was decided meanwhile (``exc`` says so): nothing done here."""
        return cls(False, True, "-", Committed(), exc.message(Language.ID), exc.code, **extra)

    @classmethod
    def of(
        cls,
        outcome: gates.DecisionOutcome | AdoptionDecisionOutcome,
        session: Session,
        **extra: Any,
    ) -> Self:
        """What the domain's ``outcome`` (accepted and applied, or refused) did in ``session``."""
        refusal = outcome.refusal
        return cls(
            accepted=outcome.accepted,
            stale=False,
            decider=outcome.decider,
            committed=outcome.result.committed(session),
            refusal=refusal.message(Language.ID) if refusal else None,
            refusal_code=refusal.code if refusal else None,
            **extra,
        )


@dataclass(frozen=True)
class GateDecided(Decided):
    """What ``decide-gate`` did (``Decided``), and the decision it was given."""

    decision: GateDecisionKind = field(kw_only=True)


def stage_params(flow_run_id: str | None) -> StageParams:
    """What the stage work of a flow run needs from the settings (gate wait, today, zone)."""
    settings = get_settings()
    return StageParams(
        gate_timeout=dt.timedelta(days=settings.gate_timeout_days),
        flow_run_id=flow_run_id,
        today=dt.datetime.now(settings.zone).date(),
        zone=settings.zone,
        gate_assignment=settings.gate_assignment,
    )


@task(name="complete-stage", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def complete_stage_work(innovation_code: str, round_: int, flow_run_id: str) -> StageDone:
    """Do the stage's work, mark it done and open its gate, in one transaction."""
    with unit_of_work(get_engine()) as session:
        innovation = queries.get_innovation(session, innovation_code, for_update=True)
        completion = complete_stage(session, innovation, round_, stage_params(flow_run_id))
        return StageDone(
            stage=innovation.stage,
            round=round_,
            summary=completion.summary,
            gate_id=completion.gate_id,
            auto_revised=completion.auto_revised,
            already_done=completion.already_done,
            committed=completion.result.committed(session),
        )


@task(name="decide-gate", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def apply_gate_decision(
    gate_id: int,
    decision: GateDecisionKind,
    reason: str,
    proof: str | None,
    flow_run_id: str,
    scorecard: dict[str, int] | None = None,
) -> GateDecided:
    """Apply the decision a resumed gate received. Its decider is proven by ``proof`` (a
    one-time code from the portal or an operator's CLI), never by a typed address; a
    refused decision is recorded and changes nothing."""
    command = gates.DecisionCommand(
        decision,
        reason=reason,
        channel="prefect",
        proof=proof or "",
        scorecard=ScorecardIn.parse(scorecard) if scorecard else None,
        flow_run_id=flow_run_id,
    )
    with unit_of_work(get_engine()) as session:
        try:
            outcome = gates.decide_gate(session, gate_id, command)
        except GateNotOpenError as exc:  # decided meanwhile (another channel): stale
            return GateDecided.stale_by(exc, decision=decision)
        return GateDecided.of(outcome, session, decision=decision)


@task(name="publish-change", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[2, 10, 30])
def publish_change(committed: Committed) -> PublishReport:
    """After commit: announce the change's events, deliver its emails, start its hand-offs
    (``kinanti.publish``); a failed step makes the task retry (every step is idempotent)."""
    return publish(committed, strict=True)
