"""The head of Brida's and operators' pages: the city's IID, compliance of every unit,
escalations, the unit list, the yearly report and its exports."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from starlette.background import BackgroundTask

from domain.access import REGION, Action, Actor, can
from domain.enums import GateStatus, Stage
from domain.errors import ConflictError, NotFoundError
from domain.iid.catalogue import Catalogue, catalogue_for_year
from domain.iid.portfolio import claim_levels, portfolio_figures
from domain.iid.scoring import Basis, display, largest_gains
from domain.iid.urusan import basic_service_names
from domain.models import GateRequest, Innovation, Unit
from kinanti.db import unit_of_work
from kinanti.portal import web
from kinanti.portal.pages.innovations import CompliancePage, yearly_compliance
from kinanti.portal.uploads import incoming

router = APIRouter()


class GainRow(BaseModel):
    target: str
    indicator: str
    name: str
    level: int
    iid_points: str


class CityPage(BaseModel):
    year: int
    claimed: dict[str, Any]
    verified: dict[str, Any]
    k: int
    seats_left: int
    missing_affairs: list[str]
    affairs_needed: int | None
    gains: list[GainRow]
    escalations: int
    open_gates: int


def _year(value: str | None) -> int:
    try:
        return int(value) if value else dt.date.today().year
    except ValueError:
        return dt.date.today().year


_City = Annotated[Actor, Depends(web.allowed(Action.VIEW_CITY, "city"))]


@router.get("/city", response_class=HTMLResponse)
def city(request: Request, actor: _City, year: str | None = None) -> Response:
    lang = web.language_of(request).value
    number = _year(year)
    try:
        catalogue = catalogue_for_year(number)
    except NotFoundError:
        number = max(2023, min(number, dt.date.today().year))
        catalogue = catalogue_for_year(number)
    try:
        page = _city_page(request, number, catalogue, lang)
    except (IntegrityError, ConflictError):  # another request synced the weights first
        page = _city_page(request, number, catalogue, lang)
    return web.render(request, "city.html", page)


def _escalated(request: Request, now: dt.datetime) -> tuple[ColumnElement[bool], ...]:
    """Where a gate is escalated: open longer than ``escalate_after_days``."""
    before = now - dt.timedelta(days=web.settings_of(request).escalate_after_days)
    return (GateRequest.status == GateStatus.OPEN, GateRequest.opened_at < before)


def _city_page(request: Request, number: int, catalogue: Catalogue, lang: str) -> CityPage:
    with unit_of_work(web.engine_of(request)) as session:
        figures = portfolio_figures(session, number)
        spd_levels = claim_levels(session, number, Basis.VERIFIED, aspect="spd").get(None, {})
        weakest = sorted(figures.innovations, key=lambda f: f.sid_verified)[:5]
        levels = claim_levels(
            session, number, Basis.VERIFIED, innovation_ids=[f.id for f in weakest]
        )
        open_gates = (
            session.scalar(
                select(func.count(GateRequest.id)).where(GateRequest.status == GateStatus.OPEN)
            )
            or 0
        )
        escalated = _escalated(request, dt.datetime.now(dt.UTC))
        escalations = session.scalar(select(func.count(GateRequest.id)).where(*escalated)) or 0
    n = figures.verified.n
    gains = [
        GainRow(target="SPD", indicator=g.indicator, name=g.name, level=g.level,
                iid_points=display(g.iid_points, 3))
        for g in largest_gains(catalogue, "spd", spd_levels, limit=3, lang=lang)
    ]  # fmt: skip
    for f in weakest:
        for g in largest_gains(catalogue, "sid", levels.get(f.id, {}), n=n, limit=1, lang=lang):
            gains.append(
                GainRow(target=f.code, indicator=g.indicator, name=g.name, level=g.level,
                        iid_points=display(g.iid_points, 3))
            )  # fmt: skip
    gains.sort(key=lambda g: -float(g.iid_points))
    needed = catalogue.count_term.min_basic_service_affairs
    return CityPage(
        year=number,
        claimed=figures.claimed.as_dict(),
        verified=figures.verified.as_dict(),
        k=catalogue.k,
        seats_left=max(0, catalogue.k - n),
        missing_affairs=[
            a for a in basic_service_names() if a not in figures.verified.basic_service_affairs
        ],
        affairs_needed=needed,
        gains=gains[:8],
        escalations=escalations,
        open_gates=open_gates,
    )


_Compliance = Annotated[Actor, Depends(web.allowed(Action.VIEW_CITY, "compliance"))]


@router.get("/city/compliance", response_class=HTMLResponse)
def city_compliance(request: Request, actor: _Compliance, page: str = "1") -> Response:
    paging = web.paging(request, page)
    with unit_of_work(web.engine_of(request)) as session:
        year, rows = yearly_compliance(request, session)
    shown = [r.as_dict() for r in paging.slice(rows)]
    context = CompliancePage(year=year, rows=shown, **paging.fields(len(rows)))
    return web.render(request, "compliance.html", context)


class EscalationRow(BaseModel):
    code: str
    title: str
    unit: str
    stage: Stage
    opened_at: dt.datetime
    waiting_days: int


_Escalations = Annotated[Actor, Depends(web.allowed(Action.VIEW_ESCALATIONS, "escalations"))]


@router.get("/city/escalations", response_class=HTMLResponse)
def escalations(request: Request, actor: _Escalations, page: str = "1") -> Response:
    paging = web.paging(request, page)
    now = dt.datetime.now(dt.UTC)
    where = _escalated(request, now)
    with unit_of_work(web.engine_of(request)) as session:
        total = session.scalar(select(func.count(GateRequest.id)).where(*where)) or 0
        rows = session.execute(
            paging.window(
                select(GateRequest, Innovation.code, Innovation.title, Unit.code)
                .join(Innovation, Innovation.id == GateRequest.innovation_id)
                .join(Unit, Unit.id == Innovation.unit_id)
                .where(*where)
                .order_by(GateRequest.opened_at)
            )
        ).all()
    items = [
        EscalationRow(code=c, title=ti, unit=u, stage=g.stage, opened_at=g.opened_at,
                      waiting_days=(now - g.opened_at).days)
        for g, c, ti, u in rows
    ]  # fmt: skip
    return web.render(
        request,
        "escalations.html",
        web.Listing[EscalationRow](items=items, **paging.fields(total)),
    )


class UnitRowView(BaseModel):
    code: str
    name: str
    kind: str
    parent: str | None
    innovations: int
    active: bool


class UnitsPage(web.Listing[UnitRowView]):
    manage: bool = False  # a Brida operator: links to add and edit units


_Units = Annotated[Actor, Depends(web.allowed(Action.VIEW_CITY, "units"))]


@router.get("/units", response_class=HTMLResponse)
def units(request: Request, actor: _Units, page: str = "1") -> Response:
    paging = web.paging(request, page)
    with unit_of_work(web.engine_of(request)) as session:
        total = session.scalar(select(func.count(Unit.id))) or 0
        listed = session.scalars(paging.window(select(Unit).order_by(Unit.code))).all()
        ids = [u.id for u in listed]
        counts = dict(
            session.execute(
                select(Innovation.unit_id, func.count(Innovation.id))
                .where(Innovation.unit_id.in_(ids))
                .group_by(Innovation.unit_id)
            ).all()
        )
        parents = dict(
            session.execute(
                select(Unit.id, Unit.code).where(
                    Unit.id.in_([u.parent_id for u in listed if u.parent_id])
                )
            ).all()
        )
    items = [
        UnitRowView(code=u.code, name=u.name, kind=u.kind.value,
                    parent=parents.get(u.parent_id) if u.parent_id else None,
                    innovations=counts.get(u.id, 0), active=u.active)
        for u in listed
    ]  # fmt: skip
    return web.render(
        request,
        "units.html",
        UnitsPage(
            items=items,
            **paging.fields(total),
            manage=can(actor, Action.MANAGE_REGISTRY, REGION),
        ),
    )


REPORT_FILES = {
    "report.html": "text/html",
    "innovations.csv": "text/csv",
    "innovations.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


_Report = Annotated[Actor, Depends(web.allowed(Action.VIEW_CITY, "report"))]


@router.get("/city/report/{name}")
def report_file(request: Request, name: str, actor: _Report, year: str | None = None) -> Response:
    if name not in REPORT_FILES:
        raise NotFoundError(code="report.file_unknown", name=name)
    from kinanti.reports import build_report

    settings = web.settings_of(request)
    tmp = tempfile.TemporaryDirectory(dir=incoming(settings.home))
    with unit_of_work(web.engine_of(request)) as session:
        files = build_report(
            session,
            _year(year),
            Path(tmp.name),
            settings=settings,
            lang=web.language_of(request).value,
        )
    path = {p.name: p for p in files.paths}[name]
    return FileResponse(
        path,
        media_type=REPORT_FILES[name],
        filename=f"kinanti-{_year(year)}-{name}",
        background=BackgroundTask(tmp.cleanup),
    )
