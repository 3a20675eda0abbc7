"""Klinik Kinanti, the desk: consultations, their attendees and follow-ups, innovators'
mentoring visits, and the public form's requests (a citizen or community asks for a
consultation or proposes an idea; a Brida operator triages it).

Every change takes the acting person as an :class:`~domain.access.Actor` (checked with
``domain.access.require``), writes its rows, events and outbox emails in the caller's
transaction and returns a ``ChangeResult``; the caller commits once and publishes.

Times: a consultation is booked at an aware datetime (``local_datetime`` reads the local
time people type, in the region's time zone) and stored in UTC. A follow-up is due on a date
in the region's calendar.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Collection, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, StringConstraints, field_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.access import (
    BRIDA_ROLES,
    Action,
    Actor,
    consultation_scope,
    follow_up_scope,
    require,
    unit_scope,
    unit_visit_scope,
    visit_scope,
)
from domain.changes import ChangeResult, emails
from domain.enums import (
    AttendeeRole,
    Bentuk,
    ConsultationStatus,
    FollowUpStatus,
    Initiator,
    Jenis,
    Language,
    PublicRequestKind,
    PublicRequestStatus,
    Role,
    Stage,
)
from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.models import (
    Adoption,
    Consultation,
    ConsultationAttendee,
    FollowUp,
    Innovation,
    MentoringVisit,
    Person,
    PublicRequest,
    ReplicationOffer,
    Unit,
    utcnow,
)
from domain.outbox import Recipient, people_with_roles
from domain.queries import get_innovation, get_person, get_row, person_roles
from domain.schemas import InnovationIn, control_character_at, refuse_control_characters
from domain.submission import submit_innovation

CONSULTATION_TEMPLATE = "consultation_booked"
FOLLOW_UP_TEMPLATE = "follow_up_due"
PUBLIC_TEMPLATE = "public_request"

#: Who hears of a new public request (to triage it).
TRIAGE_ROLES = frozenset({Role.BRIDA_OPERATOR})


# --- reading ----------------------------------------------------------------------------


def local_datetime(value: str | dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """A time as people type it (``2026-03-10 09:30``, ``2026-03-10T09:30``), read in the
    region's time zone unless it names its own offset; returned in UTC."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace(" ", "T", 1))
        except ValueError:
            raise ValidationError(code="klinik.time_invalid", value=value) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC)


def get_consultation(
    session: Session, consultation_id: int, *, for_update: bool = False
) -> Consultation:
    return get_row(
        session, Consultation, consultation_id, "klinik.consultation_unknown",
        for_update=for_update, consultation=consultation_id,
    )  # fmt: skip


def get_follow_up(session: Session, follow_up_id: int, *, for_update: bool = False) -> FollowUp:
    return get_row(
        session, FollowUp, follow_up_id, "klinik.follow_up_unknown",
        for_update=for_update, follow_up=follow_up_id,
    )  # fmt: skip


def get_visit(session: Session, visit_id: int) -> MentoringVisit:
    return get_row(session, MentoringVisit, visit_id, "klinik.visit_unknown", visit=visit_id)


def get_public_request(session: Session, reference: str) -> PublicRequest:
    found = session.scalar(
        select(PublicRequest).where(PublicRequest.reference == reference.strip().upper())
    )
    if found is None:
        raise NotFoundError(code="klinik.request_unknown", reference=reference)
    return found


def _unit_by_code(session: Session, code: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code.strip().upper()))
    if unit is None or not unit.active:
        raise NotFoundError(code="klinik.unit_unknown", unit=code)
    return unit


def _active_person(session: Session, email: str, code: str) -> Person:
    try:
        person = get_person(session, email)
    except NotFoundError:
        raise NotFoundError(code=code, email=email) from None
    if not person.active:
        raise NotFoundError(code=code, email=email)
    return person


