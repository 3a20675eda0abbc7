"""Read models of the registry: the rows behind ``kinanti units|people|innovations list/show``.

Each query returns pydantic models, so the CLI renders the same objects as tables or as
JSON (``--json``). Queries are set-based: a listing costs a fixed number of statements.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from domain.enums import NATIONAL_STAGE, Stage
from domain.errors import NotFoundError, ValidationError
from domain.models import (
    Evaluation,
    GateDecisionRecord,
    GateRequest,
    Innovation,
    Person,
    PersonRole,
    StageHistory,
    Unit,
)
from domain.queries import get_innovation, proposal_problems_of


class UnitRow(BaseModel):
    """A unit (OPD or UPTD) as listed."""

    code: str
    name: str
    kind: str
    parent: str | None = Field(description="Code of the parent OPD (UPTD only)")
    head_name: str | None
    head_email: str | None
    officer_name: str | None
    officer_email: str | None
    language: str
    active: bool


class PersonRow(BaseModel):
    """A person as listed, with roles."""

    email: str
    name: str
    unit: str | None
    roles: list[str]
    phone: str | None
    language: str
    active: bool


class InnovationRow(BaseModel):
    """An innovation as listed."""

    code: str
    title: str
    unit: str
    year: int
    stage: str
    national_stage: str = Field(description="The ministry's tahapan for the stage")
    outcome: str | None
    revision_requested: bool
    jenis: str
    bentuk: str
    urusan_main: str
    consultation_requested: bool


class _RecordRow(BaseModel):
    """A row read field by field from the record of the same field names (enums as their
    values)."""

    model_config = ConfigDict(from_attributes=True)


class HistoryRow(_RecordRow):
    """One stage change or terminal outcome."""

    occurred_at: dt.datetime
    from_stage: str | None
    to_stage: str
    outcome: str | None
    actor: str
    reason: str | None


class DecisionRow(_RecordRow):
    """One decision given at a gate, accepted or refused."""

    occurred_at: dt.datetime
    decision: str
    reviewer: str
    accepted: bool
    reason: str | None
    refusal: str | None
    refusal_code: str | None = None
    refusal_params: dict[str, Any] | None = None
    channel: str


class GateRow(BaseModel):
    """A gate at the end of a stage, with every decision given at it."""

    id: int
    stage: str
    round: int
    status: str
    opened_at: dt.datetime
    due_at: dt.datetime | None
    decided_at: dt.datetime | None
    decision: str | None
    decided_by: str | None
    reason: str | None
    decisions: list[DecisionRow]


class EvaluationRow(_RecordRow):
    """A scorecard filed at a stage."""

    stage: str
    evaluator: str
    scores: dict[str, int]
    total: Decimal
    recommendation: str | None
    notes: str | None
    created_at: dt.datetime


class InnovationDetail(InnovationRow):
    """The full profile of one innovation, its history, gates and evaluations."""

    unit_name: str
    initiator: str
    initiator_name: str | None
    urusan_other: list[str]
    tematik: str | None
    trial_start: dt.date | None
    implementation_start: dt.date | None
    latest_development: str | None
    design: str | None
    design_words: int
    goals: str | None
    benefits: str | None
    results: str | None
    budget: Decimal | None
    adopting_act: str | None
    adopting_act_number: str | None
    origin: str | None = Field(description="Code of the innovation this one replicates")
    replicas: list[str]
    proposal_problems: list[str] = Field(description="What the planning gate would refuse")
    version: int
    history: list[HistoryRow]
    gates: list[GateRow]
    evaluations: list[EvaluationRow]


def list_units(session: Session) -> list[UnitRow]:
    parent = aliased(Unit)
    rows = session.execute(
        select(Unit, parent.code)
        .outerjoin(parent, Unit.parent_id == parent.id)
        .order_by(Unit.kind, Unit.code)
    )
    return [
        UnitRow(
            code=u.code,
            name=u.name,
            kind=u.kind.value,
            parent=parent_code,
            head_name=u.head_name,
            head_email=u.head_email,
            officer_name=u.officer_name,
            officer_email=u.officer_email,
            language=u.language.value,
            active=u.active,
        )
        for u, parent_code in rows
    ]


def list_people(session: Session) -> list[PersonRow]:
    roles: dict[int, list[str]] = defaultdict(list)
    for person_id, role in session.execute(
        select(PersonRole.person_id, PersonRole.role).order_by(PersonRole.role)
    ):
        roles[person_id].append(role.value)
    rows = session.execute(
        select(Person, Unit.code).outerjoin(Unit, Person.unit_id == Unit.id).order_by(Person.email)
    )
    return [
        PersonRow(
            email=p.email,
            name=p.name,
            unit=unit_code,
            roles=roles.get(p.id, []),
            phone=p.phone,
            language=p.language.value,
            active=p.active,
        )
        for p, unit_code in rows
    ]


def parse_stage(value: str | None) -> Stage | None:
    """The stage named ``value`` (``None`` passes); ``ValidationError`` lists the choices."""
    if value is None:
        return None
    try:
        return Stage(value.strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in Stage)
        raise ValidationError(code="stage.unknown", stage=value, allowed=allowed) from None


def _row(innovation: Innovation, unit_code: str) -> dict[str, object]:
    return {
        "code": innovation.code,
        "title": innovation.title,
        "unit": unit_code,
        "year": innovation.year,
        "stage": innovation.stage.value,
        "national_stage": NATIONAL_STAGE[innovation.stage].value,
        "outcome": innovation.outcome.value if innovation.outcome else None,
        "revision_requested": innovation.revision_requested,
        "jenis": innovation.jenis.value,
        "bentuk": innovation.bentuk.value,
        "urusan_main": innovation.urusan_main,
        "consultation_requested": innovation.consultation_requested,
    }


def list_innovations(
    session: Session,
    *,
    unit: str | None = None,
    stage: Stage | None = None,
    year: int | None = None,
) -> list[InnovationRow]:
    """Innovations, optionally of one unit (code), at one stage, of one year."""
    stmt = select(Innovation, Unit.code).join(Unit, Innovation.unit_id == Unit.id)
    if unit is not None:
        code = unit.strip().upper()
        if session.scalar(select(Unit.id).where(Unit.code == code)) is None:
            raise NotFoundError(code="unit.unknown", unit=code)
        stmt = stmt.where(Unit.code == code)
    if stage is not None:
        stmt = stmt.where(Innovation.stage == stage)
    if year is not None:
        stmt = stmt.where(Innovation.year == year)
    stmt = stmt.order_by(Innovation.year, Unit.code, Innovation.code)
    return [InnovationRow.model_validate(_row(i, u)) for i, u in session.execute(stmt)]


_OfInnovation = TypeVar("_OfInnovation", StageHistory, GateRequest, Evaluation)


def _of_innovation(
    session: Session,
    model: type[_OfInnovation],
    innovation_id: int,
    when: InstrumentedAttribute[dt.datetime],
) -> list[_OfInnovation]:
    """The innovation's rows of ``model`` in the order of ``when`` (ties: in id order)."""
    return list(
        session.scalars(
            select(model).where(model.innovation_id == innovation_id).order_by(when, model.id)
        )
    )


