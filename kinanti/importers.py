"""Import units, people and innovation proposals from YAML, JSON or CSV files.

A file is read and every record validated (``domain.schemas``) and cross-checked against the
file and the registry *before* anything is written; all problems of a file are reported at
once, each naming the file, the record number (1-based), the record's code or email and the
field. Then all records are written in the caller's transaction: a file imports completely or
not at all. Re-importing a file is idempotent (rows are updated, never duplicated).

Accepted shapes (chosen by the file's extension):

- ``.yaml`` / ``.yml`` / ``.json``: a list of records, a mapping with the top-level key
  (``units:``, ``people:``, ``innovations:``) holding that list, or a single record;
- ``.csv``: a header row with the field names; list fields (``roles``, ``urusan_other``) are
  separated by ``;``, ``|`` or ``,``; empty cells mean "not given".
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import pydantic
import yaml
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, aliased, selectinload

from domain.changes import SYSTEM_ACTOR
from domain.enums import UnitKind
from domain.errors import KinantiError, NotFoundError, ValidationError
from domain.models import Innovation, Person, PersonRole, Unit
from domain.schemas import InnovationIn, PersonIn, UnitIn
from domain.submission import submit_innovation
from kinanti.db import unit_of_work

RecordKind = Literal["units", "people", "innovations"]

#: The field that names a record in messages, per kind.
IDENTITY: dict[str, str] = {"units": "code", "people": "email", "innovations": "code"}

#: Fields holding a list; in CSV cells they are separated by ``;``, ``|`` or ``,``.
LIST_FIELDS = frozenset({"roles", "urusan_other"})
_LIST_SEPARATORS = re.compile(r"[;|,]")

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class RawRecord:
    """One record as read from a file, before validation."""

    number: int  # 1-based position in the file
    line: int | None  # where the record starts, when the format tells
    data: Any


class ImportReport(BaseModel):
    """What an import changed."""

    file: str = Field(description="Name of the imported file")
    kind: str = Field(description="units, people or innovations")
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


class _Count:
    def __init__(self) -> None:
        self.created = self.updated = self.unchanged = 0

    def add(self, *, created: bool, changed: bool) -> None:
        if created:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1

    def report(self, file: str, kind: str) -> ImportReport:
        return ImportReport(
            file=file,
            kind=kind,
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
        )


# ---------------------------------------------------------------- reading


def read_records(path: Path, kind: RecordKind) -> list[RawRecord]:
    """Read the records of ``path`` (format by extension); raise ``ValidationError`` if
    the file is malformed or holds no records."""
    if not path.is_file():
        raise NotFoundError(f"{path}: file not found")
    suffix = path.suffix.lower()
    readers: dict[str, Callable[[str, str, RecordKind], list[RawRecord]]] = {
        ".yaml": _read_yaml,
        ".yml": _read_yaml,
        ".json": _read_json,
        ".csv": _read_csv,
    }
    reader = readers.get(suffix)
    if reader is None:
        raise ValidationError(
            f"{path.name}: unsupported file type {suffix or '(none)'!r}; "
            "use .yaml, .yml, .json or .csv"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path.name}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from exc
    records = reader(text, path.name, kind)
    if not records:
        raise ValidationError(f"{path.name}: no {kind} records found")
    return records


def _read_yaml(text: str, name: str, kind: RecordKind) -> list[RawRecord]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationError(f"{name}: {where}malformed YAML: {problem}") from exc
    finally:
        loader.dispose()
    if data is None:
        return []
    items, item_nodes = _top_level(data, node, name, kind)
    lines: list[int | None] = [n.start_mark.line + 1 for n in item_nodes]
    lines += [None] * (len(items) - len(lines))
    return [
        RawRecord(i, line, item)
        for i, (item, line) in enumerate(zip(items, lines, strict=False), 1)
    ]


def _read_json(text: str, name: str, kind: RecordKind) -> list[RawRecord]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{name}: line {exc.lineno}, column {exc.colno}: malformed JSON: {exc.msg}"
        ) from exc
    items, _ = _top_level(data, None, name, kind)
    return [RawRecord(i, None, item) for i, item in enumerate(items, 1)]


def _top_level(
    data: Any, node: yaml.Node | None, name: str, kind: RecordKind
) -> tuple[list[Any], list[yaml.Node]]:
    """The list of records (and their YAML nodes) out of a list, ``{kind: [...]}`` or one
    record."""
    if isinstance(data, list):
        nodes = list(node.value) if isinstance(node, yaml.SequenceNode) else []
        return data, nodes
    if isinstance(data, dict):
        if kind in data:
            items = data[kind]
            value_node = None
            if isinstance(node, yaml.MappingNode):
                value_node = next((v for k, v in node.value if k.value == kind), None)
            if not isinstance(items, list):
                raise ValidationError(f"{name}: '{kind}:' must hold a list of records")
            nodes = list(value_node.value) if isinstance(value_node, yaml.SequenceNode) else []
            return items, nodes
        others = {"units", "people", "innovations"} & set(data)
        if others:
            raise ValidationError(
                f"{name}: expected a list of {kind} or a mapping with the key '{kind}:'; "
                f"found '{sorted(others)[0]}:' (wrong file for this command?)"
            )
        return [data], [node] if node is not None else []
    raise ValidationError(
        f"{name}: expected a list of {kind} records or a mapping with the key '{kind}:'"
    )


def _read_csv(text: str, name: str, kind: RecordKind) -> list[RawRecord]:
    reader = csv.DictReader(text.splitlines(keepends=True), strict=True)
    records: list[RawRecord] = []
    number = 0
    start = 1  # the line where the row being read begins
    try:
        if not reader.fieldnames:
            return []
        start = 2
        for row in reader:
            line = start
            start = reader.line_num + 1
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            number += 1
            data: dict[Any, Any] = {}
            for key, value in row.items():
                if key is None:
                    data[None] = value  # extra cells: reported by validation
                    continue
                key = key.strip()
                if value is None or not value.strip():
                    continue
                value = value.strip()
                if key in LIST_FIELDS:
                    data[key] = [v.strip() for v in _LIST_SEPARATORS.split(value) if v.strip()]
                else:
                    data[key] = value
            records.append(RawRecord(number, line, data))
    except csv.Error as exc:
        raise ValidationError(f"{name}: line {start}: malformed CSV: {exc}") from exc
    return records


# ---------------------------------------------------------------- validation


def _identity(record: RawRecord, kind: RecordKind) -> str | None:
    if not isinstance(record.data, dict):
        return None
    value = record.data.get(IDENTITY[kind])
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    return text.lower() if kind == "people" else text.upper()


def _where(name: str, record: RawRecord, kind: RecordKind) -> Callable[[str], str]:
    """A function that prefixes a problem with the file, record number and identity."""
    ident = _identity(record, kind)
    label = f"{name}: record {record.number}"
    if ident:
        label += f" ({IDENTITY[kind]} {ident})"
    suffix = f" (line {record.line})" if record.line else ""
    return lambda problem: f"{label}: {problem}{suffix}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def describe_error(error: Any) -> str:
    """One pydantic error in the user's terms: ``field: what is wrong``."""
    loc = ".".join(str(p) for p in error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        text = "is required but missing"
    elif kind == "extra_forbidden":
        text = f"is not a known field (value {_short(value)}); check the spelling"
    elif kind in ("enum", "literal_error"):
        text = f"{_short(value)} is not allowed; allowed values: {ctx.get('expected', '?')}"
    elif kind == "string_too_long":
        text = f"text is {len(str(value))} characters long; at most {ctx['max_length']} allowed"
    elif kind == "string_too_short":
        text = f"{_short(value)} is too short; at least {ctx['min_length']} characters"
    elif kind == "too_long":
        text = f"has {ctx.get('actual_length', '?')} items; at most {ctx['max_length']} allowed"
    elif kind == "too_short":
        text = f"needs at least {ctx['min_length']} item(s)"
    elif message.startswith("value is not a valid email address"):
        reason = ctx.get("reason") or message.split(":", 1)[-1].strip()
        text = f"{_short(value)} is not a valid email ({reason})"
    elif kind == "value_error":
        text = message if not loc else f"{_short(value)}: {message}"
    else:
        text = f"{_short(value)}: {message}"
    if not loc:
        return text  # model-level messages already start with the field name
    return f"{loc}: {text}"


def _validate(
    records: Sequence[RawRecord], model: type[M], name: str, kind: RecordKind
) -> tuple[list[tuple[RawRecord, M]], list[str]]:
    valid: list[tuple[RawRecord, M]] = []
    problems: list[str] = []
    for record in records:
        where = _where(name, record, kind)
        if not isinstance(record.data, dict):
            problems.append(where(f"expected a mapping of fields, got {_short(record.data)}"))
            continue
        if None in record.data:
            problems.append(where("the row has more cells than the header has columns"))
            continue
        try:
            valid.append((record, model.model_validate(record.data)))
        except pydantic.ValidationError as exc:
            problems.extend(where(describe_error(e)) for e in exc.errors())
    return valid, problems


def _unique(
    records: Sequence[RawRecord],
    valid: Iterable[tuple[RawRecord, M]],
    key: Callable[[M], str],
    name: str,
    kind: RecordKind,
    problems: list[str],
) -> dict[str, tuple[RawRecord, M]]:
    """First occurrence of each code or email; later repeats are problems (checked on every
    record, valid or not)."""
    field = IDENTITY[kind]
    first_seen: dict[str, int] = {}
    repeated: set[int] = set()

    def repeat(record: RawRecord, value: str, first: int) -> None:
        repeated.add(record.number)
        problems.append(
            _where(name, record, kind)(
                f"{field}: {value} appears twice in the file (first at record {first})"
            )
        )

    for record in records:
        ident = _identity(record, kind)
        if ident is None:
            continue
        if ident in first_seen:
            repeat(record, ident, first_seen[ident])
        else:
            first_seen[ident] = record.number
    unique: dict[str, tuple[RawRecord, M]] = {}
    for record, item in valid:
        value = key(item)
        if record.number in repeated:
            continue
        if value in unique:  # same after normalisation (e.g. an email's domain case)
            repeat(record, value, unique[value][0].number)
        else:
            unique[value] = (record, item)
    return unique


def _invalid_identities(
    records: Sequence[RawRecord], valid: Sequence[tuple[RawRecord, Any]], kind: RecordKind
) -> set[str]:
    """Codes of records that failed validation (so references to them add no noise)."""
    ok = {r.number for r, _ in valid}
    return {i for r in records if r.number not in ok and (i := _identity(r, kind))}


_RECORD_NUMBER = re.compile(r": record (\d+)")


def _fail(name: str, problems: list[str]) -> ValidationError:
    def record_number(problem: str) -> int:
        found = _RECORD_NUMBER.search(problem)
        return int(found.group(1)) if found else 0

    problems = sorted(problems, key=record_number)  # stable: a record's problems stay in order
    count = len(problems)
    return ValidationError(
        f"{name}: {count} problem{'s' if count != 1 else ''}; nothing was written", problems
    )


# ---------------------------------------------------------------- units


def import_units(session: Session, records: Sequence[RawRecord], name: str) -> ImportReport:
    """Create or update units in ``session`` (parents may come later in the file)."""
    valid, problems = _validate(records, UnitIn, name, "units")
    units = _unique(records, valid, lambda u: u.code, name, "units", problems)
    invalid = _invalid_identities(records, valid, "units")
    wanted = set(units) | {u.parent for _, u in units.values() if u.parent}
    existing = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(wanted)))}

    def kind_of(code: str) -> UnitKind | None:
        if code in units:
            return units[code][1].kind
        return existing[code].kind if code in existing else None

    for record, unit_in in units.values():
        where = _where(name, record, "units")
        parent = unit_in.parent
        if not parent:
            continue
        if parent == unit_in.code:
            problems.append(where(f"parent: {parent} cannot be its own parent"))
        elif (parent_kind := kind_of(parent)) is None:
            if parent in invalid:
                continue  # that record's own problems are reported
            problems.append(
                where(f"parent: unknown unit code {parent!r} (not in this file nor registered)")
            )
        elif parent_kind is UnitKind.UPTD:
            problems.append(
                where(f"parent: {parent} is a UPTD; a UPTD's parent must be an OPD (kind: opd)")
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
                    _where(name, record, "units")(
                        f"kind: {parent} is the parent of {child}; it cannot become a UPTD"
                    )
                )
    if problems:
        raise _fail(name, problems)

    count = _Count()
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
            count.add(created=False, changed=_assign(unit, values))
    session.flush()
    return count.report(name, "units")


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Set the values that differ; tell whether anything changed."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


