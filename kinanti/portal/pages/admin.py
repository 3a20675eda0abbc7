"""Brida operators' registry pages: units, people, their roles, language and sign-in links.

Hand-written rather than sqladmin (docs/decisions/0001-admin-screens-not-sqladmin.md). A
unit or a person is written by the same importer as ``kinanti units import`` /
``kinanti people import``, so the registry's rules hold here too (unit codes, a UPTD's
parent OPD, email addresses, unit roles need a unit), with its audit row in the same
transaction. Units are listed under /units (read-only for the head of Brida).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import func, select

from domain.access import Action, Actor
from domain.enums import Role, UnitKind
from domain.errors import NotFoundError
from domain.errors import ValidationError as DomainValidationError
from domain.models import Person, PersonRole, Unit
from domain.queries import get_person
from domain.schemas import PersonIn, UnitIn
from kinanti import audit
from kinanti.db import unit_of_work
from kinanti.importers import write_records
from kinanti.importers.files import RawRecord, RecordKind
from kinanti.portal import accounts, web
from kinanti.portal.delivery import deliver_now
from kinanti.portal.forms import FieldError, parse
from kinanti.portal.texts import t

router = APIRouter(prefix="/admin")

#: The region-wide pages: who may open them (refused and audited otherwise).
_People = Annotated[Actor, Depends(web.allowed(Action.MANAGE_REGISTRY, "people"))]
_Units = Annotated[Actor, Depends(web.allowed(Action.MANAGE_REGISTRY, "units"))]


class PersonItem(BaseModel):
    email: str
    name: str
    unit: str | None
    roles: list[str]
    active: bool


@router.get("/people", response_class=HTMLResponse)
def people(request: Request, actor: _People, page: str = "1") -> Response:
    paging = web.paging(request, page)
    with unit_of_work(web.engine_of(request)) as session:
        total = session.scalar(select(func.count(Person.id))) or 0
        rows = session.execute(
            paging.window(
                select(Person, Unit.code)
                .outerjoin(Unit, Unit.id == Person.unit_id)
                .order_by(Person.email)
            )
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
        web.Listing[PersonItem](items=items, **paging.fields(total)),
    )


UNIT_FIELDS = ("code", "name", "kind", "parent", "head_name", "head_email", "officer_name",
               "officer_email", "language")  # fmt: skip
PERSON_FIELDS = ("email", "name", "unit", "phone", "language")
ROLES = frozenset(r.value for r in Role)


def _record(post: web.Post, fields: tuple[str, ...], **fixed: object) -> dict[str, object]:
    """The posted fields of a registry form as an import record: blanks left out, the
    ``active`` box read as checked or not, ``fixed`` values (the code being edited) kept."""
    data: dict[str, object] = {
        k: v.strip() for k in fields if isinstance(v := post.data.get(k), str) and v.strip()
    }
    data["active"] = bool(post.data.get("active"))
    data.update(fixed)
    return data


def _problem(text: str) -> FieldError:
    """An importer problem (``form: record 1 (code X): parent: ...``) as a form error on the
    field it names."""
    detail = text.split("): ", 1)[-1] if "): " in text else text.split(": ", 2)[-1]
    field, _, _ = detail.partition(":")
    return FieldError(field if field.isidentifier() else "", detail)


def _save(
    request: Request, actor: Actor, kind: RecordKind, data: dict[str, object], *, new: bool
) -> list[FieldError]:
    """Validate ``data`` as a unit or person and write it with its audit row in one
    transaction; the errors (nothing written) in the person's language where the domain
    has them."""
    lang = web.language_of(request)
    model = UnitIn if kind == "units" else PersonIn
    form, errors = parse(model, {**data, "language": data.get("language", lang.value)}, lang)
    if kind == "people" and (not (roles := _roles(data)) or not set(roles) <= ROLES):
        errors = [e for e in errors if e.field != "roles"] + [
            FieldError("roles", t("err.roles", lang))
        ]
    if form is None or errors:
        return errors
    raw = str(data.get("code" if kind == "units" else "email", "")).strip()
    key = raw.upper() if kind == "units" else raw.lower()
    try:
        with unit_of_work(web.engine_of(request)) as session:
            row = Unit.code == key if kind == "units" else Person.email == key
            exists = session.scalar(select(func.count()).select_from(
                Unit if kind == "units" else Person).where(row))  # fmt: skip
            if new and exists:
                field = "code" if kind == "units" else "email"
                return [FieldError(field, t("err.registry_taken", lang, what=key))]
            if not new and not exists:
                if kind == "units":
                    raise NotFoundError(code="unit.unknown", unit=key)
                raise NotFoundError(code="person.unknown", email=key)
            write_records(session, kind, [RawRecord(1, None, data)], "form")
            audit.add(session, audit.REGISTRY_CHANGED, actor=actor.email,
                      client=web.client_of(request), target=key, kind=kind, created=new,
                      **({"roles": data["roles"]} if kind == "people" else {}))  # fmt: skip
    except DomainValidationError as exc:
        return [_problem(p) for p in exc.problems]
    return []


# ---------------------------------------------------------------- units


class UnitFormPage(BaseModel):
    code: str | None  # None: a new unit
    values: dict[str, str]
    parents: list[tuple[str, str]]  # the OPDs a UPTD can belong to, "-" first
    errors: list[FieldError] = []
    saved: bool = False


def _unit_page(
    request: Request, code: str | None, values: dict[str, str], errors: list[FieldError],
    saved: bool = False,
) -> Response:  # fmt: skip
    with unit_of_work(web.engine_of(request)) as session:
        opds = list(session.scalars(
            select(Unit.code).where(Unit.kind == UnitKind.OPD).order_by(Unit.code)))  # fmt: skip
    parents = [("", "-"), *((c, c) for c in opds if c != code)]
    page = UnitFormPage(code=code, values=values, parents=parents, errors=errors, saved=saved)
    return web.render(request, "unit.html", page, status=400 if errors else 200)


def _unit_values(unit: Unit, parent: str | None) -> dict[str, str]:
    values = {k: str(getattr(unit, k) or "") for k in UNIT_FIELDS if k not in ("kind", "parent")}
    values.update(kind=unit.kind.value, parent=parent or "", language=unit.language.value,
                  active="on" if unit.active else "")  # fmt: skip
    return values


@router.get("/units/new", response_class=HTMLResponse)
def new_unit(request: Request, actor: _Units) -> Response:
    lang = web.language_of(request).value
    return _unit_page(request, None, {"kind": "opd", "language": lang, "active": "on"}, [])


@router.post("/units/new", response_class=HTMLResponse)
def create_unit(request: Request, actor: _Units, post: web.Posted) -> Response:
    data = _record(post, UNIT_FIELDS)
    errors = _save(request, actor, "units", data, new=True)
    if errors:
        return _unit_page(request, None, _shown(data), errors)
    return RedirectResponse(f"/admin/units/{str(data['code']).upper()}?saved=true", 303)


@router.get("/units/{code}", response_class=HTMLResponse)
def unit(request: Request, code: str, actor: _Units, saved: bool = False) -> Response:
    with unit_of_work(web.engine_of(request)) as session:
        found = session.scalar(select(Unit).where(Unit.code == code.upper()))
        if found is None:
            raise NotFoundError(code="unit.unknown", unit=code)
        parent = session.get(Unit, found.parent_id) if found.parent_id else None
        values = _unit_values(found, parent.code if parent else None)
    return _unit_page(request, found.code, values, [], saved=saved)


@router.post("/units/{code}", response_class=HTMLResponse)
def edit_unit(request: Request, code: str, actor: _Units, post: web.Posted) -> Response:
    data = _record(post, UNIT_FIELDS, code=code.upper())
    errors = _save(request, actor, "units", data, new=False)
    if errors:
        return _unit_page(request, code.upper(), _shown(data), errors)
    return RedirectResponse(f"/admin/units/{code.upper()}?saved=true", 303)


def _shown(data: dict[str, object]) -> dict[str, str]:
    """A refused form's values as they are shown again."""
    shown = {k: v for k, v in data.items() if isinstance(v, str)}
    return {**shown, "active": "on" if data.get("active") else ""}


