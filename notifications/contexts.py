"""Typed contexts: one pydantic model per email template.

The outbox stores a plain JSON dict (written by the domain changes and the flows); the
renderer validates it into the template's model, so a missing or mistyped key fails with
the template and field named instead of rendering a half-empty email.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.enums import (
    AdoptionModel,
    AdoptionStatus,
    ComplianceStatus,
    GateDecisionKind,
    ReplicationStage,
    Stage,
)


class EmailContext(BaseModel):
    """Keys common to every email. Unknown keys are ignored (writers may add more)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    recipient_name: str | None = Field(None, description="Name used in the greeting")
    attachments: list[str] = Field(
        default_factory=list, description="Files inside the evidence folder to attach"
    )

    def link(self, base_url: str) -> str:
        """The Prefect UI page about this email (for Brida's operators)."""
        return f"{base_url.rstrip('/')}/runs"

    def portal_path(self) -> str | None:
        """The portal page where the recipient acts (``None``: link to Prefect instead)."""
        return "/"

    def generated_files(self) -> list[GeneratedFile]:
        """Files made from the context itself (a calendar invitation), attached."""
        return []


class GeneratedFile(BaseModel):
    """An attachment made at render time: its name, MIME type and bytes."""

    model_config = ConfigDict(frozen=True)

    filename: str
    content_type: str
    data: bytes


class RunContext(EmailContext):
    """An email about what a flow run did or waits for: it links to that run, or to
    ``fallback_page`` when there is none."""

    flow_run_id: str | None = None
    fallback_page: ClassVar[str] = "runs"

    def link(self, base_url: str) -> str:
        base = base_url.rstrip("/")
        if self.flow_run_id:
            return f"{base}/runs/flow-run/{self.flow_run_id}"
        return f"{base}/{self.fallback_page}"


class InnovationContext(RunContext):
    """An email about one innovation (as written by ``domain.changes.context_of``)."""

    innovation_code: str
    innovation_title: str
    unit_code: str
    unit_name: str
    stage: Stage
    year: int

    def portal_path(self) -> str | None:
        return f"/innovations/{self.innovation_code}"


class StageEnteredContext(InnovationContext):
    """To the unit: the innovation entered ``stage``; what to do next and by when."""

    due_date: dt.date | None = None


class GateWaitingContext(InnovationContext):
    """To reviewers: a gate waits for a decision (``assigned``: to the one assignee; else
    to everyone of the role's queue)."""

    gate_id: int
    round: int = 1
    due_date: dt.date | None = None
    checklist: list[str] = Field(default_factory=list)
    assigned: bool = False
    budget: Decimal | None = None

    def portal_path(self) -> str | None:
        return f"/gates/{self.innovation_code}"


class GateAssignedContext(InnovationContext):
    """To a gate's new assignee: claimed for them or reassigned by a Brida operator."""

    gate_id: int
    round: int = 1
    due_date: dt.date | None = None
    kind: Literal["assigned", "claimed", "reassigned"] = "reassigned"
    assigned_by: str
    reason: str | None = None

    def portal_path(self) -> str | None:
        return f"/gates/{self.innovation_code}"


class QueuedGateItem(BaseModel):
    """One open gate of the role's queue, as the daily queue digest lists it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    innovation_code: str
    innovation_title: str
    unit_name: str
    stage: Stage
    round: int = 1
    opened_on: dt.date
    due_date: dt.date | None = None
    assignee: str | None = None


class QueueDigestContext(EmailContext):
    """To each eligible reviewer, daily: the role's open gates nobody is assigned (to
    claim), and those assigned to others."""

    unassigned: list[QueuedGateItem] = Field(min_length=1)
    others: list[QueuedGateItem] = Field(default_factory=list)

    def portal_path(self) -> str | None:
        return "/gates"


class GateDecidedContext(InnovationContext):
    """To the unit: the gate was decided (approve / revise with the reason / reject)."""

    gate_id: int
    decision: GateDecisionKind
    reason: str | None = None
    reviewer: str
    next_stage: Stage | None = None


class ConsultationBookedContext(RunContext):
    """Klinik Kinanti: a consultation session was booked, moved or cancelled (the
    innovation is optional). With its id, a calendar invitation (.ics) is attached."""

    consultation_id: int | None = None
    change: Literal["booked", "rescheduled", "cancelled"] = "booked"
    innovation_code: str | None = None
    innovation_title: str | None = None
    unit_code: str
    unit_name: str
    stage: Stage = Stage.PLANNING
    year: int | None = None
    mentor_name: str | None = None
    mentor_email: str | None = None
    scheduled_at: dt.datetime
    topic: str
    place: str | None = None
    attendees: list[str] = Field(default_factory=list)
    sequence: int = 0
    duration_minutes: int = 60
    reason: str | None = None

    def portal_path(self) -> str | None:
        if self.consultation_id is not None:
            return f"/consultations/{self.consultation_id}"
        return f"/innovations/{self.innovation_code}" if self.innovation_code else "/"

    def generated_files(self) -> list[GeneratedFile]:
        if self.consultation_id is None:
            return []
        from notifications.calendar import consultation_invitation

        return [
            GeneratedFile(
                filename="klinik-kinanti.ics",
                content_type="text/calendar; charset=utf-8; method=PUBLISH",
                data=consultation_invitation(self),
            )
        ]


class FollowUpDueContext(EmailContext):
    """Klinik Kinanti follow-up: assigned to its owner, reminded to the owner once overdue,
    escalated to the head of Brida later."""

    kind: Literal["assigned", "reminder", "escalation"]
    follow_up_id: int
    text: str
    due_on: dt.date | None = None
    overdue_days: int = 0
    owner_name: str
    unit_code: str
    unit_name: str
    topic: str
    consultation_id: int | None = None
    visit_id: int | None = None
    innovation_code: str | None = None

    def portal_path(self) -> str | None:
        if self.consultation_id is not None:
            return f"/consultations/{self.consultation_id}"
        return "/visits"


class PublicRequestContext(EmailContext):
    """The public Klinik Kinanti form: the citizen's acknowledgement, the note to Brida's
    operators to triage it, and the outcome (a proposal, or a reply) to the citizen."""

    kind: Literal["received", "waiting", "proposed", "closed"]
    reference: str
    request_kind: Literal["consultation", "idea"]
    subject: str
    requester: str
    message: str | None = None
    reply: str | None = None
    innovation_code: str | None = None
    unit_name: str | None = None

    def portal_path(self) -> str | None:
        if self.kind == "waiting":
            return f"/klinik/requests/{self.reference}"
        return "/klinik/public"


class ReminderContext(InnovationContext):
    """A gate still waits (to reviewers), or a unit has not resubmitted after a revise."""

    kind: Literal["gate_waiting", "revision"] = "gate_waiting"
    gate_id: int | None = None
    waiting_days: int
    due_date: dt.date | None = None
    reason: str | None = None
    checklist: list[str] = Field(default_factory=list)

    def portal_path(self) -> str | None:
        if self.kind == "gate_waiting":
            return f"/gates/{self.innovation_code}"
        return f"/innovations/{self.innovation_code}"


class EscalationContext(InnovationContext):
    """To the head of Brida: a gate has waited too long."""

    gate_id: int
    waiting_days: int
    opened_on: dt.date
    due_date: dt.date | None = None
    reviewers: list[str] = Field(default_factory=list)

    def portal_path(self) -> str | None:
        return f"/gates/{self.innovation_code}"


class ComplianceContext(RunContext):
    """A unit's yearly obligation (at least one innovation per year)."""

    unit_code: str
    unit_name: str
    year: int
    status: ComplianceStatus
    innovations_counted: int = 0
    deadline: dt.date | None = None
    reason: str | None = None
    #: The reason's key and values in the translation tables (``compliance.<key>``), so
    #: each recipient reads it in their language; ``reason`` is the English fallback.
    reason_key: str | None = None
    reason_values: dict[str, str | int] = Field(default_factory=dict)

    def portal_path(self) -> str | None:
        return "/compliance"


