"""The one after-commit path: what every committed change does next.

Every change (a CLI command, a flow's task, the portal, the reconciler, the demo) commits
its rows together with what it must publish (``domain.changes.Committed``: event ids,
outbox ids, hand-off ids), then calls ``publish``. It does three things, in this order:

1. **announce** the events to Prefect's event feed (and any earlier unannounced event of the
   same innovations, e.g. the submission), so the feed shows causes before their effects;
2. **deliver** the emails the change wrote (the scheduled dispatcher retries what fails);
3. **start** the pending hand-offs (``run_deployment`` with an idempotency key).

A ``sweep`` also publishes what earlier changes left behind: the reconciler sweeps events and
hand-offs, the demo's finale events and emails.

Steps 1 and 3 need a Prefect API. Without one they are left as they are recorded, and the
reconciler does them later: nothing is lost. Every step is idempotent (events have
deterministic ids, outbox rows are claimed, hand-offs have keys), so publishing twice, or a
retried task publishing again, doubles nothing.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Engine

from domain.changes import Committed
from kinanti.db import get_engine
from kinanti.orchestration.handoff import StartedRun
from kinanti.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass
class PublishReport:
    """What ``publish`` did. ``prefect`` is False when no Prefect API answered (the events
    and hand-offs wait for the reconciler)."""

    announced: int = 0
    sent: int = 0
    failed: int = 0
    started: list[StartedRun] = field(default_factory=list)
    prefect: bool = True
    errors: list[str] = field(default_factory=list)


class Sweep(enum.Flag):
    """What ``publish`` also takes from earlier changes, beside this one's ids."""

    NONE = 0
    EVENTS = enum.auto()  # every unannounced event
    EMAILS = enum.auto()  # every pending email (one dispatcher batch)
    HANDOFFS = enum.auto()  # every pending hand-off


class PublishError(Exception):
    """Raised by ``publish(strict=True)`` when a step failed (a task retries the whole)."""


@contextlib.contextmanager
def prefect_reachable(settings: Settings) -> Iterator[bool]:
    """Yield whether a Prefect API can be used here: inside a flow or task run (its own
    client), where Prefect's settings name one (``PREFECT_API_URL`` in the environment or
    the active profile), else the server ``kinanti serve`` recorded, if it answers."""
    from prefect.context import FlowRunContext, TaskRunContext
    from prefect.settings import PREFECT_API_URL

    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        yield True
        return
    if PREFECT_API_URL.value():
        yield True
        return
    from kinanti.orchestration.api import PrefectUnavailableError, find_api_url, using_api

    try:
        url = find_api_url(settings)
    except PrefectUnavailableError:
        yield False
        return
    with using_api(url):
        yield True


def publish(
    committed: Committed,
    *,
    engine: Engine | None = None,
    settings: Settings | None = None,
    sweep: Sweep = Sweep.NONE,
    strict: bool = False,
) -> PublishReport:
    """Announce, deliver, start (see the module docstring) for one committed change.

    ``sweep`` adds what earlier changes left (see ``Sweep``). With ``strict`` a failed step
    raises ``PublishError`` after the other steps ran; otherwise it is logged and reported.
    """
    from kinanti.orchestration.announce import announce
    from kinanti.orchestration.handoff import start_pending
    from notifications.dispatch import deliver_pending

    engine = engine or get_engine()
    settings = settings or get_settings()
    report = PublishReport()
    with prefect_reachable(settings) as reachable:
        report.prefect = reachable
        every_event, every_email, every_handoff = (
            Sweep.EVENTS in sweep,
            Sweep.EMAILS in sweep,
            Sweep.HANDOFFS in sweep,
        )
        if reachable and (committed.event_ids or committed.innovation_ids or every_event):
            try:
                report.announced = announce(
                    engine,
                    None if every_event else committed.event_ids,
                    innovation_ids=() if every_event else committed.innovation_ids,
                )
            except Exception as exc:  # the reconciler announces what is left
                report.errors.append(f"announce: {exc}")
        if committed.outbox_ids or every_email:
            try:
                delivery = deliver_pending(
                    engine,
                    settings.mail_config(),
                    ids=None if every_email else list(committed.outbox_ids),
                )
                report.sent, report.failed = delivery.sent, delivery.failed
            except Exception as exc:  # the dispatcher delivers what is left
                report.errors.append(f"deliver: {exc}")
        if reachable and (committed.handoff_ids or committed.adoption_handoff_ids or every_handoff):
            try:
                report.started = start_pending(
                    engine,
                    ids=None if every_handoff else committed.handoff_ids,
                    adoption_ids=None if every_handoff else committed.adoption_handoff_ids,
                )
            except Exception as exc:  # the reconciler starts what is left
                report.errors.append(f"start: {exc}")
    log.debug(
        "published: %d events announced, %d emails sent, %d failed, %d runs started",
        report.announced,
        report.sent,
        report.failed,
        len(report.started),
    )
    for error in report.errors:
        log.warning("publish after commit: %s (recorded; it will be retried)", error)
    if strict and report.errors:
        raise PublishError("; ".join(report.errors))
    return report