def attendee_role(session: Session, person: Person, unit: Unit) -> AttendeeRole | None:
    """In which capacity ``person`` may attend a consultation of ``unit`` (``None``: in
    none): the unit's officers and heads (and its parent OPD's), innovators, Brida staff."""
    roles = person_roles(session, person)
    unit_ids = {unit.id} | ({unit.parent_id} if unit.parent_id else set())
    if person.unit_id in unit_ids and roles & {Role.UNIT_OFFICER, Role.UNIT_HEAD}:
        return AttendeeRole.UNIT
    if Role.INNOVATOR in roles:
        return AttendeeRole.INNOVATOR
    if roles & BRIDA_ROLES:
        return AttendeeRole.BRIDA
    return None


def attendees_of(
    session: Session, consultation: Consultation
) -> list[tuple[Person, ConsultationAttendee]]:
    return list(
        session.execute(
            select(Person, ConsultationAttendee)
            .join(ConsultationAttendee, ConsultationAttendee.person_id == Person.id)
            .where(ConsultationAttendee.consultation_id == consultation.id)
            .order_by(ConsultationAttendee.role, Person.name)
        ).tuples()
    )


def follow_ups_of(
    session: Session, *, consultation_id: int | None = None, visit_id: int | None = None
) -> list[tuple[FollowUp, Person | None]]:
    stmt = select(FollowUp, Person).outerjoin(Person, Person.id == FollowUp.owner_id)
    if consultation_id is not None:
        stmt = stmt.where(FollowUp.consultation_id == consultation_id)
    else:
        stmt = stmt.where(FollowUp.visit_id == visit_id)
    return list(session.execute(stmt.order_by(FollowUp.id)).tuples())


# --- consultations ----------------------------------------------------------------------


def _add_attendee(
    session: Session, consultation: Consultation, unit: Unit, person: Person
) -> ConsultationAttendee | None:
    """Add ``person`` (refused when they may not attend); ``None`` if already there."""
    existing = session.scalar(
        select(ConsultationAttendee).where(
            ConsultationAttendee.consultation_id == consultation.id,
            ConsultationAttendee.person_id == person.id,
        )
    )
    if existing is not None:
        return None
    role = attendee_role(session, person, unit)
    if role is None:
        raise ValidationError(
            code="klinik.attendee_not_allowed", email=person.email, unit=unit.code
        )
    attendee = ConsultationAttendee(consultation_id=consultation.id, person_id=person.id, role=role)
    session.add(attendee)
    return attendee


def _consultation_email(
    session: Session,
    result: ChangeResult,
    consultation: Consultation,
    *,
    change: str,
    event_key: str,
    people: Sequence[Person],
) -> None:
    unit = session.get_one(Unit, consultation.unit_id)
    innovation = (
        session.get(Innovation, consultation.innovation_id) if consultation.innovation_id else None
    )
    mentor = session.get(Person, consultation.mentor_id) if consultation.mentor_id else None
    attending = [p.name for p, _ in attendees_of(session, consultation)]
    context: dict[str, Any] = {
        "consultation_id": consultation.id,
        "change": change,
        "unit_code": unit.code,
        "unit_name": unit.name,
        "stage": consultation.stage.value,
        "innovation_code": innovation.code if innovation else None,
        "innovation_title": innovation.title if innovation else None,
        "year": innovation.year if innovation else None,
        "mentor_name": mentor.name if mentor else None,
        "mentor_email": mentor.email if mentor else None,
        "scheduled_at": consultation.scheduled_at.isoformat(),
        "topic": consultation.topic,
        "place": consultation.place,
        "attendees": attending,
        "sequence": consultation.sequence,
        "reason": consultation.cancel_reason if change == "cancelled" else None,
    }
    emails(
        session,
        result,
        event_key=event_key,
        template=CONSULTATION_TEMPLATE,
        recipients=[Recipient(p.email, p.name, p.language) for p in people if p.active],
        context=context,
        innovation=innovation,
    )


