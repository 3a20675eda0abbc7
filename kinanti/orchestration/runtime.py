"""Running the engine on one machine: a Prefect server (the user's or a local one) and a
runner serving every deployment from one process.

Prefect reads its settings when it is imported, so the API URL and runner settings are put
in the environment before anything imports prefect (``configure_prefect_env``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kinanti.settings import Settings

DEFAULT_PORT = 4200


def api_healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(settings: Settings) -> dict[str, str]:
    """Environment for Prefect and Kinanti child processes (absolute paths, analytics off)."""
    home = settings.home.resolve()
    env = dict(os.environ)
    env.update(
        {
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_RUNNER_POLL_FREQUENCY": env.get("PREFECT_RUNNER_POLL_FREQUENCY", "2"),
            "PREFECT_LOGGING_LEVEL": env.get("PREFECT_LOGGING_LEVEL", "INFO"),
            # flow logs reach the UI through the API handler; the console copy (re-streamed
            # by the runner, rich-formatted) costs CPU in every flow process: warnings only
            "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": env.get(
                "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING"
            ),
            "KINANTI_HOME": str(home),
            "KINANTI_DATABASE_URL": settings.resolved_database_url,
        }
    )
    env.setdefault("PREFECT_HOME", str(home / "prefect"))
    return env


def configure_prefect_env(settings: Settings, api_url: str | None = None) -> None:
    """Put Prefect's settings in this process's environment (call before importing prefect)."""
    for key, value in base_env(settings).items():
        if key.startswith(("PREFECT_", "DO_NOT_TRACK", "KINANTI_")):
            os.environ.setdefault(key, value)
    if api_url:
        os.environ["PREFECT_API_URL"] = api_url


@dataclass
class LocalServer:
    """A ``prefect server start`` child process this command started (and must stop)."""

    process: subprocess.Popen[bytes]
    api_url: str
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def start_local_server(settings: Settings, port: int | None = None) -> LocalServer:
    """Start a local Prefect server (data under ``<home>/prefect``) and wait until healthy."""
    env = base_env(settings)
    prefect_home = Path(env["PREFECT_HOME"])
    prefect_home.mkdir(parents=True, exist_ok=True)
    port = port or (DEFAULT_PORT if _port_free(DEFAULT_PORT) else _free_port())
    api_url = f"http://127.0.0.1:{port}/api"
    env.pop("PREFECT_API_URL", None)
    log_path = settings.home.resolve() / "prefect-server.log"
    log = log_path.open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = LocalServer(process, api_url, log_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Prefect server exited early; see {log_path}")
        if api_healthy(api_url):
            return server
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"Prefect server did not become healthy in 90 s; see {log_path}")


@contextlib.contextmanager
def prefect_api(settings: Settings, *, start: bool = True) -> Iterator[str]:
    """Yield a healthy Prefect API URL: ``PREFECT_API_URL`` if set, else a local server
    started here (and stopped on exit)."""
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        if not api_healthy(configured):
            raise RuntimeError(
                f"PREFECT_API_URL={configured} does not answer; start the server or unset it"
            )
        configure_prefect_env(settings, configured)
        yield configured
        return
    if not start:
        raise RuntimeError("no Prefect API: set PREFECT_API_URL or run `kinanti serve`")
    server = start_local_server(settings)
    try:
        configure_prefect_env(settings, server.api_url)
        yield server.api_url
    finally:
        server.stop()
        os.environ.pop("PREFECT_API_URL", None)


def spawn_runner(
    settings: Settings,
    api_url: str,
    *,
    log_name: str = "runner.log",
    extra_env: dict[str, str] | None = None,
    only: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``kinanti serve --runner-only`` as a child process (its own process group)."""
    env = base_env(settings)
    env["PREFECT_API_URL"] = api_url
    env.update(extra_env or {})
    log = (settings.home.resolve() / log_name).open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kinanti.cli",
            "serve",
            "--runner-only",
            *(["--only", only] if only else []),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_process_group(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def wait_for_deployments(
    names: list[str], runner: subprocess.Popen[bytes] | None = None, timeout: float = 90
) -> None:
    """Block until the runner has registered ``names`` (``flow/deployment``) with the API."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    missing = list(names)
    with get_client(sync_client=True) as client:
        while missing and time.monotonic() < deadline:
            if runner is not None and runner.poll() is not None:
                raise RuntimeError(f"the runner exited with code {runner.returncode}")
            try:
                client.read_deployment_by_name(missing[0])
                missing.pop(0)
            except ObjectNotFound:
                time.sleep(0.3)
    if missing:
        raise RuntimeError(f"deployments not registered in {timeout:.0f} s: {missing}")
