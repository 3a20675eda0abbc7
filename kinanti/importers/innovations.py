"""Importing innovation proposals: each record is submitted (created at planning, or its
profile updated) through the domain's submission service.

Whether a record may be submitted is ``domain.profile.submission_problems``, the same
function the submission service uses; here it is given what the file and the registry
know (an origin may be earlier in the same file), so that every problem of the file is
reported before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.changes import SYSTEM_ACTOR
from domain.errors import KinantiError
from domain.models import Innovation, Unit
from domain.profile import InnovationRef, ProblemKind, UnitRef, submission_problems
from domain.schemas import InnovationIn
from domain.submission import submit_innovation
from kinanti.importers.files import RawRecord
from kinanti.importers.validation import (
    Count,
    ImportReport,
    fail,
    invalid_identities,
    unique,
    validate,
    where,
)


def import_innovations(
    session: Session,
    records: Sequence[RawRecord],
    name: str,
    *,
    actor: str = SYSTEM_ACTOR,
    language: str | None = None,
) -> ImportReport:
    """Submit (create at planning, or update the profile of) each innovation of the file.
    Messages about urusan come in ``language`` (default: the installation's)."""
    if language is None:
        from kinanti.settings import get_settings

        language = get_settings().language.value
    valid, problems = validate(records, InnovationIn, name, "innovations", language)
    items = unique(records, valid, lambda i: i.code, name, "innovations", problems)
    invalid = invalid_identities(records, valid, "innovations")
    unit_codes = {i.unit for _, i in items.values()}
    units_by_code = {
        u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(unit_codes)))
    }
    codes = set(items) | {i.origin for _, i in items.values() if i.origin}
    registered = {
        code: InnovationRef(code, unit_code)
        for code, unit_code in session.execute(
            select(Innovation.code, Unit.code)
            .join(Unit, Innovation.unit_id == Unit.id)
            .where(Innovation.code.in_(codes))
        )
    }
    in_file = {code: InnovationRef(code, item.unit) for code, (_, item) in items.items()}
    for record, item in items.values():
        unit = units_by_code.get(item.unit)
        found = submission_problems(
            code=item.code,
            unit_code=item.unit,
            origin_code=item.origin,
            unit=UnitRef(unit.id, unit.code, unit.active) if unit else None,
            registered=registered.get(item.code),
            origin=in_file.get(item.origin or "") or registered.get(item.origin or ""),
        )
        at = where(name, record, "innovations")
        problems.extend(
            at(str(p))
            for p in found
            # an origin whose own record is invalid: that record's problems are reported
            if not (p.kind is ProblemKind.UNKNOWN_ORIGIN and item.origin in invalid)
        )
    ordered = _origins_first([item for _, item in items.values()])
    if ordered is None:
        problems.append(f"{name}: the 'origin' links of this file form a cycle")
    if problems:
        raise fail(name, problems)
    assert ordered is not None

    count = Count()
    for item in ordered:
        record = items[item.code][0]
        try:
            _, created, result = submit_innovation(
                session, item, actor=actor, units_by_code=units_by_code
            )
        except KinantiError as exc:
            problems.append(where(name, record, "innovations")(str(exc)))
            continue
        count.add(created=created, changed=bool(result.events))
    if problems:
        raise fail(name, problems)
    session.flush()
    return count.report(name, "innovations")


def _origins_first(items: list[InnovationIn]) -> list[InnovationIn] | None:
    """Order so that an origin in the same file comes before its replicas; ``None`` on a
    cycle."""
    in_file = {i.code for i in items}
    done: set[str] = set()
    ordered: list[InnovationIn] = []
    pending = items
    while pending:
        ready = [i for i in pending if not i.origin or i.origin not in in_file or i.origin in done]
        if not ready:
            return None
        ordered.extend(ready)
        done.update(i.code for i in ready)
        pending = [i for i in pending if i.code not in done]
    return ordered
