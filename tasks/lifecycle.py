"""Tasks of the lifecycle: stage work, gate decisions, announcing events, gate ownership."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import StateType

from domain import services
from domain.enums import GateDecisionKind, Stage
from domain.schemas import ScorecardIn
from domain.stages import StageParams, complete_stage
from kinanti.db import get_engine, unit_of_work
from kinanti.engine import announce
from kinanti.settings import get_settings

LIVE_STATES = {
    StateType.SCHEDULED,
    StateType.PENDING,
    StateType.RUNNING,
    StateType.PAUSED,
    StateType.CANCELLING,
}


@task(name="complete-stage", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def complete_stage_work(innovation_code: str, round_: int, flow_run_id: str) -> dict[str, Any]:
    """Do the stage's work, mark it done and open its gate, in one transaction."""
    settings = get_settings()
    with unit_of_work(get_engine()) as session:
        innovation = services.get_innovation(session, innovation_code, for_update=True)
        completion = complete_stage(
            session,
            innovation,
            round_,
            StageParams(
                gate_timeout=dt.timedelta(days=settings.gate_timeout_days),
                flow_run_id=flow_run_id,
                today=dt.datetime.now(dt.UTC).date(),
            ),
        )
        event_ids = [e.id for e in completion.result.events]
    return {
        "stage": innovation.stage.value,
        "round": round_,
        "summary": completion.summary,
        "gate_id": completion.gate_id,
        "auto_revised": completion.auto_revised,
        "already_done": completion.already_done,
        "event_ids": event_ids,
        "outbox_ids": completion.result.outbox_ids,
    }


@task(name="decide-gate", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def apply_gate_decision(
    gate_id: int,
    decision: str,
    reviewer_email: str,
    reason: str,
    channel: str,
    flow_run_id: str,
    scorecard: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record a gate decision given in the UI or the CLI; refused decisions change nothing."""
    from domain.errors import GateNotOpenError
    from domain.models import GateRequest

    with unit_of_work(get_engine()) as session:
        gate = session.get_one(GateRequest, gate_id)
        innovation = session.get_one(services.Innovation, gate.innovation_id)
        event_ids: list[int] = []
        if scorecard and gate.stage is Stage.DEVELOPMENT:
            _, filed = services.record_evaluation(
                session,
                innovation,
                ScorecardIn.model_validate(scorecard),
                evaluator=reviewer_email,
                stage=Stage.DEVELOPMENT,
            )
            session.flush()
            event_ids += [e.id for e in filed.events]
        try:
            outcome = services.decide_gate(
                session,
                gate_id,
                decision=GateDecisionKind(decision),
                reviewer_email=reviewer_email,
                reason=reason,
                channel=channel,
                flow_run_id=flow_run_id,
            )
        except GateNotOpenError as exc:
            return {
                "accepted": False,
                "refusal": str(exc),
                "stale": True,
                "event_ids": [],
                "outbox_ids": [],
            }
        session.flush()
        event_ids += [e.id for e in outcome.result.events]
        return {
            "accepted": outcome.accepted,
            "refusal": outcome.refusal,
            "stale": False,
            "stage": outcome.gate.stage.value,
            "decision": decision,
            "event_ids": event_ids,
            "outbox_ids": outcome.result.outbox_ids,
        }


@task(name="publish-change", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[2, 10, 30])
def publish_change(
    innovation_code: str, event_ids: list[int], outbox_ids: list[int]
) -> dict[str, int]:
    """After commit: emit the innovation's recorded domain events (this change's and any
    earlier one left unannounced, e.g. its submission) to Prefect's event feed, and deliver
    the emails the change wrote (the scheduled dispatcher catches what is left)."""
    announced = announce.announce(get_engine(), innovation_code=innovation_code)
    if not outbox_ids:
        return {"announced": announced, "sent": 0}
    from notifications.dispatch import deliver_pending

    report = deliver_pending(get_engine(), get_settings().mail_config(), ids=outbox_ids)
    return {"announced": announced, "sent": report.sent, "failed": report.failed}


def gate_waits_elsewhere(gate_flow_run_id: str | None, my_flow_run_id: str) -> str | None:
    """The id of another live flow run already waiting at this gate, else ``None``.

    A plain call (asks the API only when the gate names another run)."""
    if not gate_flow_run_id or gate_flow_run_id == my_flow_run_id:
        return None
    from uuid import UUID

    from prefect.context import SyncClientContext
    from prefect.exceptions import ObjectNotFound

    with SyncClientContext.get_or_create() as context:
        try:
            other = context.client.read_flow_run(UUID(gate_flow_run_id))
        except ObjectNotFound:
            return None
    if other.state is None or other.state.type not in LIVE_STATES:
        return None
    details = other.state.state_details
    expired = details.pause_timeout is not None and details.pause_timeout < dt.datetime.now(dt.UTC)
    if other.state.type is StateType.PAUSED and expired:
        return None  # its wait ran out: this run reopens the gate
    return gate_flow_run_id


def recover_decision(previous_run_id: str, pause_key: str) -> dict[str, Any] | None:
    """The decision a reviewer gave to a run that died before recording it, if any.

    Prefect keeps a resumed run's input on that run (key ``suspended-<pause key>-response``),
    so the run that takes over the gate applies it instead of asking again.
    """
    from uuid import UUID

    from prefect.input.actions import read_flow_run_input
    from prefect.input.run_input import keyset_from_base_key

    keyset = keyset_from_base_key(f"suspended-{pause_key}")
    value = read_flow_run_input(key=keyset["response"], flow_run_id=UUID(previous_run_id))
    return value if isinstance(value, dict) else None


def tag_flow_run(flow_run_id: str, tags: list[str]) -> None:
    """Tag a flow run after it started (a stage flow: unit and stage, for filtering).

    Not done with ``prefect.tags()``: tags in that context reach the run's task runs too,
    and a tagged task run acquires tag concurrency slots (one API round trip each).
    """
    from uuid import UUID

    from prefect.context import SyncClientContext

    with SyncClientContext.get_or_create() as context:  # the run's own client
        context.client.update_flow_run(UUID(flow_run_id), tags=tags)
