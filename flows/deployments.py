"""Kinanti's deployments, declared once.

``kinanti serve`` serves them from one process (``to_runner_deployments``); ``prefect.yaml``
declares the same ones for workers in Prefect's own format, and a test holds the two to
this list (names, entrypoints, schedules, time zone, triggers).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from kinanti.settings import Settings


@dataclass(frozen=True)
class EventTrigger:
    """Start a run when an event arrives (a Prefect deployment trigger)."""

    expect: tuple[str, ...]
    match: dict[str, str]
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Deployment:
    """One deployment: its flow's entrypoint and when it runs."""

    name: str
    entrypoint: str  # "flows/<module>.py:<flow function>"
    description: str
    every_seconds: int | None = None  # interval schedule (the default of ``every_setting``)
    every_setting: str | None = None  # the setting that overrides the interval
    cron: str | None = None  # cron schedule, in the region's time zone
    trigger: EventTrigger | None = None

    def load_flow(self) -> Any:
        path, _, attribute = self.entrypoint.partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        return getattr(module, attribute)


DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment(
        "lifecycle",
        "flows/lifecycle.py:innovation_lifecycle",
        "Carries one innovation through its stages; suspends at each gate.",
    ),
    Deployment(
        "reconciler",
        "flows/engine.py:reconciler",
        "Starts recorded hand-offs, replaces runs a crash left dead, announces events.",
        every_seconds=60,
        every_setting="reconcile_every_seconds",
    ),
    Deployment(
        "outbox-dispatcher",
        "flows/notify.py:dispatch_outbox",
        "Delivers pending emails and retries transient failures.",
        every_seconds=60,
    ),
    Deployment(
        "reminders",
        "flows/notify.py:remind_and_escalate",
        "Reminds reviewers of waiting gates, escalates to the head of Brida.",
        cron="0 8 * * 1-5",
    ),
    Deployment(
        "queue-digest",
        "flows/notify.py:queue_digest",
        "Tells each reviewer which gates of the role's queue are unassigned, to claim.",
        cron="30 7 * * 1-5",
    ),
    Deployment(
        "compliance-sweep",
        "flows/compliance.py:compliance_sweep",
        "Classifies every unit's yearly obligation; warns and records evaluasi khusus.",
        cron="0 7 * * 1",
    ),
    Deployment(
        "yearly-report",
        "flows/reports.py:yearly_report",
        "The yearly portfolio report (HTML, CSV, XLSX) and its artifacts.",
        cron="0 6 15 12 *",
    ),
    Deployment(
        "probe",
        "flows/probe.py:probe",
        "Trivial run started by the event kinanti.probe.requested (runner health).",
        trigger=EventTrigger(
            expect=("kinanti.probe.requested",),
            match={"prefect.resource.id": "kinanti.probe.*"},
            parameters={"token": "{{ event.resource.id }}"},
        ),
    ),
)


def to_runner_deployments(settings: Settings, only: set[str] | None = None) -> list[Any]:
    """The deployments (all, or those named in ``only``) as Prefect runner deployments;
    the reconciler's interval and the cron time zone come from ``settings``."""
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
    from prefect.events import DeploymentEventTrigger

    chosen = [d for d in DEPLOYMENTS if not only or d.name in only]
    unknown = (only or set()) - {d.name for d in DEPLOYMENTS}
    if unknown:
        raise ValueError(f"no deployment named {', '.join(sorted(unknown))}")
    result = []
    for spec in chosen:
        schedules: list[Any] = []
        if spec.every_seconds is not None:
            seconds = getattr(settings, spec.every_setting) if spec.every_setting else None
            interval = timedelta(seconds=seconds or spec.every_seconds)
            schedules.append(IntervalSchedule(interval=interval))
        if spec.cron is not None:
            schedules.append(CronSchedule(cron=spec.cron, timezone=settings.timezone))
        triggers = []
        if spec.trigger is not None:
            triggers.append(
                DeploymentEventTrigger(
                    expect=set(spec.trigger.expect),
                    match=spec.trigger.match,
                    parameters=spec.trigger.parameters,
                )
            )
        result.append(
            spec.load_flow().to_deployment(
                name=spec.name,
                description=spec.description,
                schedules=schedules or None,
                triggers=triggers or None,
                tags=["kinanti"],
            )
        )
    return result
