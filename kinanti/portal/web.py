"""Request plumbing shared by every page: the signed-in actor, CSRF, rendering, refusals.

- The session is a signed cookie (Starlette's ``SessionMiddleware``, itsdangerous) holding
  the person's id, the account's session epoch, a random session id and the CSRF token.
  Signing in clears it and starts a new one (rotation); a password change bumps the
  epoch, which ends every older session.
- Every unsafe request (POST) must carry the session's CSRF token in the form field
  ``csrf_token``; otherwise it is refused (403) and audited.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypedDict, TypeVar

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from domain.access import REGION, Action, Actor, Scope, actor_of, can
from domain.enums import Language, Role
from kinanti import audit
from kinanti.db import unit_of_work
from kinanti.portal.accounts import session_person
from kinanti.portal.texts import t
from kinanti.settings import Settings
from notifications.render import Labels

CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInRequired(Exception):
    """Raised when a page needs a signed-in person and there is none (redirect to sign-in)."""


class Refused(Exception):
    """Raised when the signed-in person may not do what they asked (403, audited)."""

    def __init__(self, action: str, target: str) -> None:
        self.action, self.target = action, target
        super().__init__(f"{action} refused on {target}")


class CsrfRefused(Exception):
    """Raised when an unsafe request has no valid CSRF token (403, audited)."""


class BodyTooLarge(Exception):
    """Raised when a request body is larger than any accepted upload, or than the public
    form accepts (413)."""

    def __init__(self, max_bytes: int, *, public: bool = False) -> None:
        self.max_mb = megabytes(max_bytes)
        self.max_kb = max_bytes // 1024
        self.public = public
        super().__init__(f"request body over {max_bytes} bytes")


def megabytes(size: int) -> float:
    """A size in bytes as the megabytes the pages show (one decimal)."""
    return round(size / 1_048_576, 1)


#: Room for the form's other fields beside an upload of the largest allowed size.
FORM_OVERHEAD = 1024 * 1024

#: Pages anyone may post to without an account (the public Klinik Kinanti form): their
#: bodies are read only up to ``public_max_bytes``, whatever the request claims.
PUBLIC_PREFIX = "/klinik/public"


def settings_of(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


def engine_of(request: Request) -> Engine:
    value: Engine = request.app.state.engine
    return value


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """App-wide dependency: refuse an unsafe request without the session's CSRF token."""
    if request.method not in UNSAFE_METHODS:
        return
    length = request.headers.get("content-length", "")
    if request.url.path.startswith(PUBLIC_PREFIX):
        await _read_at_most(request, settings_of(request).public_max_bytes)
    else:
        limit = settings_of(request).evidence_max_bytes
        if length.isdigit() and int(length) > limit + FORM_OVERHEAD:
            raise BodyTooLarge(limit)
    expected = request.session.get("csrf")
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not (isinstance(expected, str) and isinstance(sent, str)) or not hmac.compare_digest(
        expected, sent
    ):
        raise CsrfRefused()


async def _read_at_most(request: Request, limit: int) -> None:
    """Read the body, refusing it past ``limit`` bytes (a declared length or a chunked
    stream alike), and keep it for the form parser, as ``Request.body()`` does."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise BodyTooLarge(limit, public=True)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit, public=True)
        chunks.append(chunk)
    request._body = b"".join(chunks)


@dataclass(frozen=True)
class Post:
    """A posted form: its text fields, the raw form (files) and the person's language."""

    data: dict[str, Any]
    raw: FormData
    lang: Language


async def posted(request: Request) -> Post:
    """Dependency: the posted form as a :class:`Post` (already read by ``check_csrf``), so
    that handlers stay synchronous: Prefect's client and the database run in threads."""
    raw = await request.form()
    data: dict[str, Any] = {}
    for key in raw:
        values = [v for v in raw.getlist(key) if isinstance(v, str)]
        if values:
            data[key] = values if len(values) > 1 else values[0]
    return Post(data, raw, language_of(request))


def start_session(request: Request, person_id: int, epoch: int, language: Language) -> None:
    """Rotate: drop everything from before sign-in, then a new session id and CSRF token."""
    request.session.clear()
    request.session.update(
        {
            "pid": person_id,
            "epoch": epoch,
            "sid": secrets.token_urlsafe(16),
            "csrf": secrets.token_urlsafe(32),
            "lang": language.value,
        }
    )


def labels_of(request: Request) -> Labels:
    """Stage, decision and date words (shared with the emails) in the person's language."""
    labels: dict[Language, Labels] = request.app.state.labels
    return labels[language_of(request)]


def language_of(request: Request) -> Language:
    value = request.session.get("lang")
    try:
        return Language(value) if value else settings_of(request).language
    except ValueError:
        return settings_of(request).language


def current_actor(request: Request) -> Actor | None:
    """The signed-in person, or ``None`` (one query for the person, one for the roles)."""
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    pid, epoch = request.session.get("pid"), request.session.get("epoch")
    if not isinstance(pid, int) or not isinstance(epoch, int):
        return None
    with unit_of_work(engine_of(request)) as session:
        person = session_person(session, pid, epoch)
        if person is None:
            request.session.clear()
            return None
        actor = actor_of(session, person)
    request.state.actor = actor
    return actor


def signed_in(request: Request) -> Actor:
    """Dependency: the signed-in actor, or a redirect to the sign-in page."""
    actor = current_actor(request)
    if actor is None:
        raise SignInRequired()
    return actor


