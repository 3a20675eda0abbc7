"""Gates seen from outside the flow: the form text, deciding (CLI, portal), reopening.

A decision from the CLI or the portal goes through the same path as the Prefect UI form: it
resumes the suspended flow run with the same input model, carrying a one-time proof of who
decides. The domain rules are checked here first, so a refused decision is reported at once
and the gate keeps waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from uuid import UUID

from prefect.client.schemas.objects import StateType
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from domain import changes, gates, lifecycle, queries
from domain.enums import AdoptionStatus, GateDecisionKind, GateStatus, Language, Stage
from domain.errors import GateNotOpenError, KinantiError, message_of
from domain.models import (
    Adoption,
    DomainEventRecord,
    Evaluation,
    GateDecisionRecord,
    GateRequest,
    IndicatorClaim,
    Innovation,
    Unit,
)
from domain.schemas import ScorecardIn
from kinanti.db import unit_of_work
from kinanti.publish import publish

STAGE_LABEL = {
    Stage.PLANNING: "Perencanaan (planning)",
    Stage.DEVELOPMENT: "Pengembangan / uji coba (development)",
    Stage.DEPLOYMENT: "Penerapan (deployment)",
    Stage.REPORTING: "Pelaporan (reporting)",
    Stage.REPLICATION: "Replikasi (replication)",
}


class GateRunLost(KinantiError):
    """Raised when the flow run waiting at a gate can no longer be resumed."""


def describe_gate(engine: Engine, gate_id: int) -> str:
    """Markdown shown on the Prefect resume form: the innovation, what to check, who decides."""
    with unit_of_work(engine) as session:
        gate = session.get_one(GateRequest, gate_id)
        innovation = session.get_one(Innovation, gate.innovation_id)
        unit = session.get_one(Unit, innovation.unit_id)
        problems = queries.proposal_problems_of(innovation)
        scorecards = session.scalar(
            select(func.count(Evaluation.id)).where(Evaluation.innovation_id == innovation.id)
        )
        evidence = session.scalar(
            select(func.count(IndicatorClaim.id)).where(
                IndicatorClaim.innovation_id == innovation.id
            )
        )
        refusals = [
            message_of(r.refusal_code, r.refusal_params, Language.ID, r.refusal or "-")
            for r in session.scalars(
                select(GateDecisionRecord)
                .where(
                    GateDecisionRecord.gate_id == gate.id, GateDecisionRecord.accepted.is_(False)
                )
                .order_by(GateDecisionRecord.id.desc())
                .limit(1)
            )
        ]
        deciders = ", ".join(sorted(r.value for r in lifecycle.GATE_DECIDERS[gate.stage]))
        lines = [
            f"## Gerbang {STAGE_LABEL[gate.stage]}: {innovation.code}",
            f"**{innovation.title}** — {unit.name} ({unit.code}), tahun {innovation.year}",
            "",
            f"- Jenis / bentuk: {innovation.jenis.value} / {innovation.bentuk.value}",
            f"- Urusan: {innovation.urusan_main}; tematik: {innovation.tematik or '-'}",
            f"- Putaran (round): {gate.round}; batas waktu: "
            f"{gate.due_at.date().isoformat() if gate.due_at else '-'}",
            f"- Scorecard uji coba: {scorecards}; bukti dukung: {evidence}; "
            f"akta: {innovation.adopting_act.value if innovation.adopting_act else '-'}",
            "",
            "**Periksa (check):**",
            *[f"- {item}" for item in lifecycle.GATE_CHECKLIST[gate.stage][Language.ID]],
        ]
        if gate.stage is Stage.PLANNING and problems:
            lines += ["", "**Kekurangan proposal:**", *[f"- {p}" for p in problems]]
        if refusals:
            lines += ["", f"**Keputusan sebelumnya ditolak:** {refusals[0]}"]
        lines += [
            "",
            f"Yang berwenang memutus (may decide): {deciders}. Unit pemilik tidak boleh "
            "memutus inovasinya sendiri. `revise` dan `reject` wajib beralasan.",
            "",
            "**Kode keputusan (decision code):** wajib. Buka gerbang ini di portal Kinanti "
            "(masuk dengan akun Anda) untuk memutus, atau untuk mendapat kode sekali pakai. "
            "Email yang diketik tidak diterima sebagai bukti identitas.",
        ]
        if gate.stage is Stage.DEVELOPMENT:
            lines.append("Untuk `approve`, isi scorecard uji coba (lima kriteria PP 38/2017, 1-5).")
        return "\n".join(lines)


@dataclass(frozen=True, kw_only=True)
class GateReceipt:
    """What a decision sent to a gate did. ``via`` is "resume" (the run waiting there
    recorded it; ``flow_run_id``) or "database" (no run waited: recorded here and
    published); ``recorded``: the resumed run recorded it within the wait, or (database)
    it was accepted; ``refusal`` is why it was refused, if it was."""

    decision: GateDecisionKind
    flow_run_id: str | None
    via: str
    recorded: bool
    refusal: str | None = None
    refusal_code: str | None = None


@dataclass(frozen=True, kw_only=True)
class DecisionReceipt(GateReceipt):
    """What ``decide`` did at an innovation's gate (``GateReceipt``); ``new_stage`` is the
    innovation's stage afterwards."""

    innovation_code: str
    stage: Stage
    new_stage: Stage | None = None
    refusal_params: dict[str, Any] | None = None

    def refusal_message(self, language: Language | str) -> str | None:
        """Why the decision was refused, in ``language`` (``None``: it was not)."""
        if self.refusal is None:
            return None
        return message_of(self.refusal_code, self.refusal_params, language, self.refusal)


