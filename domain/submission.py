"""Submitting an innovation proposal and resubmitting it after a revise decision."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import lifecycle, profile
from domain.changes import ChangeResult, record_history, request_stage_start
from domain.enums import (
    Role,
    Stage,
)
from domain.errors import (
    ConflictError,
    ValidationError,
)
from domain.models import (
    Innovation,
    Unit,
)
from domain.queries import get_person, get_unit, person_roles
from domain.schemas import InnovationIn

_PROFILE_FIELDS = (
    "title",
    "year",
    *profile.CLASSIFICATION_FIELDS,
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
            result.event(session, "kinanti.innovation.updated", innovation, {"actor": actor})
        return innovation, False, result

    innovation = Innovation(
        code=data.code, unit_id=unit.id, stage=Stage.PLANNING, origin_id=origin_id, **values
    )
    session.add(innovation)
    session.flush()
    record_history(
        session,
        innovation,
        from_stage=None,
        to_stage=Stage.PLANNING,
        actor=actor,
        reason="submitted",
        flow_run_id=None,
    )
    request_stage_start(session, innovation, result)
    result.event(
        session, "kinanti.innovation.submitted", innovation, {"actor": actor, "origin": data.origin}
    )
    return innovation, True, result


def resubmit(
    session: Session, innovation: Innovation, *, actor: str, note: str | None = None
) -> ChangeResult:
    """The unit answers a revision request; the stage's work and gate run again."""
    if innovation.outcome is not None:
        raise lifecycle.InnovationClosedError(code="innovation.ended", innovation=innovation.code)
    if not innovation.revision_requested:
        raise ConflictError(code="innovation.no_revision", innovation=innovation.code)
    person = get_person(session, actor)
    unit = get_unit(session, innovation.unit_id)
    owner_ids = {unit.id} | ({unit.parent_id} if unit.parent_id else set())
    roles = person_roles(session, person)
    if person.unit_id not in owner_ids and not roles & {Role.BRIDA_OPERATOR}:
        raise lifecycle.NotAuthorizedError(
            code="innovation.not_officer", email=actor, unit=unit.code
        )
    innovation.revision_requested = False
    result = ChangeResult()
    request_stage_start(session, innovation, result)
    result.event(
        session,
        "kinanti.innovation.resubmitted",
        innovation,
        {"stage": innovation.stage.value, "actor": actor, "note": note},
    )
    return result
