"""Innovators' mentoring visits to units (OPD, puskesmas, school): an innovator records
and sees their own, a unit sees the visits it received, Brida sees every one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import klinik
from domain.access import Action, Actor, can, visit_scope
from domain.changes import ChangeResult
from domain.enums import Role
from domain.models import Innovation, MentoringVisit, Person, Unit, utcnow
from kinanti.db import unit_of_work
from kinanti.portal import web
from kinanti.portal.actions import Created, act
from kinanti.portal.forms import FieldError, FollowUpForm, VisitForm
from kinanti.portal.pages.consultations import (
    FollowUpRow,
    follow_up_rows,
    klinik_visible,
    new_follow_up,
)

router = APIRouter()


class VisitRow(BaseModel):
    id: int
    visited_on: dt.date
    innovator: str
    unit: str
    place: str
    purpose: str
    outcome: str | None


class VisitsPage(web.Listing[VisitRow]):
    can_record: bool
    values: dict[str, Any] = {}
    errors: list[FieldError] = []


def _today(request: Request) -> dt.date:
    return utcnow().astimezone(web.settings_of(request).zone).date()


def _list(
    request: Request,
    actor: Actor,
    page: str = "1",
    values: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
) -> Response:
    paging = web.paging(request, page)
    stmt = klinik_visible(
        select(MentoringVisit, Person.name, Unit.code).join(
            Person, Person.id == MentoringVisit.innovator_id
        ),
        actor,
        unit_id=MentoringVisit.unit_id,
        person_id=MentoringVisit.innovator_id,
    )
    with unit_of_work(web.engine_of(request)) as session:
        order = (MentoringVisit.visited_on.desc(), MentoringVisit.id.desc())
        total, rows = paging.rows(session, stmt, *order)
        items = [
            VisitRow(id=v.id, visited_on=v.visited_on, innovator=name, unit=code, place=v.place,
                     purpose=v.purpose, outcome=v.outcome)
            for v, name, code in rows
            if can(actor, Action.VIEW_VISIT, visit_scope(session, v))
        ]  # fmt: skip
    context = VisitsPage(
        items=items,
        **paging.fields(total),
        can_record=actor.has(Role.INNOVATOR, Role.BRIDA_OPERATOR),
        values=values or {"visited_on": _today(request).isoformat()},
        errors=errors or [],
    )
    return web.render(request, "visits.html", context, status=400 if errors else 200)


@router.get("/visits", response_class=HTMLResponse)
def visits(request: Request, actor: web.SignedIn, page: str = "1") -> Response:
    return _list(request, actor, page)


@router.post("/visits", response_class=HTMLResponse)
def record_visit(request: Request, actor: web.SignedIn, post: web.Posted) -> Response:
    """Record a visit (the innovator's own; an operator may name the innovator)."""
    today = _today(request)

    def change(session: Session, form: VisitForm) -> Created:
        visit, result = klinik.record_visit(
            session, actor, unit_code=form.unit, visited_on=form.visited_on,
            place=form.place, purpose=form.purpose, outcome=form.outcome, today=today,
            innovator_email=form.innovator if actor.has(Role.BRIDA_OPERATOR) else None,
            innovation_code=form.innovation,
        )  # fmt: skip
        return Created(result, f"/visits/{visit.id}?done=visit")

    return act(
        request, post, VisitForm, change,
        again=lambda errors, values: _list(request, actor, values=values, errors=errors),
    )  # fmt: skip


class VisitPage(BaseModel):
    visit: VisitRow
    innovation: str | None
    follow_ups: list[FollowUpRow]
    can_manage: bool
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    notice: str | None = None
    form: str | None = None  # which form the errors belong to (only the follow-up's here)


def visit_page_response(
    request: Request,
    actor: Actor,
    vid: int,
    *,
    errors: list[FieldError] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    with unit_of_work(web.engine_of(request)) as session:
        visit = klinik.get_visit(session, vid)
        scope = visit_scope(session, visit)
        web.require(request, actor, Action.VIEW_VISIT, scope, f"visit {vid}")
        innovator = session.get_one(Person, visit.innovator_id)
        unit = session.get_one(Unit, visit.unit_id)
        innovation = session.get(Innovation, visit.innovation_id) if visit.innovation_id else None
        page = VisitPage(
            visit=VisitRow(id=visit.id, visited_on=visit.visited_on, innovator=innovator.name,
                           unit=unit.code, place=visit.place, purpose=visit.purpose,
                           outcome=visit.outcome),
            innovation=innovation.code if innovation else None,
            follow_ups=follow_up_rows(
                session, actor, klinik.follow_ups_of(session, visit_id=vid), _today(request)
            ),
            can_manage=can(actor, Action.RECORD_VISIT, scope),
            errors=errors or [],
            values=values or {},
            notice=request.query_params.get("done"),
        )  # fmt: skip
    return web.render(request, "visit.html", page, status=400 if errors else 200)


@router.get("/visits/{vid}", response_class=HTMLResponse)
def visit_page(request: Request, vid: int, actor: web.SignedIn) -> Response:
    return visit_page_response(request, actor, vid)


@router.post("/visits/{vid}/follow-ups", response_class=HTMLResponse)
def add_follow_up(request: Request, vid: int, actor: web.SignedIn, post: web.Posted) -> Response:
    web.require_in(
        request, actor, Action.RECORD_VISIT, lambda s: visit_scope(s, klinik.get_visit(s, vid)),
        f"visit {vid}",
    )  # fmt: skip

    def change(session: Session, form: FollowUpForm) -> ChangeResult:
        return new_follow_up(session, request, actor, form, visit_id=vid)

    return act(
        request, post, FollowUpForm, change,
        again=lambda errors, values: visit_page_response(request, actor, vid, errors=errors,
                                                         values=values),
        done=f"/visits/{vid}?done=follow_up",
    )  # fmt: skip
