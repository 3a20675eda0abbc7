"""The lifecycle flow: one run carries an innovation through its stages and gates.

Each stage's work runs as its own flow (``planning``, ``development``, ``deployment``,
``reporting``, ``replication``; a subflow run named after the innovation and tagged with
unit and stage). At the end of each stage the run suspends at the gate
(``suspend_flow_run(wait_for_input=GateDecision)``): no process is kept while a human
decides; the Prefect UI shows a resume form; ``kinanti decide`` sends the same input.

On resume Prefect re-executes this flow body from the top. The body is written for that:
every turn asks the database where the innovation stands (``next-step``), stage work is
marked done in the database, and each suspension has a key derived from the gate's id and
its decision attempts, so a replayed suspension returns the input already given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from prefect import Flow, flow, get_run_logger
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import Field

from domain.enums import GateDecisionKind, Stage
from kinanti.db import get_engine
from kinanti.orchestration import state
from kinanti.orchestration.gates import describe_gate
from kinanti.settings import get_settings
from tasks.lifecycle import (
    apply_gate_decision,
    complete_stage_work,
    gate_waits_elsewhere,
    publish_change,
    recover_decision,
    tag_flow_run,
)

MAX_TURNS = 40


class GateDecision(RunInput):
    """A reviewer's decision at a gate (the Prefect resume form; `kinanti decide` sends it)."""

    decision: GateDecisionKind = Field(description="approve / revise / reject")
    reason: str = Field("", max_length=2000, description="Alasan (required for revise and reject)")
    reviewer_email: str = Field(
        description="Email Anda (your email); you must hold a reviewer role at Brida"
    )
    channel: str = Field("ui", description="Where the decision was given (ui or cli)")
    renewal: int | None = Field(None, ge=1, le=5, description="Scorecard: kebaruan (1-5)")
    benefit: int | None = Field(None, ge=1, le=5, description="Scorecard: manfaat (1-5)")
    no_burden: int | None = Field(None, ge=1, le=5, description="Scorecard: tidak membebani")
    authority: int | None = Field(None, ge=1, le=5, description="Scorecard: kewenangan daerah")
    replicable: int | None = Field(None, ge=1, le=5, description="Scorecard: dapat direplikasi")

    def scorecard(self) -> dict[str, int] | None:
        values = {
            name: getattr(self, name)
            for name in ("renewal", "benefit", "no_burden", "authority", "replicable")
        }
        return values if all(v is not None for v in values.values()) else None


def _after_change(innovation_code: str, result: dict[str, Any]) -> None:
    if result.get("event_ids") or result.get("outbox_ids"):
        publish_change(innovation_code, result["event_ids"], result["outbox_ids"])


def _stage_body(
    innovation_code: str, round_: int, lifecycle_run_id: str, unit_code: str
) -> dict[str, Any]:
    stage = flow_run.flow_name
    tag_flow_run(str(flow_run.id), ["kinanti", f"unit:{unit_code}", f"stage:{stage}"])
    result = complete_stage_work(innovation_code, round_, lifecycle_run_id)
    _after_change(innovation_code, result)
    logger = get_run_logger()
    if result["auto_revised"]:
        logger.warning(
            "Proposal %s belum lengkap; dikembalikan ke unit: %s",
            innovation_code,
            "; ".join(result["summary"].get("problems", [])),
        )
    elif result["gate_id"]:
        logger.info("Gerbang %s dibuka untuk %s", result["stage"], innovation_code)
    return {k: result[k] for k in ("stage", "round", "summary", "gate_id", "auto_revised")}


class StageFlow(Flow[..., dict[str, Any]]):
    """A stage flow. Its parameters are plain strings and numbers, so they are stored as they
    are: Prefect's default serializer goes through FastAPI's ``jsonable_encoder``, whose
    import alone costs a quarter of a CPU second in every flow process."""

    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        if all(isinstance(v, str | int | float | bool | None) for v in parameters.values()):
            return dict(parameters)
        return super().serialize_parameters(parameters)


def _stage_flow(fn: Callable[..., dict[str, Any]], name: str) -> StageFlow:
    return StageFlow(fn=fn, name=name, flow_run_name="{innovation_code} · {title} · " + name)


def _planning(
    innovation_code: str, round_: int, lifecycle_run_id: str, unit_code: str, title: str
) -> dict[str, Any]:
    """Perencanaan: check the proposal is complete, book a Klinik Kinanti consultation when
    asked, open the planning gate."""
    return _stage_body(innovation_code, round_, lifecycle_run_id, unit_code)


def _development(
    innovation_code: str, round_: int, lifecycle_run_id: str, unit_code: str, title: str
) -> dict[str, Any]:
    """Pengembangan: record the trial (uji coba) start, open the gate that needs the trial's
    evaluation scorecard."""
    return _stage_body(innovation_code, round_, lifecycle_run_id, unit_code)


