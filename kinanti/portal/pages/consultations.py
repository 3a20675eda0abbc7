"""Klinik Kinanti consultations: the list (an innovator sees the sessions they mentor, a
unit its own, Brida every one), booking, and one consultation's page with its attendees,
notes and follow-ups. Times are shown and typed in the region's time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from domain import klinik
from domain.access import (
    BRIDA_ROLES,
    Action,
    Actor,
    can,
    consultation_scope,
    follow_up_scope,
    unit_scope,
)
from domain.changes import ChangeResult
from domain.enums import ConsultationStatus, FollowUpStatus, Stage
from domain.models import Consultation, Innovation, Person, Unit, utcnow
from kinanti.db import unit_of_work
from kinanti.portal import web
from kinanti.portal.actions import Created, act
from kinanti.portal.forms import (
    AttendeesForm,
    BookForm,
    CancelForm,
    CompleteForm,
    FieldError,
    FollowUpForm,
    RescheduleForm,
    SessionForm,
)
from kinanti.portal.pages.common import UnitOption, unit_options, units_for
from kinanti.portal.web import S

router = APIRouter()


class ConsultationRow(BaseModel):
    id: int
    scheduled_at: dt.datetime
    topic: str
    unit: str
    innovation: str | None
    stage: Stage
    status: ConsultationStatus


class ConsultationsPage(web.Listing[ConsultationRow]):
    can_book: bool = False


@router.get("/consultations", response_class=HTMLResponse)
def consultations(request: Request, actor: web.SignedIn, page: str = "1") -> Response:
    """The consultations ``actor`` may see, newest first."""
    paging = web.paging(request, page)
    stmt = klinik_visible(
        select(Consultation, Unit.code, Innovation.code), actor,
        unit_id=Consultation.unit_id, person_id=Consultation.mentor_id,
    ).outerjoin(Innovation, Innovation.id == Consultation.innovation_id)  # fmt: skip
    with unit_of_work(web.engine_of(request)) as session:
        total, rows = paging.rows(session, stmt, Consultation.scheduled_at.desc())
        shown = [
            (c, unit, code)
            for c, unit, code in rows
            if can(actor, Action.VIEW_CONSULTATION, consultation_scope(session, c))
        ]
        can_book = bool(_bookable_units(session, actor))
    items = [
        ConsultationRow(id=c.id, scheduled_at=c.scheduled_at, topic=c.topic, unit=unit,
                        innovation=code, stage=c.stage, status=c.status)
        for c, unit, code in shown
    ]  # fmt: skip
    context = ConsultationsPage(items=items, can_book=can_book, **paging.fields(total))
    return web.render(request, "consultations.html", context)


def klinik_visible(stmt: S, actor: Actor, *, unit_id: Any, person_id: Any) -> S:
    """``stmt`` joined with the unit its rows are at (``unit_id``), cut to those ``actor`` may
    list: every one for Brida, else their own (``person_id``, the innovator or the mentor)
    and those at their unit (or at one of its UPTDs)."""
    stmt = stmt.join(Unit, Unit.id == unit_id)
    if actor.has(*BRIDA_ROLES):
        return stmt
    mine = [person_id == actor.person_id]
    if actor.unit_id is not None:
        mine += [Unit.id == actor.unit_id, Unit.parent_id == actor.unit_id]
    return stmt.where(or_(*mine))


# ---------------------------------------------------------------- booking


class BookPage(BaseModel):
    values: dict[str, Any]
    errors: list[FieldError]
    units: list[UnitOption]
    zone: str


def _bookable_units(session: Session, actor: Actor) -> list[UnitOption]:
    return unit_options(
        session, lambda uid: can(actor, Action.BOOK_CONSULTATION, unit_scope(session, uid))
    )


def _book_page(
    request: Request, actor: Actor, values: dict[str, Any], errors: list[FieldError]
) -> Response:
    units = units_for(request, actor, Action.BOOK_CONSULTATION, "booking", _bookable_units)
    page = BookPage(
        values=values, errors=errors, units=units, zone=web.settings_of(request).timezone
    )
    return web.render(request, "consultation_new.html", page, status=400 if errors else 200)


@router.get("/consultations/new", response_class=HTMLResponse)
def book_page(request: Request, actor: web.SignedIn) -> Response:
    values: dict[str, Any] = {}
    if request.query_params.get("innovation"):
        values["innovation"] = request.query_params["innovation"]
    return _book_page(request, actor, values, [])


@router.post("/consultations/new", response_class=HTMLResponse)
def book(request: Request, actor: web.SignedIn, post: web.Posted) -> Response:
    """Book: the same domain change as ``kinanti klinik book``, in one transaction."""
    zone = web.settings_of(request).zone

    def change(session: Session, form: BookForm) -> Created:
        unit = session.scalar(select(Unit.id).where(Unit.code == form.unit.upper()))
        if unit is not None:
            web.require(
                request, actor, Action.BOOK_CONSULTATION, unit_scope(session, unit), form.unit
            )
        consultation, result = klinik.book_consultation(
            session,
            actor,
            scheduled_at=klinik.local_datetime(form.local(), zone),
            topic=form.topic,
            unit_code=form.unit,
            innovation_code=form.innovation,
            adoption_id=form.adoption,
            mentor_email=form.mentor,
            place=form.place,
            attendees=form.attendees,
        )
        return Created(result, f"/consultations/{consultation.id}?booked=1")

    return act(
        request, post, BookForm, change,
        again=lambda errors, values: _book_page(request, actor, values, errors),
    )  # fmt: skip


# ---------------------------------------------------------------- one consultation


class AttendeeRow(BaseModel):
    name: str
    email: str
    role: str
    present: bool | None


class FollowUpRow(BaseModel):
    id: int
    text: str
    owner: str | None
    due_on: dt.date | None
    status: FollowUpStatus
    overdue: bool
    note: str | None
    can_complete: bool


class ConsultationPage(BaseModel):
    id: int
    topic: str
    unit: str
    unit_name: str
    innovation: str | None
    adoption: int | None
    stage: Stage
    status: ConsultationStatus
    scheduled_at: dt.datetime
    local_day: str
    local_time: str
    place: str | None
    mentor: str | None
    notes: str | None
    cancel_reason: str | None
    attendees: list[AttendeeRow]
    follow_ups: list[FollowUpRow]
    can_manage: bool
    errors: list[FieldError] = []
    form: str | None = None  # which form the errors belong to
    values: dict[str, Any] = {}
    notice: str | None = None


def follow_up_rows(
    session: Session, actor: Actor, rows: list[tuple[Any, Person | None]], today: dt.date
) -> list[FollowUpRow]:
    """Follow-ups as the page shows them (the consultation's or the visit's)."""
    return [
        FollowUpRow(
            id=f.id,
            text=f.text,
            owner=owner.name if owner else None,
            due_on=f.due_on,
            status=f.status,
            overdue=f.status is FollowUpStatus.OPEN and f.due_on is not None and f.due_on < today,
            note=f.completion_note,
            can_complete=f.status is FollowUpStatus.OPEN
            and can(actor, Action.COMPLETE_FOLLOW_UP, follow_up_scope(session, f)),
        )
        for f, owner in rows
    ]


def _page(
    request: Request,
    actor: Actor,
    cid: int,
    *,
    errors: list[FieldError] | None = None,
    form: str | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    zone = web.settings_of(request).zone
    with unit_of_work(web.engine_of(request)) as session:
        c = klinik.get_consultation(session, cid)
        scope = consultation_scope(session, c)
        web.require(request, actor, Action.VIEW_CONSULTATION, scope, f"consultation {cid}")
        unit = session.get_one(Unit, c.unit_id)
        innovation = session.get(Innovation, c.innovation_id) if c.innovation_id else None
        mentor = session.get(Person, c.mentor_id) if c.mentor_id else None
        local = c.scheduled_at.astimezone(zone)
        today = utcnow().astimezone(zone).date()
        page = ConsultationPage(
            id=c.id,
            topic=c.topic,
            unit=unit.code,
            unit_name=unit.name,
            innovation=innovation.code if innovation else None,
            adoption=c.adoption_id,
            stage=c.stage,
            status=c.status,
            scheduled_at=c.scheduled_at,
            local_day=local.date().isoformat(),
            local_time=local.strftime("%H:%M"),
            place=c.place,
            mentor=mentor.name if mentor else None,
            notes=c.notes,
            cancel_reason=c.cancel_reason,
            attendees=[
                AttendeeRow(name=p.name, email=p.email, role=a.role.value, present=a.present)
                for p, a in klinik.attendees_of(session, c)
            ],
            follow_ups=follow_up_rows(
                session, actor, klinik.follow_ups_of(session, consultation_id=c.id), today
            ),
            can_manage=can(actor, Action.MANAGE_CONSULTATION, scope)
            and c.status is not ConsultationStatus.CANCELLED,
            errors=errors or [],
            form=form,
            values=values or {},
            notice=request.query_params.get("done")
            or ("booked" if request.query_params.get("booked") else None),
        )
    return web.render(request, "consultation.html", page, status=400 if errors else 200)


@router.get("/consultations/{cid}", response_class=HTMLResponse)
def consultation_page(request: Request, cid: int, actor: web.SignedIn) -> Response:
    return _page(request, actor, cid)


@dataclass(frozen=True)
class On:
    """A consultation a management form is posted to, and by whom."""

    request: Request
    actor: Actor
    cid: int


Manage = Callable[[On, Session, Any], ChangeResult]


def _manage(path: str, name: str, form_class: type[BaseModel]) -> Callable[[Manage], Manage]:
    """Route ``POST /consultations/{cid}/<path>`` to the decorated change: whoever manages
    the consultation applies it with the posted ``form_class``; its errors are shown on the
    consultation's page at the form ``name``."""

    def route(change: Manage) -> Manage:
        def post_form(
            request: Request, cid: int, actor: web.SignedIn, post: web.Posted
        ) -> Response:
            web.require_in(
                request, actor, Action.MANAGE_CONSULTATION,
                lambda s: consultation_scope(s, klinik.get_consultation(s, cid)),
                f"consultation {cid}",
            )  # fmt: skip
            on = On(request, actor, cid)
            return act(
                request, post, form_class, lambda session, form: change(on, session, form),
                again=lambda errors, values: _page(request, actor, cid, errors=errors,
                                                   form=name, values=values),
                done=f"/consultations/{cid}?done={name}",
            )  # fmt: skip

        router.post(
            f"/consultations/{{cid}}/{path}", response_class=HTMLResponse, name=change.__name__
        )(post_form)
        return change

    return route


