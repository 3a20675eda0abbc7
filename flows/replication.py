"""The adoption flow: one run carries an adoption through the replication steps.

persiapan -> (the gate, where Brida decides) -> perencanaan dan pengembangan -> replikasi ->
evaluasi manfaat dan dampak. Each step's work runs as its own flow (``adoption-persiapan``,
...; a subflow tagged with the adopter and the step). At the gate the run suspends
(``flows.forms.wait_for_decision``, shared with the lifecycle's gates) for an
``AdoptionDecision`` carrying a one-time decision proof: the Prefect UI shows the form, the
portal and ``kinanti replication decide`` send the same input. Approved inside the city, the
replica is created and its own lifecycle starts at planning (a durable hand-off).

The adopter's own steps (starting to carry it out, recording the implementation evidence)
are changes in the database that record a hand-off; a new run of this flow then does the
next step's work. Like the lifecycle, the body asks the database at every turn where the
adoption stands, so a resumed or re-run body does nothing twice.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import Field

from domain import adoptions
from domain.enums import Language, ReplicationStage
from flows.forms import (
    DecisionProofCode,
    DecisionReason,
    StageFlow,
    publish,
    stage_flow,
    wait_for_decision,
)
from kinanti.db import get_engine, unit_of_work
from kinanti.orchestration.runs import gate_waits_elsewhere, tag_flow_run
from tasks.replication import (
    apply_adoption_decision,
    complete_adoption_step_work,
    queue_klinik_digest,
)

MAX_TURNS = 12


class AdoptionDecision(RunInput):
    """Brida's decision at an adoption's gate (the Prefect resume form, and what the portal
    and `kinanti replication decide` send). Who decides is proven by ``proof``."""

    decision: Literal["approve", "reject"] = Field(description="approve / reject")
    reason: DecisionReason = ""
    proof: DecisionProofCode = ""


def run_adoption_step(adoption_id: int, adoption_run_id: str, adopter: str) -> dict[str, Any]:
    """One replication step's work (the domain's table ``ADOPTION_STEP_WORK``): do it, mark
    it done, publish (persiapan ends by opening the gate)."""
    tag_flow_run(str(flow_run.id), ["kinanti", f"unit:{adopter}", f"step:{flow_run.flow_name}"])
    done = complete_adoption_step_work(adoption_id, adoption_run_id)
    publish(done.committed)
    get_run_logger().info("Adopsi #%s: langkah %s selesai", adoption_id, done.step.value)
    return {"step": done.step.value, "summary": done.summary, "already_done": done.already_done}


#: What each step flow is for (its description in the Prefect UI).
STEP_DESCRIPTIONS: dict[ReplicationStage, str] = {
    ReplicationStage.PERSIAPAN: "Persiapan: check fit and prerequisites, book the Klinik "
    "Kinanti facilitation (model fasilitasi), open the gate where Brida decides.",
    ReplicationStage.PERENCANAAN_PENGEMBANGAN: "Perencanaan dan pengembangan: action plan, "
    "team, capacity building and adaptation; both sides are told what to do.",
    ReplicationStage.REPLIKASI: "Replikasi: carried out and monitored (the replica's stage).",
    ReplicationStage.EVALUASI: "Evaluasi manfaat dan dampak: the implementation evidence "
    "waits for a Brida verifier.",
}

STEP_FLOWS: dict[ReplicationStage, StageFlow] = {
    step: stage_flow(
        f"adoption-{step.value.replace('_', '-')}",
        description,
        run_adoption_step,
        "ADOPSI-{adoption_id} · " + step.value,
    )
    for step, description in STEP_DESCRIPTIONS.items()
}


def _step(adoption_id: int, run_id: str, *, first: bool) -> adoptions.AdoptionStep:
    with unit_of_work(get_engine()) as session:
        if first:
            adoptions.claim_adoption_start(session, adoption_id, run_id)
        step = adoptions.next_adoption_step(session, adoption_id)
        if step.settled:
            adoptions.settle_adoption(session, adoption_id)
        return step


@flow(name="adoption", persist_result=True)
def adoption(adoption_id: int) -> dict[str, Any]:
    """Carry one adoption through the replication steps, suspending at its gate for Brida.

    Safe to run twice: the database decides what is left, and a second run finding the gate
    already waiting in another live run stops without touching it.
    """
    logger = get_run_logger()
    run_id = str(flow_run.id)
    turns: list[str] = []
    for turn in range(MAX_TURNS):
        step = _step(adoption_id, run_id, first=turn == 0)
        summary = {"adoption": adoption_id, "step": step.step.value, "turns": turns}
        if step.settled:
            logger.info("Adopsi #%s: %s (%s)", adoption_id, step.action, step.step.value)
            return {**summary, "status": step.action}
        if step.action == "step":
            STEP_FLOWS[step.step](adoption_id, run_id, step.adopter)
            turns.append(step.step.value)
            continue
        owner = gate_waits_elsewhere(step.gate_flow_run_id, run_id)
        if owner:
            logger.info("Gerbang adopsi #%s sudah menunggu di flow run %s", adoption_id, owner)
            return {**summary, "status": "gate-waits-elsewhere", "owner": owner}
        decision = _wait_at_gate(step, run_id)
        decided = apply_adoption_decision(
            adoption_id, decision.decision, decision.reason, decision.proof, run_id
        )
        publish(decided.committed)
        if decided.accepted:
            logger.info("Gerbang adopsi #%s: %s oleh %s", adoption_id, decision.decision,
                        decided.decider)  # fmt: skip
            turns.append(f"gate:{decision.decision}")
        else:
            logger.error("Keputusan ditolak, gerbang tetap menunggu: %s", decided.refusal)
            turns.append("gate:refused")
    raise RuntimeError(f"adoption #{adoption_id} did not settle in {MAX_TURNS} turns")


def _wait_at_gate(step: adoptions.AdoptionStep, run_id: str) -> AdoptionDecision:
    adoption_id = step.adoption_id

    def describe() -> str:
        with unit_of_work(get_engine()) as session:
            return adoptions.describe_adoption_gate(session, adoption_id, Language.ID)

    return wait_for_decision(
        AdoptionDecision,
        f"adoption-{adoption_id}",
        step,
        run_id,
        claim=lambda session: adoptions.claim_adoption_gate(session, adoption_id, run_id),
        describe=describe,
    )


@flow(name="klinik-digest")
def klinik_digest(month: str | None = None) -> dict[str, Any]:
    """Scheduled monthly: the Klinik Kinanti digest to every unit suggested as an adopter
    of an offered innovation, saying why (``domain.matching``). Safe to run twice a month:
    each unit's email is keyed by the month."""
    queued = queue_klinik_digest(month)
    publish(queued["committed"])
    get_run_logger().info("Digest Klinik Kinanti %s: %d email", queued["month"], queued["emails"])
    return {"month": queued["month"], "emails": queued["emails"]}
