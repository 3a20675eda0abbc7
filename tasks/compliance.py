"""Task of the yearly compliance sweep."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from domain.compliance import sweep
from kinanti.db import get_engine, unit_of_work
from kinanti.settings import get_settings


@task(name="sweep-compliance", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def sweep_compliance(
    year: int, today: dt.date, year_end: bool, flow_run_id: str | None
) -> dict[str, Any]:
    """Classify every active unit, write warnings and special evaluations (one transaction;
    idempotent: warnings and evaluations are written once per unit and year)."""
    settings = get_settings()
    with unit_of_work(get_engine()) as session:
        summary = sweep(
            session,
            year=year,
            today=today,
            counting_stage=settings.compliance_counting_stage,
            warning_month=settings.compliance_warning_month,
            year_end=year_end,
            flow_run_id=flow_run_id,
        )
    return dataclasses.asdict(summary)
