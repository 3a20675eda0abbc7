"""Gates seen from outside the flow: the form text, deciding from the CLI, reopening.

A decision from the CLI goes through the same path as the Prefect UI: it resumes the
suspended flow run with the same input model. The domain rules are checked here first, so a
refused decision is reported at once and the gate keeps waiting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, func, select

from domain import lifecycle, services
from domain.enums import GateDecisionKind, GateStatus, Language, Stage
from domain.errors import GateNotOpenError, KinantiError
from domain.models import (
    Evaluation,
    GateDecisionRecord,
    GateRequest,
    IndicatorClaim,
    Innovation,
    Unit,
)
from domain.schemas import GateDecisionIn, ScorecardIn
from kinanti.db import unit_of_work

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
        problems = services.proposal_problems_of(innovation)
        scorecards = session.scalar(
            select(func.count(Evaluation.id)).where(Evaluation.innovation_id == innovation.id)
        )
        evidence = session.scalar(
            select(func.count(IndicatorClaim.id)).where(
                IndicatorClaim.innovation_id == innovation.id
            )
        )
        refusals = session.scalars(
            select(GateDecisionRecord.refusal)
            .where(GateDecisionRecord.gate_id == gate.id, GateDecisionRecord.accepted.is_(False))
            .order_by(GateDecisionRecord.id.desc())
            .limit(1)
        ).all()
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
            *[f"- {item}" for item in services.GATE_CHECKLIST[gate.stage][Language.ID]],
        ]
        if gate.stage is Stage.PLANNING and problems:
            lines += ["", "**Kekurangan proposal:**", *[f"- {p}" for p in problems]]
        if refusals:
            lines += ["", f"**Keputusan sebelumnya ditolak:** {refusals[0]}"]
        lines += [
            "",
            f"Yang berwenang memutus (may decide): {deciders}. Unit pemilik tidak boleh "
            "memutus inovasinya sendiri. `revise` dan `reject` wajib beralasan.",
        ]
        if gate.stage is Stage.DEVELOPMENT:
            lines.append("Untuk `approve`, isi scorecard uji coba (lima kriteria PP 38/2017, 1-5).")
        return "\n".join(lines)


@dataclass(frozen=True)
class DecisionReceipt:
    innovation_code: str
    stage: Stage
    decision: GateDecisionKind
    flow_run_id: str | None
    via: str  # "resume" (the flow run recorded it) or "database" (the run was lost)
    recorded: bool
    refusal: str | None = None
    new_stage: Stage | None = None


def decide(
    engine: Engine,
    code: str,
    decision: GateDecisionKind,
    *,
    reviewer: str,
    reason: str,
    scorecard: ScorecardIn | None = None,
    wait_seconds: float = 30.0,
) -> DecisionReceipt:
    """Decide the open gate of ``code`` as ``reviewer`` through the waiting flow run.

    Checks the rules first (a refused decision raises and the gate keeps waiting), then
    resumes the suspended run with the same input the UI form sends. If the run is gone
    (Prefect lost it or its wait ran out), the decision is recorded in the database and the
    next stage is handed off durably. Waits up to ``wait_seconds`` for the run to record it.
    """
    GateDecisionIn(decision=decision.value, reason=reason, reviewer=reviewer)
    if decision is not GateDecisionKind.APPROVE and not reason.strip():
        raise KinantiError(f"a reason (--reason) is required to {decision.value}")
    with unit_of_work(engine) as session:
        innovation = services.get_innovation(session, code)
        gate = services.open_gate_of(session, innovation)
        reviewer_person = services.get_person(session, reviewer)
        facts = services.gate_facts(session, gate, reviewer_person)
        if scorecard is not None and gate.stage is Stage.DEVELOPMENT:
            facts = _with_scorecard(facts)
        lifecycle.check_gate_decision(facts, decision)
        gate_id, stage, run_id, attempts = gate.id, gate.stage, gate.flow_run_id, gate.attempts

    run_input: dict[str, Any] = {
        "decision": decision.value,
        "reason": reason,
        "reviewer_email": reviewer,
        "channel": "cli",
    }
    if scorecard is not None:
        run_input.update(scorecard.model_dump(exclude_none=True))
    if run_id and _resume(run_id, run_input):
        recorded, refusal, new_stage = _wait_for_record(
            engine, gate_id, attempts, code, wait_seconds
        )
        return DecisionReceipt(
            code, stage, decision, run_id, "resume", recorded, refusal, new_stage
        )
    return _decide_in_database(engine, code, gate_id, decision, reviewer, reason, scorecard)


def _with_scorecard(facts: lifecycle.GateFacts) -> lifecycle.GateFacts:
    from dataclasses import replace

    return replace(facts, has_trial_scorecard=True)


def _resume(flow_run_id: str, run_input: dict[str, Any]) -> bool:
    """Resume the suspended run with ``run_input``; ``False`` if it is not waiting any more."""
    from prefect import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound
    from prefect.flow_runs import resume_flow_run

    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(flow_run_id))
    except ObjectNotFound:
        return False
    if run.state is None or run.state.type is not StateType.PAUSED:
        return False
    try:
        resume_flow_run(UUID(flow_run_id), run_input=run_input)
    except Exception as exc:  # NotPausedError, expired pause, validation refused by the API
        if "timed out" in str(exc) or "not paused" in str(exc).lower():
            return False
        raise GateRunLost(f"the gate's flow run {flow_run_id} refused the resume: {exc}") from exc
    return True


def _wait_for_record(
    engine: Engine, gate_id: int, attempts_before: int, code: str, wait_seconds: float
) -> tuple[bool, str | None, Stage | None]:
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        with unit_of_work(engine) as session:
            gate = session.get_one(GateRequest, gate_id)
            if gate.attempts > attempts_before:
                last = session.scalars(
                    select(GateDecisionRecord)
                    .where(GateDecisionRecord.gate_id == gate_id)
                    .order_by(GateDecisionRecord.id.desc())
                    .limit(1)
                ).one()
                stage = services.get_innovation(session, code).stage
                return True, last.refusal, stage
        time.sleep(0.25)
    return False, None, None


def _decide_in_database(
    engine: Engine,
    code: str,
    gate_id: int,
    decision: GateDecisionKind,
    reviewer: str,
    reason: str,
    scorecard: ScorecardIn | None,
) -> DecisionReceipt:
    """The run waiting at the gate is gone: record the decision here, hand off durably."""
    from kinanti.engine.handoff import start_pending

    with unit_of_work(engine) as session:
        innovation = services.get_innovation(session, code, for_update=True)
        if scorecard is not None:
            services.record_evaluation(
                session, innovation, scorecard, evaluator=reviewer, stage=Stage.DEVELOPMENT
            )
            session.flush()
        outcome = services.decide_gate(
            session,
            gate_id,
            decision=decision,
            reviewer_email=reviewer,
            reason=reason,
            channel="cli",
            flow_run_id=None,
            continue_in_run=False,
        )
        stage = outcome.gate.stage
        new_stage = innovation.stage
        event_ids = [e.id for e in outcome.result.events]
        outbox_ids = outcome.result.outbox_ids
    _after_commit(engine, event_ids, outbox_ids)
    start_pending(engine)
    return DecisionReceipt(
        code, stage, decision, None, "database", outcome.accepted, outcome.refusal, new_stage
    )


def _after_commit(engine: Engine, event_ids: list[int], outbox_ids: list[int]) -> None:
    from kinanti.engine.announce import announce
    from kinanti.settings import get_settings
    from notifications.dispatch import deliver_pending

    announce(engine, event_ids)
    if outbox_ids:
        deliver_pending(engine, get_settings().mail_config(), ids=outbox_ids)


def reopen(engine: Engine, code: str) -> str:
    """Start a new lifecycle run for an innovation whose gate run was lost or timed out."""
    from kinanti.engine.handoff import start_pending

    with unit_of_work(engine) as session:
        innovation = services.get_innovation(session, code, for_update=True)
        if innovation.outcome is not None:
            raise GateNotOpenError(f"{code} has ended ({innovation.outcome.value})")
        gate = services.current_gate(session, innovation)
        if gate is None or gate.status is not GateStatus.OPEN:
            raise GateNotOpenError(f"{code} has no open gate to reopen")
        services.request_stage_start(session, innovation)
    started = start_pending(engine)
    return started[-1].flow_run_id if started else ""
