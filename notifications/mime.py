"""Build an email message: text and HTML alternatives (and attachments), safe headers.

``build_message`` checks the addresses (a bad one is a permanent ``DeliveryError``),
refuses attachments from outside the evidence folder, derives the Message-ID from the
outbox row's idempotency key (stable across retries, so not ``email.utils.make_msgid``,
which adds the time and a random part) and returns an ``OutgoingEmail``: the message's
bytes (CRLF, RFC 5322 / MIME) and its envelope. A ``Sender`` delivers it.

Why the message is assembled here and not by the standard library's object model
--------------------------------------------------------------------------------
``email.message.EmailMessage`` does this job, and was tried: ``bench/notify.py --mime
stdlib`` builds the same message (headers, parts, quoted-printable) with
``EmailMessage`` and ``email.policy.SMTP``, ``--mime compat32`` with the legacy
``email.mime`` classes. 5,000 messages through ``deliver_pending`` to a local aiosmtpd
against a plain smtplib loop, best of 3 alternating rounds, on the shared 2-core
machine (2026-12-01, load average 6-20 from other work, so each figure is noisy; each
row is one run):

==============================  =================  ==========  =====================
builder (``--mime``)            Kinanti            plain loop  ratio (target >= 0.5)
==============================  =================  ==========  =====================
this module (``kinanti``)       13.81 s            9.20 s      0.666
this module (``kinanti``)       12.44 s            8.80 s      0.708
this module (``kinanti``)       37.04 s            23.98 s     0.647
this module (``kinanti``)       21.78 s            12.49 s     0.573
``EmailMessage`` (``stdlib``)   42.94 s            11.42 s     0.266
``EmailMessage`` (``stdlib``)   40.35 s            10.64 s     0.264
``email.mime`` (``compat32``)   34.46 s            15.90 s     0.462
``email.mime`` (``compat32``)   52.55 s            22.16 s     0.422
==============================  =================  ==========  =====================

Building alone, 1,000 realistic messages in one process: 0.07-0.10 ms a message here,
2.2-3.1 ms with ``EmailMessage`` (every header is parsed when set and parsed again to
be refolded when written: ``email.headerregistry``, ``email._header_value_parser``),
0.67-0.78 ms with ``email.mime`` (``email.header.Header.encode`` for every header). A
whole SMTP exchange costs about 1 ms, so the object model would cost more than sending
and take delivery below its target. ``email.utils.make_msgid``/``formatdate`` would not
help: the Message-ID must come from the key, and the date is one call either way.

What is written by hand is only the assembly: header lines, the two multipart
envelopes and their boundaries. Every encoding is the standard library's:
``email.header.Header`` (RFC 2047 words for non-ASCII headers),
``email.utils.formataddr`` / ``format_datetime`` / ``encode_rfc2231``,
``binascii.b2a_qp`` and ``base64``. ``OutgoingEmail.message`` parses the bytes back into
an ``EmailMessage``, and ``tests/test_notifications.py`` checks that they read back
exactly as the message ``EmailMessage`` with ``policy.SMTP`` builds (headers,
structure, decoded text and HTML).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import mimetypes
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes
from email.header import Header
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import encode_rfc2231, format_datetime, formataddr, getaddresses
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Self

from domain.errors import DeliveryError
from notifications.config import MailConfig
from notifications.render import RenderedEmail, clean_header


def message_id_for(key: str, region_code: str) -> str:
    """The Message-ID of the email with outbox ``key`` (stable across retries)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    region = re.sub(r"[^A-Za-z0-9-]", "", region_code) or "region"
    return f"<{digest}@kinanti.{region}>"


_ADDR_SPEC = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$"
)


@dataclass(frozen=True)
class MailAddress:
    """A checked address and display name (no CR/LF or control characters anywhere)."""

    addr_spec: str
    display_name: str = ""

    def header(self) -> str:
        return formataddr((self.display_name, self.addr_spec), charset="utf-8")


def checked_address(email: str, name: str | None = None) -> MailAddress:
    """``email`` (and ``name``) checked: one addr-spec, no CR/LF or control characters."""
    addr = clean_header(email)
    if addr != email.strip() or not _ADDR_SPEC.match(addr) or ".." in addr:
        raise DeliveryError(
            f"invalid email address {addr!r}: fix it in the unit or people registry",
            permanent=True,
        )
    return MailAddress(addr_spec=addr, display_name=clean_header(name or ""))


@lru_cache(maxsize=8)
def parse_from(mail_from: str) -> MailAddress:
    """The configured sender (``Name <addr>`` or ``addr``)."""
    pairs = getaddresses([clean_header(mail_from)])
    if not pairs or not pairs[0][1]:
        raise DeliveryError(f"invalid KINANTI_MAIL_FROM {mail_from!r}", permanent=True)
    name, addr = pairs[0]
    return checked_address(addr, name)


def safe_attachment(path: str | Path, evidence_dir: Path) -> Path:
    """Resolve ``path`` (relative to the evidence folder) and refuse anything outside it."""
    root = evidence_dir.resolve()
    candidate = Path(path)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not resolved.is_relative_to(root):
        raise DeliveryError(
            f"attachment {str(path)!r} is outside the evidence folder {root}; refused",
            permanent=True,
        )
    if not resolved.is_file():
        raise DeliveryError(f"attachment {str(path)!r} does not exist", permanent=True)
    return resolved


