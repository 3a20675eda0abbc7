"""The yearly portfolio report flow: files, Prefect artifacts, and a notice to Brida."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from kinanti.settings import get_settings
from tasks.reports import build_yearly_report, notify_report_ready, publish_report_artifacts


@flow(name="yearly-report")
def yearly_report(
    year: int | None = None, out_dir: str | None = None, lang: str = "id"
) -> dict[str, Any]:
    """Build the yearly portfolio report of ``year`` (default: this year) into ``out_dir``
    (default: ``<home>/reports/<year>``), publish its figures as artifacts and tell Brida."""
    today = dt.date.today()
    year = year or today.year
    folder = out_dir or str(get_settings().home.resolve() / "reports" / str(year))
    report = build_yearly_report(year, folder, lang, today)
    artifacts = publish_report_artifacts(report)
    run_id = str(flow_run.id) if flow_run.id else None
    outbox = notify_report_ready(report, run_id)
    get_run_logger().info("report %s written to %s", year, report["html"])
    return {
        "year": year,
        "files": [report["html"], report["csv"], report["xlsx"]],
        "iid_verified": report["iid_verified"],
        "band": report["band"],
        "artifacts": artifacts,
        "outbox_ids": outbox,
    }