def decide(
    engine: Engine,
    code: str,
    decision: GateDecisionKind,
    *,
    decider: str,
    reason: str = "",
    scorecard: ScorecardIn | None = None,
    channel: str = "cli",
    os_user: str | None = None,
    wait_seconds: float = 30.0,
) -> DecisionReceipt:
    """Decide the open gate of ``code`` as ``decider`` (a person the caller has proven: the
    portal's signed-in person, or the operator's ``--as`` on the server's CLI).

    The domain's rules are checked first (``domain.gates.check_decision``): a refused
    decision raises its typed error and the gate keeps waiting. Then a one-time decision
    proof is issued and the suspended run is resumed with it, the same input the Prefect
    form takes; the run applies it through ``domain.gates.decide_gate``. If the run is gone
    (Prefect lost it, or its wait ran out), the decision is applied here through the same
    function and published through ``kinanti.publish``. Waits up to ``wait_seconds`` for
    the run to record it.
    """
    command = gates.DecisionCommand(
        decision, reason=reason, channel=channel, scorecard=scorecard, os_user=os_user
    )
    with unit_of_work(engine) as session:
        innovation = queries.get_innovation(session, code)
        gate = queries.open_gate_of(session, innovation)
        person = queries.get_person(session, decider)
        gates.check_decision(session, gate, command, person)
        proof = gates.issue_decision_proof(session, gate, person, channel=channel, os_user=os_user)
        gate_id, stage, run_id, attempts = gate.id, gate.stage, gate.flow_run_id, gate.attempts
    command = replace(command, proof=proof)
    run_input: dict[str, Any] = {"decision": decision.value, "reason": reason, "proof": proof}
    if scorecard is not None:
        run_input.update(scorecard.model_dump(exclude_none=True, exclude={"notes"}))
    if run_id and _resume(run_id, run_input):
        recorded, last, new_stage = _wait_for_record(engine, gate_id, attempts, wait_seconds)
        return DecisionReceipt(
            innovation_code=code,
            stage=stage,
            decision=decision,
            flow_run_id=run_id,
            via="resume",
            recorded=recorded,
            refusal=last.refusal if last else None,
            refusal_code=last.refusal_code if last else None,
            new_stage=new_stage,
            refusal_params=last.refusal_params if last else None,
        )
    return _decide_in_database(engine, code, gate_id, command)


