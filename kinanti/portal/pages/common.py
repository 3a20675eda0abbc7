"""View pieces several pages share: the choice of a unit in a form."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.models import Unit


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