@_manage("reschedule", "reschedule", RescheduleForm)
def reschedule(on: On, session: Session, form: RescheduleForm) -> ChangeResult:
    when = klinik.local_datetime(form.local(), web.settings_of(on.request).zone)
    return klinik.reschedule_consultation(
        session, on.actor, on.cid, scheduled_at=when, place=form.place
    )


@_manage("cancel", "cancel", CancelForm)
def cancel(on: On, session: Session, form: CancelForm) -> ChangeResult:
    return klinik.cancel_consultation(session, on.actor, on.cid, reason=form.reason)


@_manage("attendees", "attendees", AttendeesForm)
def invite(on: On, session: Session, form: AttendeesForm) -> ChangeResult:
    return klinik.add_attendees(session, on.actor, on.cid, form.attendees)


@_manage("session", "session", SessionForm)
def record_session(on: On, session: Session, form: SessionForm) -> ChangeResult:
    return klinik.record_session(session, on.actor, on.cid, notes=form.notes, present=form.present)


@_manage("follow-ups", "follow_up", FollowUpForm)
def add_follow_up(on: On, session: Session, form: FollowUpForm) -> ChangeResult:
    return new_follow_up(session, on.request, on.actor, form, consultation_id=on.cid)


def new_follow_up(
    session: Session, request: Request, actor: Actor, form: FollowUpForm, *,
    consultation_id: int | None = None, visit_id: int | None = None,
) -> ChangeResult:  # fmt: skip
    """Add the posted follow-up to its consultation or its visit."""
    today = utcnow().astimezone(web.settings_of(request).zone).date()
    _follow_up, result = klinik.add_follow_up(
        session, actor, text=form.text, owner_email=form.owner, due_on=form.due_on, today=today,
        consultation_id=consultation_id, visit_id=visit_id,
    )  # fmt: skip
    return result


