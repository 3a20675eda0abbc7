"""Announce recorded domain events to Prefect's event feed (after commit).

Events go to the server in batches by ``POST /api/events`` (Prefect's documented "create
events" endpoint), a synchronous call: the server has handed them to its messaging (Redis
under prefect-redis) when it answers 204, and only then are the rows marked announced. A
failed call leaves them unannounced for the next ``publish`` or the reconciler.

Not ``prefect.events.emit_event``: that queues the event for a process-wide background
sender (one per process, bound to the API URL that was active when it started) and returns
at once; a process that exits, or switches to another API, before the sender delivered it
loses the event after it was marked announced.

Each event gets a deterministic id (uuid5 of the row id), so announcing twice (a retried
task, two processes at once, the reconciler after a crash) is deduplicated by the Prefect
server (its messaging de-duplicates by id, its event store keeps one row per id).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, or_, select, update

from domain.models import DomainEventRecord, Innovation, Unit, utcnow
from kinanti.db import unit_of_work

EVENT_NAMESPACE = uuid.UUID("6f1e7a52-4b8c-4d55-9a3e-1c0b8d2f7e11")
BATCH = 200  # events per request


def event_uuid(record_id: int, database_tag: str) -> uuid.UUID:
    return uuid.uuid5(EVENT_NAMESPACE, f"{database_tag}:{record_id}")


def _event(
    record: DomainEventRecord, innovation: Innovation | None, unit: Unit | None, tag: str
) -> dict[str, Any]:
    from prefect.events import Event

    resource: dict[str, str]
    related: list[dict[str, str]] = []
    if innovation is not None:
        resource = {
            "prefect.resource.id": f"kinanti.innovation.{innovation.code}",
            "prefect.resource.name": innovation.title,
            "kinanti.stage": str(record.payload.get("stage", innovation.stage.value)),
        }
        if unit is not None:
            related.append(
                {
                    "prefect.resource.id": f"kinanti.unit.{unit.code}",
                    "prefect.resource.role": "unit",
                    "prefect.resource.name": unit.name,
                }
            )
    else:
        resource = {"prefect.resource.id": "kinanti.region"}
    if record.flow_run_id:
        related.append(
            {
                "prefect.resource.id": f"prefect.flow-run.{record.flow_run_id}",
                "prefect.resource.role": "flow-run",
            }
        )
    payload: dict[str, Any] = {
        **record.payload,
        "innovation_code": innovation.code if innovation else None,
    }
    event = Event(
        event=record.name,
        resource=resource,
        related=related,
        payload=payload,
        occurred=record.occurred_at,
        id=event_uuid(record.id, tag),
    )
    return event.model_dump(mode="json")


def _page(
    engine: Engine,
    ids: Sequence[int] | None,
    innovation_ids: Sequence[int],
    after: int,
    limit: int,
) -> list[tuple[int, dict[str, Any]]]:
    """The next ``limit`` unannounced events after row ``after``, as request bodies."""
    with unit_of_work(engine) as session:
        stmt = (
            select(DomainEventRecord, Innovation, Unit)
            .outerjoin(Innovation, Innovation.id == DomainEventRecord.innovation_id)
            .outerjoin(Unit, Unit.id == Innovation.unit_id)
            .where(DomainEventRecord.announced_at.is_(None), DomainEventRecord.id > after)
            .order_by(DomainEventRecord.id)
            .limit(limit)
        )
        if ids is not None or innovation_ids:
            stmt = stmt.where(
                or_(
                    DomainEventRecord.id.in_(list(ids or ())),
                    DomainEventRecord.innovation_id.in_(list(innovation_ids)),
                )
            )
        tag = str(engine.url.render_as_string(hide_password=True))
        return [
            (record.id, _event(record, innovation, unit, tag))
            for record, innovation, unit in session.execute(stmt).all()
        ]


def announce(
    engine: Engine,
    ids: Sequence[int] | None = None,
    *,
    innovation_ids: Sequence[int] = (),
    limit: int = 1000,
) -> int:
    """Send the unannounced events (``ids`` and every unannounced event of
    ``innovation_ids``; all of them when both are ``None``/empty) to the Prefect API, read
    ``limit`` rows at a time, and mark those it accepted announced; return the count.
    Raises if the API refused or did not answer (what it accepted before stays marked)."""
    from prefect import get_client

    if ids is not None and not ids and not innovation_ids:
        return 0
    announced, after = 0, 0
    with get_client(sync_client=True) as client:
        while page := _page(engine, ids, innovation_ids, after, limit):
            for start in range(0, len(page), BATCH):
                chunk = page[start : start + BATCH]
                client.request("POST", "/events", json=[body for _, body in chunk])
                with unit_of_work(engine) as session:
                    session.execute(
                        update(DomainEventRecord)
                        .where(
                            DomainEventRecord.id.in_([record_id for record_id, _ in chunk]),
                            DomainEventRecord.announced_at.is_(None),
                        )
                        .values(announced_at=utcnow())
                    )
                announced += len(chunk)
            after = page[-1][0]
    return announced
