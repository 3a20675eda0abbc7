"""Gates: opening one at the end of a stage, the facts its rules need, deciding it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import lifecycle
from domain.changes import (
    SYSTEM_ACTOR,
    ChangeResult,
    context_of,
    emails,
    finish_stage_starts,
    record_event,
    record_history,
    request_stage_start,
)
from domain.enums import (
    GateDecisionKind,
    GateStatus,
    Language,
    Outcome,
    Role,
    Stage,
)
from domain.errors import (
    GateNotOpenError,
    KinantiError,
    NotFoundError,
    ValidationError,
)
from domain.models import (
    Evaluation,
    GateDecisionRecord,
    GateRequest,
    IndicatorClaim,
    Innovation,
    Person,
    Unit,
    utcnow,
)
from domain.outbox import people_with_roles, unit_recipients
from domain.queries import (
    get_person,
    get_unit,
    missing_mandatory_of,
    open_gate_of,
    person_roles,
    proposal_problems_of,
)


def open_gate(
    session: Session,
    innovation: Innovation,
    *,
    round_: int,
    flow_run_id: str | None,
    timeout: dt.timedelta,
    notify_reviewers: bool = True,
) -> tuple[GateRequest, ChangeResult]:
    """Open the gate at the end of the current stage (idempotent per round)."""
    result = ChangeResult()
    if innovation.outcome is not None:
        raise lifecycle.InnovationClosedError(f"{innovation.code} has ended")
    if innovation.stage not in lifecycle.GATED_STAGES:
        raise lifecycle.IllegalTransitionError(f"{innovation.stage.value} has no gate")
    gate = session.scalar(
        select(GateRequest).where(
            GateRequest.innovation_id == innovation.id,
            GateRequest.stage == innovation.stage,
            GateRequest.round == round_,
        )
    )
    if gate is not None:
        return gate, result
    now = utcnow()
    gate = GateRequest(
        innovation_id=innovation.id,
        stage=innovation.stage,
        round=round_,
        status=GateStatus.OPEN,
        flow_run_id=flow_run_id,
        opened_at=now,
        due_at=now + timeout,
    )
    session.add(gate)
    session.flush()
    result.events.append(
        record_event(
            session,
            "kinanti.innovation.gate-opened",
            innovation,
            {"stage": innovation.stage.value, "round": round_, "gate_id": gate.id},
            flow_run_id,
        )
    )
    if not notify_reviewers:
        return gate, result
    deciders = lifecycle.GATE_DECIDERS[innovation.stage]
    reviewers = people_with_roles(session, deciders - {Role.BRIDA_OPERATOR}) or people_with_roles(
        session, deciders
    )
    for language in Language:
        emails(
            session,
            result,
            event_key=f"gate-opened:{gate.id}",
            template="gate_waiting",
            recipients=[r for r in reviewers if r.language is language],
            context=context_of(
                session,
                innovation,
                gate_id=gate.id,
                round=round_,
                flow_run_id=flow_run_id,
                due_date=gate.due_at.date().isoformat() if gate.due_at else None,
                checklist=list(lifecycle.GATE_CHECKLIST[innovation.stage][language]),
            ),
            innovation=innovation,
        )
    return gate, result


def gate_facts(session: Session, gate: GateRequest, reviewer: Person) -> lifecycle.GateFacts:
    """Read what the gate rules need from the database."""
    innovation = session.get_one(Innovation, gate.innovation_id)
    unit = get_unit(session, innovation.unit_id)
    owner_ids = {unit.id} | ({unit.parent_id} if unit.parent_id else set())
    has_scorecard = (
        session.scalar(
            select(func.count(Evaluation.id)).where(
                Evaluation.innovation_id == innovation.id,
                Evaluation.stage == Stage.DEVELOPMENT,
            )
        )
        or 0
    ) > 0
    evidence = (
        session.scalar(
            select(func.count(IndicatorClaim.id)).where(
                IndicatorClaim.innovation_id == innovation.id
            )
        )
        or 0
    )
    return lifecycle.GateFacts(
        stage=gate.stage,
        decider_roles=person_roles(session, reviewer) if reviewer.active else frozenset(),
        decider_unit_ids=frozenset({reviewer.unit_id} if reviewer.unit_id else set()),
        owner_unit_ids=frozenset(owner_ids),
        proposal_problems=proposal_problems_of(innovation),
        has_trial_scorecard=has_scorecard,
        has_adopting_act=innovation.adopting_act is not None,
        evidence_count=evidence,
        missing_mandatory_indicators=(
            missing_mandatory_of(session, innovation) if gate.stage is Stage.REPORTING else ()
        ),
    )


def check_decision(
    session: Session, innovation: Innovation, decision: GateDecisionKind, reviewer_email: str
) -> GateRequest:
    """Raise the domain error that would refuse this decision; return the open gate."""
    gate = open_gate_of(session, innovation)
    reviewer = get_person(session, reviewer_email)
    lifecycle.check_gate_decision(gate_facts(session, gate, reviewer), decision)
    return gate


@dataclass
class DecisionOutcome:
    accepted: bool
    refusal: str | None
    gate: GateRequest
    result: ChangeResult


def decide_gate(
    session: Session,
    gate_id: int,
    *,
    decision: GateDecisionKind,
    reviewer_email: str,
    reason: str,
    channel: str,
    flow_run_id: str | None,
    continue_in_run: bool = True,
) -> DecisionOutcome:
    """Apply a gate decision. A refused decision is recorded (with why) and changes nothing.

    Approve moves the innovation to the next stage (history, hand-off, events, emails);
    revise sends it back to the unit; reject ends it. Deciding a gate that is no longer
    open raises ``GateNotOpenError`` (a stale or repeated decision never doubles a move).
    """
    gate = session.get(GateRequest, gate_id, with_for_update=True)
    if gate is None:
        raise NotFoundError(f"gate {gate_id} does not exist")
    innovation = session.get_one(Innovation, gate.innovation_id, with_for_update=True)
    if gate.status is not GateStatus.OPEN or innovation.stage is not gate.stage:
        raise GateNotOpenError(
            f"the {gate.stage.value} gate of {innovation.code} was already decided "
            f"({gate.status.value}); nothing changed"
        )
    result = ChangeResult()
    gate.attempts += 1
    refusal: str | None = None
    try:
        if reviewer_email != SYSTEM_ACTOR:
            reviewer = get_person(session, reviewer_email)
            lifecycle.check_gate_decision(gate_facts(session, gate, reviewer), decision)
        if decision is not GateDecisionKind.APPROVE and not reason.strip():
            raise ValidationError(f"a reason is required to {decision.value}")
    except KinantiError as exc:
        refusal = str(exc)
    session.add(
        GateDecisionRecord(
            gate_id=gate.id,
            decision=decision,
            reviewer=reviewer_email,
            reason=reason or None,
            accepted=refusal is None,
            refusal=refusal,
            channel=channel,
            flow_run_id=flow_run_id,
        )
    )
    if refusal is not None:
        result.events.append(
            record_event(
                session,
                "kinanti.innovation.decision-refused",
                innovation,
                {
                    "stage": gate.stage.value,
                    "decision": decision.value,
                    "reviewer": reviewer_email,
                    "refusal": refusal,
                    "gate_id": gate.id,
                },
                flow_run_id,
            )
        )
        return DecisionOutcome(False, refusal, gate, result)

    now = utcnow()
    gate.status = {
        GateDecisionKind.APPROVE: GateStatus.APPROVED,
        GateDecisionKind.REVISE: GateStatus.REVISE,
        GateDecisionKind.REJECT: GateStatus.REJECTED,
    }[decision]
    gate.decision, gate.decided_by, gate.reason, gate.decided_at = (
        decision,
        reviewer_email,
        reason or None,
        now,
    )
    from_stage = innovation.stage
    to_stage = lifecycle.next_stage(from_stage)
    unit = get_unit(session, innovation.unit_id)
    ctx = context_of(
        session,
        innovation,
        gate_id=gate.id,
        decision=decision.value,
        reason=reason or None,
        reviewer=reviewer_email,
        flow_run_id=flow_run_id,
        next_stage=to_stage.value if to_stage and decision is GateDecisionKind.APPROVE else None,
    )
    result.events.append(
        record_event(
            session,
            "kinanti.innovation.gate-decided",
            innovation,
            {
                "stage": from_stage.value,
                "decision": decision.value,
                "reviewer": reviewer_email,
                "reason": reason,
                "gate_id": gate.id,
                "round": gate.round,
            },
            flow_run_id,
        )
    )
    emails(
        session,
        result,
        event_key=f"gate-decided:{gate.id}",
        template="gate_decided",
        recipients=unit_recipients(session, unit),
        context=ctx,
        innovation=innovation,
    )
    finish_stage_starts(session, innovation, from_stage)
    if decision is GateDecisionKind.APPROVE:
        assert to_stage is not None
        lifecycle.check_transition(from_stage, to_stage, innovation.outcome)
        innovation.stage = to_stage
        record_history(
            session,
            innovation,
            from_stage=from_stage,
            to_stage=to_stage,
            actor=reviewer_email,
            reason=reason or "approved",
            flow_run_id=flow_run_id,
        )
        request_stage_start(session, innovation, flow_run_id if continue_in_run else None)
        result.extend(stage_entered(session, innovation, unit, flow_run_id))
    elif decision is GateDecisionKind.REVISE:
        innovation.revision_requested = True
        result.events.append(
            record_event(
                session,
                "kinanti.innovation.revision-requested",
                innovation,
                {"stage": from_stage.value, "reason": reason},
                flow_run_id,
            )
        )
    else:
        lifecycle.check_outcome(from_stage, Outcome.REJECTED, innovation.outcome)
        innovation.outcome = Outcome.REJECTED
        record_history(
            session,
            innovation,
            from_stage=from_stage,
            to_stage=from_stage,
            outcome=Outcome.REJECTED,
            actor=reviewer_email,
            reason=reason,
            flow_run_id=flow_run_id,
        )
        result.events.append(
            record_event(
                session,
                "kinanti.innovation.ended",
                innovation,
                {"stage": from_stage.value, "outcome": Outcome.REJECTED.value, "reason": reason},
                flow_run_id,
            )
        )
    session.flush()
    return DecisionOutcome(True, None, gate, result)


def stage_entered(
    session: Session, innovation: Innovation, unit: Unit, flow_run_id: str | None
) -> ChangeResult:
    result = ChangeResult()
    result.events.append(
        record_event(
            session,
            "kinanti.innovation.stage-entered",
            innovation,
            {"stage": innovation.stage.value},
            flow_run_id,
        )
    )
    emails(
        session,
        result,
        event_key=f"stage-entered:{innovation.code}:{innovation.stage.value}",
        template="stage_entered",
        recipients=unit_recipients(session, unit),
        context=context_of(session, innovation, flow_run_id=flow_run_id),
        innovation=innovation,
    )
    return result
