"""Tasks of the yearly report: build the files, publish artifacts, notify Brida."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from domain.iid.scoring import display
from domain.reports import enqueue_report_ready
from kinanti.db import get_engine, unit_of_work
from kinanti.reports import build_report, summary_table
from kinanti.reports.labels import label
from kinanti.settings import get_settings


@task(name="build-report", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=[2])
def build_yearly_report(year: int, out_dir: str, lang: str, today: dt.date) -> dict[str, Any]:
    """Write report.html, innovations.csv and innovations.xlsx; return the figures to publish."""
    settings = get_settings()
    with unit_of_work(get_engine()) as session:
        files = build_report(
            session, year, Path(out_dir), settings=settings, lang=lang, today=today
        )
    f = files.figures
    return {
        "year": year,
        "title": label(lang, "title", year=year),
        "html": str(files.html),
        "csv": str(files.csv),
        "xlsx": str(files.xlsx),
        "summary": summary_table(f),
        "indicators": [
            {
                "indicator": c.code,
                "weight": str(c.weight),
                "claimed_points": display(c.claimed, 3),
                "verified_points": display(c.verified, 3),
                "max_points": display(c.max_points, 3),
            }
            for c in f.contributions
        ],
        "units": [{"unit": code, "name": name, "innovations": n} for code, name, n in f.per_unit],
        "compliance": [u.as_dict() for u in f.compliance],
        "iid_verified": display(f.portfolio.verified.iid),
        "iid_claimed": display(f.portfolio.claimed.iid),
        "band": f.portfolio.verified.band.value,
    }


def artifact_key(year: int, what: str) -> str:
    """Artifact keys: lowercase letters, digits and dashes."""
    return f"kinanti-{what}-{year}"


@task(name="publish-report-artifacts", cache_policy=NO_CACHE)
def publish_report_artifacts(report: dict[str, Any]) -> list[str]:
    """The report's figures as Prefect artifacts (tables and a markdown summary)."""
    year = report["year"]
    ids = [
        create_table_artifact(
            report["summary"], key=artifact_key(year, "iid"), description=f"IID {year}"
        ),
        create_table_artifact(
            report["indicators"],
            key=artifact_key(year, "iid-indicators"),
            description=f"IID {year} per indicator (index points)",
        ),
        create_table_artifact(
            report["compliance"] or [{"unit_code": "-", "status": "-"}],
            key=artifact_key(year, "compliance"),
            description=f"Unit compliance {year}",
        ),
    ]
    lines = [
        f"# {report['title']}",
        "",
        f"- IID (verified): **{report['iid_verified']}** ({report['band']})",
        f"- IID (claimed): {report['iid_claimed']}",
        "",
        "| unit | innovations |",
        "|---|---:|",
        *[f"| {u['unit']} | {u['innovations']} |" for u in report["units"][:15]],
        "",
        f"Files: `{report['html']}`, `{report['csv']}`, `{report['xlsx']}`",
    ]
    ids.append(
        create_markdown_artifact(
            "\n".join(lines), key=artifact_key(year, "report"), description=report["title"]
        )
    )
    return [str(i) for i in ids]


@task(name="notify-report-ready", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def notify_report_ready(report: dict[str, Any], flow_run_id: str | None) -> list[int]:
    """Outbox ``report_ready`` rows to Brida's operators and head (once per flow run)."""
    with unit_of_work(get_engine()) as session:
        return enqueue_report_ready(
            session,
            year=report["year"],
            report_title=report["title"],
            report_path=report["html"],
            flow_run_id=flow_run_id,
        )
