"""SQLAlchemy 2 typed ORM models: Kinanti's database is the source of truth.

Relationships are ``lazy="raise"``: load what you need explicitly (``selectinload``) so no
query hides in an attribute access.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum as PyEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from domain.enums import (
    AdoptingAct,
    AdoptionModel,
    AdoptionStatus,
    AssignmentKind,
    AttendeeRole,
    Bentuk,
    ComplianceStatus,
    ConsultationStatus,
    FollowUpStatus,
    GateDecisionKind,
    GateStatus,
    Initiator,
    Jenis,
    Language,
    OutboxStatus,
    Outcome,
    PublicRequestKind,
    PublicRequestStatus,
    ReplicationStage,
    Role,
    Stage,
    StageStartStatus,
    UnitKind,
    VerificationStatus,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Timezone-aware now in UTC (the only clock the domain uses)."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores UTC; always returns aware datetimes (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def enum_column(enum: type[PyEnum], length: int = 32) -> Enum:
    """A portable enum column stored by value (``'planning'``), loaded as the enum."""
    return Enum(
        enum,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        create_constraint=False,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime()}


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Unit(TimestampMixin, Base):
    """An OPD or a UPTD (which belongs to exactly one parent OPD)."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind, 8))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    head_name: Mapped[str | None] = mapped_column(String(200))
    head_email: Mapped[str | None] = mapped_column(String(254))
    officer_name: Mapped[str | None] = mapped_column(String(200))
    officer_email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[Language] = mapped_column(enum_column(Language, 4), default=Language.ID)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], lazy="raise")


