"""Gates: opening one at the end of a stage, the facts its rules need, deciding it."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, replace

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from domain import lifecycle
from domain.assignment import assign_opened_gate
from domain.changes import (
    SYSTEM_ACTOR,
    ChangeResult,
    context_of,
    email_unit,
    emails,
    finish_stage_starts,
    record_history,
    request_stage_start,
)
from domain.enums import (
    GateAssignment,
    GateDecisionKind,
    GateStatus,
    Language,
    Outcome,
    Role,
    Stage,
)
from domain.errors import (
    GateNotOpenError,
    IdentityNotProvenError,
    KinantiError,
    NotFoundError,
    ValidationError,
)
from domain.innovations import record_evaluation
from domain.models import (
    DecisionProof,
    Evaluation,
    GateDecisionRecord,
    GateRequest,
    IndicatorClaim,
    Innovation,
    Person,
    Unit,
    utcnow,
)
from domain.outbox import Recipient, people_with_roles
from domain.queries import (
    get_person,
    get_unit,
    missing_mandatory_of,
    person_roles,
    proposal_problems_of,
)
from domain.schemas import ScorecardIn, control_character_problem


def open_gate(
    session: Session,
    innovation: Innovation,
    *,
    round_: int,
    flow_run_id: str | None,
    timeout: dt.timedelta,
    notify_reviewers: bool = True,
    assignment: GateAssignment = GateAssignment.LEAST_LOADED,
) -> tuple[GateRequest, ChangeResult]:
    """Open the gate at the end of the current stage (idempotent per round).

    With ``notify_reviewers`` the gate goes to review: by ``assignment`` it gets one
    assignee (``domain.assignment``), who alone is emailed, or it waits in the role's queue
    and everyone who may decide it is emailed."""
    result = ChangeResult()
    if innovation.outcome is not None:
        raise lifecycle.InnovationClosedError(code="innovation.ended", innovation=innovation.code)
    if innovation.stage not in lifecycle.GATED_STAGES:
        raise lifecycle.IllegalTransitionError(code="gate.no_gate", stage=innovation.stage.value)
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
    assignee = (
        assign_opened_gate(session, gate, innovation)
        if notify_reviewers and assignment is GateAssignment.LEAST_LOADED
        else None
    )
    result.event(
        session,
        "kinanti.innovation.gate-opened",
        innovation,
        {
            "stage": innovation.stage.value,
            "round": round_,
            "gate_id": gate.id,
            "assignee": assignee.email if assignee else None,
        },
        flow_run_id,
    )
    if not notify_reviewers:
        return gate, result
    if assignee is not None:
        reviewers = [Recipient(assignee.email, assignee.name, assignee.language)]
    else:  # the role's queue: everyone who may decide hears of it
        deciders = lifecycle.GATE_DECIDERS[innovation.stage]
        reviewers = people_with_roles(
            session, deciders - {Role.BRIDA_OPERATOR}
        ) or people_with_roles(session, deciders)
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
                assigned=assignee is not None,
                budget=str(innovation.budget) if innovation.budget is not None else None,
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
        proposal_problems_by_language={
            language: proposal_problems_of(innovation, language) for language in Language
        },
        has_trial_scorecard=has_scorecard,
        has_adopting_act=innovation.adopting_act is not None,
        evidence_count=evidence,
        missing_mandatory_indicators=(
            missing_mandatory_of(session, innovation) if gate.stage is Stage.REPORTING else ()
        ),
    )


#: Channels whose caller is trusted to name the decider: code running on the server with
#: access to the database (an operator's CLI, the system itself, the demo's importer).
TRUSTED_CHANNELS = frozenset({"cli", "system", "import"})

#: How long a decision proof stays valid (a resume arrives within seconds of its issue).
PROOF_TTL = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class DecisionCommand:
    """A gate decision as it arrives, from any channel.

    ``decider`` is trusted only from ``TRUSTED_CHANNELS``; anything resumed through Prefect
    (the portal, the Prefect UI form, the API) proves its decider with ``proof``, a one-time
    code from ``issue_decision_proof``. A typed email address proves nothing.
    """

    decision: GateDecisionKind
    reason: str = ""
    channel: str = "cli"
    decider: str | None = None
    proof: str | None = None
    scorecard: ScorecardIn | None = None
    os_user: str | None = None
    flow_run_id: str | None = None

    def __post_init__(self) -> None:
        """Validate at the edge: nothing unstorable reaches the decision's transaction."""
        problems = [
            f"{name}: {problem}"
            for name, value in self._texts().items()
            if (problem := control_character_problem(value))
        ]
        for name, limit in _TEXT_LIMITS.items():
            value = self._texts()[name]
            if value is not None and len(value) > limit:
                problems.append(f"{name}: {len(value)} characters; at most {limit} allowed")
        if not isinstance(self.decision, GateDecisionKind):
            problems.append(f"decision: {self.decision!r} is not approve, revise or reject")
        if problems:
            raise ValidationError(problems=problems, code="gate.decision_invalid")

    def _texts(self) -> dict[str, str | None]:
        return {
            "reason": self.reason,
            "channel": self.channel,
            "decider": self.decider,
            "proof": self.proof,
            "os_user": self.os_user,
            "flow_run_id": self.flow_run_id,
        }