#: A page's signed-in actor (sign-in page otherwise) and a post's form, as parameters.
SignedIn = Annotated[Actor, Depends(signed_in)]
Posted = Annotated[Post, Depends(posted)]


def require(request: Request, actor: Actor, action: Action, scope: Scope, target: str) -> None:
    """Refuse (403, audited) unless ``can(actor, action, scope)``: every page checks here."""
    if not can(actor, action, scope):
        audit.record(
            engine_of(request),
            audit.ACCESS_REFUSED,
            actor=actor.email,
            client=client_of(request),
            target=target,
            action=action.value,
            method=request.method,
            path=request.url.path,
        )
        raise Refused(action.value, target)


def allowed(action: Action, target: str) -> Callable[..., Awaitable[Actor]]:
    """Dependency factory for a region-wide page: the signed-in actor, refused (403,
    audited with ``target``) unless ``can(actor, action, REGION)``.

    Asynchronous, so a permitted request does not take one more trip through the thread
    pool (under load each trip waits its turn); only a refusal's audit row goes there."""

    async def dependency(request: Request, actor: Actor = Depends(signed_in)) -> Actor:
        if not can(actor, action, REGION):
            await run_in_threadpool(require, request, actor, action, REGION, target)
        return actor

    return dependency


def require_in(
    request: Request,
    actor: Actor,
    action: Action,
    scope_of: Callable[[Session], Scope],
    target: str,
) -> None:
    """:func:`require`, with the scope looked up in a transaction of its own."""
    with unit_of_work(engine_of(request)) as session:
        require(request, actor, action, scope_of(session), target)


def db(request: Request) -> Iterator[Session]:
    """Dependency: one transaction per request (commit on success, roll back on error)."""
    with unit_of_work(engine_of(request)) as session:
        yield session


@dataclass(frozen=True)
class Ui:
    """What the layout needs on every page."""

    lang: str
    actor: Actor | None
    csrf: str
    path: str
    region: str
    nav: list[tuple[str, str]] = field(default_factory=list)


def _nav(actor: Actor | None) -> list[tuple[str, str]]:
    if actor is None:
        return []
    items = [("/", "nav.home")]
    if actor.unit_id is not None or can(actor, Action.VIEW_CITY):
        items.append(("/innovations", "nav.innovations"))
    if can(actor, Action.REVIEW_GATES):
        items.append(("/gates", "nav.gates"))
    if can(actor, Action.VIEW_CATALOGUE):
        items.append(("/replication", "nav.replication"))
    if can(actor, Action.VIEW_CITY):
        items += [("/city", "nav.city"), ("/units", "nav.units")]
    elif actor.unit_id is not None:
        items.append(("/compliance", "nav.compliance"))
    if actor.has(Role.INNOVATOR) or can(actor, Action.VIEW_CITY) or actor.unit_id is not None:
        items.append(("/consultations", "nav.consultations"))
        items.append(("/visits", "nav.visits"))
    if can(actor, Action.TRIAGE_PUBLIC):
        items.append(("/klinik/requests", "nav.requests"))
    if can(actor, Action.MANAGE_REGISTRY):
        items.append(("/admin/people", "nav.people"))
    return items


def render(
    request: Request, template: str, page: BaseModel | None = None, *, status: int = 200
) -> HTMLResponse:
    """Render ``template`` with its typed page context (``page``) and the layout's ``ui``."""
    env: jinja2.Environment = request.app.state.jinja
    lang = language_of(request)
    actor = current_actor(request)
    ui = Ui(
        lang=lang.value,
        actor=actor,
        csrf=csrf_token(request),
        path=request.url.path,
        region=settings_of(request).region_name,
        nav=_nav(actor),
    )
    translate: Callable[..., str] = lambda key, **kw: t(key, lang, **kw)  # noqa: E731
    html = env.get_template(template).render(
        page=page, ui=ui, _=translate, L=labels_of(request), can=can, Action=Action
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


@dataclass(frozen=True)
class Paging:
    """Which page of a list to show: lists are paginated, a page queries what it shows."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def pages(self, total: int) -> int:
        return max(1, -(-total // self.size))

    def window(self, stmt: S) -> S:
        """``stmt`` cut to this page's rows."""
        return stmt.limit(self.size).offset(self.offset)

    def rows(self, session: Session, stmt: Select, *order: Any) -> tuple[int, list[Any]]:
        """How many rows ``stmt`` has (all pages), and this page's rows, by ``order``."""
        return count(session, stmt), list(session.execute(self.window(stmt.order_by(*order))))

    def slice(self, rows: list[T]) -> list[T]:
        """This page's part of ``rows`` (a list already in memory)."""
        return rows[self.offset : self.offset + self.size]

    def fields(self, total: int) -> PageFields:
        """The :class:`ListPage` fields of this page of ``total`` rows."""
        return PageFields(page=self.number, pages=self.pages(total), total=total)


S = TypeVar("S", bound=Select)
T = TypeVar("T")


class PageFields(TypedDict):
    page: int
    pages: int
    total: int


def count(session: Session, stmt: Select) -> int:
    """How many rows ``stmt`` has (all pages)."""
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def paging(request: Request, page: Any) -> Paging:
    """The requested page (``?page=``; bad values mean the first) of ``page_size`` rows."""
    try:
        number = max(1, int(page))
    except (TypeError, ValueError):
        number = 1
    return Paging(number, settings_of(request).page_size)


class ListPage(BaseModel):
    """Context fields every paginated page has."""

    page: int = 1
    pages: int = 1
    total: int = 0


class Listing(ListPage, Generic[T]):
    """A paginated page of rows (``items``)."""

    items: list[T]