class Person(TimestampMixin, Base):
    """A person Kinanti knows by email: Brida staff, reviewers, innovators, unit officers."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[Language] = mapped_column(enum_column(Language, 4), default=Language.ID)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    unit: Mapped[Unit | None] = relationship(lazy="raise")
    roles: Mapped[list[PersonRole]] = relationship(
        lazy="raise", cascade="all, delete-orphan", back_populates="person"
    )


class PersonRole(Base):
    __tablename__ = "person_roles"
    __table_args__ = (UniqueConstraint("person_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(enum_column(Role))

    person: Mapped[Person] = relationship(lazy="raise", back_populates="roles")


class Innovation(TimestampMixin, Base):
    """One innovation, with the national profile fields (Profil Inovasi)."""

    __tablename__ = "innovations"
    __table_args__ = (
        Index("ix_innovations_year_stage", "year", "stage"),
        # the portfolio cache's revision (domain.iid.portfolio) reads it from the index
        Index("ix_innovations_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage), default=Stage.PLANNING)
    outcome: Mapped[Outcome | None] = mapped_column(enum_column(Outcome))
    revision_requested: Mapped[bool] = mapped_column(Boolean, default=False)

    initiator: Mapped[Initiator] = mapped_column(enum_column(Initiator, 20))
    initiator_name: Mapped[str | None] = mapped_column(String(200))
    jenis: Mapped[Jenis] = mapped_column(enum_column(Jenis, 16))
    bentuk: Mapped[Bentuk] = mapped_column(enum_column(Bentuk, 80))
    urusan_main: Mapped[str] = mapped_column(String(120))
    urusan_other: Mapped[list[str]] = mapped_column(JSON, default=list)
    tematik: Mapped[str | None] = mapped_column(String(120))
    trial_start: Mapped[dt.date | None] = mapped_column(Date)
    implementation_start: Mapped[dt.date | None] = mapped_column(Date)
    latest_development: Mapped[str | None] = mapped_column(Text)
    design: Mapped[str | None] = mapped_column(Text)
    goals: Mapped[str | None] = mapped_column(Text)
    benefits: Mapped[str | None] = mapped_column(Text)
    results: Mapped[str | None] = mapped_column(Text)
    budget: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    adopting_act: Mapped[AdoptingAct | None] = mapped_column(enum_column(AdoptingAct, 16))
    adopting_act_number: Mapped[str | None] = mapped_column(String(120))
    consultation_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    replicable: Mapped[bool] = mapped_column(Boolean, default=False)
    origin_id: Mapped[int | None] = mapped_column(ForeignKey("innovations.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    unit: Mapped[Unit] = relationship(lazy="raise")
    origin: Mapped[Innovation | None] = relationship(remote_side=[id], lazy="raise")

    __mapper_args__ = {"version_id_col": version}


class StageHistory(Base):
    """Append-only record of every stage change and terminal outcome."""

    __tablename__ = "stage_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    innovation_id: Mapped[int] = mapped_column(ForeignKey("innovations.id"), index=True)
    from_stage: Mapped[Stage | None] = mapped_column(enum_column(Stage))
    to_stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    outcome: Mapped[Outcome | None] = mapped_column(enum_column(Outcome))
    actor: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str | None] = mapped_column(Text)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class GateRequest(Base):
    """A gate waiting for (or given) a human decision at the end of a stage.

    ``round`` counts reopenings after a revision. The open gate lives here, not only in
    Prefect: it can be reopened from the database if its flow run is lost.
    """

    __tablename__ = "gate_requests"
    __table_args__ = (UniqueConstraint("innovation_id", "stage", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    innovation_id: Mapped[int] = mapped_column(ForeignKey("innovations.id"), index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    round: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[GateStatus] = mapped_column(enum_column(GateStatus), default=GateStatus.OPEN)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_at: Mapped[dt.datetime | None] = mapped_column()
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    decision: Mapped[GateDecisionKind | None] = mapped_column(enum_column(GateDecisionKind))
    decided_by: Mapped[str | None] = mapped_column(String(254))
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[dt.datetime | None] = mapped_column()
    escalated_at: Mapped[dt.datetime | None] = mapped_column()
    #: the one reviewer who answers for the gate (``None``: it waits in the role's queue)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    innovation: Mapped[Innovation] = relationship(lazy="raise")

    __mapper_args__ = {"version_id_col": version}


class GateDecisionRecord(Base):
    """Every decision given at a gate, accepted or refused (with why)."""

    __tablename__ = "gate_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate_requests.id"), index=True)
    decision: Mapped[GateDecisionKind] = mapped_column(enum_column(GateDecisionKind))
    reviewer: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str | None] = mapped_column(Text)
    accepted: Mapped[bool] = mapped_column(Boolean)
    refusal: Mapped[str | None] = mapped_column(Text)
    #: the typed reason of a refusal (an error code such as ``gate.own_unit``)
    refusal_code: Mapped[str | None] = mapped_column(String(64))
    #: the refusal's message parameters, so it can be shown in each reader's language
    refusal_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(16), default="cli")
    #: the operating-system user who ran the CLI (operators decide on the server)
    os_user: Mapped[str | None] = mapped_column(String(64))
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class GateAssignmentRecord(Base):
    """Append-only history of a gate's assignee: assigned when it opened, claimed, handed
    back, reassigned by an operator; who did it and through which channel."""

    __tablename__ = "gate_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate_requests.id"), index=True)
    kind: Mapped[AssignmentKind] = mapped_column(enum_column(AssignmentKind, 16))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor: Mapped[str] = mapped_column(String(254))
    channel: Mapped[str] = mapped_column(String(16), default="system")
    #: the operating-system user who ran the CLI
    os_user: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DecisionProof(Base):
    """A one-time proof of who decides a gate, issued to a signed-in person (the portal) or
    an operator's CLI, and carried into the Prefect resume. Only its hash is stored; it
    expires, and works once."""

    __tablename__ = "decision_proofs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: what the proof decides: a lifecycle gate, or an adoption's gate (issue 10)
    gate_id: Mapped[int | None] = mapped_column(ForeignKey("gate_requests.id"), index=True)
    adoption_id: Mapped[int | None] = mapped_column(ForeignKey("adoptions.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    os_user: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()


class Evaluation(Base):
    """A scorecard given at a stage (trial evaluation against the five PP 38/2017 criteria)."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    innovation_id: Mapped[int] = mapped_column(ForeignKey("innovations.id"), index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    evaluator: Mapped[str] = mapped_column(String(254))
    scores: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    total: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    recommendation: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IndicatorClaim(TimestampMixin, Base):
    """A claimed IID indicator level with its evidence and verification.

    SID claims belong to an innovation; SPD claims (the region's) have no innovation.
    Changing the claimed level or the evidence resets verification to pending.
    """

    __tablename__ = "indicator_claims"
    __table_args__ = (
        UniqueConstraint("year", "aspect", "innovation_id", "indicator"),
        Index("ix_indicator_claims_innovation", "innovation_id"),
        Index("ix_indicator_claims_year_updated_at", "year", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    aspect: Mapped[str] = mapped_column(String(3))  # "sid" or "spd"
    innovation_id: Mapped[int | None] = mapped_column(ForeignKey("innovations.id"))
    indicator: Mapped[str] = mapped_column(String(40))
    claimed_level: Mapped[int] = mapped_column(Integer)
    file_path: Mapped[str | None] = mapped_column(String(500))
    file_name: Mapped[str | None] = mapped_column(String(255))
    link: Mapped[str | None] = mapped_column(String(1000))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[VerificationStatus] = mapped_column(
        enum_column(VerificationStatus), default=VerificationStatus.PENDING
    )
    verified_level: Mapped[int | None] = mapped_column(Integer)
    verification_reason: Mapped[str | None] = mapped_column(Text)
    verified_by: Mapped[str | None] = mapped_column(String(254))
    verified_at: Mapped[dt.datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(254))
    # The measurement basis chosen, for an indicator with alternative bases (issue 12).
    measurement_basis: Mapped[str | None] = mapped_column(String(40))


class Consultation(TimestampMixin, Base):
    """A Klinik Kinanti session between Brida, an innovator (mentor) and a unit, about any
    stage of an innovation or about a replication (an adoption).

    ``scheduled_at`` is stored in UTC and shown in the region's time zone; ``sequence``
    counts reschedules (the calendar invitation's SEQUENCE). Who attends is in
    ``consultation_attendees``; what must happen next in ``follow_ups``.
    """

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    innovation_id: Mapped[int | None] = mapped_column(ForeignKey("innovations.id"), index=True)
    adoption_id: Mapped[int | None] = mapped_column(ForeignKey("adoptions.id"), index=True)
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage), default=Stage.PLANNING)
    scheduled_at: Mapped[dt.datetime] = mapped_column()
    topic: Mapped[str] = mapped_column(String(300))
    place: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ConsultationStatus] = mapped_column(
        enum_column(ConsultationStatus), default=ConsultationStatus.BOOKED
    )
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    booked_by: Mapped[str | None] = mapped_column(String(254))
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class ConsultationAttendee(Base):
    """A person at a consultation: Brida staff, an innovator or one of the unit's officers.

    ``present`` is unknown (``None``) until attendance is recorded after the session.
    """

    __tablename__ = "consultation_attendees"
    __table_args__ = (UniqueConstraint("consultation_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[AttendeeRole] = mapped_column(enum_column(AttendeeRole, 16))
    present: Mapped[bool | None] = mapped_column(Boolean)


class MentoringVisit(TimestampMixin, Base):
    """An innovator's visit to a unit (an OPD, a puskesmas, a school) and what came of it."""

    __tablename__ = "mentoring_visits"
    __table_args__ = (Index("ix_mentoring_visits_unit_on", "unit_id", "visited_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    innovator_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    innovation_id: Mapped[int | None] = mapped_column(ForeignKey("innovations.id"), index=True)
    visited_on: Mapped[dt.date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(300))
    outcome: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(254))


class FollowUp(Base):
    """Something to do after a consultation or a mentoring visit: its owner, its due date.

    Overdue, it is reminded to the owner once (``reminded_at``) and escalated to the head of
    Brida once (``escalated_at``), like a waiting gate.
    """

    __tablename__ = "follow_ups"
    __table_args__ = (
        CheckConstraint("(consultation_id IS NULL) <> (visit_id IS NULL)", name="one_parent"),
        Index("ix_follow_ups_status_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentoring_visits.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    #: empty only for follow-ups migrated from the old free-text list
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[FollowUpStatus] = mapped_column(
        enum_column(FollowUpStatus, 16), default=FollowUpStatus.OPEN
    )
    created_by: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column()
    completed_by: Mapped[str | None] = mapped_column(String(254))
    completion_note: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[dt.datetime | None] = mapped_column()
    escalated_at: Mapped[dt.datetime | None] = mapped_column()


class PublicRequest(Base):
    """A citizen's or a community's request through the public form (no account): a
    consultation or an idea. The email address is contact information, never an identity.

    A Brida operator triages it: into a proposal owned by a unit (``innovation_id``,
    initiator Masyarakat), or closed with a reply.
    """

    __tablename__ = "public_requests"
    __table_args__ = (Index("ix_public_requests_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[PublicRequestKind] = mapped_column(enum_column(PublicRequestKind, 16))
    name: Mapped[str] = mapped_column(String(200))
    community: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    language: Mapped[Language] = mapped_column(enum_column(Language, 4), default=Language.ID)
    client: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[PublicRequestStatus] = mapped_column(
        enum_column(PublicRequestStatus, 16), default=PublicRequestStatus.NEW
    )
    reply: Mapped[str | None] = mapped_column(Text)
    handled_by: Mapped[str | None] = mapped_column(String(254))
    handled_at: Mapped[dt.datetime | None] = mapped_column()
    innovation_id: Mapped[int | None] = mapped_column(ForeignKey("innovations.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """An email to deliver, written in the transaction of the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    template: Mapped[str] = mapped_column(String(60))
    language: Mapped[Language] = mapped_column(enum_column(Language, 4))
    recipient_email: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    innovation_id: Mapped[int | None] = mapped_column(ForeignKey("innovations.id"), index=True)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column()
    message_id: Mapped[str | None] = mapped_column(String(300))
    delivered_to: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column()


class DomainEventRecord(Base):
    """Every domain event, recorded in the transaction that caused it, then announced to
    Prefect (``announced_at``); the reconciler announces what a crash left unannounced."""

    __tablename__ = "domain_events"
    __table_args__ = (Index("ix_domain_events_unannounced", "announced_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    innovation_id: Mapped[int | None] = mapped_column(ForeignKey("innovations.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    announced_at: Mapped[dt.datetime | None] = mapped_column()


class HandOffMixin:
    """The columns of a durable hand-off row: which attempt, whether a run took it (and
    which), when it was asked for, started and done."""

    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[StageStartStatus] = mapped_column(
        enum_column(StageStartStatus), default=StageStartStatus.PENDING
    )
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    done_at: Mapped[dt.datetime | None] = mapped_column()


class StageStart(HandOffMixin, Base):
    """Durable hand-off: "this innovation's lifecycle must run from this stage".

    Written in the transaction that moves the innovation; the flow run that picks it up is
    recorded in ``flow_run_id``; the reconciler starts rows left pending.
    """

    __tablename__ = "stage_starts"
    __table_args__ = (UniqueConstraint("innovation_id", "stage", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    innovation_id: Mapped[int] = mapped_column(ForeignKey("innovations.id"), index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage))


class StageWork(Base):
    """Marks a stage's work as done for one round, so a re-run flow does not repeat it."""

    __tablename__ = "stage_work"
    __table_args__ = (UniqueConstraint("innovation_id", "stage", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    innovation_id: Mapped[int] = mapped_column(ForeignKey("innovations.id"), index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    round: Mapped[int] = mapped_column(Integer, default=1)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ComplianceRecord(Base):
    """A unit's yearly obligation (at least one innovation carried out)."""

    __tablename__ = "compliance"
    __table_args__ = (UniqueConstraint("unit_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[ComplianceStatus] = mapped_column(enum_column(ComplianceStatus, 20))
    innovations_counted: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    exempt_reason: Mapped[str | None] = mapped_column(Text)
    special_evaluation: Mapped[bool] = mapped_column(Boolean, default=False)
    special_evaluation_at: Mapped[dt.datetime | None] = mapped_column()
    warned_at: Mapped[dt.datetime | None] = mapped_column()
    evaluated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RegionIndicator(Base):
    """Reference row kept for SQL scoring: weight per (year, aspect, indicator).

    Kept in sync with the packaged catalogue by ``domain.iid.portfolio.sync_weights`` before
    every scoring, so that portfolio-wide IID figures are computed set-based in SQL.
    """

    __tablename__ = "iid_weights"
    __table_args__ = (UniqueConstraint("year", "aspect", "indicator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    aspect: Mapped[str] = mapped_column(String(3))
    indicator: Mapped[str] = mapped_column(String(40))
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False)


# ---------------------------------------------------------------- portal (issue 9)


class PortalAccount(TimestampMixin, Base):
    """A registered person's portal sign-in: an argon2 password hash once they set one.

    ``session_epoch`` grows at every password change: sessions signed with an older epoch
    are no longer accepted (a reset signs out everywhere).
    """

    __tablename__ = "portal_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_set_at: Mapped[dt.datetime | None] = mapped_column()
    session_epoch: Mapped[int] = mapped_column(Integer, default=1)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column()


class PortalLinkToken(Base):
    """A one-time sign-in / reset link: only the SHA-256 of the token is stored."""

    __tablename__ = "portal_link_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # "first" or "reset"
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()


class SignInFailure(Base):
    """A failed sign-in, counted per address and per client to throttle guessing.

    Kept in the database so that every portal replica sees the same counts.
    """

    __tablename__ = "portal_signin_failures"
    __table_args__ = (Index("ix_portal_signin_failures_key_at", "key", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300))  # "address:<email>" or "client:<ip>"
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditRecord(Base):
    """Append-only security log: sign-ins, failures, refused access, decisions.

    Rows are never updated or deleted (the ORM refuses; see ``kinanti.audit``).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_occurred_at", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    event: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(254))
    client: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# --- Replication (issue 10) -------------------------------------------------------------


class ReplicationOffer(TimestampMixin, Base):
    """An innovation that passed reporting, offered for replication: what an adopter needs
    (prerequisites), the owner unit's readiness statement and the materials it gets."""

    __tablename__ = "replication_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    innovation_id: Mapped[int] = mapped_column(ForeignKey("innovations.id"), unique=True)
    #: staff, budget, tools, rules
    prerequisites: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    readiness_statement: Mapped[str] = mapped_column(Text)
    #: guideline, sop, training
    materials: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    offered_by: Mapped[str] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Adoption(TimestampMixin, Base):
    """One adopter replicating one innovation (outgoing: an offer of this city; incoming:
    this city adopting another region's innovation, ``offer_id`` empty).

    The adopter is a unit of the city (``adopter_unit_id``) or another region (name,
    Kemendagri code, contact). Evidence files are stored by ``domain.evidence``.
    """

    __tablename__ = "adoptions"
    __table_args__ = (Index("ix_adoptions_offer_status", "offer_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("replication_offers.id"))
    model: Mapped[AdoptionModel] = mapped_column(enum_column(AdoptionModel, 16))
    stage: Mapped[ReplicationStage] = mapped_column(
        enum_column(ReplicationStage, 32), default=ReplicationStage.PERSIAPAN
    )
    status: Mapped[AdoptionStatus] = mapped_column(
        enum_column(AdoptionStatus, 16), default=AdoptionStatus.INTERESTED
    )
    adopter_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    region_name: Mapped[str | None] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(String(20))
    region_contact: Mapped[str | None] = mapped_column(String(300))
    #: incoming: the origin's region and name
    origin_region_name: Mapped[str | None] = mapped_column(String(200))
    origin_region_code: Mapped[str | None] = mapped_column(String(20))
    origin_name: Mapped[str | None] = mapped_column(String(200))
    #: evidence: request letter, agreement (PKS / Nota Kesepakatan), implementation
    letter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    agreement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    evidence_status: Mapped[VerificationStatus | None] = mapped_column(
        enum_column(VerificationStatus)
    )
    evidence_verified_by: Mapped[str | None] = mapped_column(String(254))
    evidence_reason: Mapped[str | None] = mapped_column(Text)
    #: the profile fields the adopter adapted (name -> value); the name is never adapted
    adaptations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    replica_id: Mapped[int | None] = mapped_column(ForeignKey("innovations.id"), index=True)
    registered_by: Mapped[str] = mapped_column(String(254))
    decided_by: Mapped[str | None] = mapped_column(String(254))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[dt.datetime | None] = mapped_column()
    #: the work of each replication step done by the adoption's flow (step -> summary)
    steps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: the adoption's gate (Brida decides): when it opened, its wait, the run waiting at it,
    #: and how many decisions it was given (accepted or refused)
    gate_opened_at: Mapped[dt.datetime | None] = mapped_column()
    gate_due_at: Mapped[dt.datetime | None] = mapped_column()
    gate_flow_run_id: Mapped[str | None] = mapped_column(String(64))
    gate_attempts: Mapped[int] = mapped_column(Integer, default=0)


class AdoptionStart(HandOffMixin, Base):
    """Durable hand-off of an adoption: "this adoption's flow must run from this step"
    (the adoption's ``stage_starts``)."""

    __tablename__ = "adoption_starts"
    __table_args__ = (UniqueConstraint("adoption_id", "step", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    adoption_id: Mapped[int] = mapped_column(ForeignKey("adoptions.id"), index=True)
    step: Mapped[ReplicationStage] = mapped_column(enum_column(ReplicationStage))


__all__ = [
    "Adoption",
    "AdoptionStart",
    "AuditRecord",
    "Base",
    "ComplianceRecord",
    "Consultation",
    "ConsultationAttendee",
    "DomainEventRecord",
    "Evaluation",
    "FollowUp",
    "GateAssignmentRecord",
    "GateDecisionRecord",
    "GateRequest",
    "HandOffMixin",
    "IndicatorClaim",
    "Innovation",
    "MentoringVisit",
    "OutboxMessage",
    "Person",
    "PersonRole",
    "PortalAccount",
    "PortalLinkToken",
    "PublicRequest",
    "RegionIndicator",
    "ReplicationOffer",
    "SignInFailure",
    "StageHistory",
    "StageStart",
    "StageWork",
    "Unit",
]
