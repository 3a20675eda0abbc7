"""Domain services: each call is one change, applied inside the caller's transaction.

A service checks the rules (``domain.lifecycle``), changes the rows, appends history,
records the domain events it caused (``domain_events``), writes the outbox rows for the
emails they cause, and records durable hand-offs (``stage_starts``). Services never commit:
the caller owns the transaction (``kinanti.db.unit_of_work``), so a change is all or nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import lifecycle, profile
from domain.enums import (
    GateDecisionKind,
    GateStatus,
    Language,
    Outcome,
    Role,
    Stage,
    StageStartStatus,
    UnitKind,
    VerificationStatus,
)
from domain.errors import (
    ConflictError,
    GateNotOpenError,
    KinantiError,
    NotFoundError,
    ValidationError,
)
from domain.models import (
    DomainEventRecord,
    Evaluation,
    GateDecisionRecord,
    GateRequest,
    IndicatorClaim,
    Innovation,
    Person,
    PersonRole,
    StageHistory,
    StageStart,
    StageWork,
    Unit,
    utcnow,
)
from domain.outbox import Recipient, enqueue, people_with_roles, unit_recipients
from domain.schemas import InnovationIn, ScorecardIn

SYSTEM_ACTOR = "kinanti@system"

#: Checklist shown to reviewers at each gate (the Prefect form and the email).
GATE_CHECKLIST: dict[Stage, dict[Language, tuple[str, ...]]] = {
    Stage.PLANNING: {
        Language.ID: (
            "Proposal lengkap: isian profil dan rancang bangun minimal 300 kata",
            "Lima kriteria: kebaruan, bermanfaat, tidak membebani, dalam kewenangan, "
            "dapat direplikasi",
            "Anggaran dan tujuan realistis",
        ),
        Language.EN: (
            "Proposal complete: profile fields and a design narrative of 300+ words",
            "The five criteria: renewal, benefit, no extra burden, within authority, replicable",
            "Budget and goals are realistic",
        ),
    },
    Stage.DEVELOPMENT: {
        Language.ID: (
            "Uji coba sudah dimulai dan scorecard-nya diisi",
            "Rata-rata scorecard minimal 3 pada lima kriteria",
        ),
        Language.EN: (
            "Trial (uji coba) has started and its scorecard is filed",
            "Scorecard average of at least 3 on the five criteria",
        ),
    },
    Stage.DEPLOYMENT: {
        Language.ID: (
            "Dasar hukum penerapan (SK / Perkada / Perda) tercatat",
            "Bukti penerapan terlampir",
        ),
        Language.EN: (
            "Adopting act (SK / Perkada / Perda) is recorded",
            "Implementation evidence is attached",
        ),
    },
    Stage.REPORTING: {
        Language.ID: (
            "Indikator IID wajib memiliki bukti dukung",
            "Skor SID tahun berjalan sudah dihitung; persetujuan akhir oleh Kepala Brida",
        ),
        Language.EN: (
            "Mandatory IID indicators have evidence",
            "SID score for the year is computed; final approval by the head of Brida",
        ),
    },
}


@dataclass
class ChangeResult:
    """What a service call changed: the events it recorded and the outbox rows it wrote."""

    events: list[DomainEventRecord] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)

    def extend(self, other: ChangeResult) -> None:
        self.events.extend(other.events)
        self.outbox_ids.extend(other.outbox_ids)


# ---------------------------------------------------------------- lookups


def get_innovation(session: Session, code: str, *, for_update: bool = False) -> Innovation:
    stmt = select(Innovation).where(Innovation.code == code.strip().upper())
    if for_update:
        stmt = stmt.with_for_update()
    innovation = session.scalar(stmt)
    if innovation is None:
        raise NotFoundError(f"innovation {code!r} does not exist (see `kinanti innovations list`)")
    return innovation


def get_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFoundError(f"unit id {unit_id} does not exist")
    return unit


def get_person(session: Session, email: str) -> Person:
    person = session.scalar(select(Person).where(Person.email == email.strip().lower()))
    if person is None:
        raise NotFoundError(f"person {email!r} is not registered (see `kinanti people list`)")
    return person


def person_roles(session: Session, person: Person) -> frozenset[Role]:
    return frozenset(
        session.scalars(select(PersonRole.role).where(PersonRole.person_id == person.id))
    )


def current_gate(session: Session, innovation: Innovation) -> GateRequest | None:
    """The latest gate of the innovation's current stage (any status), or ``None``."""
    return session.scalar(
        select(GateRequest)
        .where(GateRequest.innovation_id == innovation.id, GateRequest.stage == innovation.stage)
        .order_by(GateRequest.round.desc())
        .limit(1)
    )


