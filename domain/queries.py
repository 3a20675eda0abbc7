"""Read-only lookups shared by the domain's changes (they never write)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from domain import lifecycle
from domain.enums import (
    GateStatus,
    Language,
    Role,
    StageStartStatus,
    VerificationStatus,
)
from domain.errors import (
    GateNotOpenError,
    NotFoundError,
)
from domain.messages import words
from domain.models import (
    GateRequest,
    IndicatorClaim,
    Innovation,
    Person,
    PersonRole,
    StageStart,
    StageWork,
    Unit,
)

RowT = TypeVar("RowT")


def get_row(
    session: Session,
    model: type[RowT],
    row_id: int,
    code: str,
    *,
    for_update: bool = False,
    **params: Any,
) -> RowT:
    """The ``model`` row with primary key ``row_id`` (locked ``for_update``); raises
    ``NotFoundError`` with ``code`` and ``params`` when there is none."""
    row = session.get(model, row_id, with_for_update=for_update)
    if row is None:
        raise NotFoundError(code=code, **params)
    return row


def get_innovation(session: Session, code: str, *, for_update: bool = False) -> Innovation:
    stmt = select(Innovation).where(Innovation.code == code.strip().upper())
    if for_update:
        stmt = stmt.with_for_update()
    innovation = session.scalar(stmt)
    if innovation is None:
        raise NotFoundError(code="innovation.unknown", innovation=code)
    return innovation


def get_unit(session: Session, unit_id: int) -> Unit:
    return get_row(session, Unit, unit_id, "unit.id_unknown", unit_id=unit_id)


def get_person(session: Session, email: str) -> Person:
    person = session.scalar(select(Person).where(Person.email == email.strip().lower()))
    if person is None:
        raise NotFoundError(code="person.unknown", email=email)
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


def live_gates() -> Select[GateRequest, Innovation, Unit]:
    """Gates of live innovations (no outcome), each with its innovation and their unit."""
    return (
        select(GateRequest, Innovation, Unit)
        .join(Innovation, Innovation.id == GateRequest.innovation_id)
        .join(Unit, Unit.id == Innovation.unit_id)
        .where(Innovation.outcome.is_(None))
    )


def open_gate_of(session: Session, innovation: Innovation) -> GateRequest:
    gate = current_gate(session, innovation)
    if gate is None or gate.status is not GateStatus.OPEN:
        raise GateNotOpenError(
            code="gate.not_open",
            innovation=innovation.code,
            stage=innovation.stage.value,
            last={
                Language.EN: f" (the last one was {gate.status.value})" if gate else "",
                Language.ID: f" (yang terakhir: {gate.status.value})" if gate else "",
            },
        )
    return gate


def stage_work_done(session: Session, innovation: Innovation, round_: int) -> StageWork | None:
    return session.scalar(
        select(StageWork).where(
            StageWork.innovation_id == innovation.id,
            StageWork.stage == innovation.stage,
            StageWork.round == round_,
        )
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
            code="gate.catalogue_missing",
            year=innovation.year,
            detail=words(exc.message(Language.ID), exc.message(Language.EN)),
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


def pending_handoffs(session: Session, codes: Iterable[str]) -> tuple[int, ...]:
    """The ids of the pending hand-offs (``stage_starts``) of these innovations."""
    return tuple(
        session.scalars(
            select(StageStart.id)
            .join(Innovation, Innovation.id == StageStart.innovation_id)
            .where(
                Innovation.code.in_(list(codes)),
                StageStart.status == StageStartStatus.PENDING,
            )
            .order_by(StageStart.id)
        )
    )