@router.post("/follow-ups/{fid}/complete", response_class=HTMLResponse)
def complete_follow_up(
    request: Request, fid: int, actor: web.SignedIn, post: web.Posted
) -> Response:
    """Done (or closed with a reason) by its owner, or whoever manages its parent."""
    with unit_of_work(web.engine_of(request)) as session:
        follow_up = klinik.get_follow_up(session, fid)
        web.require(
            request, actor, Action.COMPLETE_FOLLOW_UP, follow_up_scope(session, follow_up),
            f"follow-up {fid}",
        )  # fmt: skip
        cid, vid = follow_up.consultation_id, follow_up.visit_id
    back = f"/consultations/{cid}" if cid is not None else f"/visits/{vid}"

    def again(errors: list[FieldError], values: dict[str, Any]) -> Response:
        if cid is not None:
            return _page(request, actor, cid, errors=errors, form=f"complete-{fid}", values=values)
        from kinanti.portal.pages.visits import visit_page_response

        assert vid is not None
        return visit_page_response(request, actor, vid, errors=errors, values=values)

    def change(session: Session, form: CompleteForm) -> ChangeResult:
        return klinik.complete_follow_up(
            session, actor, fid, close=form.outcome == "closed", note=form.note
        )

    return act(request, post, CompleteForm, change, again=again, done=f"{back}?done=follow_up_done")
