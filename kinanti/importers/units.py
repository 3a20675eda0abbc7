"""Importing units (OPD and UPTD); a UPTD's parent OPD may come later in the file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from domain.enums import UnitKind
from domain.models import Unit
from domain.schemas import UnitIn
from kinanti.importers.files import RawRecord
from kinanti.importers.validation import (
    Count,
    ImportReport,
    assign,
    fail,
    invalid_identities,
    unique,
    validate,
    where,
)


def import_units(session: Session, records: Sequence[RawRecord], name: str) -> ImportReport:
    """Create or update units in ``session`` (parents may come later in the file)."""
    valid, problems = validate(records, UnitIn, name, "units")
    units = unique(records, valid, lambda u: u.code, name, "units", problems)
    invalid = invalid_identities(records, valid, "units")
    wanted = set(units) | {u.parent for _, u in units.values() if u.parent}
    existing = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(wanted)))}

    def kind_of(code: str) -> UnitKind | None:
        if code in units:
            return units[code][1].kind
        return existing[code].kind if code in existing else None

    for record, unit_in in units.values():
        at = where(name, record, "units")
        parent = unit_in.parent
        if not parent:
            continue
        if parent == unit_in.code:
            problems.append(at(f"parent: {parent} cannot be its own parent"))
        elif (parent_kind := kind_of(parent)) is None:
            if parent in invalid:
                continue  # that record's own problems are reported
            problems.append(
                at(f"parent: unknown unit code {parent!r} (not in this file nor registered)")
            )
        elif parent_kind is UnitKind.UPTD:
            problems.append(
                at(f"parent: {parent} is a UPTD; a UPTD's parent must be an OPD (kind: opd)")
            )
    # Registered units whose parent this file turns into a UPTD.
    uptds = [code for code, (_, u) in units.items() if u.kind is UnitKind.UPTD]
    if uptds:
        parent_unit = aliased(Unit)
        children = session.execute(
            select(Unit.code, parent_unit.code)
            .join(parent_unit, Unit.parent_id == parent_unit.id)
            .where(parent_unit.code.in_(uptds))
        )
        for child, parent in children:
            moved = child in units and units[child][1].parent != parent
            if not moved:
                record = units[parent][0]
                problems.append(
                    where(name, record, "units")(
                        f"kind: {parent} is the parent of {child}; it cannot become a UPTD"
                    )
                )
    if problems:
        raise fail(name, problems)

    count = Count()
    ordered = sorted(units.values(), key=lambda item: item[1].kind is UnitKind.UPTD)
    flushed_opds = False
    for _, unit_in in ordered:
        if unit_in.kind is UnitKind.UPTD and not flushed_opds:
            session.flush()  # parents first: their ids are needed below
            flushed_opds = True
        values: dict[str, Any] = {
            "name": unit_in.name,
            "kind": unit_in.kind,
            "parent_id": existing[unit_in.parent].id if unit_in.parent else None,
            "head_name": unit_in.head_name,
            "head_email": unit_in.head_email,
            "officer_name": unit_in.officer_name,
            "officer_email": unit_in.officer_email,
            "language": unit_in.language,
            "active": unit_in.active,
        }
        unit = existing.get(unit_in.code)
        if unit is None:
            unit = Unit(code=unit_in.code, **values)
            session.add(unit)
            existing[unit_in.code] = unit
            count.add(created=True, changed=True)
        else:
            count.add(created=False, changed=assign(unit, values))
    session.flush()
    return count.report(name, "units")
