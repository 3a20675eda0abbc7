"""Checks of an innovation's profile (the national "Profil Inovasi"): pure functions.

One place for what the importers, the submission service, the planning gate, the
readiness check for the national collection and (later) the portal's forms check:

- ``submission_problems``: may this record be submitted? (its unit exists and is active,
  its code is not another unit's, its origin exists and belongs to another unit);
- ``profile_gaps``: what the profile lacks (empty required fields, a design narrative
  under the minimum number of words, no budget), as typed gaps that each caller words
  in the reader's language.

No database access here: callers pass what they looked up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

MIN_DESIGN_WORDS = 300
"""The design narrative (rancang bangun) needs at least this many words."""

PROPOSAL_FIELDS = ("goals", "benefits", "urusan_main", "tematik", "title")
"""Text fields a proposal must fill before the planning gate (PP 38/2017)."""

NATIONAL_FIELDS = (*PROPOSAL_FIELDS, "results", "initiator_name", "adopting_act_number")
"""Text fields the national application asks for (an implemented innovation)."""


class Profile(Protocol):
    """What the checks read: an ``Innovation`` row or an ``InnovationIn`` record."""

    @property
    def title(self) -> str: ...
    @property
    def design(self) -> str | None: ...
    @property
    def goals(self) -> str | None: ...
    @property
    def benefits(self) -> str | None: ...
    @property
    def results(self) -> str | None: ...
    @property
    def urusan_main(self) -> str: ...
    @property
    def tematik(self) -> str | None: ...
    @property
    def initiator_name(self) -> str | None: ...
    @property
    def adopting_act_number(self) -> str | None: ...
    @property
    def budget(self) -> Decimal | None: ...
    @property
    def implementation_start(self) -> dt.date | None: ...


@dataclass(frozen=True)
class ProfileFields:
    """A profile given field by field (for callers that hold no row or record)."""

    title: str = ""
    design: str | None = None
    goals: str | None = None
    benefits: str | None = None
    results: str | None = None
    urusan_main: str = ""
    tematik: str | None = None
    initiator_name: str | None = None
    adopting_act_number: str | None = None
    budget: Decimal | None = None
    implementation_start: dt.date | None = None


class GapKind(StrEnum):
    EMPTY = "empty"
    DESIGN_WORDS = "design_words"
    NO_BUDGET = "no_budget"


@dataclass(frozen=True)
class Gap:
    """One thing the profile lacks: an empty ``field``, or a short design narrative."""

    kind: GapKind
    field: str
    words: int = 0
    minimum: int = 0


def design_words(design: str | None) -> int:
    return len((design or "").split())


def profile_gaps(
    profile: Profile,
    *,
    fields: tuple[str, ...] = PROPOSAL_FIELDS,
    min_words: int = MIN_DESIGN_WORDS,
) -> tuple[Gap, ...]:
    """What ``profile`` lacks: the design narrative first, then empty ``fields``, then the
    budget."""
    gaps: list[Gap] = []
    words = design_words(profile.design)
    if words < min_words:
        gaps.append(Gap(GapKind.DESIGN_WORDS, "design", words=words, minimum=min_words))
    for name in fields:
        value = getattr(profile, name)
        if value is None or not str(value).strip():
            gaps.append(Gap(GapKind.EMPTY, name))
    if profile.budget is None:
        gaps.append(Gap(GapKind.NO_BUDGET, "budget"))
    return tuple(gaps)


@dataclass(frozen=True)
class UnitRef:
    """The unit a record names, as found in the registry (or in the same file)."""

    id: int | None
    code: str
    active: bool


@dataclass(frozen=True)
class InnovationRef:
    """An innovation already known (registered, or earlier in the same file)."""

    code: str
    unit_code: str


class ProblemKind(StrEnum):
    UNKNOWN_UNIT = "unknown_unit"
    INACTIVE_UNIT = "inactive_unit"
    CODE_TAKEN = "code_taken"
    SELF_ORIGIN = "self_origin"
    UNKNOWN_ORIGIN = "unknown_origin"
    OWN_ORIGIN = "own_origin"


@dataclass(frozen=True)
class Problem:
    """Why a record cannot be submitted; ``message`` starts with the field."""

    kind: ProblemKind
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def submission_problems(
    *,
    code: str,
    unit_code: str,
    origin_code: str | None,
    unit: UnitRef | None,
    registered: InnovationRef | None,
    origin: InnovationRef | None,
) -> list[Problem]:
    """Why the record ``code`` of ``unit_code`` cannot be submitted (empty: it can).

    ``unit`` is the unit found for ``unit_code`` (``None``: none); ``registered`` the
    innovation already registered under ``code``; ``origin`` the innovation found for
    ``origin_code``."""
    problems: list[Problem] = []
    if unit is None:
        problems.append(
            Problem(
                ProblemKind.UNKNOWN_UNIT,
                "unit",
                f"unknown unit code {unit_code!r}; import the units first",
            )
        )
    elif not unit.active:
        problems.append(
            Problem(
                ProblemKind.INACTIVE_UNIT,
                "unit",
                f"{unit_code} is inactive and cannot submit innovations",
            )
        )
    if registered is not None and unit is not None and registered.unit_code != unit.code:
        problems.append(
            Problem(
                ProblemKind.CODE_TAKEN,
                "code",
                f"{code} is already registered for unit {registered.unit_code}; "
                "innovation codes must be unique",
            )
        )
    if origin_code:
        if origin_code == code:
            problems.append(
                Problem(ProblemKind.SELF_ORIGIN, "origin", "an innovation cannot replicate itself")
            )
        elif origin is None:
            problems.append(
                Problem(
                    ProblemKind.UNKNOWN_ORIGIN,
                    "origin",
                    f"innovation {origin_code!r} does not exist (not in this file nor registered)",
                )
            )
        elif origin.unit_code == unit_code:
            problems.append(
                Problem(
                    ProblemKind.OWN_ORIGIN,
                    "origin",
                    f"{origin_code} belongs to {unit_code}; "
                    "a unit cannot replicate its own innovation",
                )
            )
    return problems