# ---------------------------------------------------------------- people


def import_people(session: Session, records: Sequence[RawRecord], name: str) -> ImportReport:
    """Create or update people; a person's roles become exactly the file's roles."""
    valid, problems = _validate(records, PersonIn, name, "people")
    people = _unique(records, valid, lambda p: p.email, name, "people", problems)
    unit_codes = {p.unit for _, p in people.values() if p.unit}
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(unit_codes)))}
    for record, person_in in people.values():
        if person_in.unit and person_in.unit not in units:
            problems.append(
                _where(name, record, "people")(
                    f"unit: unknown unit code {person_in.unit!r}; import the units first "
                    "(kinanti units import)"
                )
            )
    if problems:
        raise _fail(name, problems)

    existing = {
        p.email: p
        for p in session.scalars(
            select(Person).where(Person.email.in_(list(people))).options(selectinload(Person.roles))
        )
    }
    count = _Count()
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
        changed = _assign(person, values)
        current = {r.role: r for r in person.roles}
        if set(current) != set(roles):
            # Keep the rows of roles that stay (no delete-then-insert of the same role).
            person.roles = [current.get(role) or PersonRole(role=role) for role in roles]
            changed = True
        count.add(created=False, changed=changed)
    session.flush()
    return count.report(name, "people")


