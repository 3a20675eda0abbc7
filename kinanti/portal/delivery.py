"""After a portal change commits: deliver its emails now, announce it and start its runs.

Nothing here is needed for correctness: the outbox dispatcher and the reconciler do the
same on their schedules. Doing it at once makes the portal feel immediate.
"""

from __future__ import annotations

import logging

from fastapi import Request

from kinanti.portal.web import engine_of, settings_of

log = logging.getLogger("kinanti.portal")


def deliver_now(request: Request, outbox_ids: list[int]) -> None:
    """Deliver these outbox rows now (failures stay queued for the dispatcher's retries)."""
    if not outbox_ids:
        return
    from notifications.dispatch import deliver_pending

    try:
        deliver_pending(engine_of(request), settings_of(request), ids=outbox_ids)
    except Exception:  # the row stays pending; the scheduled dispatcher retries it
        log.exception("outbox delivery failed; the dispatcher will retry")


def hand_off(request: Request, outbox_ids: list[int]) -> None:
    """Deliver, then announce recorded events and start pending runs if Prefect answers."""
    deliver_now(request, outbox_ids)
    from kinanti.engine.announce import announce
    from kinanti.engine.api import PrefectUnavailableError, find_api_url
    from kinanti.engine.handoff import start_pending

    engine = engine_of(request)
    try:
        find_api_url(settings_of(request))
        announce(engine)
        start_pending(engine)
    except PrefectUnavailableError:
        log.info("Prefect is not answering; the reconciler will start the run")