def _consultation_event(
    session: Session, result: ChangeResult, consultation: Consultation, name: str, actor: Actor
) -> None:
    innovation = (
        session.get(Innovation, consultation.innovation_id) if consultation.innovation_id else None
    )
    result.event(
        session,
        f"kinanti.klinik.consultation-{name}",
        innovation,
        {
            "consultation_id": consultation.id,
            "unit_id": consultation.unit_id,
            "adoption_id": consultation.adoption_id,
            "scheduled_at": consultation.scheduled_at.isoformat(),
            "status": consultation.status.value,
            "actor": actor.email,
        },
    )


def _in_future(when: dt.datetime, now: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        raise ValidationError(code="klinik.time_invalid", value=when.isoformat())
    if when <= now:
        raise ValidationError(code="klinik.in_past", when=when.isoformat())
    return when.astimezone(dt.UTC)


def _subject_of(
    session: Session,
    unit_code: str | None,
    innovation_code: str | None,
    adoption_id: int | None,
) -> tuple[Unit, Innovation | None, Adoption | None]:
    """The unit a consultation is for, from what names it: the unit, the innovation (its
    owner) or the adoption (the adopting unit, else the origin's owner)."""
    adoption = session.get(Adoption, adoption_id) if adoption_id is not None else None
    if adoption_id is not None and adoption is None:
        raise NotFoundError(code="replication.adoption_unknown", adoption=adoption_id)
    innovation = get_innovation(session, innovation_code) if innovation_code else None
    if innovation is None and adoption is not None:
        offer = session.get(ReplicationOffer, adoption.offer_id) if adoption.offer_id else None
        replica_or_origin = adoption.replica_id or (offer.innovation_id if offer else None)
        innovation = session.get(Innovation, replica_or_origin) if replica_or_origin else None
    if unit_code:
        unit = _unit_by_code(session, unit_code)
    elif adoption is not None and adoption.adopter_unit_id is not None:
        unit = session.get_one(Unit, adoption.adopter_unit_id)
    elif innovation is not None:
        unit = session.get_one(Unit, innovation.unit_id)
    else:
        raise ValidationError(code="klinik.unit_required")
    return unit, innovation, adoption


def book_consultation(
    session: Session,
    actor: Actor,
    *,
    scheduled_at: dt.datetime,
    topic: str,
    unit_code: str | None = None,
    innovation_code: str | None = None,
    adoption_id: int | None = None,
    stage: Stage | None = None,
    mentor_email: str | None = None,
    place: str | None = None,
    attendees: Collection[str] = (),
    now: dt.datetime | None = None,
) -> tuple[Consultation, ChangeResult]:
    """Book a consultation for a unit (about an innovation at any stage, or a replication)
    with its attendees; each attendee gets the confirmation with a calendar invitation."""
    now = now or utcnow()
    unit, innovation, adoption = _subject_of(session, unit_code, innovation_code, adoption_id)
    require(actor, Action.BOOK_CONSULTATION, unit_scope(session, unit.id), unit.code)
    when = _in_future(scheduled_at, now)
    topic = _text(topic, "topic", 300)
    mentor = None
    if mentor_email:
        mentor = _active_person(session, mentor_email, "klinik.person_unknown")
        if Role.INNOVATOR not in person_roles(session, mentor):
            raise ValidationError(code="klinik.not_innovator", email=mentor.email)
    if stage is None:
        stage = (
            Stage.REPLICATION
            if adoption is not None
            else innovation.stage
            if innovation is not None
            else Stage.PLANNING
        )
    consultation = Consultation(
        unit_id=unit.id,
        innovation_id=innovation.id if innovation else None,
        adoption_id=adoption.id if adoption else None,
        mentor_id=mentor.id if mentor else None,
        stage=stage,
        scheduled_at=when,
        topic=topic,
        place=_optional_text(place, "place", 200),
        booked_by=actor.email,
        status=ConsultationStatus.BOOKED,
        sequence=0,
    )
    session.add(consultation)
    session.flush()
    people = [mentor] if mentor else []
    people += [_active_person(session, e, "klinik.person_unknown") for e in attendees if e.strip()]
    invited: list[Person] = []
    for person in people:
        if _add_attendee(session, consultation, unit, person) is not None:
            invited.append(person)
    session.flush()
    result = ChangeResult()
    _consultation_event(session, result, consultation, "booked", actor)
    _consultation_email(
        session,
        result,
        consultation,
        change="booked",
        event_key=f"consultation-booked:{consultation.id}",
        people=invited,
    )
    return consultation, result


def _managed(
    session: Session, actor: Actor, consultation_id: int, *, booked_only: bool = True
) -> Consultation:
    consultation = get_consultation(session, consultation_id, for_update=True)
    require(
        actor,
        Action.MANAGE_CONSULTATION,
        consultation_scope(session, consultation),
        f"consultation {consultation.id}",
    )
    if consultation.status is ConsultationStatus.CANCELLED or (
        booked_only and consultation.status is not ConsultationStatus.BOOKED
    ):
        raise ConflictError(
            code="klinik.not_booked",
            consultation=consultation.id,
            status=consultation.status.value,
        )
    return consultation


def _attending_people(session: Session, consultation: Consultation) -> list[Person]:
    return [p for p, _ in attendees_of(session, consultation)]


def _tell_attendees(
    session: Session,
    actor: Actor,
    consultation: Consultation,
    change: str,
    key: Callable[[Consultation], str],
) -> ChangeResult:
    """A changed booking: a new calendar SEQUENCE, the event, and every attendee told."""
    consultation.sequence += 1
    session.flush()
    result = ChangeResult()
    _consultation_event(session, result, consultation, change, actor)
    _consultation_email(
        session,
        result,
        consultation,
        change=change,
        event_key=key(consultation),
        people=_attending_people(session, consultation),
    )
    return result


def reschedule_consultation(
    session: Session,
    actor: Actor,
    consultation_id: int,
    *,
    scheduled_at: dt.datetime,
    place: str | None = None,
    now: dt.datetime | None = None,
) -> ChangeResult:
    """Move a booked consultation; every attendee gets the updated invitation."""
    consultation = _managed(session, actor, consultation_id)
    when = _in_future(scheduled_at, now or utcnow())
    if when == consultation.scheduled_at and (place is None or place == consultation.place):
        return ChangeResult()
    consultation.scheduled_at = when
    if place is not None:
        consultation.place = _optional_text(place, "place", 200)
    return _tell_attendees(
        session, actor, consultation, "rescheduled",
        lambda c: f"consultation-rescheduled:{c.id}:{c.sequence}",
    )  # fmt: skip


def cancel_consultation(
    session: Session, actor: Actor, consultation_id: int, *, reason: str
) -> ChangeResult:
    """Cancel a booked consultation (with the reason); attendees are told."""
    consultation = _managed(session, actor, consultation_id)
    consultation.cancel_reason = _text(reason, "reason", 2000)
    consultation.status = ConsultationStatus.CANCELLED
    return _tell_attendees(
        session, actor, consultation, "cancelled", lambda c: f"consultation-cancelled:{c.id}"
    )


def add_attendees(
    session: Session, actor: Actor, consultation_id: int, emails_: Collection[str]
) -> ChangeResult:
    """Invite more people to a booked consultation (each gets the invitation)."""
    consultation = _managed(session, actor, consultation_id)
    unit = session.get_one(Unit, consultation.unit_id)
    invited = [
        person
        for person in (
            _active_person(session, e, "klinik.person_unknown") for e in emails_ if e.strip()
        )
        if _add_attendee(session, consultation, unit, person) is not None
    ]
    session.flush()
    result = ChangeResult()
    if invited:
        _consultation_email(
            session,
            result,
            consultation,
            change="booked" if consultation.sequence == 0 else "rescheduled",
            event_key=f"consultation-booked:{consultation.id}",
            people=invited,
        )
    return result


def record_session(
    session: Session,
    actor: Actor,
    consultation_id: int,
    *,
    notes: str | None,
    present: Collection[str],
    now: dt.datetime | None = None,
) -> ChangeResult:
    """After the session: its notes and who was present (every attendee is marked present
    or absent); the consultation is then held. Refused before its scheduled time."""
    consultation = _managed(session, actor, consultation_id, booked_only=False)
    if consultation.scheduled_at > (now or utcnow()):
        raise ConflictError(
            code="klinik.not_yet_held",
            consultation=consultation.id,
            when=consultation.scheduled_at.isoformat(),
        )
    wanted = {e.strip().lower() for e in present if e.strip()}
    attending = attendees_of(session, consultation)
    unknown = wanted - {p.email for p, _ in attending}
    if unknown:
        raise ValidationError(
            code="klinik.not_attendee", emails=sorted(unknown), consultation=consultation.id
        )
    for person, attendee in attending:
        attendee.present = person.email in wanted
    consultation.notes = _optional_text(notes, "notes", 20_000)
    consultation.status = ConsultationStatus.HELD
    session.flush()
    result = ChangeResult()
    _consultation_event(session, result, consultation, "held", actor)
    return result


# --- follow-ups -------------------------------------------------------------------------


def follow_up_context(
    session: Session, follow_up: FollowUp, owner: Person, **extra: Any
) -> dict[str, Any]:
    """The ``follow_up_due`` email context of ``follow_up`` (the reminder sweep's too)."""
    if follow_up.consultation_id is not None:
        consultation = session.get_one(Consultation, follow_up.consultation_id)
        unit_id, topic, innovation_id = (
            consultation.unit_id,
            consultation.topic,
            consultation.innovation_id,
        )
    else:
        visit = session.get_one(MentoringVisit, follow_up.visit_id)
        unit_id, topic, innovation_id = visit.unit_id, visit.purpose, visit.innovation_id
    unit = session.get_one(Unit, unit_id)
    innovation = session.get(Innovation, innovation_id) if innovation_id else None
    return {
        "follow_up_id": follow_up.id,
        "text": follow_up.text,
        "due_on": follow_up.due_on.isoformat() if follow_up.due_on else None,
        "owner_name": owner.name,
        "unit_code": unit.code,
        "unit_name": unit.name,
        "topic": topic,
        "consultation_id": follow_up.consultation_id,
        "visit_id": follow_up.visit_id,
        "innovation_code": innovation.code if innovation else None,
        **extra,
    }


def add_follow_up(
    session: Session,
    actor: Actor,
    *,
    text: str,
    owner_email: str,
    due_on: dt.date,
    today: dt.date,
    consultation_id: int | None = None,
    visit_id: int | None = None,
) -> tuple[FollowUp, ChangeResult]:
    """A follow-up of a consultation or a visit, with its owner (told by email) and due
    date (not before ``today``, the region's date)."""
    if (consultation_id is None) == (visit_id is None):
        raise ValidationError(code="klinik.follow_up_parent")
    if consultation_id is not None:
        _managed(session, actor, consultation_id, booked_only=False)
    else:
        assert visit_id is not None
        visit = get_visit(session, visit_id)
        require(actor, Action.RECORD_VISIT, visit_scope(session, visit), f"visit {visit.id}")
    owner = _active_person(session, owner_email, "klinik.owner_unknown")
    if due_on < today:
        raise ValidationError(
            code="klinik.due_past", due=due_on.isoformat(), today=today.isoformat()
        )
    follow_up = FollowUp(
        consultation_id=consultation_id,
        visit_id=visit_id,
        text=_text(text, "text", 2000),
        owner_id=owner.id,
        due_on=due_on,
        status=FollowUpStatus.OPEN,
        created_by=actor.email,
    )
    session.add(follow_up)
    session.flush()
    result = ChangeResult()
    result.event(
        session,
        "kinanti.klinik.follow-up-added",
        None,
        {"follow_up_id": follow_up.id, "owner": owner.email, "due_on": due_on.isoformat()},
    )
    emails(
        session,
        result,
        event_key=f"follow-up-assigned:{follow_up.id}",
        template=FOLLOW_UP_TEMPLATE,
        recipients=[Recipient(owner.email, owner.name, owner.language)],
        context=follow_up_context(session, follow_up, owner, kind="assigned"),
        innovation=None,
    )
    return follow_up, result


def complete_follow_up(
    session: Session,
    actor: Actor,
    follow_up_id: int,
    *,
    close: bool = False,
    note: str | None = None,
) -> ChangeResult:
    """Mark a follow-up done (or close it undone: then a note says why)."""
    follow_up = get_follow_up(session, follow_up_id, for_update=True)
    require(
        actor,
        Action.COMPLETE_FOLLOW_UP,
        follow_up_scope(session, follow_up),
        f"follow-up {follow_up.id}",
    )
    if follow_up.status is not FollowUpStatus.OPEN:
        raise ConflictError(
            code="klinik.follow_up_finished",
            follow_up=follow_up.id,
            status=follow_up.status.value,
        )
    note = _optional_text(note, "note", 2000)
    if close and not note:
        raise ValidationError(code="klinik.note_required")
    follow_up.status = FollowUpStatus.CLOSED if close else FollowUpStatus.DONE
    follow_up.completed_at = utcnow()
    follow_up.completed_by = actor.email
    follow_up.completion_note = note
    result = ChangeResult()
    result.event(
        session,
        f"kinanti.klinik.follow-up-{follow_up.status.value}",
        None,
        {"follow_up_id": follow_up.id, "actor": actor.email},
    )
    return result


# --- mentoring visits -------------------------------------------------------------------


def record_visit(
    session: Session,
    actor: Actor,
    *,
    unit_code: str,
    visited_on: dt.date,
    place: str,
    purpose: str,
    outcome: str | None,
    today: dt.date,
    innovator_email: str | None = None,
    innovation_code: str | None = None,
) -> tuple[MentoringVisit, ChangeResult]:
    """An innovator's visit to a unit (an OPD, a puskesmas, a school), on a day that has
    come (``today``: the region's date), with what came of it."""
    innovator = _active_person(session, innovator_email or actor.email, "klinik.person_unknown")
    if Role.INNOVATOR not in person_roles(session, innovator):
        raise ValidationError(code="klinik.not_innovator", email=innovator.email)
    unit = _unit_by_code(session, unit_code)
    require(actor, Action.RECORD_VISIT, unit_visit_scope(session, unit.id, innovator.id), unit.code)
    if visited_on > today:
        raise ValidationError(code="klinik.visit_future", day=visited_on.isoformat())
    innovation = get_innovation(session, innovation_code) if innovation_code else None
    visit = MentoringVisit(
        innovator_id=innovator.id,
        unit_id=unit.id,
        innovation_id=innovation.id if innovation else None,
        visited_on=visited_on,
        place=_text(place, "place", 200),
        purpose=_text(purpose, "purpose", 300),
        outcome=_optional_text(outcome, "outcome", 20_000),
        recorded_by=actor.email,
    )
    session.add(visit)
    session.flush()
    result = ChangeResult()
    result.event(
        session,
        "kinanti.klinik.visit-recorded",
        innovation,
        {
            "visit_id": visit.id,
            "unit_id": unit.id,
            "innovator": innovator.email,
            "visited_on": visited_on.isoformat(),
        },
    )
    return visit, result


# --- the public form --------------------------------------------------------------------

_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,38}$")

