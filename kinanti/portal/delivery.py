"""After a portal change commits: deliver its emails now, announce it and start its runs.

Nothing here is needed for correctness: the outbox dispatcher and the reconciler do the
same on their schedules. Doing it at once makes the portal feel immediate.
"""

from __future__ import annotations

import logging

from fastapi import Request

from domain.changes import Committed
from kinanti.portal.web import engine_of, settings_of

log = logging.getLogger("kinanti.portal")


def deliver_now(request: Request, outbox_ids: list[int]) -> None:
    """Deliver these outbox rows now through the one after-commit path (failures stay
    queued for the dispatcher's retries)."""
    if outbox_ids:
        hand_off(request, Committed(outbox_ids=tuple(outbox_ids)))


def hand_off(request: Request, committed: Committed) -> None:
    """Publish a committed change (announce, deliver, start its runs) through the one
    after-commit path; what Prefect cannot take now, the reconciler does later."""
    from kinanti.publish import publish

    report = publish(committed, engine=engine_of(request), settings=settings_of(request))
    for error in report.errors:
        log.warning("publishing %s: %s", committed, error)
