"""The home page (what the signed-in person can do) and the constant help page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from domain.access import Action, can
from domain.enums import Role
from kinanti.portal import web

router = APIRouter()


class HomePage(BaseModel):
    name: str
    tasks: list[tuple[str, str]]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, actor: web.SignedIn) -> Response:
    tasks: list[tuple[str, str]] = []
    if actor.unit_id is not None and not can(actor, Action.REVIEW_GATES):
        tasks += [("/innovations", "home.my_innovations"), ("/innovations/new", "home.propose"),
                  ("/compliance", "home.compliance")]  # fmt: skip
    if can(actor, Action.REVIEW_GATES):
        tasks += [("/gates", "home.inbox"), ("/innovations", "home.all_innovations")]
    if can(actor, Action.VIEW_CITY):
        tasks += [("/city", "home.city"), ("/city/compliance", "home.city_compliance"),
                  ("/city/escalations", "home.escalations"), ("/units", "home.units")]  # fmt: skip
    if actor.has(Role.INNOVATOR) or actor.unit_id is not None:
        tasks.append(("/consultations", "home.consultations"))
    if can(actor, Action.MANAGE_REGISTRY):
        tasks.append(("/admin/people", "home.people"))
    return web.render(request, "home.html", HomePage(name=actor.name, tasks=tasks))


@router.get("/help", response_class=HTMLResponse)
def help_page(request: Request, actor: web.SignedIn) -> Response:
    """A signed-in page with constant content (also the benchmark's floor)."""
    return web.render(request, "help.html")
