"""Pydantic models for input at the edge (files, CLI, forms) and output (JSON listings).

Limits here match the database columns so invalid text never reaches a half-written row.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from domain.enums import AdoptingAct, Bentuk, Initiator, Jenis, Language, Role, UnitKind
from domain.errors import ValidationError
from domain.iid.urusan import canonical_urusan

Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, min_length=2, max_length=32),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]

_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]*$")


def context_language(info: ValidationInfo) -> Language:
    """The language validation messages use: ``context={"language": "id"}`` (default en)."""
    context = info.context if isinstance(info.context, dict) else {}
    return Language(context.get("language") or Language.EN)


def urusan_field(value: str, info: ValidationInfo) -> str:
    """Validator: an urusan's canonical name (``domain.iid.urusan``), or the nearest names."""
    try:
        return canonical_urusan(value, context_language(info))
    except ValidationError as exc:
        raise PydanticCustomError(
            "urusan_unknown",
            "{message}",
            {
                "message": str(exc),
                "value": value,
                "suggestions": ", ".join(getattr(exc, "suggestions", ())),
            },
        ) from exc


UrusanName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
    AfterValidator(urusan_field),
]
"""An urusan in any accepted spelling; validated to its canonical name."""


def _check_code(value: str) -> str:
    if not _CODE_RE.match(value):
        raise PydanticCustomError(
            "code_characters",
            "use letters, digits, '.', '_' or '-' only (e.g. DINKES or PKM-AMPENAN)",
        )
    return value


#: Control characters no text field accepts (tab, newline and carriage return are text).
#: PostgreSQL cannot store NUL at all; the others are binary garbage or injection.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


#: The types of the errors this module's validators raise (``PydanticCustomError``): a
#: reader may word them itself (the portal does, in the person's language).
VALIDATOR_ERROR_TYPES = ("control_character", "code_characters", "urusan_unknown")

CONTROL_CHARACTER_TEXT = (
    "contains the control character {character} at position {position} "
    "(binary data or a damaged file?)"
)


def control_character_at(value: object) -> tuple[str, int] | None:
    """The first control character in ``value`` (a string, or strings in lists and
    mappings) as ``(repr, 1-based position)``, or ``None``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = CONTROL_CHARACTERS.search(item)
            if found:
                return repr(found.group()), found.start() + 1
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    return None


def control_character_problem(value: object) -> str | None:
    """Why ``value`` is refused (English, for files and the CLI), or ``None``."""
    found = control_character_at(value)
    if found is None:
        return None
    return CONTROL_CHARACTER_TEXT.format(character=found[0], position=found[1])


def refuse_control_characters(value: object) -> object:
    """Validator: ``value`` unchanged, or pydantic's error of type ``control_character``
    (its ``character`` and ``position`` in the context, so a form can say it in the
    person's language)."""
    found = control_character_at(value)
    if found is not None:
        raise PydanticCustomError(
            "control_character",
            CONTROL_CHARACTER_TEXT,
            {"character": found[0], "position": found[1]},
        )
    return value


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: object) -> object:
        return refuse_control_characters(value)

    @classmethod
    def parse(cls, data: object, language: Language | str = Language.EN) -> Self:
        """Validate ``data``; a problem raises the domain's ``ValidationError`` naming each
        field (never pydantic's own error text)."""
        try:
            return cls.model_validate(data, context={"language": str(language)})
        except PydanticValidationError as exc:
            problems = [
                f"{'.'.join(map(str, e['loc'])) or 'input'}: "
                f"{str(e['msg']).removeprefix('Value error, ')}"
                for e in exc.errors(include_url=False)
            ]
            raise ValidationError(
                problems=problems, code="input.invalid", model=cls.__name__
            ) from exc


class UnitIn(_Input):
    """A unit record in ``units.yaml`` / ``units.csv``."""

    code: Code
    name: Name
    kind: UnitKind
    parent: Code | None = Field(None, description="Code of the parent OPD (UPTD only)")
    head_name: Name | None = None
    head_email: EmailStr | None = None
    officer_name: Name | None = None
    officer_email: EmailStr | None = None
    language: Language = Language.ID
    active: bool = True

    _code = field_validator("code")(_check_code)

    @model_validator(mode="after")
    def _parent_matches_kind(self) -> UnitIn:
        if self.kind is UnitKind.UPTD and not self.parent:
            raise ValueError("parent: a UPTD must name its parent OPD (e.g. parent: DINKES)")
        if self.kind is UnitKind.OPD and self.parent:
            raise ValueError("parent: an OPD has no parent; remove 'parent' or set kind: uptd")
        return self


class PersonIn(_Input):
    """A person record in ``people.yaml`` / ``people.csv``."""

    email: EmailStr
    name: Name
    roles: list[Role] = Field(min_length=1)
    unit: Code | None = Field(None, description="Code of the person's unit, if any")
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    language: Language = Language.ID
    active: bool = True

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @model_validator(mode="after")
    def _unit_roles_need_unit(self) -> PersonIn:
        if {Role.UNIT_OFFICER, Role.UNIT_HEAD} & set(self.roles) and not self.unit:
            raise ValueError("unit: unit_officer and unit_head must name their 'unit'")
        return self


class InnovationIn(_Input):
    """An innovation proposal (the national profile fields) in ``innovations.yaml``."""

    code: Annotated[
        str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=3, max_length=40)
    ]
    title: Name
    unit: Code
    year: int = Field(ge=2000, le=2100)
    initiator: Initiator
    initiator_name: Name | None = None
    jenis: Jenis
    bentuk: Bentuk
    urusan_main: UrusanName
    urusan_other: list[UrusanName] = Field(default_factory=list, max_length=10)
    tematik: ShortText | None = None
    trial_start: dt.date | None = None
    implementation_start: dt.date | None = None
    latest_development: LongText | None = None
    design: LongText | None = None
    goals: LongText | None = None
    benefits: LongText | None = None
    results: LongText | None = None
    budget: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    adopting_act: AdoptingAct | None = None
    adopting_act_number: ShortText | None = None
    consultation_requested: bool = False
    origin: str | None = Field(None, description="Code of the innovation this one replicates")

    _code = field_validator("code")(_check_code)

    @field_validator("urusan_other")
    @classmethod
    def _urusan_once(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("origin")
    @classmethod
    def _origin_upper(cls, value: str | None) -> str | None:
        return value.strip().upper() if value else None


class GateDecisionIn(_Input):
    """A gate decision as given from the CLI or the Prefect UI form."""

    decision: Annotated[str, StringConstraints(to_lower=True)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    reviewer: EmailStr


class ScorecardIn(_Input):
    """Trial evaluation against the five criteria of PP 38/2017 (1 = poor .. 5 = excellent)."""

    renewal: int = Field(ge=1, le=5, description="Contains renewal (kebaruan)")
    benefit: int = Field(ge=1, le=5, description="Benefits the region or citizens")
    no_burden: int = Field(ge=1, le=5, description="No burden on citizens beyond the rules")
    authority: int = Field(ge=1, le=5, description="Within the region's authority")
    replicable: int = Field(ge=1, le=5, description="Can be replicated")
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None
