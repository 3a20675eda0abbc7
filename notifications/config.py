"""The narrow mail configuration notifications need (and nothing else of Kinanti's).

The application builds one ``MailConfig`` from its settings (``Settings.mail_config()``)
and passes it in; notifications never read settings or environment variables. The
defaults live in one place, the settings; here every field is required.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from domain.enums import Language


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how the SMTP sender connects. ``password`` is never logged or printed."""

    host: str
    port: int
    security: Literal["none", "starttls", "tls"]
    username: str | None
    password: SecretStr | None
    timeout: float


@dataclass(frozen=True)
class MailConfig:
    """How emails are built, delivered and recorded.

    - ``backend``: ``smtp`` (production) or ``file`` (one ``.eml`` per message in
      ``outbox_dir``, the embedded default);
    - ``mail_from``: the From header (``Name <addr>`` or ``addr``);
    - ``region_code`` / ``region_name``: the Message-ID's domain part and the footer;
    - ``base_url``: base of every link in an email;
    - ``brida_email`` / ``language``: Brida's desk, told about failed deliveries, and the
      language it is told in;
    - ``evidence_dir``: the only folder attachments may come from;
    - ``batch_size`` / ``max_attempts``: rows claimed at a time, attempts before a row
      fails for good;
    - ``zone``: the region's time zone, for the times an email shows.
    """

    backend: Literal["file", "smtp"]
    smtp: SmtpConfig
    outbox_dir: Path
    evidence_dir: Path
    mail_from: str
    region_code: str
    region_name: str
    base_url: str
    brida_email: str
    language: Language
    batch_size: int
    zone: tzinfo
    max_attempts: int
