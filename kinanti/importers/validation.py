"""Validating raw records: every problem of a file, each naming the file, the record
number (1-based), the record's code or email and the field; and what an import changed."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import pydantic
from pydantic import BaseModel, Field

from domain.errors import ValidationError
from domain.messages import words
from domain.schemas import VALIDATOR_ERROR_TYPES
from kinanti.importers.files import IDENTITY, RawRecord, RecordKind

M = TypeVar("M", bound=BaseModel)


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


class Count:
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


def identity(record: RawRecord, kind: RecordKind) -> str | None:
    if not isinstance(record.data, dict):
        return None
    value = record.data.get(IDENTITY[kind])
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    return text.lower() if kind == "people" else text.upper()


def where(name: str, record: RawRecord, kind: RecordKind) -> Callable[[str], str]:
    """A function that prefixes a problem with the file, record number and identity."""
    ident = identity(record, kind)
    label = f"{name}: record {record.number}"
    if ident:
        label += f" ({IDENTITY[kind]} {ident})"
    suffix = f" (line {record.line})" if record.line else ""
    return lambda problem: f"{label}: {problem}{suffix}"


def short(value: Any) -> str:
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
        text = f"is not a known field (value {short(value)}); check the spelling"
    elif kind in ("enum", "literal_error"):
        text = f"{short(value)} is not allowed; allowed values: {ctx.get('expected', '?')}"
    elif kind == "string_too_long":
        text = f"text is {len(str(value))} characters long; at most {ctx['max_length']} allowed"
    elif kind == "string_too_short":
        text = f"{short(value)} is too short; at least {ctx['min_length']} characters"
    elif kind == "too_long":
        text = f"has {ctx.get('actual_length', '?')} items; at most {ctx['max_length']} allowed"
    elif kind == "too_short":
        text = f"needs at least {ctx['min_length']} item(s)"
    elif message.startswith("value is not a valid email address"):
        reason = ctx.get("reason") or message.split(":", 1)[-1].strip()
        text = f"{short(value)} is not a valid email ({reason})"
    elif kind in ("value_error", *VALIDATOR_ERROR_TYPES):
        # a message that already quotes the value (e.g. an unknown urusan) is not prefixed
        quoted = repr(value) in message
        text = message if not loc or quoted else f"{short(value)}: {message}"
    else:
        text = f"{short(value)}: {message}"
    if not loc:
        return text  # model-level messages already start with the field name
    return f"{loc}: {text}"


def validate(
    records: Sequence[RawRecord],
    model: type[M],
    name: str,
    kind: RecordKind,
    language: str = "en",
) -> tuple[list[tuple[RawRecord, M]], list[str]]:
    valid: list[tuple[RawRecord, M]] = []
    problems: list[str] = []
    for record in records:
        at = where(name, record, kind)
        if not isinstance(record.data, dict):
            problems.append(at(f"expected a mapping of fields, got {short(record.data)}"))
            continue
        if None in record.data:
            problems.append(at("the row has more cells than the header has columns"))
            continue
        try:
            valid.append(
                (record, model.model_validate(record.data, context={"language": language}))
            )
        except pydantic.ValidationError as exc:
            problems.extend(at(describe_error(e)) for e in exc.errors())
    return valid, problems


def unique(
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
            where(name, record, kind)(
                f"{field}: {value} appears twice in the file (first at record {first})"
            )
        )

    for record in records:
        ident = identity(record, kind)
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


def invalid_identities(
    records: Sequence[RawRecord], valid: Sequence[tuple[RawRecord, Any]], kind: RecordKind
) -> set[str]:
    """Codes of records that failed validation (so references to them add no noise)."""
    ok = {r.number for r, _ in valid}
    return {i for r in records if r.number not in ok and (i := identity(r, kind))}


_RECORD_NUMBER = re.compile(r": record (\d+)")


def fail(name: str, problems: list[str]) -> ValidationError:
    def record_number(problem: str) -> int:
        found = _RECORD_NUMBER.search(problem)
        return int(found.group(1)) if found else 0

    problems = sorted(problems, key=record_number)  # stable: a record's problems stay in order
    count = len(problems)
    noun = words("masalah", "problem" if count == 1 else "problems")
    return ValidationError(
        problems=problems, code="import.problems", file=name, count=count, noun=noun
    )


def assign(row: Any, values: dict[str, Any]) -> bool:
    """Set the values that differ; tell whether anything changed."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed
