"""An adoption's flow, as the database sees it (no Prefect here).

An adoption follows the replication stages (LAN 2017): persiapan -> perencanaan dan
pengembangan -> replikasi -> evaluasi manfaat dan dampak. Its flow (``flows/replication.py``)
asks ``next_adoption_step`` at every turn, like the lifecycle asks ``domain.progress``:

- **persiapan**: check fit and prerequisites (the offer's prerequisites, the request letter,
  what the adopter already runs in the same urusan); for the *fasilitasi* model book a
  Klinik Kinanti session; then open the adoption's gate, where Brida decides;
- the **gate**: a reviewer or the head of Brida approves (inside the city: the replica is
  created and enters its own lifecycle at planning) or rejects, with a proven identity
  (``decide_adoption_gate``: a one-time decision proof, as for lifecycle gates);
- **perencanaan dan pengembangan**: the action plan, team, capacity building and adaptation
  (the adapted fields, the materials the adopter gets); then the adopter carries it out
  (``replication.advance_adoption``);
- **replikasi**: carried out and monitored (the replica's own stage); then the adopter records
  its implementation evidence (``replication.complete_adoption``);
- **evaluasi manfaat dan dampak**: the evidence waits for a Brida verifier.

Each step's work is marked done on the adoption (``steps``), so a re-executed flow body does
nothing twice. Functions take the caller's session and never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from domain import gates
from domain.changes import ChangeResult, finish_adoption_starts
from domain.enums import (
    AdoptionModel,
    AdoptionStatus,
    Language,
    ReplicationStage,
    Stage,
    StageStartStatus,
)
from domain.errors import ConflictError, KinantiError
from domain.models import (
    Adoption,
    AdoptionStart,
    Consultation,
    Innovation,
    Person,
    ReplicationOffer,
    Unit,
    utcnow,
)
from domain.progress import FlowStep
from domain.queries import get_person, get_unit
from domain.replication import (
    DECIDER_ROLES,
    _notify,
    _origin_of,
    check_adoption_decision,
    decide_adoption,
    get_adoption,
)
from domain.stages import StageParams, book_consultation

Action = Literal["step", "gate", "waiting_for_adopter", "ended", "finished"]


@dataclass(frozen=True)
class AdoptionStep(FlowStep):
    """The next thing an adoption's flow must do."""

    SETTLED = FlowStep.SETTLED | {"waiting_for_adopter"}

    action: Action
    adoption_id: int
    step: ReplicationStage
    title: str
    adopter: str
    model: AdoptionModel


def _adopter_code(session: Session, adoption: Adoption) -> str:
    if adoption.adopter_unit_id is not None:
        return get_unit(session, adoption.adopter_unit_id).code
    return adoption.region_code or "-"


def next_adoption_step(session: Session, adoption_id: int) -> AdoptionStep:
    """Where the adoption stands, and what its flow must do next."""
    adoption = get_adoption(session, adoption_id)
    origin = _origin_of(session, adoption)
    base: dict[str, Any] = {
        "adoption_id": adoption.id,
        "step": adoption.stage,
        "title": origin.title if origin else adoption.origin_name or "-",
        "adopter": _adopter_code(session, adoption),
        "model": adoption.model,
    }
    done = adoption.stage.value in (adoption.steps or {})
    if adoption.status is AdoptionStatus.REJECTED or origin is None:
        return AdoptionStep("ended", **base)
    if not done:
        return AdoptionStep("step", **base)
    if adoption.status is AdoptionStatus.INTERESTED:
        return AdoptionStep(
            "gate",
            gate_attempts=adoption.gate_attempts,
            gate_flow_run_id=adoption.gate_flow_run_id,
            **base,
        )
    if adoption.status is AdoptionStatus.COMPLETED:
        return AdoptionStep("finished", **base)
    return AdoptionStep("waiting_for_adopter", **base)


def claim_adoption_start(session: Session, adoption_id: int, flow_run_id: str) -> None:
    """A run started by a hand-off (or by hand) takes over the adoption's pending rows."""
    session.execute(
        update(AdoptionStart)
        .where(
            AdoptionStart.adoption_id == adoption_id,
            AdoptionStart.status == StageStartStatus.PENDING,
        )
        .values(status=StageStartStatus.STARTED, flow_run_id=flow_run_id, started_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def claim_adoption_gate(session: Session, adoption_id: int, flow_run_id: str) -> None:
    """Record that ``flow_run_id`` now waits at this adoption's gate."""
    session.execute(
        update(Adoption)
        .where(Adoption.id == adoption_id, Adoption.status == AdoptionStatus.INTERESTED)
        .values(gate_flow_run_id=flow_run_id)
        .execution_options(synchronize_session=False)
    )


def settle_adoption(session: Session, adoption_id: int) -> None:
    """The adoption's flow has nothing left to do now: its hand-offs are done."""
    finish_adoption_starts(session, get_adoption(session, adoption_id))


# --- the work of each step ---------------------------------------------------------------


@dataclass(frozen=True)
class _StepContext:
    session: Session
    adoption: Adoption
    origin: Innovation
    params: StageParams
    result: ChangeResult


def _similar_run_by_adopter(session: Session, adoption: Adoption, origin: Innovation) -> list[str]:
    """What the adopter already runs in the origin's urusan (a fit check, not a refusal)."""
    if adoption.adopter_unit_id is None:
        return []
    return list(
        session.scalars(
            select(Innovation.code)
            .where(
                Innovation.unit_id == adoption.adopter_unit_id,
                Innovation.urusan_main == origin.urusan_main,
                Innovation.outcome.is_(None),
                Innovation.id != adoption.replica_id,
            )
            .order_by(Innovation.code)
        )
    )


def _persiapan(c: _StepContext) -> dict[str, Any]:
    offer = c.session.get_one(ReplicationOffer, c.adoption.offer_id)
    summary: dict[str, Any] = {
        "prerequisites": dict(offer.prerequisites),
        "letter": "file" if c.adoption.letter.get("sha256") else "link",
        "similar_by_adopter": _similar_run_by_adopter(c.session, c.adoption, c.origin),
    }
    if c.adoption.model is AdoptionModel.FASILITASI:
        unit_id = c.adoption.adopter_unit_id or c.origin.unit_id
        consultation_id = book_consultation(
            c.session,
            c.origin,
            c.params,
            c.result,
            unit_id=unit_id,
            stage=Stage.REPLICATION,
            topic=f"Klinik Kinanti: fasilitasi replikasi {c.origin.title} "
            f"({_adopter_code(c.session, c.adoption)})",
        )
        # the session is the adoption's (``Consultation.adoption_id``): the desk shows it so
        c.session.get_one(Consultation, consultation_id).adoption_id = c.adoption.id
        summary["consultation_id"] = consultation_id
    now = utcnow()
    c.adoption.gate_opened_at = now
    c.adoption.gate_due_at = now + c.params.gate_timeout
    c.adoption.gate_flow_run_id = c.params.flow_run_id
    return summary


def _perencanaan(c: _StepContext) -> dict[str, Any]:
    offer = c.session.get_one(ReplicationOffer, c.adoption.offer_id)
    replica = c.session.get(Innovation, c.adoption.replica_id) if c.adoption.replica_id else None
    return {
        "replica": replica.code if replica else None,
        "replica_stage": replica.stage.value if replica else None,
        "adapted": sorted(c.adoption.adaptations or {}),
        "materials": dict(offer.materials),
        "agreement": c.adoption.agreement is not None,
    }


def _replikasi(c: _StepContext) -> dict[str, Any]:
    replica = c.session.get(Innovation, c.adoption.replica_id) if c.adoption.replica_id else None
    return {
        "replica_stage": replica.stage.value if replica else None,
        "replica_outcome": replica.outcome.value if replica and replica.outcome else None,
    }


def _evaluasi(c: _StepContext) -> dict[str, Any]:
    status = c.adoption.evidence_status
    return {
        "evidence": bool(c.adoption.evidence),
        "evidence_status": status.value if status else None,
        **_replikasi(c),
    }


StepWorkFn = Callable[[_StepContext], dict[str, Any]]

#: The work of each replication step, and the step notice it sends to both sides and Brida
#: (``None``: the change that led here told them already). Every step has an entry (tested).
ADOPTION_STEP_WORK: Mapping[ReplicationStage, tuple[StepWorkFn, str | None]] = {
    ReplicationStage.PERSIAPAN: (_persiapan, "gate"),
    ReplicationStage.PERENCANAAN_PENGEMBANGAN: (_perencanaan, "planning"),
    ReplicationStage.REPLIKASI: (_replikasi, None),
    ReplicationStage.EVALUASI: (_evaluasi, None),
}


@dataclass
class AdoptionStepDone:
    step: ReplicationStage
    summary: dict[str, Any]
    result: ChangeResult
    already_done: bool = False


def complete_adoption_step(
    session: Session, adoption_id: int, params: StageParams
) -> AdoptionStepDone:
    """Do the adoption's current step, mark it done (idempotent), in the caller's
    transaction. Persiapan ends by opening the gate."""
    adoption = get_adoption(session, adoption_id, for_update=True)
    step = adoption.stage
    result = ChangeResult()
    if step.value in (adoption.steps or {}):
        return AdoptionStepDone(step, adoption.steps[step.value], result, True)
    origin = _origin_of(session, adoption)
    if origin is None:
        raise ConflictError(code="replication.wrong_step", adoption=adoption.id, stage=step.value)
    work, notice = ADOPTION_STEP_WORK[step]
    summary = work(_StepContext(session, adoption, origin, params, result))
    adoption.steps = {**(adoption.steps or {}), step.value: summary}
    result.event(
        session,
        "kinanti.replication.step-done",
        origin,
        {"adoption_id": adoption.id, "step": step.value, "summary": summary},
        params.flow_run_id,
    )
    session.flush()
    if notice is not None:
        _notify(session, result, adoption, origin, notice)
    return AdoptionStepDone(step, summary, result)


# --- the gate: a decision with a proven identity -----------------------------------------


@dataclass
class AdoptionDecisionOutcome:
    """What ``decide_adoption_gate`` did: accepted (and applied) or refused (recorded)."""

    accepted: bool
    decider: str
    result: ChangeResult
    refusal: KinantiError | None = None


def open_adoption_gate(session: Session, adoption_id: int, *, for_update: bool) -> Adoption:
    """The adoption, if its gate is open (persiapan done, not decided); else raise."""
    adoption = get_adoption(session, adoption_id, for_update=for_update)
    if adoption.status is not AdoptionStatus.INTERESTED:
        raise ConflictError(
            code="replication.decided_already", adoption=adoption.id, status=adoption.status
        )
    if adoption.gate_opened_at is None:
        raise ConflictError(code="replication.gate_not_open", adoption=adoption.id)
    return adoption


def decide_adoption_gate(
    session: Session,
    adoption_id: int,
    command: gates.DecisionCommand,
    *,
    continue_in_run: bool = True,
) -> AdoptionDecisionOutcome:
    """Apply a decision at an adoption's gate, from any channel: the decider is proven by
    ``command.proof`` (a one-time code issued to a signed-in person or an operator's CLI),
    or named by a trusted channel. A refused decision is recorded as an event (with its
    typed reason) and counted, so the waiting run asks again; it changes nothing else.
    """
    # take the write lock first (SQLite: a value-preserving update, as in decide_gate)
    session.execute(
        update(Adoption)
        .where(Adoption.id == adoption_id)
        .values(gate_attempts=Adoption.gate_attempts)
        .execution_options(synchronize_session=False)
    )
    adoption = open_adoption_gate(session, adoption_id, for_update=True)
    session.refresh(adoption)
    adoption.gate_attempts += 1
    origin = _origin_of(session, adoption)
    decider = command.decider or "-"
    try:
        if command.proof is not None or command.channel not in gates.TRUSTED_CHANNELS:
            proof = gates.consume_proof(session, command.proof, adoption_id=adoption.id)
            person = session.get_one(Person, proof.person_id)
        else:
            person = get_person(session, command.decider or "")
        decider = person.email
        check_adoption_decision(session, adoption, command.decision, command.reason, person)
    except KinantiError as exc:
        result = ChangeResult()
        result.event(
            session,
            "kinanti.replication.decision-refused",
            origin,
            {
                "adoption_id": adoption.id,
                "decision": command.decision.value,
                "reviewer": decider,
                "refusal": str(exc),
                "refusal_code": exc.code,
                "channel": command.channel,
            },
            command.flow_run_id,
        )
        session.flush()
        return AdoptionDecisionOutcome(False, decider, result, exc)
    result = decide_adoption(
        session,
        adoption.id,
        command.decision,
        actor=person.email,
        reason=command.reason,
        flow_run_id=command.flow_run_id,
        continue_in_run=continue_in_run,
    )
    return AdoptionDecisionOutcome(True, person.email, result)


def describe_adoption_gate(session: Session, adoption_id: int, language: Language) -> str:
    """Markdown for the Prefect resume form: the adoption, what to check, who decides."""
    adoption = get_adoption(session, adoption_id)
    origin = _origin_of(session, adoption)
    offer = session.get(ReplicationOffer, adoption.offer_id) if adoption.offer_id else None
    adopter = (
        session.get_one(Unit, adoption.adopter_unit_id).name
        if adoption.adopter_unit_id
        else f"{adoption.region_name} ({adoption.region_code})"
    )
    persiapan = (adoption.steps or {}).get(ReplicationStage.PERSIAPAN.value, {})
    deciders = ", ".join(sorted(r.value for r in DECIDER_ROLES))
    lines = [
        f"## Gerbang replikasi #{adoption.id}: {origin.code if origin else '-'}",
        f"**{origin.title if origin else adoption.origin_name}** -> {adopter}, "
        f"model {adoption.model.value.replace('_', ' ')}",
        "",
        "**Periksa (check):** kecocokan dan prasyarat (persiapan), surat permohonan, "
        "kesepakatan/PKS untuk kerja sama.",
    ]
    if offer is not None:
        lines += [f"- Prasyarat {k}: {v}" for k, v in offer.prerequisites.items()]
    if persiapan.get("similar_by_adopter"):
        lines.append(
            "- Pereplikasi sudah menjalankan di urusan yang sama: "
            + ", ".join(persiapan["similar_by_adopter"])
        )
    if persiapan.get("consultation_id"):
        lines.append(f"- Konsultasi Klinik Kinanti #{persiapan['consultation_id']} (fasilitasi)")
    lines += [
        "",
        f"Yang berwenang memutus (may decide): {deciders}; bukan dari unit salah satu pihak. "
        "`approve` atau `reject` (wajib beralasan).",
        "",
        "**Kode keputusan (decision code):** wajib, dari portal Kinanti (masuk dengan akun "
        "Anda) atau `kinanti replication decide`. Email yang diketik tidak diterima.",
    ]
    if language is Language.EN:
        lines.append("(Approve or reject with the decision code the Kinanti portal issues.)")
    return "\n".join(lines)


__all__ = [
    "ADOPTION_STEP_WORK",
    "AdoptionDecisionOutcome",
    "AdoptionStep",
    "claim_adoption_gate",
    "claim_adoption_start",
    "complete_adoption_step",
    "decide_adoption_gate",
    "describe_adoption_gate",
    "next_adoption_step",
    "open_adoption_gate",
    "settle_adoption",
]
