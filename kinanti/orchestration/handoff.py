"""Durable hand-off: start the lifecycle run that a ``stage_starts`` row asks for.

The row is written in the transaction that moved the innovation. Starting is
``run_deployment(..., timeout=0, idempotency_key=...)``: a synchronous API call whose key
(innovation, stage, attempt, row time) makes a repeated start return the same run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from domain.enums import StageStartStatus
from domain.models import Innovation, StageStart, Unit, utcnow
from kinanti.db import unit_of_work

LIFECYCLE_FLOW = "innovation-lifecycle"
LIFECYCLE_DEPLOYMENT = f"{LIFECYCLE_FLOW}/lifecycle"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartedRun:
    innovation_code: str
    stage: str
    attempt: int
    flow_run_id: str


def idempotency_key(code: str, start: StageStart) -> str:
    return (
        f"kinanti:{code}:{start.stage.value}:{start.attempt}:{start.requested_at.timestamp():.6f}"
    )


def run_name(code: str, title: str) -> str:
    return f"{code} · {title}"[:200]


def run_tags(unit_code: str, stage: str) -> list[str]:
    return ["kinanti", f"unit:{unit_code}", f"stage:{stage}"]


def start_pending(
    engine: Engine,
    *,
    limit: int = 200,
    codes: Iterable[str] | None = None,
    ids: Iterable[int] | None = None,
) -> list[StartedRun]:
    """Start a lifecycle run for every pending hand-off row (those ``ids``, or of ``codes``,
    if given) and record the run on the row."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    with unit_of_work(engine) as session:
        stmt = (
            select(StageStart, Innovation.code, Innovation.title, Unit.code)
            .join(Innovation, Innovation.id == StageStart.innovation_id)
            .join(Unit, Unit.id == Innovation.unit_id)
            .where(StageStart.status == StageStartStatus.PENDING)
            .order_by(StageStart.id)
            .limit(limit)
        )
        if codes is not None:
            stmt = stmt.where(Innovation.code.in_(list(codes)))
        if ids is not None:
            stmt = stmt.where(StageStart.id.in_(list(ids)))
        rows = session.execute(stmt).all()
        pending = [
            (
                start.id,
                code,
                title,
                unit_code,
                start.stage.value,
                start.attempt,
                idempotency_key(code, start),
            )
            for start, code, title, unit_code in rows
        ]
    started: list[StartedRun] = []
    for row_id, code, title, unit_code, stage, attempt, key in pending:
        flow_run: FlowRun = run_deployment(  # type: ignore[assignment]
            LIFECYCLE_DEPLOYMENT,
            parameters={"innovation_code": code},
            timeout=0,
            idempotency_key=key,
            flow_run_name=run_name(code, title),
            tags=run_tags(unit_code, stage),
            as_subflow=False,
        )
        with unit_of_work(engine) as session:
            session.execute(
                update(StageStart)
                .where(StageStart.id == row_id, StageStart.status == StageStartStatus.PENDING)
                .values(
                    status=StageStartStatus.STARTED,
                    flow_run_id=str(flow_run.id),
                    started_at=utcnow(),
                )
            )
        started.append(StartedRun(code, stage, attempt, str(flow_run.id)))
    return started
