"""The file sender: one ``.eml`` per message in the outbox folder (the embedded default)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from domain.errors import DeliveryError
from notifications.mime import OutgoingEmail, Sender

_FILE_SAFE = re.compile(r"[^A-Za-z0-9.@_+-]+")


class FileSender(Sender):
    """Writes one ``.eml`` per message into the outbox folder (the embedded default).

    Names read like ``2026-11-28T081500_PLN-2026-003_gate_waiting_kepala@...-<id>.eml``;
    written atomically (temporary file + rename); a Message-ID already written is not
    written again.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._written: set[str] | None = None

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._written = {
            name.rsplit("-", 1)[-1].removesuffix(".eml")
            for name in os.listdir(self.directory)
            if name.endswith(".eml")
        }

    def close(self) -> None:
        self._written = None

    def send(self, email: OutgoingEmail, before_rcpt: Callable[[], None] | None = None) -> str:
        if before_rcpt is not None:
            before_rcpt()
        if self._written is None:
            self.open()
        assert self._written is not None
        tag = hashlib.sha256(email.message_id.encode()).hexdigest()[:16]
        if tag in self._written:
            existing = next(self.directory.glob(f"*-{tag}.eml"), None)
            return str(existing or self.directory)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M%S")
        label = _FILE_SAFE.sub("-", email.label).strip("-") or "kinanti"
        rcpt = _FILE_SAFE.sub("-", email.recipient)
        name = f"{stamp}_{label}_{rcpt}"[:180] + f"-{tag}.eml"
        target = self.directory / name
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(email.data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise DeliveryError(f"cannot write {target}: {exc}", permanent=False) from exc
        self._written.add(tag)
        return str(target)
