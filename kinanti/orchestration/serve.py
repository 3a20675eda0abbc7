"""Serve every deployment from one process (the embedded engine, ``kinanti serve``); the
deployments are declared once, in ``flows.deployments``.

Stopping is ours, not a chain of signal handlers: SIGINT and SIGTERM both set one event in
the runner's event loop, which then stops the runner (Prefect cancels the runs in flight
and pauses the schedules). A stop that has not finished within ``STOP_SECONDS`` is forced:
the thread stacks go to the log (to see what held it up), the callbacks registered with
``on_forced_stop`` run (the CLI stops its portal and Prefect server there), the child
processes still alive (flow runs that did not end) are killed and the process exits. So
Ctrl+C always ends ``kinanti serve``, with nothing left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kinanti.orchestration.runtime import kill_children
from kinanti.settings import Settings

if TYPE_CHECKING:
    from prefect.runner import Runner

#: How long a requested stop may take before it is forced.
STOP_SECONDS = 25.0

_forced_stop_callbacks: list[Callable[[], None]] = []
_stop_requested = threading.Event()


def on_forced_stop(callback: Callable[[], None]) -> None:
    """Run ``callback`` (it must not block for long) if a stop has to be forced."""
    _forced_stop_callbacks.append(callback)


def request_stop(*_: object) -> None:
    """A signal handler for the time before the runner's loop runs: start the stop deadline
    and unwind (``finally`` blocks stop what was started)."""
    begin_stop()
    raise SystemExit(0)


def _say(key: str, **values: object) -> None:
    from kinanti.i18n import t
    from kinanti.settings import get_settings

    print(t(key, get_settings().language, **values), file=sys.stderr, flush=True)


def begin_stop() -> None:
    """Start the deadline of a stop, once: past ``STOP_SECONDS``, ``_force_stop``."""
    if _stop_requested.is_set():
        return
    _stop_requested.set()
    _say("engine.stopping")
    threading.Thread(target=_watchdog, name="kinanti-stop-deadline", daemon=True).start()


def _watchdog() -> None:
    time.sleep(STOP_SECONDS)  # a daemon thread: a process that ends in time never wakes it
    _force_stop()


def _force_stop() -> None:
    _say("engine.stop_forced", seconds=f"{STOP_SECONDS:g}")
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    for callback in reversed(_forced_stop_callbacks):
        with contextlib.suppress(Exception):
            callback()
    kill_children(os.getpid())  # flow runs that did not end on the runner's SIGTERM
    sys.stderr.flush()
    os._exit(0)


def serve_all(settings: Settings, only: set[str] | None = None) -> None:
    """Block serving the deployments (all, or those named in ``only``), at most
    ``settings.runner_limit`` runs at once, until SIGINT or SIGTERM."""
    from prefect.runner import Runner

    from flows.deployments import to_runner_deployments

    runner = Runner(pause_on_shutdown=True, limit=settings.runner_limit)
    for deployment in to_runner_deployments(settings, only):
        runner.add_deployment(deployment)
    try:
        asyncio.run(_run(runner))
    finally:
        # asyncio gave the signals back to their defaults; another Ctrl+C while the caller
        # cleans up must not kill it halfway
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: begin_stop())


async def _run(runner: Runner) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    serving = asyncio.create_task(runner.start())
    # start() installs its own SIGTERM handler before its first await; ours replaces it
    await asyncio.sleep(0)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if serving.done():  # the runner ended by itself (an error): say so
        stopping.cancel()
        await serving
        return
    begin_stop()
    if runner.started:
        await runner.astop()
    else:
        serving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await serving