@dataclass(frozen=True)
class OutgoingEmail:
    """A message ready to send: its bytes (CRLF, RFC 5322 / MIME) and its envelope."""

    data: bytes
    sender: str
    recipient: str
    message_id: str
    label: str = ""  # human hint for file names: "<code>_<template>"

    @property
    def message(self) -> EmailMessage:
        """The message parsed back by the standard library (for inspection and tests)."""
        parsed = message_from_bytes(self.data, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed


def _header(name: str, value: str) -> bytes:
    """``Name: value`` folded at 78 columns, RFC 2047-encoded when not ASCII."""
    value = clean_header(value)
    if not value.isascii() or "=?" in value:
        encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
        return f"{name}: {encoded}\r\n".encode("ascii")
    lines: list[str] = []
    line = f"{name}:"
    for word in value.split(" "):
        if len(line) + 1 + len(word) > 78 and line.strip() and not line.endswith(":"):
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _text_part(subtype: str, body: str) -> bytes:
    encoded = binascii.b2a_qp(body.encode("utf-8"), istext=True)
    encoded = encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode() + encoded


def _file_part(path: Path) -> bytes:
    ctype, _ = mimetypes.guess_type(path.name)
    return _attachment_part(path.name, ctype or "application/octet-stream", path.read_bytes())


def _attachment_part(name: str, ctype: str, data: bytes) -> bytes:
    filename = clean_header(name)
    if filename.isascii() and '"' not in filename and "\\" not in filename:
        disposition = f'attachment; filename="{filename}"'
    else:
        disposition = f"attachment; filename*={encode_rfc2231(filename, 'utf-8')}"
    body = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (
        f"Content-Type: {clean_header(ctype)}\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: {disposition}\r\n\r\n"
    ).encode() + body


def _multipart(subtype: str, parts: list[bytes], seed: str) -> tuple[str, bytes]:
    boundary = f"=_kinanti_{subtype}_{hashlib.sha256(seed.encode()).hexdigest()[:24]}"
    mark = f"--{boundary}\r\n".encode()
    # The CRLF before each delimiter belongs to the delimiter (RFC 2046), not to the part.
    body = b"".join(mark + part + b"\r\n" for part in parts)
    return boundary, body + f"--{boundary}--\r\n".encode()


def build_message(
    rendered: RenderedEmail,
    *,
    config: MailConfig,
    to_email: str,
    to_name: str | None,
    key: str,
    label: str = "",
    attachments: list[str] | None = None,
) -> OutgoingEmail:
    """A MIME message: text and HTML alternatives (and attachments), safe headers.

    Written directly as bytes (see the module docstring for why and what it costs).
    """
    sender = parse_from(config.mail_from)
    recipient = checked_address(to_email, to_name)
    message_id = message_id_for(key, config.region_code)
    paths = [safe_attachment(item, config.evidence_dir) for item in attachments or []]
    boundary, body = _multipart(
        "alt", [_text_part("plain", rendered.text), _text_part("html", rendered.html)], key
    )
    content_type = f'multipart/alternative;\r\n boundary="{boundary}"'
    parts = [_file_part(p) for p in paths] + [
        _attachment_part(f.filename, f.content_type, f.data) for f in rendered.files
    ]
    if parts:
        alternative = f"Content-Type: {content_type}\r\n\r\n".encode() + body
        boundary, body = _multipart("mixed", [alternative, *parts], key)
        content_type = f'multipart/mixed;\r\n boundary="{boundary}"'
    head = b"".join(
        (
            _header("Subject", rendered.subject),
            f"From: {sender.header()}\r\n".encode("ascii"),
            f"To: {recipient.header()}\r\n".encode("ascii"),
            f"Date: {format_datetime(dt.datetime.now(dt.UTC))}\r\n".encode("ascii"),
            f"Message-ID: {message_id}\r\n".encode("ascii"),
            b"Auto-Submitted: auto-generated\r\n",
            _header("X-Kinanti-Key", key[:200]),
            b"MIME-Version: 1.0\r\n",
            f"Content-Type: {content_type}\r\n".encode("ascii"),
        )
    )
    return OutgoingEmail(
        data=head + b"\r\n" + body,
        sender=sender.addr_spec,
        recipient=recipient.addr_spec,
        message_id=message_id,
        label=label,
    )


class Sender(ABC):
    """Delivers built messages; use as a context manager around a batch.

    Entering calls ``open`` and leaving calls ``close`` (both do nothing unless a sender
    needs them); ``send`` delivers one message.
    """

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:  # noqa: B027 - a hook: most senders need nothing here
        """Get ready for a batch."""

    def close(self) -> None:  # noqa: B027 - a hook: most senders need nothing here
        """End the batch (release what ``open`` or ``send`` took)."""

    @abstractmethod
    def send(self, email: OutgoingEmail, before_rcpt: Callable[[], None] | None = None) -> str:
        """Deliver ``email``; return where it went (recipient, or the file path).

        ``before_rcpt`` runs before the message can possibly be accepted: over SMTP after
        the server took ``MAIL FROM`` and before ``RCPT TO`` (so it overlaps that round
        trip), for files before writing. The dispatcher waits there for the previous
        row's sent mark to be committed.
        """