PublicName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
PublicSubject = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=5, max_length=200)
]
PublicMessage = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=20, max_length=5000)
]
OptionalShort = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class PublicRequestIn(BaseModel):
    """What a citizen or community sends through the public form (no account). The email
    address, when given, is where the answer goes: contact information, not an identity."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: PublicRequestKind
    name: PublicName
    community: OptionalShort | None = None
    email: EmailStr | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    subject: PublicSubject
    message: PublicMessage
    language: Language = Language.ID

    @field_validator("*", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        refuse_control_characters(value)
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not _PHONE.match(value):
            raise PydanticCustomError(
                "phone", "use digits, spaces, '-', '(', ')' and a leading '+' only"
            )
        return value

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value


def new_reference() -> str:
    """A public reference a citizen can quote (unguessable: it is not a sequence)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "KK-" + "".join(secrets.choice(alphabet) for _ in range(8))


def _public_email(
    session: Session,
    result: ChangeResult,
    request: PublicRequest,
    *,
    kind: str,
    recipients: list[Recipient],
    **extra: Any,
) -> None:
    emails(
        session,
        result,
        event_key=f"public-request-{kind}:{request.reference}",
        template=PUBLIC_TEMPLATE,
        recipients=recipients,
        context={
            "kind": kind,
            "reference": request.reference,
            "request_kind": request.kind.value,
            "subject": request.subject,
            "requester": request.name,
            **extra,
        },
        innovation=None,
    )


