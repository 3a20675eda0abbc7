"""Notification tasks: deliver outbox rows, queue reminders, escalations and the daily
digest of the role's queue of gates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from kinanti.db import get_engine, unit_of_work
from kinanti.settings import get_settings
from notifications.dispatch import deliver_pending
from notifications.reminders import queue_queue_digests, queue_reminders


@task(name="deliver-outbox", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[2, 10, 30])
def deliver_outbox(ids: list[int] | None = None) -> dict[str, int]:
    """Deliver due outbox rows (only ``ids`` when given) over one connection.

    Reloads the rows itself (it takes ids, never ORM objects); every row is claimed in
    the database, so a retried or concurrent run never sends a row twice. Rows that fail
    for a transient reason are rescheduled with backoff in the outbox, not by this retry.
    """
    report = deliver_pending(get_engine(), get_settings().mail_config(), ids=ids)
    summary = report.as_dict()
    get_run_logger().info("outbox delivery: %s", summary)
    return summary


@task(name="queue-reminders", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def queue_reminders_task() -> dict[str, Any]:
    """Write reminder, escalation and digest emails that are due (one transaction)."""
    settings = get_settings()
    with unit_of_work(get_engine()) as session:
        summary = queue_reminders(session, settings.reminder_policy())
    result = summary.as_dict()
    result["outbox_ids"] = summary.outbox_ids
    get_run_logger().info("reminders queued: %s", summary.as_dict())
    return result


@task(name="queue-queue-digests", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def queue_queue_digests_task() -> list[int]:
    """Write today's queue digests (one per eligible reviewer with a gate to claim; the
    day is the region's)."""
    settings = get_settings()
    today = dt.datetime.now(settings.zone).date()
    with unit_of_work(get_engine()) as session:
        ids = queue_queue_digests(session, today=today)
    get_run_logger().info("queue digests queued for %s: %d", today.isoformat(), len(ids))
    return ids