#: The longest text a decision's fields may hold (the columns they are stored in).
_TEXT_LIMITS = {
    "reason": 2000,
    "channel": 16,
    "decider": 254,
    "proof": 200,
    "os_user": 64,
    "flow_run_id": 64,
}


@dataclass
class DecisionOutcome:
    """What ``decide_gate`` did: accepted (and applied) or refused (recorded, with why)."""

    accepted: bool
    gate: GateRequest
    result: ChangeResult
    decider: str
    refusal: KinantiError | None = None

    @property
    def refusal_code(self) -> str | None:
        return self.refusal.code if self.refusal else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_decision_proof(
    session: Session,
    gate: GateRequest,
    person: Person,
    *,
    channel: str,
    os_user: str | None = None,
    ttl: dt.timedelta = PROOF_TTL,
) -> str:
    """A one-time code that proves ``person`` decides ``gate`` (only its hash is kept)."""
    return issue_proof(session, person, gate_id=gate.id, channel=channel, os_user=os_user, ttl=ttl)


def issue_proof(
    session: Session,
    person: Person,
    *,
    gate_id: int | None = None,
    adoption_id: int | None = None,
    channel: str,
    os_user: str | None = None,
    ttl: dt.timedelta = PROOF_TTL,
) -> str:
    """A one-time code that proves ``person`` decides a lifecycle gate (``gate_id``) or an
    adoption's gate (``adoption_id``); only its hash is kept."""
    if (gate_id is None) == (adoption_id is None):
        raise ValueError("a decision proof is for one gate or one adoption")
    token = secrets.token_urlsafe(24)
    now = utcnow()
    session.add(
        DecisionProof(
            gate_id=gate_id,
            adoption_id=adoption_id,
            person_id=person.id,
            token_hash=_token_hash(token),
            channel=channel,
            os_user=os_user,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


def consume_proof(
    session: Session,
    token: str | None,
    *,
    gate_id: int | None = None,
    adoption_id: int | None = None,
) -> DecisionProof:
    """Consume the proof that comes with a resumed decision on this gate or adoption (it
    works once, before it expires), or raise ``IdentityNotProvenError``."""
    if not token or not token.strip():
        raise IdentityNotProvenError(code="gate.identity_unproven", detail="no decision code")
    proof = session.scalar(
        select(DecisionProof)
        .where(DecisionProof.token_hash == _token_hash(token.strip()))
        .with_for_update()
    )
    problem = None
    if proof is None or (proof.gate_id, proof.adoption_id) != (gate_id, adoption_id):
        problem = "unknown decision code"
    elif proof.used_at is not None:
        problem = "the decision code was used already"
    elif proof.expires_at < utcnow():
        problem = "the decision code has expired"
    if problem is not None or proof is None:
        raise IdentityNotProvenError(code="gate.identity_unproven", detail=problem)
    proof.used_at = utcnow()
    return proof


def check_decision(
    session: Session, gate: GateRequest, command: DecisionCommand, decider: Person | None
) -> None:
    """The rules of a gate decision, in one place; raise the error that refuses it.

    ``decider`` is the proven person (``None`` for the system itself). The error's
    ``code`` is the typed reason. Called by ``decide_gate`` and, to report a refusal before
    anything is resumed, by the CLI and the portal (``kinanti.orchestration.gates``).
    """
    if command.decision is not GateDecisionKind.APPROVE and not command.reason.strip():
        raise ValidationError(code="gate.reason_required", decision=command.decision.value)
    if decider is None:
        return
    facts = gate_facts(session, gate, decider)
    if command.scorecard is not None and gate.stage is Stage.DEVELOPMENT:
        facts = replace(facts, has_trial_scorecard=True)
    lifecycle.check_gate_decision(facts, command.decision)


def resolve_decider(
    session: Session, gate: GateRequest, command: DecisionCommand
) -> tuple[str, Person | None, DecisionProof | None]:
    """Who decides: the proven person (``proof``), or the decider a trusted channel names."""
    if command.proof is not None or command.channel not in TRUSTED_CHANNELS:
        proof = consume_proof(session, command.proof, gate_id=gate.id)
        person = session.get_one(Person, proof.person_id)
        return person.email, person, proof
    if command.decider == SYSTEM_ACTOR:
        return SYSTEM_ACTOR, None, None
    if not command.decider:
        raise IdentityNotProvenError(code="gate.identity_unproven", detail="no decider named")
    person = get_person(session, command.decider)
    return person.email, person, None


def decide_gate(
    session: Session,
    gate_id: int,
    command: DecisionCommand,
    *,
    continue_in_run: bool = True,
) -> DecisionOutcome:
    """Apply a gate decision, from any channel. A refused decision is recorded (with its
    typed reason) and changes nothing else.

    Approve moves the innovation to the next stage (history, hand-off, events, emails);
    revise sends it back to the unit; reject ends it. Deciding a gate that is no longer
    open raises ``GateNotOpenError`` (a stale or repeated decision never doubles a move).
    With ``continue_in_run`` the calling flow run goes on to the next stage itself.
    """
    # Take the gate's write lock before reading it, so that a decision committed meanwhile
    # is seen and refused below: PostgreSQL locks the row (also FOR UPDATE); SQLite, where
    # FOR UPDATE is a no-op, takes its one database write lock with this value-preserving
    # update (waiting up to its busy timeout for the other writer to commit).
    session.execute(
        update(GateRequest)
        .where(GateRequest.id == gate_id)
        .values(attempts=GateRequest.attempts)
        .execution_options(synchronize_session=False)
    )
    gate = session.get(GateRequest, gate_id, with_for_update=True, populate_existing=True)
    if gate is None:
        raise NotFoundError(code="gate.unknown", gate=gate_id)
    innovation = session.get_one(Innovation, gate.innovation_id, with_for_update=True)
    if gate.status is not GateStatus.OPEN or innovation.stage is not gate.stage:
        raise GateNotOpenError(
            code="gate.decided_already",
            stage=gate.stage.value,
            innovation=innovation.code,
            status=gate.status.value,
        )
    result = ChangeResult()
    gate.attempts += 1
    decider, channel, os_user = command.decider or "-", command.channel, command.os_user
    refusal: KinantiError | None = None
    try:
        decider, person, proof = resolve_decider(session, gate, command)
        if proof is not None:
            channel, os_user = proof.channel, proof.os_user or os_user
        check_decision(session, gate, command, person)
    except KinantiError as exc:
        refusal = exc
    session.add(
        GateDecisionRecord(
            gate_id=gate.id,
            decision=command.decision,
            reviewer=decider[:254],
            reason=command.reason or None,
            accepted=refusal is None,
            refusal=str(refusal) if refusal else None,
            refusal_code=refusal.code if refusal else None,
            refusal_params=refusal.stored_params() if refusal else None,
            channel=channel[:16],
            os_user=os_user,
            flow_run_id=command.flow_run_id,
        )
    )
    if refusal is not None:
        result.event(
            session,
            "kinanti.innovation.decision-refused",
            innovation,
            {
                "stage": gate.stage.value,
                "decision": command.decision.value,
                "reviewer": decider,
                "refusal": str(refusal),
                "refusal_code": refusal.code,
                "gate_id": gate.id,
            },
            command.flow_run_id,
        )
        return DecisionOutcome(False, gate, result, decider, refusal)

    if command.scorecard is not None and gate.stage is Stage.DEVELOPMENT:
        _, filed = record_evaluation(
            session, innovation, command.scorecard, evaluator=decider, stage=Stage.DEVELOPMENT
        )
        result.extend(filed)
    gate.status = _GATE_STATUS[command.decision]
    gate.decision, gate.decided_by, gate.reason, gate.decided_at = (
        command.decision,
        decider,
        command.reason or None,
        utcnow(),
    )
    unit = get_unit(session, innovation.unit_id)
    to_stage = lifecycle.next_stage(innovation.stage)
    approved = command.decision is GateDecisionKind.APPROVE
    result.event(
        session,
        "kinanti.innovation.gate-decided",
        innovation,
        {
            "stage": gate.stage.value,
            "decision": command.decision.value,
            "reviewer": decider,
            "reason": command.reason,
            "gate_id": gate.id,
            "round": gate.round,
        },
        command.flow_run_id,
    )
    email_unit(
        session,
        result,
        unit,
        innovation,
        event_key=f"gate-decided:{gate.id}",
        template="gate_decided",
        gate_id=gate.id,
        decision=command.decision.value,
        reason=command.reason or None,
        reviewer=decider,
        flow_run_id=command.flow_run_id,
        next_stage=to_stage.value if to_stage and approved else None,
    )
    finish_stage_starts(session, innovation, gate.stage)
    _APPLY[command.decision](
        _AcceptedDecision(session, innovation, unit, command, decider, result, continue_in_run)
    )
    session.flush()
    return DecisionOutcome(True, gate, result, decider)


_GATE_STATUS = {
    GateDecisionKind.APPROVE: GateStatus.APPROVED,
    GateDecisionKind.REVISE: GateStatus.REVISE,
    GateDecisionKind.REJECT: GateStatus.REJECTED,
}


@dataclass(frozen=True)
class _AcceptedDecision:
    """What applying an accepted decision works on: the locked innovation, its unit, the
    command, who decided, the change result being filled, and whether the run goes on."""

    session: Session
    innovation: Innovation
    unit: Unit
    command: DecisionCommand
    decider: str
    result: ChangeResult
    continue_in_run: bool


def _approve(d: _AcceptedDecision) -> None:
    """The innovation enters the next stage; its lifecycle run (or a new one) goes on."""
    innovation, flow_run_id = d.innovation, d.command.flow_run_id
    from_stage = innovation.stage
    to_stage = lifecycle.next_stage(from_stage)
    assert to_stage is not None
    lifecycle.check_transition(from_stage, to_stage, innovation.outcome)
    innovation.stage = to_stage
    record_history(
        d.session,
        innovation,
        from_stage=from_stage,
        to_stage=to_stage,
        actor=d.decider,
        reason=d.command.reason or "approved",
        flow_run_id=flow_run_id,
    )
    request_stage_start(d.session, innovation, d.result, flow_run_id if d.continue_in_run else None)
    d.result.extend(stage_entered(d.session, innovation, d.unit, flow_run_id))


def _revise(d: _AcceptedDecision) -> None:
    """The innovation goes back to its unit, which revises and resubmits it."""
    d.innovation.revision_requested = True
    d.result.event(
        d.session,
        "kinanti.innovation.revision-requested",
        d.innovation,
        {"stage": d.innovation.stage.value, "reason": d.command.reason},
        d.command.flow_run_id,
    )


def _reject(d: _AcceptedDecision) -> None:
    """The innovation ends, rejected at this gate."""
    innovation, reason = d.innovation, d.command.reason
    stage = innovation.stage
    lifecycle.check_outcome(stage, Outcome.REJECTED, innovation.outcome)
    innovation.outcome = Outcome.REJECTED
    record_history(
        d.session,
        innovation,
        from_stage=stage,
        to_stage=stage,
        outcome=Outcome.REJECTED,
        actor=d.decider,
        reason=reason,
        flow_run_id=d.command.flow_run_id,
    )
    d.result.event(
        d.session,
        "kinanti.innovation.ended",
        innovation,
        {"stage": stage.value, "outcome": Outcome.REJECTED.value, "reason": reason},
        d.command.flow_run_id,
    )


_APPLY = {
    GateDecisionKind.APPROVE: _approve,
    GateDecisionKind.REVISE: _revise,
    GateDecisionKind.REJECT: _reject,
}


def stage_entered(
    session: Session, innovation: Innovation, unit: Unit, flow_run_id: str | None
) -> ChangeResult:
    """Announce that the innovation entered its (new) stage and tell its unit."""
    result = ChangeResult()
    result.event(
        session,
        "kinanti.innovation.stage-entered",
        innovation,
        {"stage": innovation.stage.value},
        flow_run_id,
    )
    email_unit(
        session,
        result,
        unit,
        innovation,
        event_key=f"stage-entered:{innovation.code}:{innovation.stage.value}",
        template="stage_entered",
        flow_run_id=flow_run_id,
    )
    return result
