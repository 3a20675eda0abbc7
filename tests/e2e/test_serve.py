"""`kinanti serve` owns its Prefect server: the server never outlives a killed serve, a
restart serves on the same URL, a stale server is stopped first (never two servers on one
Prefect database), and SIGINT stops serve like SIGTERM.

Each test runs `kinanti serve` as a real process on its own KINANTI_HOME / PREFECT_HOME and
a free port (never 4200)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kinanti.orchestration.runtime import (
    ServerRecord,
    api_healthy,
    process_start_time,
    terminate_group,
)
from kinanti.settings import Settings
from tests.support.engine_support import wait_until

pytestmark = [pytest.mark.e2e]

STALE_SERVER = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _prefect_servers(port: int) -> list[int]:
    """Pids of every `prefect server start ... --port <port>` process on this machine."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"prefect" in argv and b"server" in argv and str(port).encode() in argv:
            found.append(int(proc.name))
    return found


class Home:
    """A Kinanti home of its own, with the environment of a `kinanti serve` on ``port``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.web_port = _free_port()
        self.settings = Settings(home=root)
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KINANTI_"))
        }
        self.env.update(
            {
                "KINANTI_HOME": str(root),
                "KINANTI_DATABASE_URL": f"sqlite:///{root / 'kinanti.db'}",
                "KINANTI_PREFECT_PORT": str(self.port),
                "KINANTI_WEB_PORT": str(self.web_port),
                "KINANTI_LANGUAGE": "en",
                "PREFECT_HOME": str(root / "prefect"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "DO_NOT_TRACK": "1",
            }
        )
        self.started: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def serve(self) -> subprocess.Popen[bytes]:
        log = (self.root / "serve.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "kinanti.cli", "serve"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def wait_serving(self, serve: subprocess.Popen[bytes]) -> ServerRecord:
        """Wait until this serve process has recorded its server, the server answers and
        serve has told the CLI where (the URL file; a killed serve leaves its old one)."""
        url_file = self.root / "prefect-api-url"

        def serving() -> bool:
            assert serve.poll() is None, self.log_tail()
            record = ServerRecord.read(self.settings)
            return (
                record is not None
                and record.owner == serve.pid
                and url_file.exists()
                and url_file.read_text().strip() == record.api_url
                and api_healthy(record.api_url)
            )

        wait_until(serving, 180, "kinanti serve to answer")
        record = ServerRecord.read(self.settings)
        assert record is not None
        return record

    def stopped(self, serve: subprocess.Popen[bytes], timeout: float = 60) -> int:
        """Wait for ``serve`` to exit; its exit code (the end of its log if it does not)."""
        try:
            return serve.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve still runs after {timeout:g} s:\n" + self.log_tail())

    def log_tail(self) -> str:
        return (self.root / "serve.log").read_text(errors="replace")[-4000:]

    def cleanup(self) -> None:
        for process in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        for pid in _prefect_servers(self.port):
            terminate_group(pid)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    place = Home(tmp_path / "home")
    place.root.mkdir()
    try:
        yield place
    finally:
        place.cleanup()


def test_a_killed_serve_leaves_no_prefect_server_and_a_restart_serves_on_the_same_url(
    home: Home,
) -> None:
    serve = home.serve()
    first = home.wait_serving(serve)
    assert first.api_url == home.url
    assert _prefect_servers(home.port) == [first.pid]

    wait_until(lambda: _listening(home.web_port), 120, "the portal to answer")

    serve.send_signal(signal.SIGKILL)
    serve.wait(timeout=10)
    wait_until(
        lambda: not _prefect_servers(home.port) and not api_healthy(home.url, timeout=0.5),
        60,
        "the orphaned Prefect server to stop",
    )
    wait_until(lambda: not _listening(home.web_port), 60, "the orphaned portal to stop")

    again = home.serve()
    second = home.wait_serving(again)
    assert second.api_url == first.api_url
    assert second.pid != first.pid
    assert _prefect_servers(home.port) == [second.pid]

    # a second serve for the same home refuses, and leaves the running one alone
    refused = subprocess.run(
        [sys.executable, "-m", "kinanti.cli", "serve"],
        env=home.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1
    assert f"pid {again.pid}" in refused.stderr + refused.stdout
    assert _prefect_servers(home.port) == [second.pid]
    assert again.poll() is None

    # SIGINT to the serve process alone stops it cleanly, server included
    again.send_signal(signal.SIGINT)
    assert home.stopped(again) == 0, home.log_tail()
    assert not ServerRecord.path(home.settings).exists()
    wait_until(lambda: not _prefect_servers(home.port), 60, "the Prefect server to stop")


def test_a_stale_server_of_a_dead_serve_is_stopped_before_serving_again(home: Home) -> None:
    """A server that outlived the command that started it (say, an older Kinanti without
    the parent-death signal) is stopped; the new serve runs the only server, on the same
    port."""
    (home.root / "prefect").mkdir()
    stale = subprocess.Popen(
        [*STALE_SERVER, str(home.port)],
        env=home.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    home.started.append(stale)
    wait_until(lambda: api_healthy(home.url), 120, "the stale Prefect server")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ServerRecord(stale.pid, process_start_time(stale.pid), dead.pid, None, home.port).write(
        home.settings
    )

    serve = home.serve()
    record = home.wait_serving(serve)
    assert stale.poll() is not None, "the stale server is still running"
    assert record.api_url == home.url
    assert _prefect_servers(home.port) == [record.pid]

    serve.send_signal(signal.SIGTERM)
    assert home.stopped(serve) == 0, home.log_tail()
    wait_until(lambda: not _prefect_servers(home.port), 60, "the Prefect server to stop")


def test_serve_refuses_a_port_held_by_another_program(home: Home) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", home.port))
        holder.listen()
        result = subprocess.run(
            [sys.executable, "-m", "kinanti.cli", "serve"],
            env=home.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert "KINANTI_PREFECT_PORT" in result.stderr + result.stdout
    assert _prefect_servers(home.port) == []


STUCK_STOP = """
import subprocess, sys, time
from pathlib import Path
from kinanti.orchestration import serve
serve.STOP_SECONDS = 0.5
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
Path(sys.argv[2]).write_text(str(child.pid))
serve.on_forced_stop(lambda: Path(sys.argv[1]).write_text("stopped"))
serve.begin_stop()
time.sleep(60)  # a stop that hangs
"""


def test_a_stop_that_hangs_is_forced_after_its_deadline(tmp_path: Path) -> None:
    """Whatever holds a stop up, serve ends: past the deadline it stops what it started
    (the forced-stop callbacks), writes the thread stacks to its log, kills the child
    processes left (a flow run that ignored SIGTERM) and exits."""
    marker = tmp_path / "callback-ran"
    child = tmp_path / "child-pid"
    env = {**os.environ, "KINANTI_HOME": str(tmp_path), "KINANTI_LANGUAGE": "en"}
    result = subprocess.run(
        [sys.executable, "-c", STUCK_STOP, str(marker), str(child)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert marker.read_text() == "stopped"
    assert "Stopping Kinanti" in result.stderr
    assert "did not stop within 0.5 s; forcing it" in result.stderr
    assert 'File "<string>", line 10 in <module>' in result.stderr  # the stacks: the sleep
    wait_until(lambda: not Path(f"/proc/{child.read_text()}").exists(), 10, "the child killed")
