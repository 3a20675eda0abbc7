"""What each stage does for one innovation, as a table of functions (no Prefect here).

``complete_stage(session, innovation, round_, ...)`` runs the stage's work, marks it done
for the round and opens the stage's gate, in the caller's single transaction. It is
idempotent: a re-run flow finds the work marker and does nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import changes, gates, innovations, queries
from domain.enums import (
    AttendeeRole,
    ConsultationStatus,
    GateAssignment,
    GateDecisionKind,
    Language,
    Role,
    Stage,
)
from domain.models import (
    Consultation,
    ConsultationAttendee,
    IndicatorClaim,
    Innovation,
    Person,
    PersonRole,
)
from domain.outbox import Recipient, unit_recipients


@dataclass(frozen=True)
class StageParams:
    """What the application passes in (from settings): the gate's wait, the clock, the
    region's time zone (consultations are booked in local working hours), how a gate
    finds its assignee."""

    gate_timeout: dt.timedelta
    flow_run_id: str | None
    today: dt.date
    zone: ZoneInfo
    gate_assignment: GateAssignment = GateAssignment.LEAST_LOADED


StageWorkFn = Callable[[Session, Innovation, StageParams, changes.ChangeResult], dict[str, Any]]


def _planning(
    session: Session, innovation: Innovation, params: StageParams, result: changes.ChangeResult
) -> dict[str, Any]:
    problems = queries.proposal_problems_of(innovation)
    summary: dict[str, Any] = {"proposal_complete": not problems, "problems": list(problems)}
    if innovation.consultation_requested:
        summary["consultation_id"] = book_consultation(session, innovation, params, result)
    return summary


def book_consultation(
    session: Session,
    innovation: Innovation,
    params: StageParams,
    result: changes.ChangeResult,
    *,
    unit_id: int | None = None,
    stage: Stage = Stage.PLANNING,
    topic: str | None = None,
) -> int:
    """Book a Klinik Kinanti session about ``innovation`` with ``unit_id`` (default: its
    owner) at ``stage``, with the least-booked active innovator (once per innovation, unit
    and stage). A replication's facilitation books one with the adopter."""
    unit_id = unit_id or innovation.unit_id
    existing = session.scalar(
        select(Consultation).where(
            Consultation.innovation_id == innovation.id,
            Consultation.unit_id == unit_id,
            Consultation.stage == stage,
            Consultation.status == ConsultationStatus.BOOKED,
        )
    )
    if existing is not None:
        return existing.id
    load = (
        select(Consultation.mentor_id, func.count(Consultation.id).label("n"))
        .where(Consultation.status == ConsultationStatus.BOOKED)
        .group_by(Consultation.mentor_id)
        .subquery()
    )
    mentor = session.execute(
        select(Person)
        .join(PersonRole)
        .outerjoin(load, load.c.mentor_id == Person.id)
        .where(Person.active.is_(True), PersonRole.role == Role.INNOVATOR)
        .order_by(func.coalesce(load.c.n, 0), Person.email)
        .limit(1)
    ).scalar_one_or_none()
    booked_today = (
        session.scalar(
            select(func.count(Consultation.id)).where(Consultation.created_at >= _day_start(params))
        )
        or 0
    )
    day = _next_working_day(params.today, offset=1 + booked_today // 4)
    slot = 9 + (booked_today % 4) * 1.5  # four sessions a day: 09:00, 10:30, 12:00, 13:30
    local = dt.datetime.combine(day, dt.time(int(slot), int((slot % 1) * 60)), tzinfo=params.zone)
    consultation = Consultation(
        unit_id=unit_id,
        innovation_id=innovation.id,
        mentor_id=mentor.id if mentor else None,
        stage=stage,
        scheduled_at=local.astimezone(dt.UTC),
        topic=(topic or f"Klinik Kinanti: perencanaan {innovation.title}")[:300],
    )
    session.add(consultation)
    session.flush()
    if mentor is not None:
        session.add(
            ConsultationAttendee(
                consultation_id=consultation.id, person_id=mentor.id, role=AttendeeRole.INNOVATOR
            )
        )
    unit = queries.get_unit(session, unit_id)
    recipients = unit_recipients(session, unit)
    if mentor is not None:
        recipients.append(Recipient(mentor.email, mentor.name, mentor.language))
    result.event(
        session,
        "kinanti.innovation.consultation-booked",
        innovation,
        {
            "consultation_id": consultation.id,
            "mentor": mentor.email if mentor else None,
            "scheduled_at": local.isoformat(),
        },
        params.flow_run_id,
    )
    changes.emails(
        session,
        result,
        event_key=f"consultation-booked:{consultation.id}",
        template="consultation_booked",
        recipients=recipients,
        context=changes.context_of(
            session,
            innovation,
            mentor_name=mentor.name if mentor else None,
            mentor_email=mentor.email if mentor else None,
            scheduled_at=local.isoformat(),
            topic=consultation.topic,
            consultation_id=consultation.id,
            flow_run_id=params.flow_run_id,
        ),
        innovation=innovation,
    )
    return consultation.id


def _day_start(params: StageParams) -> dt.datetime:
    return dt.datetime.combine(params.today, dt.time(0), tzinfo=params.zone).astimezone(dt.UTC)


def _next_working_day(day: dt.date, *, offset: int) -> dt.date:
    current = day
    remaining = offset
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def _development(
    session: Session, innovation: Innovation, params: StageParams, result: changes.ChangeResult
) -> dict[str, Any]:
    if innovation.trial_start is None:
        innovation.trial_start = params.today
    return {"trial_start": innovation.trial_start.isoformat()}


def _deployment(
    session: Session, innovation: Innovation, params: StageParams, result: changes.ChangeResult
) -> dict[str, Any]:
    if innovation.implementation_start is None:
        innovation.implementation_start = params.today
    evidence = (
        session.scalar(
            select(func.count(IndicatorClaim.id)).where(
                IndicatorClaim.innovation_id == innovation.id
            )
        )
        or 0
    )
    return {
        "implementation_start": innovation.implementation_start.isoformat(),
        "adopting_act": innovation.adopting_act.value if innovation.adopting_act else None,
        "evidence_count": evidence,
    }


def _reporting(
    session: Session, innovation: Innovation, params: StageParams, result: changes.ChangeResult
) -> dict[str, Any]:
    # imported here: the catalogue is data loaded on first use
    from domain.iid.catalogue import catalogue_for_year
    from domain.iid.scoring import Basis, Claim, levels_of, missing_mandatory, sid_score

    catalogue = catalogue_for_year(innovation.year)
    claims = [
        Claim(c.indicator, c.claimed_level, c.status, c.verified_level)
        for c in session.scalars(
            select(IndicatorClaim).where(
                IndicatorClaim.innovation_id == innovation.id,
                IndicatorClaim.aspect == "sid",
                IndicatorClaim.year == innovation.year,
            )
        )
    ]
    claimed = levels_of(claims, Basis.CLAIMED)
    verified = levels_of(claims, Basis.VERIFIED)
    return {
        "year": innovation.year,
        "indicators_claimed": sum(1 for v in claimed.values() if v),
        "sid_claimed": float(sid_score(catalogue, claimed)),
        "sid_verified": float(sid_score(catalogue, verified)),
        "missing_mandatory": list(missing_mandatory(catalogue, claimed)),
    }


def _replication(
    session: Session, innovation: Innovation, params: StageParams, result: changes.ChangeResult
) -> dict[str, Any]:
    innovation.replicable = True
    result.event(
        session,
        "kinanti.innovation.open-for-replication",
        innovation,
        {"stage": innovation.stage.value},
        params.flow_run_id,
    )
    changes.finish_stage_starts(session, innovation, None)
    return {"replicable": True}


#: The work of each stage. Every stage has an entry (tested).
STAGE_WORK: Mapping[Stage, StageWorkFn] = {
    Stage.PLANNING: _planning,
    Stage.DEVELOPMENT: _development,
    Stage.DEPLOYMENT: _deployment,
    Stage.REPORTING: _reporting,
    Stage.REPLICATION: _replication,
}


@dataclass
class StageCompletion:
    summary: dict[str, Any]
    gate_id: int | None
    auto_revised: bool
    result: changes.ChangeResult
    already_done: bool = False


def complete_stage(
    session: Session, innovation: Innovation, round_: int, params: StageParams
) -> StageCompletion:
    """Do the stage's work for ``round_``, mark it done, and open its gate (one transaction).

    An incomplete proposal is sent back to the unit at once (a revise decision by Kinanti)
    instead of waiting for a reviewer.
    """
    result = changes.ChangeResult()
    done = queries.stage_work_done(session, innovation, round_)
    if done is not None:
        gate = queries.current_gate(session, innovation)
        return StageCompletion(done.summary, gate.id if gate else None, False, result, True)
    summary = STAGE_WORK[innovation.stage](session, innovation, params, result)
    result.extend(
        innovations.record_stage_work(session, innovation, round_, summary, params.flow_run_id)
    )
    if innovation.stage is Stage.REPLICATION:
        session.flush()
        return StageCompletion(summary, None, False, result)
    problems = summary.get("problems") or []
    if problems:  # the unit is told in its own language
        unit = queries.get_unit(session, innovation.unit_id)
        problems = list(queries.proposal_problems_of(innovation, unit.language))
        reason = {
            Language.ID: "Proposal belum lengkap: ",
            Language.EN: "The proposal is incomplete: ",
        }[unit.language] + "; ".join(problems)
    gate, opened = gates.open_gate(
        session,
        innovation,
        round_=round_,
        flow_run_id=params.flow_run_id,
        timeout=params.gate_timeout,
        notify_reviewers=not problems,
        assignment=params.gate_assignment,
    )
    result.extend(opened)
    if problems:
        outcome = gates.decide_gate(
            session,
            gate.id,
            gates.DecisionCommand(
                GateDecisionKind.REVISE,
                reason=reason,
                channel="system",
                decider=changes.SYSTEM_ACTOR,
                flow_run_id=params.flow_run_id,
            ),
        )
        result.extend(outcome.result)
    session.flush()
    return StageCompletion(summary, gate.id, bool(problems), result)
