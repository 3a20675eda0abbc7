"""The yearly compliance sweep (scheduled; safe to run twice)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from tasks.compliance import sweep_compliance


@flow(name="compliance-sweep")
def compliance_sweep(
    year: int | None = None, today: dt.date | None = None, year_end: bool = False
) -> dict[str, Any]:
    """Classify every active unit for ``year`` (default: the year of ``today``), warn the
    units at risk and, at year end (``year_end`` or ``today`` after 31 December of
    ``year``), record a special evaluation (evaluasi khusus) for each non-compliant unit.
    Returns the counts per status and the units warned and evaluated."""
    today = today or dt.date.today()
    year = year or today.year
    summary = sweep_compliance(year, today, year_end, str(flow_run.id) if flow_run.id else None)
    get_run_logger().info(
        "compliance %s as of %s: %s; warned %d, special evaluations %d",
        year,
        today,
        summary["counts"],
        len(summary["warned"]),
        len(summary["special_evaluations"]),
    )
    return summary
