"""Serve every deployment from one process (the embedded engine, ``kinanti serve``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kinanti.settings import Settings

TIMEZONE = "Asia/Makassar"


def deployments(settings: Settings) -> list[Any]:
    """The deployments of Kinanti, as ``prefect.yaml`` declares them for workers."""
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
    from prefect.events import DeploymentEventTrigger

    from flows.compliance import compliance_sweep
    from flows.engine import reconciler
    from flows.lifecycle import innovation_lifecycle
    from flows.notify import dispatch_outbox, remind_and_escalate
    from flows.probe import probe
    from flows.reports import yearly_report

    return [
        innovation_lifecycle.to_deployment(name="lifecycle", tags=["kinanti"]),
        reconciler.to_deployment(
            name="reconciler",
            schedules=[
                IntervalSchedule(interval=timedelta(seconds=settings.reconcile_every_seconds))
            ],
            tags=["kinanti"],
        ),
        dispatch_outbox.to_deployment(
            name="outbox-dispatcher",
            schedules=[IntervalSchedule(interval=timedelta(seconds=60))],
            tags=["kinanti"],
        ),
        remind_and_escalate.to_deployment(
            name="reminders",
            schedules=[CronSchedule(cron="0 8 * * 1-5", timezone=TIMEZONE)],
            tags=["kinanti"],
        ),
        compliance_sweep.to_deployment(
            name="compliance-sweep",
            schedules=[CronSchedule(cron="0 7 * * 1", timezone=TIMEZONE)],
            tags=["kinanti"],
        ),
        yearly_report.to_deployment(
            name="yearly-report",
            schedules=[CronSchedule(cron="0 6 15 12 *", timezone=TIMEZONE)],
            tags=["kinanti"],
        ),
        probe.to_deployment(
            name="probe",
            tags=["kinanti"],
            triggers=[
                DeploymentEventTrigger(
                    expect={"kinanti.probe.requested"},
                    match={"prefect.resource.id": "kinanti.probe.*"},
                    parameters={"token": "{{ event.resource.id }}"},
                )
            ],
        ),
    ]


def serve_all(settings: Settings, only: set[str] | None = None) -> None:
    """Block serving the deployments (all, or those named in ``only``), at most
    ``settings.runner_limit`` runs at once."""
    from prefect import serve

    chosen = [d for d in deployments(settings) if not only or d.name in only]
    if not chosen:
        raise ValueError(f"no deployment named {', '.join(sorted(only or []))}")
    serve(*chosen, limit=settings.runner_limit, print_starting_message=False)