# ---------------------------------------------------------------- people


class PersonPage(BaseModel):
    email: str | None  # None: a new person
    values: dict[str, str]
    roles: list[str]
    all_roles: list[str]
    units: list[tuple[str, str]]  # unit options, "-" (no unit) first
    errors: list[FieldError] = []
    sent: bool = False


def _person_page(
    request: Request, email: str | None, errors: list[FieldError],
    values: dict[str, str] | None = None, roles: list[str] | None = None, sent: bool = False,
) -> Response:  # fmt: skip
    with unit_of_work(web.engine_of(request)) as session:
        units = [
            ("", "-"),
            *((c, c) for c in session.scalars(select(Unit.code).order_by(Unit.code))),
        ]
        held: list[str] = []
        if values is None:
            values = {"language": web.language_of(request).value, "active": "on"}
        if email is not None:
            person = get_person(session, email)
            email = person.email
            held = [r.value for r in session.scalars(
                select(PersonRole.role).where(PersonRole.person_id == person.id))]  # fmt: skip
            unit_row = session.get(Unit, person.unit_id) if person.unit_id else None
            if not errors:
                values = {"name": person.name, "language": person.language.value,
                          "unit": unit_row.code if unit_row else "", "phone": person.phone or "",
                          "active": "on" if person.active else ""}  # fmt: skip
        page = PersonPage(
            email=email,
            values=values,
            roles=roles if roles is not None else held,
            all_roles=[r.value for r in Role],
            units=units,
            errors=errors,
            sent=sent,
        )
    return web.render(request, "person.html", page, status=400 if errors else 200)