def _deployment(
    innovation_code: str, round_: int, lifecycle_run_id: str, unit_code: str, title: str
) -> dict[str, Any]:
    """Penerapan: record the implementation start, the adopting act and the evidence so far,
    open the gate."""
    return _stage_body(innovation_code, round_, lifecycle_run_id, unit_code)


def _reporting(
    innovation_code: str, round_: int, lifecycle_run_id: str, unit_code: str, title: str
) -> dict[str, Any]:
    """Pelaporan: assemble the indicator evidence and the innovation's SID score for the
    year, open the final gate (head of Brida)."""
    return _stage_body(innovation_code, round_, lifecycle_run_id, unit_code)


def _replication(
    innovation_code: str, round_: int, lifecycle_run_id: str, unit_code: str, title: str
) -> dict[str, Any]:
    """Replikasi: mark the innovation replicable and open it for adoption by other units."""
    return _stage_body(innovation_code, round_, lifecycle_run_id, unit_code)


planning = _stage_flow(_planning, "planning")
development = _stage_flow(_development, "development")
deployment = _stage_flow(_deployment, "deployment")
reporting = _stage_flow(_reporting, "reporting")
replication = _stage_flow(_replication, "replication")

STAGE_FLOWS = {
    Stage.PLANNING: planning,
    Stage.DEVELOPMENT: development,
    Stage.DEPLOYMENT: deployment,
    Stage.REPORTING: reporting,
    Stage.REPLICATION: replication,
}


@flow(name="innovation-lifecycle", persist_result=True)
def innovation_lifecycle(innovation_code: str) -> dict[str, Any]:
    """Carry one innovation through its stages, suspending at each gate for a human decision.

    Safe to run twice: the database decides what is left to do, and a second run finding a
    gate already waiting in another live run stops without touching it.
    """
    logger = get_run_logger()
    run_id = str(flow_run.id)
    turns: list[str] = []
    for turn in range(MAX_TURNS):
        # plain reads of the database (no task run: nothing to retry or cache)
        if turn == 0:
            state.claim_stage_start(get_engine(), innovation_code, run_id)
        step = state.next_step(get_engine(), innovation_code)
        if step.action in ("ended", "finished", "waiting_for_unit"):
            logger.info("%s: %s (%s)", innovation_code, step.action, step.stage.value)
            return {
                "innovation": innovation_code,
                "stage": step.stage.value,
                "status": step.action,
                "turns": turns,
            }
        if step.action == "stage":
            STAGE_FLOWS[step.stage](
                innovation_code, step.round, run_id, step.unit_code, step.title[:120]
            )
            turns.append(f"{step.stage.value}#{step.round}")
            continue
        assert step.gate_id is not None
        owner = gate_waits_elsewhere(step.gate_flow_run_id, run_id)
        if owner:
            logger.info("Gerbang %s sudah menunggu di flow run %s", step.stage.value, owner)
            return {
                "innovation": innovation_code,
                "stage": step.stage.value,
                "status": "gate-waits-elsewhere",
                "owner": owner,
                "turns": turns,
            }
        key = f"gate-{step.gate_id}-{step.gate_attempts}"
        previous = step.gate_flow_run_id if step.gate_flow_run_id != run_id else None
        recovered = recover_decision(previous, key) if previous else None
        state.claim_gate(get_engine(), step.gate_id, run_id)
        if recovered is not None:
            logger.warning("Keputusan yang diberikan ke flow run %s dipulihkan", previous)
            decision = GateDecision.model_validate(recovered)
        else:
            settings = get_settings()
            form = GateDecision.with_initial_data(
                description=describe_gate(get_engine(), step.gate_id),
                reason="",
                channel="ui",
            )
            decision = suspend_flow_run(
                wait_for_input=form,
                key=key,
                timeout=int(dt.timedelta(days=settings.gate_timeout_days).total_seconds()),
            )
        result = apply_gate_decision(
            step.gate_id,
            decision.decision.value,
            decision.reviewer_email,
            decision.reason,
            decision.channel,
            run_id,
            decision.scorecard(),
        )
        _after_change(innovation_code, result)
        if result["accepted"]:
            logger.info(
                "Gerbang %s: %s oleh %s",
                step.stage.value,
                decision.decision.value,
                decision.reviewer_email,
            )
            turns.append(f"gate:{step.stage.value}:{decision.decision.value}")
        else:
            logger.error("Keputusan ditolak, gerbang tetap menunggu: %s", result["refusal"])
            turns.append(f"gate:{step.stage.value}:refused")
    raise RuntimeError(f"{innovation_code}: lifecycle did not settle in {MAX_TURNS} turns")
