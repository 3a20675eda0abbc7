"""Importing people; a person's roles become exactly the file's roles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from domain.models import Person, PersonRole, Unit
from domain.schemas import PersonIn
from kinanti.importers.files import RawRecord
from kinanti.importers.validation import Count, ImportReport, assign, fail, unique, validate, where


def import_people(session: Session, records: Sequence[RawRecord], name: str) -> ImportReport:
    """Create or update people; a person's roles become exactly the file's roles."""
    valid, problems = validate(records, PersonIn, name, "people")
    people = unique(records, valid, lambda p: p.email, name, "people", problems)
    unit_codes = {p.unit for _, p in people.values() if p.unit}
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(unit_codes)))}
    for record, person_in in people.values():
        if person_in.unit and person_in.unit not in units:
            problems.append(
                where(name, record, "people")(
                    f"unit: unknown unit code {person_in.unit!r}; import the units first "
                    "(kinanti units import)"
                )
            )
    if problems:
        raise fail(name, problems)

    existing = {
        p.email: p
        for p in session.scalars(
            select(Person).where(Person.email.in_(list(people))).options(selectinload(Person.roles))
        )
    }
    count = Count()
    for email, (_, person_in) in people.items():
        values: dict[str, Any] = {
            "name": person_in.name,
            "unit_id": units[person_in.unit].id if person_in.unit else None,
            "phone": person_in.phone,
            "language": person_in.language,
            "active": person_in.active,
        }
        roles = list(dict.fromkeys(person_in.roles))
        person = existing.get(email)
        if person is None:
            person = Person(email=email, **values)
            person.roles = [PersonRole(role=role) for role in roles]
            session.add(person)
            count.add(created=True, changed=True)
            continue
        changed = assign(person, values)
        current = {r.role: r for r in person.roles}
        if set(current) != set(roles):
            # Keep the rows of roles that stay (no delete-then-insert of the same role).
            person.roles = [current.get(role) or PersonRole(role=role) for role in roles]
            changed = True
        count.add(created=False, changed=changed)
    session.flush()
    return count.report(name, "people")