def _person_record(post: web.Post, **fixed: object) -> dict[str, object]:
    roles = [r for r in post.raw.getlist("roles") if isinstance(r, str)]
    return {**_record(post, PERSON_FIELDS, **fixed), "roles": roles}


@router.get("/people/new", response_class=HTMLResponse)
def new_person(request: Request, actor: _People) -> Response:
    return _person_page(request, None, [])


@router.post("/people/new", response_class=HTMLResponse)
def create_person(request: Request, actor: _People, post: web.Posted) -> Response:
    data = _person_record(post)
    errors = _save(request, actor, "people", data, new=True)
    if errors:
        return _person_page(request, None, errors, _shown(data), _roles(data))
    return RedirectResponse(f"/admin/people/{str(data['email']).lower()}", status_code=303)


def _roles(data: dict[str, object]) -> list[str]:
    roles = data.get("roles")
    return [str(r) for r in roles] if isinstance(roles, list) else []


@router.get("/people/{email}", response_class=HTMLResponse)
def person(request: Request, email: str, actor: _People, sent: bool = False) -> Response:
    return _person_page(request, email, [], sent=sent)


@router.post("/people/{email}", response_class=HTMLResponse)
def edit_person(request: Request, email: str, actor: _People, post: web.Posted) -> Response:
    with unit_of_work(web.engine_of(request)) as session:
        email = get_person(session, email).email
    data = _person_record(post, email=email)
    errors = _save(request, actor, "people", data, new=False)
    if errors:
        return _person_page(request, email, errors, _shown(data), _roles(data))
    return RedirectResponse(f"/admin/people/{email}", status_code=303)


@router.post("/people/{email}/link", response_class=HTMLResponse)
def send_link(request: Request, email: str, actor: _People) -> Response:
    with unit_of_work(web.engine_of(request)) as session:
        person = get_person(session, email)
        ids = accounts.request_link(
            session, web.settings_of(request), person.email, client=web.client_of(request),
            purpose="first", actor=actor.email,
        )  # fmt: skip
        email = person.email
    deliver_now(request, ids)
    return RedirectResponse(f"/admin/people/{email}?sent=true", status_code=303)