def _citizen(request: PublicRequest) -> list[Recipient]:
    return [Recipient(request.email, request.name, request.language)] if request.email else []


def submit_public_request(
    session: Session, data: PublicRequestIn, *, client: str | None
) -> tuple[PublicRequest, ChangeResult]:
    """Record a public request: an acknowledgement to the citizen (if an address was
    given) and a note to Brida's operators to triage it."""
    request = PublicRequest(
        reference=new_reference(),
        kind=data.kind,
        name=data.name,
        community=data.community,
        email=data.email,
        phone=data.phone,
        subject=data.subject,
        message=data.message,
        language=data.language,
        client=(client or "")[:64] or None,
        status=PublicRequestStatus.NEW,
    )
    session.add(request)
    session.flush()
    result = ChangeResult()
    result.event(
        session,
        "kinanti.klinik.public-request-received",
        None,
        {"reference": request.reference, "kind": request.kind.value},
    )
    _public_email(session, result, request, kind="received", recipients=_citizen(request))
    _public_email(
        session,
        result,
        request,
        kind="waiting",
        recipients=people_with_roles(session, TRIAGE_ROLES),
        message=request.message,
    )
    return request, result


def _open_request(session: Session, actor: Actor, reference: str) -> PublicRequest:
    require(actor, Action.TRIAGE_PUBLIC, what=f"public request {reference}")
    request = get_public_request(session, reference)
    session.refresh(request, with_for_update=True)
    if request.status is not PublicRequestStatus.NEW:
        raise ConflictError(
            code="klinik.request_handled", reference=request.reference, status=request.status.value
        )
    return request


def triage_to_proposal(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    unit_code: str,
    code: str,
    year: int,
    jenis: Jenis | str,
    bentuk: Bentuk | str,
    urusan_main: str,
    title: str | None = None,
    language: Language = Language.EN,
) -> tuple[Innovation, ChangeResult]:
    """Turn a public request into a proposal owned by a unit (initiator Masyarakat, the
    citizen or community named as initiator, their message as the design's first draft);
    it enters planning like any proposal. The citizen is told."""
    request = _open_request(session, actor, reference)
    unit = _unit_by_code(session, unit_code)
    require(actor, Action.PROPOSE, unit_scope(session, unit.id), unit.code)
    data = InnovationIn.parse(
        {
            "code": code,
            "title": title or request.subject,
            "unit": unit.code,
            "year": year,
            "initiator": Initiator.MASYARAKAT,
            "initiator_name": request.community or request.name,
            "jenis": jenis,
            "bentuk": bentuk,
            "urusan_main": urusan_main,
            "design": request.message,
        },
        language,
    )
    if session.scalar(select(Innovation.id).where(Innovation.code == data.code)):
        raise ConflictError(code="klinik.code_taken", innovation=data.code)
    innovation, _created, result = submit_innovation(session, data, actor=actor.email)
    request.status = PublicRequestStatus.PROPOSED
    request.innovation_id = innovation.id
    request.handled_by = actor.email
    request.handled_at = utcnow()
    result.event(
        session,
        "kinanti.klinik.public-request-proposed",
        innovation,
        {"reference": request.reference, "actor": actor.email},
    )
    _public_email(
        session,
        result,
        request,
        kind="proposed",
        recipients=_citizen(request),
        innovation_code=innovation.code,
        unit_name=unit.name,
    )
    return innovation, result


def close_public_request(
    session: Session, actor: Actor, reference: str, *, reply: str
) -> ChangeResult:
    """Close a public request with a reply, emailed to the citizen (if an address was
    given; otherwise Brida answers by the phone given)."""
    request = _open_request(session, actor, reference)
    request.reply = _text(reply, "reply", 5000)
    request.status = PublicRequestStatus.CLOSED
    request.handled_by = actor.email
    request.handled_at = utcnow()
    result = ChangeResult()
    result.event(
        session,
        "kinanti.klinik.public-request-closed",
        None,
        {"reference": request.reference, "actor": actor.email},
    )
    _public_email(
        session, result, request, kind="closed", recipients=_citizen(request), reply=request.reply
    )
    return result


# --- text -------------------------------------------------------------------------------


def _optional_text(value: str | None, field: str, limit: int) -> str | None:
    if value is None or not value.strip():
        return None
    return _text(value, field, limit)


#: The desk's text fields by name, as a message names them (by language).
_FIELD_LABELS: dict[str, dict[Language, str]] = {
    "topic": {Language.ID: "topik", Language.EN: "the topic"},
    "place": {Language.ID: "tempat", Language.EN: "the place"},
    "reason": {Language.ID: "alasan", Language.EN: "the reason"},
    "notes": {Language.ID: "catatan sesi", Language.EN: "the session notes"},
    "text": {Language.ID: "tindak lanjut", Language.EN: "the follow-up"},
    "note": {Language.ID: "catatan", Language.EN: "the note"},
    "purpose": {Language.ID: "tujuan kunjungan", Language.EN: "the purpose of the visit"},
    "outcome": {Language.ID: "hasil kunjungan", Language.EN: "the outcome of the visit"},
    "reply": {Language.ID: "jawaban", Language.EN: "the reply"},
}


def _text(value: str, field: str, limit: int) -> str:
    """``value`` stripped; refused (naming ``field``, in the reader's language) when empty,
    longer than ``limit`` or holding a control character."""
    label = _FIELD_LABELS.get(field) or {Language.ID: field, Language.EN: field}
    value = (value or "").strip()
    if not value:
        raise ValidationError(code="klinik.text_required", field=field, label=label)
    if len(value) > limit:
        raise ValidationError(code="klinik.text_too_long", field=field, label=label, limit=limit)
    found = control_character_at(value)
    if found:
        raise ValidationError(
            code="klinik.text_invalid", field=field, label=label,
            character=found[0], position=found[1],
        )  # fmt: skip
    return value


def parse_public_request(data: dict[str, Any]) -> PublicRequestIn:
    """``PublicRequestIn`` from a plain mapping (the CLI's), as the domain's error."""
    try:
        return PublicRequestIn.model_validate(data)
    except PydanticValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors()]
        raise ValidationError(problems=problems, code="klinik.request_invalid") from exc