def open_gate_of(session: Session, innovation: Innovation) -> GateRequest:
    gate = current_gate(session, innovation)
    if gate is None or gate.status is not GateStatus.OPEN:
        raise GateNotOpenError(
            f"{innovation.code} has no open gate at {innovation.stage.value}"
            + (f" (the last one was {gate.status.value})" if gate else "")
        )
    return gate


# ---------------------------------------------------------------- events


def context_of(session: Session, innovation: Innovation, **extra: Any) -> dict[str, Any]:
    unit = get_unit(session, innovation.unit_id)
    return {
        "innovation_code": innovation.code,
        "innovation_title": innovation.title,
        "unit_code": unit.code,
        "unit_name": unit.name,
        "stage": innovation.stage.value,
        "year": innovation.year,
        **extra,
    }


def record_event(
    session: Session,
    name: str,
    innovation: Innovation | None,
    payload: dict[str, Any],
    flow_run_id: str | None = None,
) -> DomainEventRecord:
    """Append a domain event (announced to Prefect after commit)."""
    record = DomainEventRecord(
        name=name,
        innovation_id=innovation.id if innovation else None,
        payload=payload,
        flow_run_id=flow_run_id,
    )
    session.add(record)
    return record


def emails(
    session: Session,
    result: ChangeResult,
    *,
    event_key: str,
    template: str,
    recipients: list[Recipient],
    context: dict[str, Any],
    innovation: Innovation | None,
) -> None:
    rows = enqueue(
        session,
        event_key=event_key,
        template=template,
        recipients=recipients,
        context=context,
        innovation_id=innovation.id if innovation else None,
    )
    session.flush()
    result.outbox_ids.extend(r.id for r in rows)


def _history(
    session: Session,
    innovation: Innovation,
    *,
    from_stage: Stage | None,
    to_stage: Stage,
    actor: str,
    reason: str | None,
    flow_run_id: str | None,
    outcome: Outcome | None = None,
) -> None:
    session.add(
        StageHistory(
            innovation_id=innovation.id,
            from_stage=from_stage,
            to_stage=to_stage,
            outcome=outcome,
            actor=actor,
            reason=reason,
            flow_run_id=flow_run_id,
        )
    )


def request_stage_start(
    session: Session, innovation: Innovation, flow_run_id: str | None = None
) -> StageStart:
    """Record that the innovation's lifecycle must run from its current stage (hand-off).

    With ``flow_run_id`` the calling run continues the work itself (status started);
    otherwise the row stays pending until a run is started for it.
    """
    attempt = (
        session.scalar(
            select(func.max(StageStart.attempt)).where(
                StageStart.innovation_id == innovation.id, StageStart.stage == innovation.stage
            )
        )
        or 0
    ) + 1
    start = StageStart(
        innovation_id=innovation.id,
        stage=innovation.stage,
        attempt=attempt,
        status=StageStartStatus.STARTED if flow_run_id else StageStartStatus.PENDING,
        flow_run_id=flow_run_id,
        started_at=utcnow() if flow_run_id else None,
    )
    session.add(start)
    return start


def _finish_stage_starts(session: Session, innovation: Innovation, stage: Stage) -> None:
    for start in session.scalars(
        select(StageStart).where(
            StageStart.innovation_id == innovation.id,
            StageStart.stage == stage,
            StageStart.status != StageStartStatus.DONE,
        )
    ):
        start.status = StageStartStatus.DONE
        start.done_at = utcnow()


# ---------------------------------------------------------------- submission


_PROFILE_FIELDS = (
    "title",
    "year",
    "initiator",
    "initiator_name",
    "jenis",
    "bentuk",
    "urusan_main",
    "urusan_other",
    "tematik",
    "trial_start",
    "implementation_start",
    "latest_development",
    "design",
    "goals",
    "benefits",
    "results",
    "budget",
    "adopting_act",
    "adopting_act_number",
    "consultation_requested",
)


def _ref(session: Session, innovation: Innovation | None) -> profile.InnovationRef | None:
    if innovation is None:
        return None
    return profile.InnovationRef(innovation.code, get_unit(session, innovation.unit_id).code)