# ---------------------------------------------------------------- innovations


def import_innovations(
    session: Session, records: Sequence[RawRecord], name: str, *, actor: str = SYSTEM_ACTOR
) -> ImportReport:
    """Submit (create at planning, or update the profile of) each innovation of the file."""
    valid, problems = _validate(records, InnovationIn, name, "innovations")
    items = _unique(records, valid, lambda i: i.code, name, "innovations", problems)
    invalid = _invalid_identities(records, valid, "innovations")
    unit_codes = {i.unit for _, i in items.values()}
    units_by_code = {
        u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(unit_codes)))
    }
    codes = set(items) | {i.origin for _, i in items.values() if i.origin}
    registered = {
        code: (unit_id, unit_code)
        for code, unit_id, unit_code in session.execute(
            select(Innovation.code, Innovation.unit_id, Unit.code)
            .join(Unit, Innovation.unit_id == Unit.id)
            .where(Innovation.code.in_(codes))
        )
    }
    for record, item in items.values():
        where = _where(name, record, "innovations")
        unit = units_by_code.get(item.unit)
        if unit is None:
            problems.append(where(f"unit: unknown unit code {item.unit!r}; import the units first"))
        elif not unit.active:
            problems.append(where(f"unit: {item.unit} is inactive and cannot submit innovations"))
        if item.code in registered and unit is not None and registered[item.code][0] != unit.id:
            problems.append(
                where(
                    f"code: {item.code} is already registered for unit {registered[item.code][1]};"
                    " innovation codes must be unique"
                )
            )
        if item.origin:
            origin_unit = (
                items[item.origin][1].unit
                if item.origin in items
                else registered.get(item.origin, (None, None))[1]
            )
            if item.origin == item.code:
                problems.append(where("origin: an innovation cannot replicate itself"))
            elif origin_unit is None:
                if item.origin not in invalid:
                    problems.append(
                        where(
                            f"origin: innovation {item.origin!r} does not exist "
                            "(not in this file nor registered)"
                        )
                    )
            elif origin_unit == item.unit:
                problems.append(
                    where(
                        f"origin: {item.origin} belongs to {item.unit}; "
                        "a unit cannot replicate its own innovation"
                    )
                )
    ordered = _origins_first([item for _, item in items.values()])
    if ordered is None:
        problems.append(f"{name}: the 'origin' links of this file form a cycle")
    if problems:
        raise _fail(name, problems)
    assert ordered is not None

    count = _Count()
    for item in ordered:
        record = items[item.code][0]
        try:
            _, created, result = submit_innovation(
                session, item, actor=actor, units_by_code=units_by_code
            )
        except KinantiError as exc:
            problems.append(_where(name, record, "innovations")(str(exc)))
            continue
        count.add(created=created, changed=bool(result.events))
    if problems:
        raise _fail(name, problems)
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


# ---------------------------------------------------------------- one file, one transaction


def import_file(
    kind: RecordKind,
    path: Path,
    *,
    engine: Engine | None = None,
    actor: str = SYSTEM_ACTOR,
) -> ImportReport:
    """Read, validate and write one file in one transaction (all records or none)."""
    records = read_records(path, kind)
    with unit_of_work(engine) as session:
        if kind == "units":
            return import_units(session, records, path.name)
        if kind == "people":
            return import_people(session, records, path.name)
        return import_innovations(session, records, path.name, actor=actor)
