"""Tasks of the lifecycle: stage work, gate decisions, publishing after commit.

Each task takes ids, reloads in its own transaction and returns a small typed result.
Tasks use ``NO_CACHE``: the database decides what is done, never Prefect's cache.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from domain import gates, queries
from domain.changes import Committed
from domain.enums import GateDecisionKind, Language, Stage
from domain.errors import GateNotOpenError
from domain.schemas import ScorecardIn
from domain.stages import StageParams, complete_stage
from kinanti.db import get_engine, unit_of_work
from kinanti.publish import PublishReport, publish
from kinanti.settings import get_settings


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
class GateDecided:
    """What ``decide-gate`` did: accepted, refused (with its typed reason), or stale."""

    accepted: bool
    stale: bool
    decision: GateDecisionKind
    decider: str
    committed: Committed
    refusal: str | None = None
    refusal_code: str | None = None


@task(name="complete-stage", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def complete_stage_work(innovation_code: str, round_: int, flow_run_id: str) -> StageDone:
    """Do the stage's work, mark it done and open its gate, in one transaction."""
    settings = get_settings()
    with unit_of_work(get_engine()) as session:
        innovation = queries.get_innovation(session, innovation_code, for_update=True)
        completion = complete_stage(
            session,
            innovation,
            round_,
            StageParams(
                gate_timeout=dt.timedelta(days=settings.gate_timeout_days),
                flow_run_id=flow_run_id,
                today=dt.datetime.now(settings.zone).date(),
                zone=settings.zone,
                gate_assignment=settings.gate_assignment,
            ),
        )
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
            return GateDecided(
                False, True, decision, "-", Committed(), exc.message(Language.ID), exc.code
            )
        return GateDecided(
            accepted=outcome.accepted,
            stale=False,
            decision=decision,
            decider=outcome.decider,
            committed=outcome.result.committed(session),
            refusal=outcome.refusal.message(Language.ID) if outcome.refusal else None,
            refusal_code=outcome.refusal_code,
        )


@task(name="publish-change", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[2, 10, 30])
def publish_change(committed: Committed) -> PublishReport:
    """After commit: announce the change's events, deliver its emails, start its hand-offs
    (``kinanti.publish``); a failed step makes the task retry (every step is idempotent)."""
    return publish(committed, strict=True)
