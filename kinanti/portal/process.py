"""Running the portal as a child process beside the engine (``kinanti serve``)."""

from __future__ import annotations

import os
import subprocess
import sys

from kinanti.orchestration.runtime import die_with_parent
from kinanti.settings import Settings


def start_portal(settings: Settings, prefect_api_url: str | None) -> subprocess.Popen[bytes]:
    """Start ``kinanti web`` with this process's settings; the caller stops it."""
    env = dict(os.environ)
    env["KINANTI_HOME"] = str(settings.home.resolve())
    env["KINANTI_DATABASE_URL"] = settings.resolved_database_url
    if prefect_api_url:
        env["PREFECT_API_URL"] = prefect_api_url
    log = (settings.home.resolve() / "portal.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "kinanti.cli", "web"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent(os.getpid()),  # a killed serve leaves no portal behind
    )


def stop_portal(process: subprocess.Popen[bytes], wait: float = 10) -> None:
    """Stop the portal (SIGTERM, then SIGKILL if it outlives ``wait`` seconds)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            process.kill()
