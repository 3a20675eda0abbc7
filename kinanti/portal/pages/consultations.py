"""Klinik Kinanti consultations: an innovator sees the sessions they mentor; a unit its
own; Brida every one."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy import func, or_, select

from domain.access import BRIDA_ROLES, Action, Actor, can, consultation_scope
from domain.enums import ConsultationStatus, Stage
from domain.models import Consultation, Innovation, Unit
from kinanti.db import unit_of_work
from kinanti.portal import web

router = APIRouter()


class ConsultationRow(BaseModel):
    scheduled_at: dt.datetime
    topic: str
    unit: str
    innovation: str | None
    stage: Stage
    status: ConsultationStatus


class ConsultationsPage(web.ListPage):
    items: list[ConsultationRow]


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
    items = [
        ConsultationRow(scheduled_at=c.scheduled_at, topic=c.topic, unit=unit, innovation=code,
                        stage=c.stage, status=c.status)
        for c, unit, code in shown
    ]  # fmt: skip
    context = ConsultationsPage(
        items=items, page=paging.number, pages=paging.pages(total), total=total
    )
    return web.render(request, "consultations.html", context)
