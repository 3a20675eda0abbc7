"""Announce recorded domain events to Prefect's event feed (after commit).

Each event gets a deterministic id (uuid5 of the row id), so announcing twice (a retried
task, the reconciler after a crash) is deduplicated by the Prefect server.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, or_, select, update

from domain.models import DomainEventRecord, Innovation, Unit, utcnow
from kinanti.db import unit_of_work

EVENT_NAMESPACE = uuid.UUID("6f1e7a52-4b8c-4d55-9a3e-1c0b8d2f7e11")


def event_uuid(record_id: int, database_tag: str) -> uuid.UUID:
    return uuid.uuid5(EVENT_NAMESPACE, f"{database_tag}:{record_id}")


def announce(
    engine: Engine,
    ids: Sequence[int] | None = None,
    *,
    innovation_ids: Sequence[int] = (),
    limit: int = 1000,
) -> int:
    """Emit the unannounced events (``ids`` and every unannounced event of
    ``innovation_ids``; all of them when both are ``None``/empty), mark them announced;
    return the count."""
    from prefect.events import emit_event

    with unit_of_work(engine) as session:
        stmt = (
            select(DomainEventRecord, Innovation, Unit)
            .outerjoin(Innovation, Innovation.id == DomainEventRecord.innovation_id)
            .outerjoin(Unit, Unit.id == Innovation.unit_id)
            .where(DomainEventRecord.announced_at.is_(None))
            .order_by(DomainEventRecord.id)
            .limit(limit)
        )
        if ids is not None or innovation_ids:
            if not ids and not innovation_ids:
                return 0
            stmt = stmt.where(
                or_(
                    DomainEventRecord.id.in_(list(ids or ())),
                    DomainEventRecord.innovation_id.in_(list(innovation_ids)),
                )
            )
        rows = session.execute(stmt).all()
        tag = str(engine.url.render_as_string(hide_password=True))
        for record, innovation, unit in rows:
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
            emit_event(
                event=record.name,
                resource=resource,
                related=related,
                payload=payload,
                occurred=record.occurred_at,
                id=event_uuid(record.id, tag),
            )
        if rows:
            session.execute(
                update(DomainEventRecord)
                .where(DomainEventRecord.id.in_([r[0].id for r in rows]))
                .values(announced_at=utcnow())
            )
        return len(rows)
