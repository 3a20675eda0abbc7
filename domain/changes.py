"""The change record: what one domain change writes besides its rows.

Every change appends history, records the domain events it caused (``domain_events``),
writes the outbox rows for the emails they cause and records durable hand-offs
(``stage_starts``), all in the caller's transaction. Changes never commit: the caller owns
the transaction (``kinanti.db.unit_of_work``), so a change is all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.enums import (
    Outcome,
    Stage,
    StageStartStatus,
)
from domain.models import (
    Adoption,
    AdoptionStart,
    DomainEventRecord,
    HandOffMixin,
    Innovation,
    StageHistory,
    StageStart,
    Unit,
    utcnow,
)
from domain.outbox import Recipient, enqueue, unit_recipients
from domain.queries import get_unit

SYSTEM_ACTOR = "kinanti@system"


@dataclass(frozen=True)
class Committed:
    """What a committed change left to publish (ids only, safe to pass between processes).

    ``kinanti.publish.publish`` takes it after commit: it announces the events (and any
    earlier unannounced event of the same innovations), delivers the emails and starts the
    pending hand-offs.
    """

    event_ids: tuple[int, ...] = ()
    outbox_ids: tuple[int, ...] = ()
    handoff_ids: tuple[int, ...] = ()
    innovation_ids: tuple[int, ...] = ()
    #: adoption hand-offs (``adoption_starts``): an adoption's flow must run
    adoption_handoff_ids: tuple[int, ...] = ()

    def __or__(self, other: Committed) -> Committed:
        return Committed(
            self.event_ids + other.event_ids,
            self.outbox_ids + other.outbox_ids,
            self.handoff_ids + other.handoff_ids,
            tuple(dict.fromkeys(self.innovation_ids + other.innovation_ids)),
            self.adoption_handoff_ids + other.adoption_handoff_ids,
        )

    def __bool__(self) -> bool:
        return bool(
            self.event_ids or self.outbox_ids or self.handoff_ids or self.adoption_handoff_ids
        )


@dataclass
class ChangeResult:
    """What one domain change recorded besides its own rows, collected while it runs: the
    domain events, the outbox rows and the hand-offs (``stage_starts``)."""

    events: list[DomainEventRecord] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)
    handoffs: list[StageStart] = field(default_factory=list)
    adoption_handoffs: list[AdoptionStart] = field(default_factory=list)

    def extend(self, other: ChangeResult) -> None:
        self.events.extend(other.events)
        self.outbox_ids.extend(other.outbox_ids)
        self.handoffs.extend(other.handoffs)
        self.adoption_handoffs.extend(other.adoption_handoffs)

    def event(
        self, session: Session, name: str, innovation: Innovation | None,
        payload: dict[str, Any], flow_run_id: str | None = None,
    ) -> DomainEventRecord:  # fmt: skip
        """Record a domain event of this change (``record_event``) and keep it here."""
        record = record_event(session, name, innovation, payload, flow_run_id)
        self.events.append(record)
        return record

    def committed(self, session: Session) -> Committed:
        """The ids to publish after commit (flushes, so every row has its id)."""
        session.flush()
        return Committed(
            event_ids=tuple(e.id for e in self.events),
            outbox_ids=tuple(self.outbox_ids),
            handoff_ids=tuple(h.id for h in self.handoffs),
            innovation_ids=tuple(
                dict.fromkeys(e.innovation_id for e in self.events if e.innovation_id)
            ),
            adoption_handoff_ids=tuple(h.id for h in self.adoption_handoffs),
        )


def context_of(session: Session, innovation: Innovation, **extra: Any) -> dict[str, Any]:
    """An email's context about ``innovation`` (its unit looked up), plus ``extra``."""
    return innovation_context(innovation, get_unit(session, innovation.unit_id), **extra)


def innovation_context(innovation: Innovation, unit: Unit, **extra: Any) -> dict[str, Any]:
    """An email's context about ``innovation`` of ``unit``, plus ``extra``."""
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


def email_unit(
    session: Session,
    result: ChangeResult,
    unit: Unit,
    innovation: Innovation,
    *,
    event_key: str,
    template: str,
    **extra: Any,
) -> None:
    """Queue ``template`` to ``unit`` about ``innovation`` (its context plus ``extra``)."""
    emails(
        session,
        result,
        event_key=event_key,
        template=template,
        recipients=unit_recipients(session, unit),
        context=innovation_context(innovation, unit, **extra),
        innovation=innovation,
    )


def record_history(
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


def _hand_off(
    session: Session,
    row: StageStart | AdoptionStart,
    criteria: list[Any],
    flow_run_id: str | None,
) -> None:
    """Fill a new hand-off row: the next attempt of those matching ``criteria``; with
    ``flow_run_id`` the calling run continues the work itself (status started), otherwise
    the row stays pending until a run is started for it."""
    model = type(row)
    row.attempt = (session.scalar(select(func.max(model.attempt)).where(*criteria)) or 0) + 1
    row.status = StageStartStatus.STARTED if flow_run_id else StageStartStatus.PENDING
    row.flow_run_id = flow_run_id
    row.started_at = utcnow() if flow_run_id else None
    session.add(row)


def _finish(
    session: Session, model: type[StageStart] | type[AdoptionStart], *criteria: Any
) -> None:
    """Mark the hand-off rows matching ``criteria`` done."""
    stmt = select(model).where(*criteria, model.status != StageStartStatus.DONE)
    for start in session.scalars(stmt):
        assert isinstance(start, HandOffMixin)
        start.status = StageStartStatus.DONE
        start.done_at = utcnow()


def request_stage_start(
    session: Session,
    innovation: Innovation,
    result: ChangeResult,
    flow_run_id: str | None = None,
) -> StageStart:
    """Record that the innovation's lifecycle must run from its current stage (hand-off).

    With ``flow_run_id`` the calling run continues the work itself (status started);
    otherwise the row stays pending until a run is started for it.
    """
    start = StageStart(innovation_id=innovation.id, stage=innovation.stage)
    criteria = [StageStart.innovation_id == innovation.id, StageStart.stage == innovation.stage]
    _hand_off(session, start, criteria, flow_run_id)
    result.handoffs.append(start)
    return start


def finish_stage_starts(session: Session, innovation: Innovation, stage: Stage | None) -> None:
    """The innovation's hand-offs at ``stage`` (every stage: ``None``) are done."""
    criteria = [StageStart.innovation_id == innovation.id]
    if stage is not None:
        criteria.append(StageStart.stage == stage)
    _finish(session, StageStart, *criteria)


def request_adoption_start(
    session: Session,
    adoption: Adoption,
    result: ChangeResult,
    flow_run_id: str | None = None,
) -> AdoptionStart:
    """Record that the adoption's flow must run from its current step (hand-off); with
    ``flow_run_id`` the calling run continues itself (like ``request_stage_start``)."""
    start = AdoptionStart(adoption_id=adoption.id, step=adoption.stage)
    criteria = [AdoptionStart.adoption_id == adoption.id, AdoptionStart.step == adoption.stage]
    _hand_off(session, start, criteria, flow_run_id)
    result.adoption_handoffs.append(start)
    return start


def finish_adoption_starts(session: Session, adoption: Adoption) -> None:
    """The adoption's flow settled: its hand-offs so far are done."""
    _finish(session, AdoptionStart, AdoptionStart.adoption_id == adoption.id)
