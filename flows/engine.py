"""Housekeeping flows of the engine: the reconciler."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from kinanti.db import get_engine
from kinanti.orchestration.reconcile import reconcile
from kinanti.settings import get_settings


@task(name="reconcile-pass", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def reconcile_pass() -> dict[str, Any]:
    """Start recorded hand-offs, replace dead runs, announce left-over events."""
    settings = get_settings()
    report = reconcile(get_engine(), stuck_after=dt.timedelta(seconds=settings.stuck_after_seconds))
    return report.as_dict()


@flow(name="reconciler")
def reconciler() -> dict[str, Any]:
    """Scheduled: make what the database recorded happen in Prefect (see kinanti reconcile)."""
    summary = reconcile_pass()
    if summary["expired_gates"]:
        get_run_logger().warning(
            "Gerbang kedaluwarsa (buka lagi dengan `kinanti gates reopen`): %s",
            ", ".join(summary["expired_gates"]),
        )
    return summary
