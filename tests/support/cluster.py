"""Kinanti on Prefect's distributed engine, started on this machine for a test or a benchmark.

``cluster(...)`` starts, each in its own process group and on free ports:

- a throwaway ``redis-server`` (``--save ''``) for Prefect's Redis messaging (prefect-redis);
- a Prefect server (``prefect server start``) on a fresh database of the test PostgreSQL
  (``tests/support/postgres.py``) with ``PREFECT_MESSAGING_BROKER``/``_CACHE`` set to
  ``prefect_redis.messaging``;
- the process work pool ``kinanti`` and ``prefect --no-prompt deploy --all`` of this
  folder's ``prefect.yaml`` (what an operator runs);
- N process workers, ``prefect worker start --pool kinanti --limit 1``.

The Kinanti database is the caller's (PostgreSQL for the cluster tests). Everything is
stopped, and the Prefect database dropped, at the end. The README's "Several machines" gives
the same steps for real machines.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kinanti.orchestration.runtime import free_port, server_command, wait_until_healthy
from tests.support import postgres

ROOT = Path(__file__).resolve().parents[2]
POOL = "kinanti"
REDIS_BIN = shutil.which("redis-server")


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, wait: float = 20) -> None:
    """Signal ``process``'s whole group (it leads one), SIGKILL it if it outlives ``wait``."""
    if process.poll() is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # leftovers of the group
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@dataclass
class Cluster:
    """A running cluster; see the module docstring. ``env`` is what every process got."""

    home: Path
    env: dict[str, str]
    api_url: str
    server_port: int
    redis_port: int
    redis: subprocess.Popen[bytes] | None = None
    server: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds since the start
    _started: int = 0

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        log = (self.home / log_name).open("ab")
        return subprocess.Popen(
            args,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def prefect(self, *args: str, timeout: float = 180) -> str:
        """Run a ``prefect`` CLI command against this cluster; its output (fails loudly)."""
        result = subprocess.run(
            [sys.executable, "-m", "prefect", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)}: {result.stdout}\n{result.stderr}")
        return result.stdout

    # --- Redis -------------------------------------------------------------------------
    def start_redis(self) -> None:
        if REDIS_BIN is None:
            raise RuntimeError("redis-server not found: apt-get install -y redis-server")
        self.redis = self._spawn(
            [
                REDIS_BIN,
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            "redis.log",
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.redis_port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"redis-server did not listen; see {self.home / 'redis.log'}")

    def restart_redis(self, down_seconds: float = 2.0) -> None:
        """Stop Redis (it keeps nothing: ``--save ''``, so its streams and groups are gone),
        wait, start it again on its port."""
        assert self.redis is not None
        _stop(self.redis, signal.SIGTERM)
        time.sleep(down_seconds)
        self.start_redis()

    # --- Prefect server ----------------------------------------------------------------
    def start_server(self) -> None:
        self.server = self._spawn(server_command(self.server_port), "prefect-server.log")
        wait_until_healthy(self.server, self.api_url, self.home / "prefect-server.log", timeout=120)

    def stop_server(self, sig: int = signal.SIGTERM) -> None:
        if self.server is not None:
            _stop(self.server, sig)

    def restart_server(self, down_seconds: float = 1.0) -> None:
        self.stop_server()
        time.sleep(down_seconds)
        self.start_server()

    # --- workers -----------------------------------------------------------------------
    def start_worker(self) -> subprocess.Popen[bytes]:
        self._started += 1
        name = f"worker-{self._started}"
        worker = self._spawn(
            [
                sys.executable,
                "-m",
                "prefect",
                "worker",
                "start",
                "--pool",
                POOL,
                "--limit",
                "1",
                "--name",
                name,
                "--type",
                "process",
            ],
            f"{name}.log",
        )
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: subprocess.Popen[bytes]) -> None:
        """SIGKILL a worker and every flow process it started (its group and descendants),
        like a machine that dies."""
        children = descendants(worker.pid)
        _stop(worker, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def flow_runs_on(self, worker: subprocess.Popen[bytes]) -> list[str]:
        """Ids of the flow runs a worker's processes are executing now."""
        found = []
        for pid in descendants(worker.pid):
            with contextlib.suppress(OSError):
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                for item in environ:
                    if item.startswith(b"PREFECT__FLOW_RUN_ID="):
                        found.append(item.partition(b"=")[2].decode())
        return found

    def stop(self) -> None:
        for worker in self.workers:
            _stop(worker)
        self.stop_server()
        if self.redis is not None:
            _stop(self.redis, signal.SIGKILL)


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found.extend(children)
        todo.extend(children)
    return found


def cluster_env(
    home: Path, prefect_db_url: str, api_url: str, redis_port: int, kinanti: dict[str, str]
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_HOME": str(home / "prefect"),
            "PREFECT_API_URL": api_url,
            "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db_url,
            "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
            "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
            "PREFECT_REDIS_MESSAGING_HOST": "127.0.0.1",
            "PREFECT_REDIS_MESSAGING_PORT": str(redis_port),
            "PREFECT_REDIS_MESSAGING_DB": "0",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "5",
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
            "PREFECT_SERVER_API_DEFAULT_LIMIT": "200",
            **kinanti,
        }
    )
    return env


@contextlib.contextmanager
def cluster(home: Path, kinanti: dict[str, str], *, workers: int = 2) -> Iterator[Cluster]:
    """Start the cluster (see the module docstring) with ``workers`` process workers; the
    Kinanti settings (``KINANTI_*``) are ``kinanti``. Stopped and removed on exit."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "prefect").mkdir(exist_ok=True)
    with postgres.temporary_database("prefect_cluster") as url:
        prefect_db = url.replace("postgresql+psycopg://", "postgresql+asyncpg://")
        port, redis_port = free_port(), free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        env = cluster_env(home, prefect_db, api_url, redis_port, kinanti)
        running = Cluster(home, env, api_url, port, redis_port)
        try:
            began = time.monotonic()
            running.start_redis()
            running.start_server()
            running.timings["server"] = time.monotonic() - began
            running.prefect("work-pool", "create", POOL, "--type", "process")
            running.prefect("--no-prompt", "deploy", "--all")
            running.timings["deploy"] = time.monotonic() - began
            for _ in range(workers):
                running.start_worker()
            yield running
        finally:
            running.stop()


@dataclass
class Accepted:
    message_id: str
    recipients: list[str]
    at: float  # time.time() when the server accepted the message


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records each accepted message's
    Message-ID and time; ``stop``/``start`` take it down and bring it back on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.accepted: list[Accepted] = []
        self._controller: object | None = None

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        from email import message_from_bytes

        content = getattr(envelope, "original_content", None) or getattr(envelope, "content", b"")
        message = message_from_bytes(content if isinstance(content, bytes) else b"")
        self.accepted.append(
            Accepted(
                str(message.get("Message-ID", "")),
                list(getattr(envelope, "rcpt_tos", [])),
                time.time(),
            )
        )
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        controller = Controller(self, hostname="127.0.0.1", port=self.port)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        from aiosmtpd.controller import Controller

        if isinstance(self._controller, Controller):
            self._controller.stop()
        self._controller = None

    def env(self) -> dict[str, str]:
        return {
            "KINANTI_EMAIL_BACKEND": "smtp",
            "KINANTI_SMTP_HOST": "127.0.0.1",
            "KINANTI_SMTP_PORT": str(self.port),
            "KINANTI_SMTP_SECURITY": "none",
            "KINANTI_SMTP_TIMEOUT": "5",
        }
