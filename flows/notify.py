"""Scheduled notification flows: the outbox dispatcher, the daily reminder sweep and the
daily digest of the role's queue of gates."""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.notify import deliver_outbox, queue_queue_digests_task, queue_reminders_task


@flow(name="dispatch-outbox", log_prints=False)
def dispatch_outbox() -> dict[str, int]:
    """Deliver every due outbox email (the scheduled dispatcher; picks up retries)."""
    return deliver_outbox()


@flow(name="remind-and-escalate", log_prints=False)
def remind_and_escalate() -> dict[str, Any]:
    """Daily: remind reviewers of waiting gates, escalate to the head of Brida, remind
    units to resubmit revisions; one digest per recipient with several items; deliver."""
    queued = queue_reminders_task()
    ids: list[int] = queued.pop("outbox_ids")
    delivery = deliver_outbox(ids) if ids else {"sent": 0, "failed": 0, "retried": 0, "skipped": 0}
    return {**queued, "delivery": delivery}


@flow(name="queue-digest", log_prints=False)
def queue_digest() -> dict[str, Any]:
    """Daily: tell every eligible reviewer which gates of their role's queue nobody is
    assigned (to claim) and who holds the others; deliver."""
    ids = queue_queue_digests_task()
    delivery = deliver_outbox(ids) if ids else {"sent": 0, "failed": 0, "retried": 0, "skipped": 0}
    return {"digests": len(ids), "delivery": delivery}
