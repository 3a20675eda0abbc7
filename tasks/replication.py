"""Tasks of an adoption's flow: a replication step's work, the decision at its gate.

Each task takes ids, reloads in its own transaction and returns a small typed result; the
database decides what is done (``NO_CACHE``), as in ``tasks.lifecycle``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from domain import adoptions, gates
from domain.changes import Committed
from domain.enums import GateDecisionKind, ReplicationStage
from domain.errors import ConflictError
from kinanti.db import get_engine, unit_of_work
from tasks.lifecycle import Decided, stage_params


@dataclass(frozen=True)
class AdoptionStepResult:
    """What one replication step did (or found done already)."""

    step: ReplicationStage
    summary: dict[str, Any]
    already_done: bool
    committed: Committed


@dataclass(frozen=True)
class AdoptionDecided(Decided):
    """What the adoption's gate did with a decision: accepted, refused (typed), or stale."""


@task(name="adoption-step", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def complete_adoption_step_work(adoption_id: int, flow_run_id: str) -> AdoptionStepResult:
    """Do the adoption's current step and mark it done, in one transaction."""
    with unit_of_work(get_engine()) as session:
        done = adoptions.complete_adoption_step(session, adoption_id, stage_params(flow_run_id))
        return AdoptionStepResult(
            done.step, done.summary, done.already_done, done.result.committed(session)
        )


@task(name="decide-adoption", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def apply_adoption_decision(
    adoption_id: int, decision: str, reason: str, proof: str | None, flow_run_id: str
) -> AdoptionDecided:
    """Apply the decision a resumed adoption gate received; its decider is proven by
    ``proof``. A refused decision is recorded and changes nothing else."""
    command = gates.DecisionCommand(
        GateDecisionKind(decision),
        reason=reason,
        channel="prefect",
        proof=proof or "",
        flow_run_id=flow_run_id,
    )
    with unit_of_work(get_engine()) as session:
        try:
            outcome = adoptions.decide_adoption_gate(session, adoption_id, command)
        except ConflictError as exc:  # decided meanwhile (another channel): stale
            return AdoptionDecided.stale_by(exc)
        return AdoptionDecided.of(outcome, session)


@task(name="klinik-digest", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def queue_klinik_digest(month: str | None = None) -> dict[str, Any]:
    """Queue this month's Klinik Kinanti digest (one email per suggested unit) in one
    transaction; returns what to publish and a summary."""
    import datetime as dt

    from domain.matching import enqueue_klinik_digest
    from kinanti.settings import get_settings

    settings = get_settings()
    today = dt.datetime.now(settings.zone).date()
    month = month or f"{today.year:04d}-{today.month:02d}"
    with unit_of_work(get_engine()) as session:
        result = enqueue_klinik_digest(
            session, year=today.year, today=today, rules=settings.compliance_rules(), month=month
        )
        committed = result.committed(session)
    return {"month": month, "emails": len(committed.outbox_ids), "committed": committed}
