"""Running the engine on one machine: a Prefect server (the user's or a local one) and a
runner serving every deployment from one process.

Prefect reads its settings when it is imported, so the API URL and runner settings are put
in the environment before anything imports prefect (``configure_prefect_env``).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from domain.errors import KinantiError
from kinanti.settings import Settings

DEFAULT_PORT = 4200
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def api_healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the system picks it)."""
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
    for key, value in auth_env(settings).items():
        env.setdefault(key, value)
    return env


def auth_env(settings: Settings) -> dict[str, str]:
    """The Prefect variables of ``KINANTI_PREFECT_AUTH_STRING``: the server requires it,
    every client (flows, runner, portal, CLI) sends it. Empty when it is not set."""
    if settings.prefect_auth_string is None:
        return {}
    value = settings.prefect_auth_string.get_secret_value()
    return {"PREFECT_SERVER_API_AUTH_STRING": value, "PREFECT_API_AUTH_STRING": value}


def configure_prefect_env(settings: Settings, api_url: str | None = None) -> None:
    """Put Prefect's settings in this process's environment (call before importing prefect)."""
    for key, value in base_env(settings).items():
        if key.startswith(("PREFECT_", "DO_NOT_TRACK", "KINANTI_")):
            os.environ.setdefault(key, value)
    if api_url:
        os.environ["PREFECT_API_URL"] = api_url


def die_with_parent(parent: int) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets SIGTERM when its parent dies (Linux
    ``PR_SET_PDEATHSIG``), even after ``kill -9`` of the parent."""

    def preexec() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state first), or ``None``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()


def kill_children(pid: int) -> None:
    """SIGKILL every live child process of ``pid`` (Linux: found through ``/proc``)."""
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat(int(entry.name))
        if fields is not None and fields[1] == str(pid) and fields[0] != "Z":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (tells a live process from a reused pid)."""
    fields = _stat(pid)
    return fields[19] if fields else None


def _alive(pid: int, started: str | None) -> bool:
    """Whether ``pid`` runs (not a zombie) and, if ``started`` is given, is that process."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _stat(pid)
    if fields is None:
        return not Path("/proc").is_dir()  # no procfs: trust kill(0)
    return fields[0] != "Z" and (started is None or fields[19] == started)


def _wait_gone(pid: int, started: str | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid, started):
            return True
        time.sleep(0.1)
    return not _alive(pid, started)


def terminate_group(pid: int, started: str | None = None, timeout: float = 15) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL it if it outlives ``timeout``."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not _alive(pid, started):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        if _wait_gone(pid, started, wait):
            return


@dataclass(frozen=True)
class ServerRecord:
    """``<home>/prefect-server.json``: the Prefect server a Kinanti command started, and
    the command (``owner``) that started it."""

    pid: int
    started: str | None
    owner: int
    owner_started: str | None
    port: int

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @staticmethod
    def path(settings: Settings) -> Path:
        return settings.home.resolve() / "prefect-server.json"

    @classmethod
    def read(cls, settings: Settings) -> ServerRecord | None:
        try:
            return cls(**json.loads(cls.path(settings).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def write(self, settings: Settings) -> None:
        path = self.path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(path)

    def server_alive(self) -> bool:
        return _alive(self.pid, self.started)

    def owner_alive(self) -> bool:
        return self.owner != os.getpid() and _alive(self.owner, self.owner_started)


class ServerConflictError(KinantiError):
    """Raised when a local Prefect server cannot be started without a second one on the
    same Prefect database, or on a port another program holds."""


@dataclass
class LocalServer:
    """A ``prefect server start`` child process this command started (and must stop).
    It gets SIGTERM if this process dies first (see ``die_with_parent``)."""

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
    port = port or (DEFAULT_PORT if _port_free(DEFAULT_PORT) else free_port())
    api_url = f"http://127.0.0.1:{port}/api"
    env.pop("PREFECT_API_URL", None)
    log_path = settings.home.resolve() / "prefect-server.log"
    log = log_path.open("ab")
    process = subprocess.Popen(
        server_command(port),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent(os.getpid()),
    )
    server = LocalServer(process, api_url, log_path)
    try:
        wait_until_healthy(process, api_url, log_path, timeout=90)
    except RuntimeError:
        server.stop()
        raise
    return server


def server_command(port: int) -> list[str]:
    """``prefect server start`` on ``127.0.0.1:port``, with this interpreter."""
    return [
        sys.executable,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def wait_until_healthy(
    process: subprocess.Popen[bytes], api_url: str, log_path: Path, *, timeout: float
) -> None:
    """Wait until the server ``process`` answers ``<api_url>/health``; ``RuntimeError``
    (naming its log) if it exits first or does not answer within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Prefect server exited early; see {log_path}")
        if api_healthy(api_url):
            return
        time.sleep(0.3)
    raise RuntimeError(f"Prefect server did not become healthy in {timeout:g} s; see {log_path}")


def _stop_recorded(settings: Settings, record: ServerRecord, timeout: float = 15) -> None:
    terminate_group(record.pid, record.started, timeout)
    ServerRecord.path(settings).unlink(missing_ok=True)


def stop_own_server(settings: Settings, timeout: float = 3) -> None:
    """Stop the local Prefect server this process started (its record names this process as
    the owner) and forget it; nothing if there is none. For a stop that cannot wait for
    ``owned_server`` to unwind."""
    record = ServerRecord.read(settings)
    if record is not None and record.owner == os.getpid():
        _stop_recorded(settings, record, timeout)


@contextlib.contextmanager
def owned_server(settings: Settings, *, fixed_port: bool) -> Iterator[str]:
    """Run the one local Prefect server of ``settings.home`` for the duration; yield its URL.

    A server left by a Kinanti command that died (its record names a dead owner) is
    stopped first, so two servers never share one Prefect database. ``fixed_port``
    (``kinanti serve``): serve on ``settings.prefect_port`` every time, so email links stay
    right, or refuse; otherwise (the demo) fall back to a free port when it is taken.
    """
    record = ServerRecord.read(settings)
    if record is not None and record.owner_alive() and record.server_alive():
        raise ServerConflictError(code="engine.server_owned", pid=record.owner, url=record.api_url)
    if record is not None:
        _stop_recorded(settings, record)
    port = settings.prefect_port
    if not _port_free(port):
        if fixed_port:
            raise ServerConflictError(code="engine.port_taken", port=port)
        port = free_port()
    server = start_local_server(settings, port)
    me = os.getpid()
    pid = server.process.pid
    ServerRecord(pid, process_start_time(pid), me, process_start_time(me), port).write(settings)
    try:
        yield server.api_url
    finally:
        server.stop()
        ServerRecord.path(settings).unlink(missing_ok=True)


@contextlib.contextmanager
def prefect_api(
    settings: Settings, *, start: bool = True, fixed_port: bool = False
) -> Iterator[str]:
    """Yield a healthy Prefect API URL: ``PREFECT_API_URL`` if set, else a local server
    started here (and stopped on exit; see ``owned_server``)."""
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
    with owned_server(settings, fixed_port=fixed_port) as url:
        try:
            configure_prefect_env(settings, url)
            yield url
        finally:
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
