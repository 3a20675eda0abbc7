"""Brida operators' registry pages: people, their roles, language and sign-in links.

A minimal hand-written list and edit page (see the commit message for why not sqladmin).
Units are imported from YAML/CSV (``kinanti units import``) and listed under /units.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import delete, func, select

from domain.access import REGION, Action, Actor
from domain.enums import Role
from domain.models import Person, PersonRole, Unit
from domain.queries import get_person
from kinanti import audit
from kinanti.db import unit_of_work
from kinanti.portal import accounts, web
from kinanti.portal.delivery import deliver_now
from kinanti.portal.forms import FieldError, PersonForm, parse

router = APIRouter(prefix="/admin")


class PersonItem(BaseModel):
    email: str
    name: str
    unit: str | None
    roles: list[str]
    active: bool


class PeoplePage(web.ListPage):
    items: list[PersonItem]


@router.get("/people", response_class=HTMLResponse)
def people(request: Request, page: str = "1", actor: Actor = Depends(web.signed_in)) -> Response:
    web.require(request, actor, Action.MANAGE_REGISTRY, REGION, "people")
    paging = web.paging(request, page)
    size, number = paging.size, paging.number
    with unit_of_work(web.engine_of(request)) as session:
        total = session.scalar(select(func.count(Person.id))) or 0
        rows = session.execute(
            select(Person, Unit.code)
            .outerjoin(Unit, Unit.id == Person.unit_id)
            .order_by(Person.email)
            .limit(size)
            .offset(paging.offset)
        ).all()
        roles: dict[int, list[str]] = {}
        for pid, role in session.execute(
            select(PersonRole.person_id, PersonRole.role).where(
                PersonRole.person_id.in_([p.id for p, _ in rows])
            )
        ):
            roles.setdefault(pid, []).append(role.value)
    items = [
        PersonItem(email=p.email, name=p.name, unit=u, roles=sorted(roles.get(p.id, [])),
                   active=p.active)
        for p, u in rows
    ]  # fmt: skip
    return web.render(
        request,
        "people.html",
        PeoplePage(items=items, page=number, pages=paging.pages(total), total=total),
    )


class PersonPage(BaseModel):
    email: str
    values: dict[str, str]
    roles: list[str]
    all_roles: list[str]
    errors: list[FieldError] = []
    sent: bool = False


def _person_page(
    request: Request, email: str, errors: list[FieldError], values: dict[str, str] | None = None,
    roles: list[str] | None = None, sent: bool = False,
) -> Response:  # fmt: skip
    with unit_of_work(web.engine_of(request)) as session:
        person = get_person(session, email)
        held = [r.value for r in session.scalars(
            select(PersonRole.role).where(PersonRole.person_id == person.id))]  # fmt: skip
        page = PersonPage(
            email=person.email,
            values=values
            or {
                "name": person.name,
                "language": person.language.value,
                "active": "on" if person.active else "",
            },
            roles=roles if roles is not None else held,
            all_roles=[r.value for r in Role],
            errors=errors,
            sent=sent,
        )
    return web.render(request, "person.html", page, status=400 if errors else 200)


@router.get("/people/{email}", response_class=HTMLResponse)
def person(
    request: Request, email: str, sent: bool = False, actor: Actor = Depends(web.signed_in)
) -> Response:
    web.require(request, actor, Action.MANAGE_REGISTRY, REGION, "people")
    return _person_page(request, email, [], sent=sent)


@router.post("/people/{email}", response_class=HTMLResponse)
def edit_person(
    request: Request,
    email: str,
    actor: Actor = Depends(web.signed_in),
    post: web.Post = Depends(web.posted),
) -> Response:
    web.require(request, actor, Action.MANAGE_REGISTRY, REGION, "people")
    data = {**post.data, "roles": [r for r in post.raw.getlist("roles") if isinstance(r, str)]}
    form, errors = parse(PersonForm, data, web.language_of(request))
    if form is None:
        values = {k: v for k, v in data.items() if isinstance(v, str)}
        return _person_page(request, email, errors, values, data["roles"])
    with unit_of_work(web.engine_of(request)) as session:
        person = get_person(session, email)
        person.name, person.language, person.active = form.name, form.language, form.active
        session.execute(delete(PersonRole).where(PersonRole.person_id == person.id))
        session.add_all(PersonRole(person_id=person.id, role=Role(r)) for r in form.roles)
        audit.add(session, audit.REGISTRY_CHANGED, actor=actor.email, client=web.client_of(request),
                  target=person.email, roles=form.roles, active=form.active)  # fmt: skip
        email = person.email
    return RedirectResponse(f"/admin/people/{email}", status_code=303)


@router.post("/people/{email}/link", response_class=HTMLResponse)
def send_link(request: Request, email: str, actor: Actor = Depends(web.signed_in)) -> Response:
    web.require(request, actor, Action.MANAGE_REGISTRY, REGION, "people")
    with unit_of_work(web.engine_of(request)) as session:
        person = get_person(session, email)
        ids = accounts.request_link(
            session, web.settings_of(request), person.email, client=web.client_of(request),
            purpose="first", actor=actor.email,
        )  # fmt: skip
        email = person.email
    deliver_now(request, ids)
    return RedirectResponse(f"/admin/people/{email}?sent=true", status_code=303)