def submit_innovation(
    session: Session,
    data: InnovationIn,
    *,
    actor: str,
    units_by_code: dict[str, Unit] | None = None,
) -> tuple[Innovation, bool, ChangeResult]:
    """Create the innovation at planning (and its hand-off) or update its profile fields.

    Returns ``(innovation, created, result)``. Re-submitting the same record is idempotent.
    """
    result = ChangeResult()
    unit = (units_by_code or {}).get(data.unit) or session.scalar(
        select(Unit).where(Unit.code == data.unit)
    )
    origin = (
        session.scalar(select(Innovation).where(Innovation.code == data.origin))
        if data.origin
        else None
    )
    innovation = session.scalar(select(Innovation).where(Innovation.code == data.code))
    problems = profile.submission_problems(
        code=data.code,
        unit_code=data.unit,
        origin_code=data.origin,
        unit=profile.UnitRef(unit.id, unit.code, unit.active) if unit else None,
        registered=_ref(session, innovation),
        origin=_ref(session, origin),
    )
    if problems:
        taken = any(p.kind is profile.ProblemKind.CODE_TAKEN for p in problems)
        raise (ConflictError if taken else ValidationError)("; ".join(map(str, problems)))
    assert unit is not None
    origin_id = origin.id if origin is not None else None
    values = {name: getattr(data, name) for name in _PROFILE_FIELDS}
    if innovation is not None:
        changed = False
        for name, value in values.items():
            if getattr(innovation, name) != value:
                setattr(innovation, name, value)
                changed = True
        if innovation.origin_id != origin_id:
            innovation.origin_id = origin_id
            changed = True
        if changed:
            result.events.append(
                record_event(session, "kinanti.innovation.updated", innovation, {"actor": actor})
            )
        return innovation, False, result

    innovation = Innovation(
        code=data.code, unit_id=unit.id, stage=Stage.PLANNING, origin_id=origin_id, **values
    )
    session.add(innovation)
    session.flush()
    _history(
        session,
        innovation,
        from_stage=None,
        to_stage=Stage.PLANNING,
        actor=actor,
        reason="submitted",
        flow_run_id=None,
    )
    request_stage_start(session, innovation)
    result.events.append(
        record_event(
            session,
            "kinanti.innovation.submitted",
            innovation,
            {"actor": actor, "origin": data.origin},
        )
    )
    return innovation, True, result


# ---------------------------------------------------------------- stage work and gates


def stage_work_done(session: Session, innovation: Innovation, round_: int) -> StageWork | None:
    return session.scalar(
        select(StageWork).where(
            StageWork.innovation_id == innovation.id,
            StageWork.stage == innovation.stage,
            StageWork.round == round_,
        )
    )


def record_stage_work(
    session: Session,
    innovation: Innovation,
    round_: int,
    summary: dict[str, Any],
    flow_run_id: str | None,
) -> ChangeResult:
    """Mark this stage's work done for ``round_`` (idempotent) and announce it."""
    result = ChangeResult()
    if stage_work_done(session, innovation, round_) is not None:
        return result
    session.add(
        StageWork(
            innovation_id=innovation.id,
            stage=innovation.stage,
            round=round_,
            summary=summary,
            flow_run_id=flow_run_id,
        )
    )
    result.events.append(
        record_event(
            session,
            "kinanti.innovation.stage-work-done",
            innovation,
            {"stage": innovation.stage.value, "round": round_, **summary},
            flow_run_id,
        )
    )
    return result


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
                checklist=list(GATE_CHECKLIST[innovation.stage][language]),
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


def proposal_problems_of(
    innovation: Innovation, language: Language = Language.EN
) -> tuple[str, ...]:
    return lifecycle.proposal_problems(
        language=language,
        title=innovation.title,
        design=innovation.design,
        goals=innovation.goals,
        benefits=innovation.benefits,
        budget=innovation.budget,
        urusan_main=innovation.urusan_main,
        tematik=innovation.tematik,
    )


