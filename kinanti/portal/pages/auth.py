"""Sign in, sign out, one-time links (first sign-in and reset), the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from domain.enums import Language
from domain.models import Person
from kinanti import audit
from kinanti.db import unit_of_work
from kinanti.portal import accounts, web
from kinanti.portal.delivery import deliver_now
from kinanti.portal.forms import (
    FieldError,
    LinkRequestForm,
    SetPasswordForm,
    SignInForm,
    parse,
)
from kinanti.portal.texts import t

router = APIRouter()


class SignInPage(BaseModel):
    next: str
    email: str = ""
    errors: list[FieldError] = []
    notice: str | None = None


class LinkPage(BaseModel):
    email: str = ""
    errors: list[FieldError] = []
    sent: bool = False


class SetPasswordPage(BaseModel):
    token: str
    valid: bool
    errors: list[FieldError] = []


def safe_next(value: str | None) -> str:
    """Only a path on this site (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str = "/") -> Response:
    if web.current_actor(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return web.render(request, "sign_in.html", SignInPage(next=safe_next(next)))


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(request: Request, post: web.Posted) -> Response:
    data, lang = dict(post.data), post.lang
    target = safe_next(data.get("next"))
    form, errors = parse(SignInForm, data, lang)
    if form is None:
        page = SignInPage(next=target, email=data.get("email", ""), errors=errors)
        return web.render(request, "sign_in.html", page, status=400)
    return _sign_in(request, form, target, lang)


def _sign_in(request: Request, form: SignInForm, target: str, lang: Language) -> Response:
    settings = web.settings_of(request)
    with unit_of_work(web.engine_of(request)) as session:
        outcome = accounts.sign_in(
            session, settings, form.email, form.password, web.client_of(request)
        )
        language = outcome.person.language if outcome.person else lang
        person_id = outcome.person.id if outcome.person else None
    if outcome.result is accounts.SignInResult.OK and person_id is not None:
        web.start_session(request, person_id, outcome.epoch, language)
        return RedirectResponse(target, status_code=303)
    key = "auth.throttled" if outcome.result is accounts.SignInResult.THROTTLED else "auth.wrong"
    status = 429 if outcome.result is accounts.SignInResult.THROTTLED else 400
    page = SignInPage(next=target, email=form.email, errors=[FieldError("email", t(key, lang))])
    return web.render(request, "sign_in.html", page, status=status)


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    actor = web.current_actor(request)
    if actor is not None:
        audit.record(
            web.engine_of(request),
            audit.SIGNED_OUT,
            actor=actor.email,
            client=web.client_of(request),
        )
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
    return RedirectResponse("/sign-in", status_code=303)


@router.get("/sign-in/link", response_class=HTMLResponse)
def link_page(request: Request) -> Response:
    return web.render(request, "link_request.html", LinkPage())


@router.post("/sign-in/link", response_class=HTMLResponse)
def request_link(request: Request, post: web.Posted) -> Response:
    data, lang = dict(post.data), post.lang
    form, errors = parse(LinkRequestForm, data, lang)
    if form is None:
        page = LinkPage(email=data.get("email", ""), errors=errors)
        return web.render(request, "link_request.html", page, status=400)
    settings = web.settings_of(request)
    with unit_of_work(web.engine_of(request)) as session:
        ids = accounts.request_link(session, settings, form.email, client=web.client_of(request))
    deliver_now(request, ids)
    # The same answer whether or not the address is registered.
    return web.render(request, "link_request.html", LinkPage(sent=True))


@router.get("/set-password/{token}", response_class=HTMLResponse)
def set_password_page(request: Request, token: str) -> Response:
    with unit_of_work(web.engine_of(request)) as session:
        valid = accounts.valid_link(session, token) is not None
    page = SetPasswordPage(token=token, valid=valid)
    return web.render(request, "set_password.html", page, status=200 if valid else 410)


@router.post("/set-password/{token}", response_class=HTMLResponse)
def set_password(request: Request, token: str, post: web.Posted) -> Response:
    data, lang = dict(post.data), post.lang
    form, errors = parse(SetPasswordForm, data, lang)
    if form is None:
        page = SetPasswordPage(token=token, valid=True, errors=errors)
        return web.render(request, "set_password.html", page, status=400)
    with unit_of_work(web.engine_of(request)) as session:
        used = accounts.use_link(session, token, form.password, client=web.client_of(request))
        if used is not None:
            person, epoch = used
            person_id, language = person.id, person.language
    if used is None:
        return web.render(
            request, "set_password.html", SetPasswordPage(token=token, valid=False), status=410
        )
    web.start_session(request, person_id, epoch, language)
    return RedirectResponse("/", status_code=303)


@router.post("/language")
def switch_language(request: Request, post: web.Posted) -> Response:
    data = dict(post.data)
    try:
        language = Language(data.get("language", ""))
    except ValueError:
        language = web.language_of(request)
    request.session["lang"] = language.value
    actor = web.current_actor(request)
    if actor is not None:
        with unit_of_work(web.engine_of(request)) as session:
            person = session.get_one(Person, actor.person_id)
            person.language = language
    return RedirectResponse(safe_next(data.get("next")), status_code=303)