def _resume(flow_run_id: str, run_input: dict[str, Any]) -> bool:
    """Resume the suspended run with ``run_input``; ``False`` if it is not waiting any more."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.flow_runs import resume_flow_run

    from kinanti.orchestration.runs import is_live

    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(flow_run_id))
    except ObjectNotFound:
        return False
    if run.state is None or run.state.type is not StateType.PAUSED or not is_live(run):
        return False
    try:
        resume_flow_run(UUID(flow_run_id), run_input=run_input)
    except Exception as exc:  # NotPausedError, expired pause, validation refused by the API
        if "timed out" in str(exc) or "not paused" in str(exc).lower():
            return False
        raise GateRunLost(code="gate.run_lost", flow_run=flow_run_id, detail=str(exc)) from exc
    return True


T = TypeVar("T")


def _poll(engine: Engine, read: Callable[[Session], T | None], wait_seconds: float) -> T | None:
    """Read in a fresh transaction every quarter second until ``read`` gives something."""
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        with unit_of_work(engine) as session:
            found = read(session)
            if found is not None:
                return found
        time.sleep(0.25)
    return None


def _wait_for_record(
    engine: Engine, gate_id: int, attempts_before: int, wait_seconds: float
) -> tuple[bool, GateDecisionRecord | None, Stage | None]:
    def read(session: Session) -> tuple[GateDecisionRecord, Stage] | None:
        gate = session.get_one(GateRequest, gate_id)
        if gate.attempts <= attempts_before:
            return None
        last = session.scalars(
            select(GateDecisionRecord)
            .where(GateDecisionRecord.gate_id == gate_id)
            .order_by(GateDecisionRecord.id.desc())
            .limit(1)
        ).one()
        stage = session.get_one(Innovation, gate.innovation_id).stage
        session.expunge(last)
        return last, stage

    found = _poll(engine, read, wait_seconds)
    return (True, found[0], found[1]) if found else (False, None, None)


def _decide_in_database(
    engine: Engine, code: str, gate_id: int, command: gates.DecisionCommand
) -> DecisionReceipt:
    """The run waiting at the gate is gone: apply the decision here, then publish."""
    with unit_of_work(engine) as session:
        outcome = gates.decide_gate(session, gate_id, command, continue_in_run=False)
        committed = outcome.result.committed(session)
        stage = outcome.gate.stage
        new_stage = session.get_one(Innovation, outcome.gate.innovation_id).stage
        refusal = outcome.refusal
    publish(committed, engine=engine)
    return DecisionReceipt(
        innovation_code=code,
        stage=stage,
        decision=command.decision,
        flow_run_id=None,
        via="database",
        recorded=outcome.accepted,
        refusal=str(refusal) if refusal else None,
        refusal_code=refusal.code if refusal else None,
        new_stage=new_stage,
        refusal_params=refusal.stored_params() if refusal else None,
    )


def reopen(engine: Engine, code: str) -> str:
    """Start a new lifecycle run for an innovation whose gate run was lost or timed out."""
    with unit_of_work(engine) as session:
        innovation = queries.get_innovation(session, code, for_update=True)
        if innovation.outcome is not None:
            raise GateNotOpenError(
                code="gate.reopen_ended", innovation=code, outcome=innovation.outcome.value
            )
        gate = queries.current_gate(session, innovation)
        if gate is None or gate.status is not GateStatus.OPEN:
            raise GateNotOpenError(code="gate.reopen_none", innovation=code)
        result = changes.ChangeResult()
        changes.request_stage_start(session, innovation, result)
        committed = result.committed(session)
    started = publish(committed, engine=engine).started
    return started[-1].flow_run_id if started else ""


# --- the adoption's gate (issue 10): the same path, for a replication's decision -------


@dataclass(frozen=True, kw_only=True)
class AdoptionReceipt(GateReceipt):
    """What ``decide_adoption`` did at an adoption's gate (``GateReceipt``); ``status`` is
    the adoption's afterwards, ``replica`` the replica's code if one was made."""

    adoption_id: int
    status: str | None = None
    replica: str | None = None


def decide_adoption(
    engine: Engine,
    adoption_id: int,
    decision: GateDecisionKind,
    *,
    decider: str,
    reason: str = "",
    channel: str = "cli",
    os_user: str | None = None,
    wait_seconds: float = 30.0,
    resume: bool = True,
) -> AdoptionReceipt:
    """Decide an adoption's gate as ``decider`` (proven by the caller: the portal's signed-in
    person, or the operator's ``--as`` on the server's CLI), like ``decide`` for a lifecycle
    gate: the rules are checked first (``domain.replication.check_adoption_decision``, a
    refusal raises its typed error), then a one-time proof is issued and the suspended
    adoption run is resumed with it; if no run waits, the decision is applied here through
    ``domain.adoptions.decide_adoption_gate`` and published. ``resume=False`` (no Prefect
    API answers) goes straight to the database; the waiting run then finds it decided."""
    from domain import adoptions, replication

    command = gates.DecisionCommand(decision, reason=reason, channel=channel, os_user=os_user)
    with unit_of_work(engine) as session:
        adoption = adoptions.open_adoption_gate(session, adoption_id, for_update=False)
        person = queries.get_person(session, decider)
        replication.check_adoption_decision(session, adoption, decision, reason, person)
        proof = gates.issue_proof(
            session, person, adoption_id=adoption.id, channel=channel, os_user=os_user
        )
        run_id, attempts = adoption.gate_flow_run_id, adoption.gate_attempts
    run_input = {"decision": decision.value, "reason": reason, "proof": proof}
    if resume and run_id and _resume(run_id, run_input):

        def read(session: Session) -> tuple[str, str | None, str | None, str | None] | None:
            found = replication.get_adoption(session, adoption_id)
            if found.gate_attempts <= attempts:
                return None
            replica = session.get(Innovation, found.replica_id) if found.replica_id else None
            refusal = _last_adoption_refusal(session, found)
            return found.status.value, replica.code if replica else None, *refusal

        seen = _poll(engine, read, wait_seconds)
        status, replica_code, refused, refused_code = seen or (None, None, None, None)
        return AdoptionReceipt(
            adoption_id=adoption_id,
            decision=decision,
            flow_run_id=run_id,
            via="resume",
            recorded=seen is not None,
            status=status,
            replica=replica_code,
            refusal=refused,
            refusal_code=refused_code,
        )
    with unit_of_work(engine) as session:
        outcome = adoptions.decide_adoption_gate(
            session, adoption_id, replace(command, proof=proof), continue_in_run=False
        )
        committed = outcome.result.committed(session)
        found = replication.get_adoption(session, adoption_id)
        replica = session.get(Innovation, found.replica_id) if found.replica_id else None
        status, replica_code = found.status.value, replica.code if replica else None
    publish(committed, engine=engine)
    refusal = outcome.refusal
    return AdoptionReceipt(
        adoption_id=adoption_id,
        decision=decision,
        flow_run_id=None,
        via="database",
        recorded=outcome.accepted,
        status=status,
        replica=replica_code,
        refusal=refusal.message(Language.ID) if refusal else None,
        refusal_code=refusal.code if refusal else None,
    )


def _last_adoption_refusal(session: Session, adoption: Adoption) -> tuple[str | None, str | None]:
    """The refusal the resumed run recorded, if it refused the decision (the adoption is
    still waiting at its gate)."""
    if adoption.status is not AdoptionStatus.INTERESTED:
        return None, None
    for event in session.scalars(
        select(DomainEventRecord)
        .where(DomainEventRecord.name == "kinanti.replication.decision-refused")
        .order_by(DomainEventRecord.id.desc())
        .limit(20)
    ):
        if event.payload.get("adoption_id") == adoption.id:
            return event.payload.get("refusal"), event.payload.get("refusal_code")
    return None, None
