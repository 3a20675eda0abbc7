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

from typing import Any

from prefect import flow, get_run_logger
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import Field

from domain import progress
from domain.enums import GateDecisionKind, Stage
from flows.forms import (
    DecisionProofCode,
    DecisionReason,
    StageFlow,
    publish,
    stage_flow,
    wait_for_decision,
)
from kinanti.db import get_engine, unit_of_work
from kinanti.orchestration.gates import describe_gate
from kinanti.orchestration.runs import gate_waits_elsewhere, tag_flow_run
from tasks.lifecycle import apply_gate_decision, complete_stage_work

MAX_TURNS = 40


class GateDecision(RunInput):
    """A reviewer's decision at a gate: the Prefect resume form, and what the portal and
    `kinanti decide` send. Who decides is proven by ``proof``, a one-time decision code
    issued to a signed-in person; a typed email address proves nothing."""

    decision: GateDecisionKind = Field(description="approve / revise / reject")
    reason: DecisionReason = ""
    proof: DecisionProofCode = ""
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
        if all(v is not None for v in values.values()):
            return {k: int(v) for k, v in values.items()}
        return None


def run_stage(
    innovation_code: str, round_: int, lifecycle_run_id: str, unit_code: str, title: str
) -> dict[str, Any]:
    """One stage's work for one round (the same body for every stage; what each stage does
    is the domain's table ``domain.stages.STAGE_WORK``): do it, mark it done, open the gate,
    publish the change."""
    stage = flow_run.flow_name
    tag_flow_run(str(flow_run.id), ["kinanti", f"unit:{unit_code}", f"stage:{stage}"])
    done = complete_stage_work(innovation_code, round_, lifecycle_run_id)
    publish(done.committed)
    logger = get_run_logger()
    if done.auto_revised:
        logger.warning(
            "Proposal %s belum lengkap; dikembalikan ke unit: %s",
            innovation_code,
            "; ".join(done.summary.get("problems", [])),
        )
    elif done.gate_id:
        logger.info("Gerbang %s dibuka untuk %s", done.stage.value, innovation_code)
    return {
        "stage": done.stage.value,
        "round": done.round,
        "summary": done.summary,
        "gate_id": done.gate_id,
        "auto_revised": done.auto_revised,
    }


#: What each stage flow is for (its description in the Prefect UI).
STAGE_DESCRIPTIONS: dict[Stage, str] = {
    Stage.PLANNING: "Perencanaan: check the proposal is complete, book a Klinik Kinanti "
    "consultation when asked, open the planning gate.",
    Stage.DEVELOPMENT: "Pengembangan: record the trial (uji coba) start, open the gate that "
    "needs the trial's evaluation scorecard.",
    Stage.DEPLOYMENT: "Penerapan: record the implementation start, the adopting act and the "
    "evidence so far, open the gate.",
    Stage.REPORTING: "Pelaporan: assemble the indicator evidence and the innovation's SID "
    "score for the year, open the final gate (head of Brida).",
    Stage.REPLICATION: "Replikasi: mark the innovation replicable and open it for adoption.",
}

#: One flow per stage (``planning``, ``development``, ...), all running ``run_stage`` (each
#: under a function name of its own: ``flows.forms.stage_flow``).
STAGE_FLOWS: dict[Stage, StageFlow] = {
    stage: stage_flow(
        stage.value, description, run_stage, "{innovation_code} · {title} · " + stage.value
    )
    for stage, description in STAGE_DESCRIPTIONS.items()
}


def _step(code: str, run_id: str, *, first: bool) -> progress.Step:
    """Where the innovation stands (plain database reads: nothing to retry or cache)."""
    with unit_of_work(get_engine()) as session:
        if first:
            progress.claim_stage_start(session, code, run_id)
        return progress.next_step(session, code)


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
        step = _step(innovation_code, run_id, first=turn == 0)
        if step.settled:
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
        decision = _wait_at_gate(step, run_id)
        decided = apply_gate_decision(
            step.gate_id,
            decision.decision,
            decision.reason,
            decision.proof,
            run_id,
            decision.scorecard(),
        )
        publish(decided.committed)
        if decided.accepted:
            logger.info(
                "Gerbang %s: %s oleh %s", step.stage.value, decision.decision.value, decided.decider
            )
            turns.append(f"gate:{step.stage.value}:{decision.decision.value}")
        else:
            logger.error("Keputusan ditolak, gerbang tetap menunggu: %s", decided.refusal)
            turns.append(f"gate:{step.stage.value}:refused")
    raise RuntimeError(f"{innovation_code}: lifecycle did not settle in {MAX_TURNS} turns")


def _wait_at_gate(step: progress.Step, run_id: str) -> GateDecision:
    """Suspend at the gate until a decision arrives (``flows.forms.wait_for_decision``).

    The key is the gate's id and its decision attempts: a replayed suspension returns the
    input it already has, and a refused decision suspends again under a new key.
    """
    gate_id = step.gate_id
    assert gate_id is not None
    return wait_for_decision(
        GateDecision,
        f"gate-{gate_id}",
        step,
        run_id,
        claim=lambda session: progress.claim_gate(session, gate_id, run_id),
        describe=lambda: describe_gate(get_engine(), gate_id),
    )
