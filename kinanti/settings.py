"""One settings object, built once (``get_settings()``), read from ``KINANTI_*`` variables.

Every setting has an embedded default that works on a fresh machine: SQLite and the
outbox folder under ``.kinanti/``, emails written as files.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.compliance import ComplianceRules
from domain.enums import GateAssignment, Language, Stage
from domain.reminders import ReminderPolicy
from notifications.config import MailConfig, SmtpConfig


class Settings(BaseSettings):
    """Kinanti's configuration. Environment variables use the ``KINANTI_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="KINANTI_", env_file=".env", extra="ignore")

    home: Path = Field(Path(".kinanti"), description="Folder for embedded data and files")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file <home>/kinanti.db"
    )
    region_code: str = Field("5271", description="Kemendagri code of the region")
    region_name: str = Field("Kota Mataram", description="Name of the region (tenant)")
    language: Language = Field(Language.ID, description="Default language of user-facing text")
    timezone: str = Field(
        "Asia/Makassar", description="The region's time zone (IANA name; Kota Mataram: WITA)"
    )
    base_url: str = Field(
        "http://127.0.0.1:4200",
        description="Base URL of the Prefect UI used in email links; default: the local "
        "server of `kinanti serve` (http://127.0.0.1:<prefect_port>)",
    )

    gate_timeout_days: float = Field(14, gt=0, description="How long a gate waits (days)")
    reminder_after_days: float = Field(3, gt=0, description="Remind reviewers after (days)")
    escalate_after_days: float = Field(7, gt=0, description="Escalate to head of Brida (days)")
    revision_reminder_days: float = Field(5, gt=0, description="Remind units to resubmit (days)")
    follow_up_escalate_days: float = Field(
        7, gt=0, description="Escalate an overdue Klinik Kinanti follow-up (days after due)"
    )
    consultation_minutes: int = Field(
        60, gt=0, le=480, description="How long a Klinik Kinanti consultation lasts (invitation)"
    )
    public_window_minutes: float = Field(
        60, gt=0, description="Window for counting public form submissions per client"
    )
    public_max_per_client: int = Field(
        5, gt=0, description="Public form submissions accepted per client address per window"
    )
    public_max_bytes: int = Field(
        32 * 1024, gt=1024, description="Largest request body the public form accepts"
    )
    gate_assignment: GateAssignment = Field(
        GateAssignment.LEAST_LOADED,
        description="least-loaded: each gate gets one assignee (the eligible reviewer with "
        "the fewest open gates), who alone is emailed; role-queue: gates wait unassigned in "
        "the role's queue to be claimed, and the whole role is emailed",
    )
    compliance_counting_stage: Stage = Field(
        Stage.DEVELOPMENT,
        description="Stage an innovation must reach in the year for its unit to comply",
    )
    compliance_warning_month: int = Field(
        10, ge=1, le=12, description="From this month on, units without innovation are at risk"
    )

    email_backend: Literal["file", "smtp"] = Field("file", description="file or smtp")
    outbox_dir: Path | None = Field(None, description="Where the file sender writes .eml")
    mail_from: str = Field("Brida Kota Mataram <kinanti@brida.mataramkota.go.id>")
    brida_email: str = Field(
        "brida@mataramkota.go.id", description="Brida's desk: told about failed deliveries"
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = Field(20.0, gt=0)
    outbox_batch_size: int = Field(500, gt=0)
    outbox_max_attempts: int = Field(8, gt=0)

    evidence_dir: Path | None = Field(None, description="Where evidence files are stored")
    evidence_max_bytes: int = Field(20 * 1024 * 1024, gt=0)

    runner_limit: int = Field(4, gt=0, description="Concurrent flow runs of `kinanti serve`")
    stuck_after_seconds: float = Field(
        600, gt=0, description="A run Pending/Running this long with no progress is replaced"
    )
    reconcile_every_seconds: int = Field(60, gt=0, description="Reconciler schedule")
    prefect_auth_string: SecretStr | None = Field(
        None,
        description="user:password of the Prefect UI and API (basic authentication): the "
        "local server of `kinanti serve` requires it (PREFECT_SERVER_API_AUTH_STRING) and "
        "Kinanti's clients send it (PREFECT_API_AUTH_STRING); the portal and the CLI resume "
        "gates server-side with it",
    )
    prefect_port: int = Field(
        4200, gt=0, lt=65536, description="Port of the local Prefect server `kinanti serve` runs"
    )

    web_host: str = Field("127.0.0.1", description="Address the portal listens on")
    web_port: int = Field(8000, ge=0, le=65535, description="Port the portal listens on")
    web_threads: int = Field(
        6,
        ge=1,
        le=200,
        description="Requests one portal process works on at once (the rest wait their turn); "
        "run more processes (replicas) for more",
    )
    portal_url: str | None = Field(
        None,
        description="Public URL of the portal (emails link to it); default http://host:port. "
        "With https, the session cookie is Secure.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs session cookies; default: generated once into <home>/portal-secret "
        "(every replica must share it)",
    )
    session_hours: float = Field(12, gt=0, description="A portal session lasts this long")
    link_valid_hours: float = Field(24, gt=0, description="A sign-in/reset link is valid this long")
    signin_window_minutes: float = Field(15, gt=0, description="Window for counting failures")
    signin_max_per_address: int = Field(5, gt=0, description="Failures per address per window")
    signin_max_per_client: int = Field(20, gt=0, description="Failures per client per window")
    page_size: int = Field(25, gt=0, le=200, description="Rows per page in portal lists")

    @field_validator("database_url")
    @classmethod
    def _no_blank_url(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The region's time zone."""
        return ZoneInfo(self.timezone)

    @model_validator(mode="after")
    def _links_follow_the_local_server(self) -> Settings:
        if "base_url" not in self.model_fields_set:
            self.base_url = f"http://127.0.0.1:{self.prefect_port}"
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'kinanti.db').resolve()}"

    @property
    def resolved_outbox_dir(self) -> Path:
        return (self.outbox_dir or self.home / "outbox").resolve()

    @property
    def resolved_evidence_dir(self) -> Path:
        return (self.evidence_dir or self.home / "evidence").resolve()

    @property
    def resolved_portal_url(self) -> str:
        return (self.portal_url or f"http://{self.web_host}:{self.web_port}").rstrip("/")

    def reminder_policy(self) -> ReminderPolicy:
        """When waiting gates and revisions are reminded and escalated."""
        return ReminderPolicy(
            remind_after=timedelta(days=self.reminder_after_days),
            escalate_after=timedelta(days=self.escalate_after_days),
            revision_after=timedelta(days=self.revision_reminder_days),
            follow_up_escalate_after=timedelta(days=self.follow_up_escalate_days),
            zone=self.zone,
        )

    def compliance_rules(self) -> ComplianceRules:
        """The counting stage and warning month of the yearly compliance rules."""
        return ComplianceRules(self.compliance_counting_stage, self.compliance_warning_month)

    def mail_config(self) -> MailConfig:
        """What notifications need of these settings (they never read settings)."""
        return MailConfig(
            backend=self.email_backend,
            smtp=SmtpConfig(
                host=self.smtp_host,
                port=self.smtp_port,
                security=self.smtp_security,
                username=self.smtp_username,
                password=self.smtp_password,
                timeout=self.smtp_timeout,
            ),
            outbox_dir=self.resolved_outbox_dir,
            evidence_dir=self.resolved_evidence_dir,
            mail_from=self.mail_from,
            region_code=self.region_code,
            region_name=self.region_name,
            base_url=self.base_url,
            brida_email=self.brida_email,
            language=self.language,
            batch_size=self.outbox_batch_size,
            max_attempts=self.outbox_max_attempts,
            zone=self.zone,
            portal_url=self.resolved_portal_url,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()


@contextlib.contextmanager
def scoped_environment(values: dict[str, str]) -> Iterator[Settings]:
    """The settings with ``values`` (``KINANTI_*`` and other variables, which child
    processes inherit) in force for the duration only; restored afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield get_settings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