class ComplianceWarningContext(ComplianceContext):
    """To a unit at risk of ending the year without an innovation."""


class SpecialEvaluationContext(ComplianceContext):
    """To a unit that failed its yearly obligation (it gets an evaluasi khusus), and to the
    head of Brida (``for_brida``), who schedules it."""

    for_brida: bool = False


class ReportReadyContext(RunContext):
    """A report was produced (file path, and the flow run that made it)."""

    fallback_page: ClassVar[str] = "artifacts"

    year: int
    report_title: str
    report_path: str

    def portal_path(self) -> str | None:
        return "/city"


class DeliveryFailedContext(EmailContext):
    """To Brida's desk: an email was refused permanently and will not be retried."""

    outbox_id: int
    failed_template: str
    failed_recipient: str
    error: str
    attempts: int = 1
    innovation_code: str | None = None
    innovation_title: str | None = None
    unit_code: str | None = None
    unit_name: str | None = None
    stage: Stage | None = None

    def portal_path(self) -> str | None:
        return None  # to Brida's operators: the Prefect UI


class PortalLinkContext(EmailContext):
    """To a registered person: a one-time link to set a password (first sign-in or reset)."""

    link_url: str = Field(description="The one-time link (full URL)")
    purpose: Literal["first", "reset"] = "first"
    valid_hours: int = 24

    def link(self, base_url: str) -> str:
        return self.link_url

    def portal_path(self) -> str | None:
        return None


class DigestItem(BaseModel):
    """One item of a digest: what a single email would have been."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: str
    context: dict[str, Any]


class DigestContext(EmailContext):
    """Several items for one recipient in one email."""

    items: list[DigestItem] = Field(min_length=1)


class ReplicationStepContext(EmailContext):
    """To both sides of an adoption (the origin's unit, the adopter) and Brida: one step
    of a replication (interest, approved, rejected, replicating, completed, verified,
    incoming)."""

    adoption_id: int
    step: Literal[
        "interest", "approved", "rejected", "replicating", "completed", "verified", "incoming"
    ]
    model: AdoptionModel
    stage: ReplicationStage
    status: AdoptionStatus
    origin_code: str | None = None
    origin_title: str | None = None
    adopter_name: str
    replica: str | None = None
    reason: str | None = None


CONTEXT_MODELS: dict[str, type[EmailContext]] = {
    "stage_entered": StageEnteredContext,
    "gate_waiting": GateWaitingContext,
    "gate_decided": GateDecidedContext,
    "gate_assigned": GateAssignedContext,
    "queue_digest": QueueDigestContext,
    "consultation_booked": ConsultationBookedContext,
    "reminder": ReminderContext,
    "escalation": EscalationContext,
    "compliance_warning": ComplianceWarningContext,
    "special_evaluation": SpecialEvaluationContext,
    "report_ready": ReportReadyContext,
    "delivery_failed": DeliveryFailedContext,
    "digest": DigestContext,
    "portal_link": PortalLinkContext,
    "replication_step": ReplicationStepContext,
    "follow_up_due": FollowUpDueContext,
    "public_request": PublicRequestContext,
}
"""Template name -> its context model. Every template has exactly one."""
