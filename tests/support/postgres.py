"""A throwaway PostgreSQL server for the test session, from the system's PostgreSQL binaries.

Used when ``KINANTI_TEST_PG_URL`` is not set. The pytest process that starts the session
(the xdist controller, or the only process) makes a state folder and passes it to the
workers in ``KINANTI_TEST_PG_STATE``; the first process that needs PostgreSQL starts the
server under a file lock (``initdb`` into a temporary folder, a free port on 127.0.0.1, its
unix socket in that folder, durability off for speed); every other worker reuses it. The
starting process stops it and removes its folder at the end of the session.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

URL_VARIABLE = "KINANTI_TEST_PG_URL"
STATE_VARIABLE = "KINANTI_TEST_PG_STATE"
INSTALL_HINT = (
    "PostgreSQL binaries (initdb, pg_ctl) not found: run `apt-get install -y postgresql`, "
    f"or set {URL_VARIABLE} to a server, or KINANTI_TEST_BACKENDS=sqlite"
)
# speed over durability: the data is thrown away after the session
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=300 -c shared_buffers=64MB -c max_wal_size=1GB "
    "-c listen_addresses=127.0.0.1"
)


def bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: on PATH, else the newest Debian package's."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    for initdb in reversed(found):
        if Path(initdb).with_name("pg_ctl").exists():
            return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _locked(state: Path) -> Iterator[None]:
    with (state / "lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_as() -> dict[str, Any]:
    """PostgreSQL refuses to run as root: as root, run its binaries as ``postgres``."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError(
            "running as root needs a `postgres` user for the throwaway PostgreSQL "
            "(`apt-get install -y postgresql` creates it)"
        ) from exc
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _start(state: Path) -> dict[str, Any]:
    binaries = bin_dir()
    if binaries is None:
        raise RuntimeError(INSTALL_HINT)
    run_as = _run_as()
    data = Path(tempfile.mkdtemp(prefix="kinanti-pg-"))
    if run_as:
        os.chown(data, run_as["user"], run_as["group"])
    port = _free_port()
    log = data / "server.log"
    subprocess.run(
        [
            str(binaries / "initdb"),
            "-D",
            str(data / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
        **run_as,
    )
    subprocess.run(
        [
            str(binaries / "pg_ctl"),
            "-D",
            str(data / "data"),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            f"{SERVER_OPTIONS} -p {port} -k {data}",
            "start",
        ],
        check=True,
        capture_output=True,
        **run_as,
    )
    info = {
        "url": f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
        "data": str(data),
        "bin": str(binaries),
        "pid": os.getpid(),
    }
    (state / "server.json").write_text(json.dumps(info))
    return info


def ensure_server(state: Path) -> str:
    """The admin URL of the session's throwaway server (started here if not yet running)."""
    with _locked(state):
        path = state / "server.json"
        if path.exists():
            return str(json.loads(path.read_text())["url"])
        started = time.monotonic()
        info = _start(state)
        (state / "startup-seconds").write_text(f"{time.monotonic() - started:.2f}")
        return str(info["url"])


def stop_server(state: Path) -> None:
    """Stop the session's server, if one was started, and remove its files."""
    path = state / "server.json"
    if path.exists():
        info = json.loads(path.read_text())
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                [
                    str(Path(info["bin"]) / "pg_ctl"),
                    "-D",
                    str(Path(info["data"]) / "data"),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                capture_output=True,
                timeout=60,
                **_run_as(),
            )
        shutil.rmtree(info["data"], ignore_errors=True)
    shutil.rmtree(state, ignore_errors=True)


_cached: str | None = None


def admin_url() -> str:
    """The PostgreSQL admin URL for tests: ``KINANTI_TEST_PG_URL``, else the throwaway one."""
    global _cached
    configured = os.environ.get(URL_VARIABLE)
    if configured:
        return configured
    if _cached is None:
        state = os.environ.get(STATE_VARIABLE)
        if not state:
            raise RuntimeError(f"{STATE_VARIABLE} is not set (tests/conftest.py sets it)")
        _cached = ensure_server(Path(state))
    return _cached


def database_url(name: str) -> str:
    """The URL of database ``name`` on the test server."""
    return f"{admin_url().rpartition('/')[0]}/{name}"


@contextlib.contextmanager
def temporary_database(prefix: str = "kinanti_test") -> Iterator[str]:
    """A new, empty database on the test server (dropped on exit); yields its URL."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield database_url(name)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass
class OwnServer:
    """A PostgreSQL server of one test's own (not the session's shared one), so the test
    may restart it: ``url`` is its admin URL."""

    state: Path
    url: str

    def _pg_ctl(self, *args: str) -> None:
        info = json.loads((self.state / "server.json").read_text())
        subprocess.run(
            [str(Path(info["bin"]) / "pg_ctl"), "-D", str(Path(info["data"]) / "data"), *args],
            check=True,
            capture_output=True,
            timeout=120,
            **_run_as(),
        )

    def restart(self, down_seconds: float = 2.0) -> None:
        """Stop the server (``-m fast``: open connections are cut, as in a restart), wait,
        start it again on the same port."""
        info = json.loads((self.state / "server.json").read_text())
        port = self.url.rpartition(":")[2].partition("/")[0]
        self._pg_ctl("-m", "fast", "-w", "stop")
        time.sleep(down_seconds)
        self._pg_ctl(
            "-l",
            str(Path(info["data"]) / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"{SERVER_OPTIONS} -p {port} -k {info['data']}",
            "start",
        )

    def database_url(self, name: str) -> str:
        return f"{self.url.rpartition('/')[0]}/{name}"


@contextlib.contextmanager
def own_server() -> Iterator[OwnServer]:
    """Start a throwaway PostgreSQL server of its own (stopped and removed on exit)."""
    state = Path(tempfile.mkdtemp(prefix="kinanti-pg-own-"))
    try:
        info = _start(state)
        yield OwnServer(state, str(info["url"]))
    finally:
        stop_server(state)