def missing_mandatory_of(session: Session, innovation: Innovation) -> tuple[str, ...]:
    """Mandatory SID indicators of the year without a claim (accepted or pending).

    Raises ``RequirementMissingError`` when no IID catalogue exists for the year: the
    reporting gate cannot be approved against an unknown indicator list.
    """
    from domain.iid.catalogue import catalogue_for_year  # local: catalogue is data-heavy

    try:
        catalogue = catalogue_for_year(innovation.year)
    except NotFoundError as exc:
        raise lifecycle.RequirementMissingError(
            f"no IID catalogue for {innovation.year}; add one before reporting: {exc}"
        ) from exc
    claimed = set(
        session.scalars(
            select(IndicatorClaim.indicator).where(
                IndicatorClaim.innovation_id == innovation.id,
                IndicatorClaim.aspect == "sid",
                IndicatorClaim.year == innovation.year,
                IndicatorClaim.status != VerificationStatus.REJECTED,
            )
        )
    )
    return tuple(i.code for i in catalogue.sid if i.mandatory and i.code not in claimed)


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
    _finish_stage_starts(session, innovation, from_stage)
    if decision is GateDecisionKind.APPROVE:
        assert to_stage is not None
        lifecycle.check_transition(from_stage, to_stage, innovation.outcome)
        innovation.stage = to_stage
        _history(
            session,
            innovation,
            from_stage=from_stage,
            to_stage=to_stage,
            actor=reviewer_email,
            reason=reason or "approved",
            flow_run_id=flow_run_id,
        )
        request_stage_start(session, innovation, flow_run_id if continue_in_run else None)
        result.extend(_stage_entered(session, innovation, unit, flow_run_id))
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
        _history(
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


def _stage_entered(
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


def resubmit(
    session: Session, innovation: Innovation, *, actor: str, note: str | None = None
) -> ChangeResult:
    """The unit answers a revision request; the stage's work and gate run again."""
    if innovation.outcome is not None:
        raise lifecycle.InnovationClosedError(f"{innovation.code} has ended")
    if not innovation.revision_requested:
        raise ConflictError(f"{innovation.code} has no revision requested; nothing to resubmit")
    person = get_person(session, actor)
    unit = get_unit(session, innovation.unit_id)
    owner_ids = {unit.id} | ({unit.parent_id} if unit.parent_id else set())
    roles = person_roles(session, person)
    if person.unit_id not in owner_ids and not roles & {Role.BRIDA_OPERATOR}:
        raise lifecycle.NotAuthorizedError(
            f"{actor} is not an officer of {unit.code} (or a Brida operator)"
        )
    innovation.revision_requested = False
    result = ChangeResult()
    request_stage_start(session, innovation)
    result.events.append(
        record_event(
            session,
            "kinanti.innovation.resubmitted",
            innovation,
            {"stage": innovation.stage.value, "actor": actor, "note": note},
        )
    )
    return result


def end_innovation(
    session: Session, innovation: Innovation, outcome: Outcome, *, actor: str, reason: str
) -> ChangeResult:
    """Withdraw or discontinue an innovation; its open gate closes without a decision."""
    if not reason.strip():
        raise ValidationError(f"a reason is required to mark an innovation {outcome.value}")
    lifecycle.check_outcome(innovation.stage, outcome, innovation.outcome)
    innovation.outcome = outcome
    for gate in session.scalars(
        select(GateRequest).where(
            GateRequest.innovation_id == innovation.id, GateRequest.status == GateStatus.OPEN
        )
    ):
        gate.status = GateStatus.CLOSED
        gate.reason = reason
        gate.decided_at = utcnow()
    _finish_stage_starts(session, innovation, innovation.stage)
    _history(
        session,
        innovation,
        from_stage=innovation.stage,
        to_stage=innovation.stage,
        outcome=outcome,
        actor=actor,
        reason=reason,
        flow_run_id=None,
    )
    result = ChangeResult()
    result.events.append(
        record_event(
            session,
            "kinanti.innovation.ended",
            innovation,
            {"stage": innovation.stage.value, "outcome": outcome.value, "reason": reason},
        )
    )
    return result


def record_evaluation(
    session: Session,
    innovation: Innovation,
    scorecard: ScorecardIn,
    *,
    evaluator: str,
    stage: Stage | None = None,
) -> tuple[Evaluation, ChangeResult]:
    """File a scorecard (five PP 38/2017 criteria) for the innovation's current stage."""
    get_person(session, evaluator)
    scores = scorecard.model_dump(exclude={"notes"})
    total = Decimal(sum(scores.values())) / Decimal(len(scores))
    evaluation = Evaluation(
        innovation_id=innovation.id,
        stage=stage or innovation.stage,
        evaluator=evaluator,
        scores=scores,
        total=total.quantize(Decimal("0.01")),
        recommendation="lanjut" if total >= 3 else "perbaiki",
        notes=scorecard.notes,
    )
    session.add(evaluation)
    result = ChangeResult()
    result.events.append(
        record_event(
            session,
            "kinanti.innovation.evaluated",
            innovation,
            {
                "stage": evaluation.stage.value,
                "total": str(evaluation.total),
                "evaluator": evaluator,
            },
        )
    )
    return evaluation, result


def units_owning(session: Session, kinds: Iterable[UnitKind] | None = None) -> list[Unit]:
    stmt = select(Unit).where(Unit.active.is_(True)).order_by(Unit.code)
    if kinds:
        stmt = stmt.where(Unit.kind.in_(list(kinds)))
    return list(session.scalars(stmt))
