"""Helpers for the portal's browser tests: a real SMTP server, a portal process, PNG checks."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from kinanti.db import make_engine, unit_of_work
from kinanti.portal.accounts import set_demo_password

OFFICER = "inovasi.dinkes@mataramkota.go.id"  # DINKES
OTHER_OFFICER = "inovasi.dkp@mataramkota.go.id"  # DKP
REVIEWER = "hendriani.brida@mataramkota.go.id"
HEAD = "kepala.brida@mataramkota.go.id"
OPERATOR = "operator1.brida@mataramkota.go.id"
INNOVATOR = "ahmad.tauhid@unram.ac.id"
SIGNED_IN_PEOPLE = (OFFICER, OTHER_OFFICER, REVIEWER, HEAD, OPERATOR, INNOVATOR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Mailbox:
    """aiosmtpd on loopback: keeps every message it accepts."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    def wait_for(self, address: str, contains: str, timeout: float = 60) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.to(address):
                body = message.get_body(("plain",))
                if body is not None and contains in body.get_content():
                    return message
            time.sleep(0.2)
        subjects = [str(m["Subject"]) for m in self.to(address)]
        raise AssertionError(f"no email to {address} containing {contains!r}; got {subjects}")


def smtp_env(mailbox: Mailbox) -> dict[str, str]:
    return {
        "KINANTI_EMAIL_BACKEND": "smtp",
        "KINANTI_SMTP_HOST": "127.0.0.1",
        "KINANTI_SMTP_PORT": str(mailbox.port),
        "KINANTI_SMTP_TIMEOUT": "5",
    }


def give_passwords(database_url: str, people: tuple[str, ...]) -> dict[str, str]:
    """Fresh random passwords for these people (never fixed in code)."""
    passwords = {email: secrets.token_urlsafe(12) for email in people}
    engine = make_engine(database_url)
    with unit_of_work(engine) as session:
        for email, password in passwords.items():
            set_demo_password(session, email, password)
    engine.dispose()
    return passwords


@dataclass
class Portal:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def run_portal(home: Path, env: dict[str, str], port: int | None = None) -> Iterator[Portal]:
    """``kinanti web`` on ``port`` (default: a free one) as a child process; stopped after."""
    port = port or free_port()
    url = env.get("KINANTI_PORTAL_URL") or f"http://127.0.0.1:{port}"
    full_env = {
        **os.environ,
        **env,
        "KINANTI_WEB_HOST": "127.0.0.1",
        "KINANTI_WEB_PORT": str(port),
        "KINANTI_PORTAL_URL": url,
    }
    log = home / f"portal-{port}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kinanti.cli", "web"],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    local = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the portal exited: {log.read_text()[-3000:]}")
            try:
                if httpx.get(local + "/sign-in", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError(f"the portal did not start: {log.read_text()[-3000:]}")
        yield Portal(local, process, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def png_colours(path: Path) -> tuple[int, int, int]:
    """Width, height and how many distinct byte values the image data holds (blank ~ few)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


def screenshot(page: Any, folder: Path, name: str) -> Path:
    """A full-page screenshot of ``page`` as ``folder/name.png``, checked to render: the
    viewport's width, some height, and more than a blank page's few colours."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    width, height, colours = png_colours(path)
    assert width == page.viewport_size["width"] and height >= 300
    assert colours > 40, f"{path.name} looks blank"
    return path
