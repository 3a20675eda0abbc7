"""The portal's app factory: settings, engine, one Jinja environment, middleware, routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.enums import Bentuk, Initiator, Jenis, Language
from domain.errors import NotFoundError
from kinanti import audit
from kinanti.db import get_engine
from kinanti.i18n import history_reason
from kinanti.portal.security import secret_key
from kinanti.portal.web import (
    BodyTooLarge,
    CsrfRefused,
    Refused,
    SignInRequired,
    check_csrf,
    client_of,
    current_actor,
    engine_of,
    render,
)
from kinanti.settings import Settings, get_settings
from notifications.render import Labels

HERE = Path(__file__).resolve().parent


class TooLargePage(BaseModel):
    max_mb: float
    max_kb: int = 0
    public: bool = False


SESSION_COOKIE = "kinanti_session"

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
]


class SecurityHeaders:
    """Adds the security headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def environment() -> jinja2.Environment:
    """The portal's one Jinja environment: autoescape on, undefined names are errors.
    Templates are read once (no modification-time check per render): restart the portal
    after editing one."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        auto_reload=False,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["history_reason"] = history_reason
    env.globals["choices"] = {
        "initiator": [(e.value, e.value) for e in Initiator],
        "jenis": [(e.value, e.value) for e in Jenis],
        "bentuk": [(e.value, e.value) for e in Bentuk],
    }
    return env


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the portal for ``settings`` (default: the process's) and ``engine``."""
    from kinanti.portal.pages import (
        admin,
        auth,
        city,
        consultations,
        home,
        innovations,
        public,
        replication,
        reviews,
        visits,
    )

    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Pages are synchronous (SQLAlchemy sessions) and run in anyio's thread pool, 40
        # threads by default. Twenty threads contending for one interpreter lock make every
        # database round trip wait for the lock again, so a page with ten queries is slowed
        # far more than one with two. A few threads keep each request quick; the others
        # queue, and the queue is fair to every page.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web_threads
        yield

    app = FastAPI(
        title="Kinanti portal",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(check_csrf)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine or get_engine(settings.resolved_database_url)
    app.state.jinja = environment()
    app.state.labels = {lang: Labels(lang, settings.zone) for lang in Language}
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key(settings),
        session_cookie=SESSION_COOKIE,
        max_age=int(settings.session_hours * 3600),
        same_site="lax",
        https_only=settings.resolved_portal_url.startswith("https://"),
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (
        auth,
        home,
        innovations,
        reviews,
        city,
        admin,
        consultations,
        visits,
        public,
        replication,
    ):
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        target = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/sign-in?next={target}", status_code=303)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> HTMLResponse:
        return render(request, "refused.html", status=403)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> HTMLResponse:
        actor = current_actor(request)
        audit.record(
            engine_of(request),
            audit.CSRF_REFUSED,
            actor=actor.email if actor else None,
            client=client_of(request),
            target=request.url.path,
        )
        return render(request, "csrf.html", status=403)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> HTMLResponse:
        return render(
            request,
            "too_large.html",
            TooLargePage(max_mb=exc.max_mb, max_kb=exc.max_kb, public=exc.public),
            status=413,
        )

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> HTMLResponse:
        return render(request, "not_found.html", status=404)

    @app.exception_handler(404)
    async def _no_route(request: Request, exc: Any) -> HTMLResponse:
        return render(request, "not_found.html", status=404)

    return app


def app_from_settings() -> FastAPI:
    """Factory for ``uvicorn --factory kinanti.portal.app:app_from_settings``."""
    return create_app()
