"""Klinik Kinanti consultations: the list (an innovator sees the sessions they mentor, a
unit its own, Brida every one), booking, and one consultation's page with its attendees,
notes and follow-ups. Times are shown and typed in the region's time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import func, or_, select
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
from domain.changes import ChangeResult, Committed
from domain.enums import ConsultationStatus, FollowUpStatus, Stage
from domain.errors import KinantiError
from domain.models import Consultation, Innovation, Person, Unit, utcnow
from kinanti.db import unit_of_work
from kinanti.portal import web
from kinanti.portal.delivery import hand_off
from kinanti.portal.forms import (
    AttendeesForm,
    BookForm,
    CancelForm,
    CompleteForm,
    FieldError,
    FollowUpForm,
    RescheduleForm,
    SessionForm,
    domain_errors,
    parse,
)

router = APIRouter()


class ConsultationRow(BaseModel):
    id: int
    scheduled_at: dt.datetime
    topic: str
    unit: str
    innovation: str | None
    stage: Stage
    status: ConsultationStatus


class ConsultationsPage(web.ListPage):
    items: list[ConsultationRow]
    can_book: bool = False


@router.get("/consultations", response_class=HTMLResponse)
def consultations(
    request: Request, page: str = "1", actor: Actor = Depends(web.signed_in)
) -> Response:
    """The consultations ``actor`` may see, newest first."""
    paging = web.paging(request, page)
    stmt = (
        select(Consultation, Unit.code, Innovation.code)
        .join(Unit, Unit.id == Consultation.unit_id)
        .outerjoin(Innovation, Innovation.id == Consultation.innovation_id)
    )
    if not actor.has(*BRIDA_ROLES):
        mine = [Consultation.mentor_id == actor.person_id]
        if actor.unit_id is not None:
            mine += [Unit.id == actor.unit_id, Unit.parent_id == actor.unit_id]
        stmt = stmt.where(or_(*mine))
    with unit_of_work(web.engine_of(request)) as session:
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.execute(
            stmt.order_by(Consultation.scheduled_at.desc()).limit(paging.size).offset(paging.offset)
        ).all()
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
    context = ConsultationsPage(
        items=items, page=paging.number, pages=paging.pages(total), total=total, can_book=can_book
    )
    return web.render(request, "consultations.html", context)


# ---------------------------------------------------------------- booking


class UnitOption(BaseModel):
    code: str
    name: str


class BookPage(BaseModel):
    values: dict[str, Any]
    errors: list[FieldError]
    units: list[UnitOption]
    zone: str


def _bookable_units(session: Session, actor: Actor) -> list[UnitOption]:
    units = session.execute(
        select(Unit.id, Unit.code, Unit.name).where(Unit.active.is_(True)).order_by(Unit.code)
    ).all()
    return [
        UnitOption(code=code, name=name)
        for uid, code, name in units
        if can(actor, Action.BOOK_CONSULTATION, unit_scope(session, uid))
    ]


def _book_page(
    request: Request, actor: Actor, values: dict[str, Any], errors: list[FieldError]
) -> Response:
    with unit_of_work(web.engine_of(request)) as session:
        units = _bookable_units(session, actor)
    if not units:
        from kinanti.portal.pages.innovations import unit_scope_none

        web.require(request, actor, Action.BOOK_CONSULTATION, unit_scope_none(), "booking")
    page = BookPage(
        values=values, errors=errors, units=units, zone=web.settings_of(request).timezone
    )
    return web.render(request, "consultation_new.html", page, status=400 if errors else 200)


@router.get("/consultations/new", response_class=HTMLResponse)
def book_page(request: Request, actor: Actor = Depends(web.signed_in)) -> Response:
    values: dict[str, Any] = {}
    if request.query_params.get("innovation"):
        values["innovation"] = request.query_params["innovation"]
    return _book_page(request, actor, values, [])


@router.post("/consultations/new", response_class=HTMLResponse)
def book(
    request: Request,
    actor: Actor = Depends(web.signed_in),
    post: web.Post = Depends(web.posted),
) -> Response:
    """Book: the same domain change as ``kinanti klinik book``, in one transaction."""
    form, errors = parse(BookForm, post.data, post.lang)
    if form is None:
        return _book_page(request, actor, dict(post.data), errors)
    zone = web.settings_of(request).zone
    try:
        with unit_of_work(web.engine_of(request)) as session:
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
            cid, committed = consultation.id, result.committed(session)
    except KinantiError as exc:
        errors = domain_errors(exc, BookForm, web.language_of(request))
        return _book_page(request, actor, dict(post.data), errors)
    hand_off(request, committed)
    return RedirectResponse(f"/consultations/{cid}?booked=1", status_code=303)


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
def consultation_page(
    request: Request, cid: int, actor: Actor = Depends(web.signed_in)
) -> Response:
    return _page(request, actor, cid)


Change = Callable[[Session, Any], ChangeResult]


def act(
    request: Request,
    actor: Actor,
    post: web.Post,
    form_class: type[Any],
    change: Change,
    *,
    again: Callable[[list[FieldError], dict[str, Any]], Response],
    done: str,
) -> Response:
    """Parse the posted form, apply ``change`` in one transaction, publish it; on any
    error show ``again`` with the errors (nothing was written)."""
    form, errors = parse(form_class, post.data, post.lang)
    if form is None:
        return again(errors, dict(post.data))
    try:
        with unit_of_work(web.engine_of(request)) as session:
            committed: Committed = change(session, form).committed(session)
    except web.Refused:
        raise
    except KinantiError as exc:
        return again(domain_errors(exc, form_class, web.language_of(request)), dict(post.data))
    hand_off(request, committed)
    return RedirectResponse(done, status_code=303)


def _consultation_action(
    request: Request, actor: Actor, cid: int, post: web.Post, name: str,
    form_class: type[Any], change: Change,
) -> Response:  # fmt: skip
    with unit_of_work(web.engine_of(request)) as session:
        c = klinik.get_consultation(session, cid)
        web.require(
            request, actor, Action.MANAGE_CONSULTATION, consultation_scope(session, c),
            f"consultation {cid}",
        )  # fmt: skip
    return act(
        request, actor, post, form_class, change,
        again=lambda errors, values: _page(request, actor, cid, errors=errors, form=name,
                                           values=values),
        done=f"/consultations/{cid}?done={name}",
    )  # fmt: skip


@router.post("/consultations/{cid}/reschedule", response_class=HTMLResponse)
def reschedule(
    request: Request, cid: int, actor: Actor = Depends(web.signed_in),
    post: web.Post = Depends(web.posted),
) -> Response:  # fmt: skip
    zone = web.settings_of(request).zone

    def change(session: Session, form: RescheduleForm) -> ChangeResult:
        when = klinik.local_datetime(form.local(), zone)
        return klinik.reschedule_consultation(
            session, actor, cid, scheduled_at=when, place=form.place
        )

    return _consultation_action(request, actor, cid, post, "reschedule", RescheduleForm, change)


@router.post("/consultations/{cid}/cancel", response_class=HTMLResponse)
def cancel(
    request: Request, cid: int, actor: Actor = Depends(web.signed_in),
    post: web.Post = Depends(web.posted),
) -> Response:  # fmt: skip
    def change(session: Session, form: CancelForm) -> ChangeResult:
        return klinik.cancel_consultation(session, actor, cid, reason=form.reason)

    return _consultation_action(request, actor, cid, post, "cancel", CancelForm, change)


@router.post("/consultations/{cid}/attendees", response_class=HTMLResponse)
def invite(
    request: Request, cid: int, actor: Actor = Depends(web.signed_in),
    post: web.Post = Depends(web.posted),
) -> Response:  # fmt: skip
    def change(session: Session, form: AttendeesForm) -> ChangeResult:
        return klinik.add_attendees(session, actor, cid, form.attendees)

    return _consultation_action(request, actor, cid, post, "attendees", AttendeesForm, change)


@router.post("/consultations/{cid}/session", response_class=HTMLResponse)
def record_session(
    request: Request, cid: int, actor: Actor = Depends(web.signed_in),
    post: web.Post = Depends(web.posted),
) -> Response:  # fmt: skip
    def change(session: Session, form: SessionForm) -> ChangeResult:
        return klinik.record_session(session, actor, cid, notes=form.notes, present=form.present)

    return _consultation_action(request, actor, cid, post, "session", SessionForm, change)


@router.post("/consultations/{cid}/follow-ups", response_class=HTMLResponse)
def add_follow_up(
    request: Request, cid: int, actor: Actor = Depends(web.signed_in),
    post: web.Post = Depends(web.posted),
) -> Response:  # fmt: skip
    today = utcnow().astimezone(web.settings_of(request).zone).date()

    def change(session: Session, form: FollowUpForm) -> ChangeResult:
        _follow_up, result = klinik.add_follow_up(
            session, actor, text=form.text, owner_email=form.owner, due_on=form.due_on,
            today=today, consultation_id=cid,
        )  # fmt: skip
        return result

    return _consultation_action(request, actor, cid, post, "follow_up", FollowUpForm, change)


@router.post("/follow-ups/{fid}/complete", response_class=HTMLResponse)
def complete_follow_up(
    request: Request, fid: int, actor: Actor = Depends(web.signed_in),
    post: web.Post = Depends(web.posted),
) -> Response:  # fmt: skip
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

    return act(
        request, actor, post, CompleteForm, change, again=again, done=f"{back}?done=follow_up_done"
    )
