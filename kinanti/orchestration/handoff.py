"""Durable hand-off: start the run that a ``stage_starts`` row (an innovation's lifecycle)
or an ``adoption_starts`` row (an adoption's flow) asks for.

The row is written in the transaction that moved the innovation or the adoption. Starting
is ``run_deployment(..., timeout=0, idempotency_key=...)``: a synchronous API call whose key
(innovation or adoption, stage, attempt, row time) makes a repeated start return the same
run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, select, update

from domain.enums import StageStartStatus
from domain.models import Adoption, AdoptionStart, Innovation, StageStart, Unit, utcnow
from kinanti.db import unit_of_work

LIFECYCLE_FLOW = "innovation-lifecycle"
LIFECYCLE_DEPLOYMENT = f"{LIFECYCLE_FLOW}/lifecycle"
ADOPTION_FLOW = "adoption"
ADOPTION_DEPLOYMENT = f"{ADOPTION_FLOW}/adoption"

log = logging.getLogger(__name__)

_Select = TypeVar("_Select", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True)
class StartedRun:
    innovation_code: str
    stage: str
    attempt: int
    flow_run_id: str


def idempotency_key(code: str, start: StageStart | AdoptionStart) -> str:
    stage = start.stage if isinstance(start, StageStart) else start.step
    return f"kinanti:{code}:{stage.value}:{start.attempt}:{start.requested_at.timestamp():.6f}"


def adoption_label(adoption_id: int) -> str:
    """How an adoption is named in run names, keys and started-run reports."""
    return f"ADOPSI-{adoption_id}"


@dataclass(frozen=True)
class _Pending:
    """One hand-off row to start: where it is, what to run, how to name and tag it."""

    model: type[StageStart] | type[AdoptionStart]
    row_id: int
    deployment: str
    parameters: dict[str, object]
    label: str
    title: str
    unit_code: str
    stage: str
    attempt: int
    key: str


def run_name(code: str, title: str) -> str:
    return f"{code} · {title}"[:200]


def run_tags(unit_code: str, stage: str) -> list[str]:
    return ["kinanti", f"unit:{unit_code}", f"stage:{stage}"]


def _pending_rows(
    stmt: _Select,
    model: type[StageStart] | type[AdoptionStart],
    ids: Iterable[int] | None,
    limit: int,
) -> _Select:
    """``stmt`` narrowed to the pending rows of ``model`` (those of ``ids`` when given),
    oldest first, at most ``limit``."""
    stmt = stmt.where(model.status == StageStartStatus.PENDING)
    if ids is not None:
        stmt = stmt.where(model.id.in_(list(ids)))
    return stmt.order_by(model.id).limit(limit)


def start_pending(
    engine: Engine,
    *,
    limit: int = 200,
    codes: Iterable[str] | None = None,
    ids: Iterable[int] | None = None,
    adoption_ids: Iterable[int] | None = None,
) -> list[StartedRun]:
    """Start a run for every pending hand-off row and record the run on the row.

    ``ids`` / ``adoption_ids`` choose the rows of ``stage_starts`` / ``adoption_starts``;
    ``codes`` chooses the lifecycle rows of those innovations (and no adoption rows). With
    none of them, every pending row of both is started."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    sweep = codes is None and ids is None and adoption_ids is None
    pending: list[_Pending] = []
    with unit_of_work(engine) as session:
        if sweep or codes is not None or ids is not None:
            stmt = _pending_rows(
                select(StageStart, Innovation.code, Innovation.title, Unit.code)
                .join(Innovation, Innovation.id == StageStart.innovation_id)
                .join(Unit, Unit.id == Innovation.unit_id),
                StageStart,
                ids,
                limit,
            )
            if codes is not None:
                stmt = stmt.where(Innovation.code.in_(list(codes)))
            pending += [
                _Pending(StageStart, start.id, LIFECYCLE_DEPLOYMENT, {"innovation_code": code},
                         code, title, unit_code, start.stage.value, start.attempt,
                         idempotency_key(code, start))
                for start, code, title, unit_code in session.execute(stmt)
            ]  # fmt: skip
        if sweep or adoption_ids is not None:
            astmt = _pending_rows(
                select(AdoptionStart, Adoption).join(
                    Adoption, Adoption.id == AdoptionStart.adoption_id
                ),
                AdoptionStart,
                adoption_ids,
                limit,
            )
            for start, adoption in session.execute(astmt):
                label = adoption_label(adoption.id)
                unit = session.get(Unit, adoption.adopter_unit_id or 0)
                pending.append(
                    _Pending(AdoptionStart, start.id, ADOPTION_DEPLOYMENT,
                             {"adoption_id": adoption.id}, label,
                             adoption.origin_name or adoption.region_name or "adopsi",
                             unit.code if unit else (adoption.region_code or "-"),
                             start.step.value, start.attempt, idempotency_key(label, start))
                )  # fmt: skip
    started: list[StartedRun] = []
    for row in pending:
        flow_run: FlowRun = run_deployment(  # type: ignore[assignment]
            row.deployment,
            parameters=row.parameters,
            timeout=0,
            idempotency_key=row.key,
            flow_run_name=run_name(row.label, row.title),
            tags=run_tags(row.unit_code, row.stage),
            as_subflow=False,
        )
        with unit_of_work(engine) as session:
            session.execute(
                update(row.model)
                .where(row.model.id == row.row_id, row.model.status == StageStartStatus.PENDING)
                .values(
                    status=StageStartStatus.STARTED,
                    flow_run_id=str(flow_run.id),
                    started_at=utcnow(),
                )
            )
        started.append(StartedRun(row.label, row.stage, row.attempt, str(flow_run.id)))
    return started