def innovation_detail(session: Session, code: str) -> InnovationDetail:
    """Everything known about one innovation (``NotFoundError`` if the code is unknown)."""
    innovation = get_innovation(session, code)
    unit = session.get_one(Unit, innovation.unit_id)
    origin = (
        session.scalar(select(Innovation.code).where(Innovation.id == innovation.origin_id))
        if innovation.origin_id
        else None
    )
    replicas = list(
        session.scalars(
            select(Innovation.code)
            .where(Innovation.origin_id == innovation.id)
            .order_by(Innovation.code)
        )
    )
    history = [
        HistoryRow.model_validate(h)
        for h in _of_innovation(session, StageHistory, innovation.id, StageHistory.occurred_at)
    ]
    gates = _of_innovation(session, GateRequest, innovation.id, GateRequest.opened_at)
    decisions: dict[int, list[DecisionRow]] = defaultdict(list)
    if gates:
        for d in session.scalars(
            select(GateDecisionRecord)
            .where(GateDecisionRecord.gate_id.in_([g.id for g in gates]))
            .order_by(GateDecisionRecord.occurred_at, GateDecisionRecord.id)
        ):
            decisions[d.gate_id].append(DecisionRow.model_validate(d))
    evaluations = [
        EvaluationRow.model_validate(e)
        for e in _of_innovation(session, Evaluation, innovation.id, Evaluation.created_at)
    ]
    return InnovationDetail.model_validate(
        {
            **_row(innovation, unit.code),
            "unit_name": unit.name,
            "initiator": innovation.initiator.value,
            "initiator_name": innovation.initiator_name,
            "urusan_other": list(innovation.urusan_other or []),
            "tematik": innovation.tematik,
            "trial_start": innovation.trial_start,
            "implementation_start": innovation.implementation_start,
            "latest_development": innovation.latest_development,
            "design": innovation.design,
            "design_words": len((innovation.design or "").split()),
            "goals": innovation.goals,
            "benefits": innovation.benefits,
            "results": innovation.results,
            "budget": innovation.budget,
            "adopting_act": innovation.adopting_act.value if innovation.adopting_act else None,
            "adopting_act_number": innovation.adopting_act_number,
            "origin": origin,
            "replicas": replicas,
            "proposal_problems": list(proposal_problems_of(innovation)),
            "version": innovation.version,
            "history": history,
            "gates": [
                GateRow(
                    id=g.id,
                    stage=g.stage.value,
                    round=g.round,
                    status=g.status.value,
                    opened_at=g.opened_at,
                    due_at=g.due_at,
                    decided_at=g.decided_at,
                    decision=g.decision.value if g.decision else None,
                    decided_by=g.decided_by,
                    reason=g.reason,
                    decisions=decisions.get(g.id, []),
                )
                for g in gates
            ],
            "evaluations": evaluations,
        }
    )


#: How an act's number may already name its type ("SK Direktur ...", "Peraturan Wali Kota ...").
_ACT_PREFIXES: dict[str, tuple[str, ...]] = {
    "SK": ("sk ", "sk.", "surat keputusan", "keputusan"),
    "Perkada": (
        "perkada",
        "peraturan kepala daerah",
        "peraturan wali kota",
        "peraturan walikota",
        "perwal",
        "peraturan bupati",
        "perbup",
        "peraturan gubernur",
        "pergub",
    ),
    "Perda": ("perda", "peraturan daerah"),
}


def adopting_act_text(act: str | None, number: str | None) -> str:
    """The adopting act as one phrase, without repeating its type: ``SK`` with ``SK
    Direktur RSUD No. 1`` is ``SK Direktur RSUD No. 1``, not ``SK SK Direktur ...``."""
    if not number:
        return act or ""
    if act and not number.casefold().startswith(_ACT_PREFIXES.get(act, (act.casefold(),))):
        return f"{act} {number}"
    return number
