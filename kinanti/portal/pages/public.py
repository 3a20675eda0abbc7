"""The public Klinik Kinanti form (no account): a citizen or community asks for a
consultation or proposes an idea; and Brida's operators' triage of what arrives.

The public form is guarded at the edge: its body is read only up to ``public_max_bytes``
(``web.check_csrf``), the CSRF token still applies (the form page issues it), each client
address may send ``public_max_per_client`` requests per ``public_window_minutes`` (counted
in the audit log, which every replica shares), and a field hidden from people (the
honeypot) must stay empty. A request is written in one transaction with its emails and its
audit row, or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from domain import klinik
from domain.access import REGION, Action, Actor
from domain.changes import ChangeResult
from domain.enums import Bentuk, Jenis, PublicRequestKind, PublicRequestStatus
from domain.models import Innovation, PublicRequest, utcnow
from kinanti import audit
from kinanti.db import unit_of_work
from kinanti.portal import web
from kinanti.portal.actions import act
from kinanti.portal.delivery import hand_off
from kinanti.portal.forms import (
    FieldError,
    PublicForm,
    ReplyForm,
    TriageProposalForm,
    parse,
)
from kinanti.portal.pages.common import UnitOption, unit_options
from kinanti.portal.texts import t

router = APIRouter()


#: The hidden field people never see (nor fill); bots that fill every field do.
HONEYPOT = "website"
PUBLIC_FIELDS = ("kind", "name", "community", "email", "phone", "subject", "message")
COUNTED = (audit.PUBLIC_REQUEST, audit.PUBLIC_REFUSED)


class PublicPage(BaseModel):
    values: dict[str, Any]
    errors: list[FieldError]
    honeypot: str = HONEYPOT
    max_message: int = 5000


class ThanksPage(BaseModel):
    reference: str | None
    email: bool


def _form(
    request: Request, values: dict[str, Any], errors: list[FieldError], status: int
) -> Response:
    return web.render(
        request, "public_form.html", PublicPage(values=values, errors=errors), status=status
    )


@router.get("/klinik/public", response_class=HTMLResponse)
def public_form(request: Request) -> Response:
    """The form (it also issues the CSRF token the post must carry)."""
    return _form(request, {"kind": PublicRequestKind.CONSULTATION.value}, [], 200)


def _throttled(request: Request, client: str) -> bool:
    settings = web.settings_of(request)
    since = utcnow() - dt.timedelta(minutes=settings.public_window_minutes)
    with unit_of_work(web.engine_of(request)) as session:
        count = audit.recent(session, COUNTED, client=client, since=since)
    return count >= settings.public_max_per_client


@router.post("/klinik/public", response_class=HTMLResponse)
def submit_public(request: Request, post: web.Posted) -> Response:
    """Refused past the client's limit (429), silently dropped when the honeypot is filled,
    shown again with its errors when invalid (400); else recorded and acknowledged."""
    client, lang, engine = web.client_of(request), post.lang, web.engine_of(request)
    values = {k: v for k, v in post.data.items() if k in PUBLIC_FIELDS}
    if _throttled(request, client):
        audit.record(
            engine, audit.PUBLIC_THROTTLED, actor=None, client=client, target="/klinik/public"
        )
        error = FieldError("", t("public.throttled", lang))
        return _form(request, values, [error], 429)
    if str(post.data.get(HONEYPOT) or "").strip():
        audit.record(engine, audit.PUBLIC_REFUSED, actor=None, client=client, reason="honeypot")
        return web.render(request, "public_thanks.html", ThanksPage(reference=None, email=False))
    data = {k: v for k, v in values.items() if isinstance(v, str)}
    form, errors = parse(PublicForm, {**data, "language": lang.value}, lang)
    if form is None:
        audit.record(
            engine, audit.PUBLIC_REFUSED, actor=None, client=client, reason="invalid",
            fields=sorted({e.field for e in errors}),
        )  # fmt: skip
        return _form(request, values, errors, 400)
    with unit_of_work(engine) as session:
        public_request, result = klinik.submit_public_request(session, form, client=client)
        audit.add(
            session, audit.PUBLIC_REQUEST, actor=None, client=client,
            target=public_request.reference, kind=public_request.kind.value,
        )  # fmt: skip
        reference, committed = public_request.reference, result.committed(session)
    hand_off(request, committed)
    return web.render(
        request, "public_thanks.html", ThanksPage(reference=reference, email=bool(form.email))
    )


# ---------------------------------------------------------------- triage (Brida)


class RequestRow(BaseModel):
    reference: str
    kind: PublicRequestKind
    name: str
    subject: str
    status: PublicRequestStatus
    created_at: dt.datetime


_Triage = Annotated[Actor, Depends(web.allowed(Action.TRIAGE_PUBLIC, "public requests"))]


@router.get("/klinik/requests", response_class=HTMLResponse)
def requests_page(request: Request, actor: _Triage, page: str = "1") -> Response:
    """New requests first, then the handled ones, newest first."""
    paging = web.paging(request, page)
    newest = case((PublicRequest.status == PublicRequestStatus.NEW, 0), else_=1)
    with unit_of_work(web.engine_of(request)) as session:
        total = session.scalar(select(func.count(PublicRequest.id))) or 0
        order = (newest, PublicRequest.created_at.desc(), PublicRequest.id.desc())
        rows = session.scalars(paging.window(select(PublicRequest).order_by(*order))).all()
        items = [
            RequestRow(reference=r.reference, kind=r.kind, name=r.name, subject=r.subject,
                       status=r.status, created_at=r.created_at)
            for r in rows
        ]  # fmt: skip
    context = web.Listing[RequestRow](items=items, **paging.fields(total))
    return web.render(request, "public_requests.html", context)


class RequestPage(BaseModel):
    reference: str
    kind: PublicRequestKind
    name: str
    community: str | None
    email: str | None
    phone: str | None
    subject: str
    message: str
    status: PublicRequestStatus
    created_at: dt.datetime
    reply: str | None
    innovation: str | None
    units: list[UnitOption]
    jenis: list[str]
    bentuk: list[str]
    errors: list[FieldError] = []
    form: str | None = None
    values: dict[str, Any] = {}


def _request_page(
    request: Request, actor: Actor, reference: str, *, errors: list[FieldError] | None = None,
    form: str | None = None, values: dict[str, Any] | None = None,
) -> Response:  # fmt: skip
    web.require(request, actor, Action.TRIAGE_PUBLIC, REGION, f"public request {reference}")
    with unit_of_work(web.engine_of(request)) as session:
        r = klinik.get_public_request(session, reference)
        innovation = session.get(Innovation, r.innovation_id) if r.innovation_id else None
        units = unit_options(session)
        defaults = {"title": r.subject, "year": str(utcnow().year)}
        page = RequestPage(
            reference=r.reference, kind=r.kind, name=r.name, community=r.community,
            email=r.email, phone=r.phone, subject=r.subject, message=r.message,
            status=r.status, created_at=r.created_at, reply=r.reply,
            innovation=innovation.code if innovation else None, units=units,
            jenis=[j.value for j in Jenis], bentuk=[b.value for b in Bentuk],
            errors=errors or [], form=form, values={**defaults, **(values or {})},
        )  # fmt: skip
    return web.render(request, "public_request.html", page, status=400 if errors else 200)


@router.get("/klinik/requests/{reference}", response_class=HTMLResponse)
def request_page(request: Request, reference: str, actor: web.SignedIn) -> Response:
    return _request_page(request, actor, reference)


def _triage(
    request: Request, actor: Actor, reference: str, post: web.Post, name: str,
    form_class: type[BaseModel], change: Callable[[Session, Any], ChangeResult],
) -> Response:  # fmt: skip
    """Apply a triage ``change`` with its audit row (outcome ``name``) in one transaction."""
    web.require(request, actor, Action.TRIAGE_PUBLIC, REGION, f"public request {reference}")

    def audited(session: Session, form: Any) -> ChangeResult:
        result = change(session, form)
        audit.add(session, audit.PUBLIC_TRIAGED, actor=actor.email, client=web.client_of(request),
                  target=reference, outcome=name)  # fmt: skip
        return result

    return act(
        request, post, form_class, audited,
        again=lambda errors, values: _request_page(request, actor, reference, errors=errors,
                                                   form=name, values=values),
        done=f"/klinik/requests/{reference}?done={name}",
    )  # fmt: skip


@router.post("/klinik/requests/{reference}/proposal", response_class=HTMLResponse)
def to_proposal(
    request: Request, reference: str, actor: web.SignedIn, post: web.Posted
) -> Response:
    """Into a proposal owned by a unit (initiator Masyarakat)."""

    def change(session: Session, form: TriageProposalForm) -> ChangeResult:
        _innovation, result = klinik.triage_to_proposal(
            session, actor, reference, unit_code=form.unit, code=form.code, year=form.year,
            jenis=form.jenis, bentuk=form.bentuk, urusan_main=form.urusan_main,
            title=form.title, language=post.lang,
        )  # fmt: skip
        return result

    return _triage(request, actor, reference, post, "proposal", TriageProposalForm, change)


@router.post("/klinik/requests/{reference}/close", response_class=HTMLResponse)
def close(request: Request, reference: str, actor: web.SignedIn, post: web.Posted) -> Response:
    """Closed with a reply (emailed to the citizen when an address was given)."""

    def change(session: Session, form: ReplyForm) -> ChangeResult:
        return klinik.close_public_request(session, actor, reference, reply=form.reply)

    return _triage(request, actor, reference, post, "close", ReplyForm, change)
