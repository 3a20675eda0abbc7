"""View pieces several pages share: the choice of a unit in a form."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.access import Action, Actor, UnitScope
from domain.models import Unit
from kinanti.db import unit_of_work
from kinanti.portal import web

#: The scope of a unit-owned thing when there is no unit: a refusal's scope.
NO_UNIT = UnitScope(unit_id=-1)


class UnitOption(BaseModel):
    code: str
    name: str


def unit_options(session: Session, keep: Callable[[int], bool] | None = None) -> list[UnitOption]:
    """The active units by code (those whose id ``keep`` accepts), as a form's choices."""
    rows = session.execute(
        select(Unit.id, Unit.code, Unit.name).where(Unit.active.is_(True)).order_by(Unit.code)
    )
    return [
        UnitOption(code=code, name=name) for uid, code, name in rows if keep is None or keep(uid)
    ]


def units_for(
    request: Request,
    actor: Actor,
    action: Action,
    target: str,
    choices: Callable[[Session, Actor], list[UnitOption]],
) -> list[UnitOption]:
    """The units ``actor`` may choose for ``action`` on a form; with none, ``actor`` may not
    open the form at all (refused, audited with ``target``)."""
    with unit_of_work(web.engine_of(request)) as session:
        units = choices(session, actor)
    if not units:
        web.require(request, actor, action, NO_UNIT, target)
    return units
