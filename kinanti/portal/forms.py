"""Every portal form is a pydantic model; errors become a GOV.UK error summary.

``parse(Form, data, lang)`` returns the model or the list of :class:`FieldError` in the
person's language, each naming the field it belongs to (the summary links to it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from domain.enums import Bentuk, GateDecisionKind, Initiator, Jenis, Language
from domain.errors import KinantiError
from domain.klinik import PublicRequestIn
from domain.schemas import InnovationIn, ScorecardIn
from kinanti.portal.security import MAX_PASSWORD, MIN_PASSWORD
from kinanti.portal.texts import MESSAGES, t


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


def _blank_is_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


Opt = BeforeValidator(_blank_is_none)
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class _Form(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


def _reason_required(field: str, when: Callable[[Any], bool]) -> Any:
    """A form's check that ``field`` (a reason or a note) is given ``when`` the rest of the
    form needs one (a rejection, a closing)."""

    def check(form: Any) -> Any:
        if when(form) and not getattr(form, field):
            raise ValueError(f"err.reason_required@{field}")
        return form

    return model_validator(mode="after")(check)


class SignInForm(_Form):
    email: Annotated[str, StringConstraints(min_length=1, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD)]


class LinkRequestForm(_Form):
    email: EmailStr


class SetPasswordForm(_Form):
    password: Annotated[str, StringConstraints(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]
    confirm: str

    @model_validator(mode="after")
    def _same(self) -> SetPasswordForm:
        if self.password != self.confirm:
            raise ValueError("err.password_mismatch@confirm")
        return self


class ProposalForm(_Form):
    """The national profile fields of a new proposal (or a revision of one)."""

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40)]
    title: Text
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    year: int = Field(ge=2000, le=2100)
    initiator: Initiator
    initiator_name: Annotated[Text | None, Opt] = None
    jenis: Jenis
    bentuk: Bentuk
    urusan_main: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    urusan_other: Annotated[str | None, Opt] = None
    tematik: Annotated[Annotated[str, StringConstraints(max_length=120)] | None, Opt] = None
    trial_start: Annotated[dt.date | None, Opt] = None
    implementation_start: Annotated[dt.date | None, Opt] = None
    design: Annotated[LongText | None, Opt] = None
    goals: Annotated[LongText | None, Opt] = None
    benefits: Annotated[LongText | None, Opt] = None
    results: Annotated[LongText | None, Opt] = None
    budget: Annotated[Decimal | None, Opt] = Field(None, ge=0, max_digits=18, decimal_places=2)
    consultation_requested: Annotated[bool, BeforeValidator(lambda v: v in ("on", "1", True))] = (
        False
    )

    @property
    def design_words(self) -> int:
        return len((self.design or "").split())

    def other_affairs(self) -> list[str]:
        return [a.strip() for a in (self.urusan_other or "").split(",") if a.strip()]

    def to_innovation(self) -> InnovationIn:
        data = self.model_dump(exclude={"urusan_other"})
        return InnovationIn.model_validate({**data, "urusan_other": self.other_affairs()})

    def as_fields(self) -> dict[str, str]:
        """The values as form fields (hidden inputs on "check your answers")."""
        out: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if value is None or value is False:
                continue
            out[name] = "on" if value is True else str(value)
        return out


class ResubmitForm(_Form):
    note: Annotated[Reason | None, Opt] = None


class EvidenceForm(_Form):
    indicator: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    level: int = Field(ge=1, le=3)
    link: Annotated[Annotated[str, StringConstraints(max_length=1000)] | None, Opt] = None


class VerifyForm(_Form):
    decision: Literal["accept", "reject"]
    note: Annotated[Reason | None, Opt] = None

    _reason_to_reject = _reason_required("note", lambda form: form.decision == "reject")


class DecisionForm(_Form):
    decision: GateDecisionKind
    reason: Annotated[Reason, Field(default="")]
    renewal: Annotated[int | None, Opt] = Field(None, ge=1, le=5)
    benefit: Annotated[int | None, Opt] = Field(None, ge=1, le=5)
    no_burden: Annotated[int | None, Opt] = Field(None, ge=1, le=5)
    authority: Annotated[int | None, Opt] = Field(None, ge=1, le=5)
    replicable: Annotated[int | None, Opt] = Field(None, ge=1, le=5)

    _reason_unless_approve = _reason_required(
        "reason", lambda form: form.decision is not GateDecisionKind.APPROVE
    )

    def scorecard(self) -> ScorecardIn | None:
        scores = {n: getattr(self, n) for n in SCORE_FIELDS}
        if all(v is None for v in scores.values()):
            return None
        return ScorecardIn.model_validate(scores)


SCORE_FIELDS = ("renewal", "benefit", "no_burden", "authority", "replicable")


# ---------------------------------------------------------------- Klinik Kinanti

Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=254)]
UnitCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
LocalTime = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^([01]?\d|2[0-3])[:.][0-5]\d$")
]


def _emails(value: Any) -> list[str]:
    """Addresses from a text box (one per line, or separated by commas) or checkboxes."""
    items = value if isinstance(value, list) else [value] if value else []
    return [e.strip().lower() for item in items for e in str(item).replace(",", "\n").split()]


EmailList = Annotated[list[Email], BeforeValidator(_emails)]


class _WhenForm(_Form):
    day: dt.date
    time: LocalTime
    place: Annotated[Annotated[str, StringConstraints(max_length=200)] | None, Opt] = None

    def local(self) -> str:
        return f"{self.day.isoformat()} {self.time.replace('.', ':')}"


class BookForm(_WhenForm):
    unit: UnitCode
    innovation: Annotated[Annotated[str, StringConstraints(max_length=40)] | None, Opt] = None
    adoption: Annotated[int | None, Opt] = Field(None, ge=1)
    topic: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
    mentor: Annotated[Email | None, Opt] = None
    attendees: EmailList = Field(default_factory=list)


class RescheduleForm(_WhenForm):
    pass


class CancelForm(_Form):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]


class AttendeesForm(_Form):
    attendees: EmailList = Field(min_length=1)


class SessionForm(_Form):
    notes: Annotated[LongText | None, Opt] = None
    present: EmailList = Field(default_factory=list)


class FollowUpForm(_Form):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]
    owner: Email
    due_on: dt.date


class CompleteForm(_Form):
    outcome: Literal["done", "closed"]
    note: Annotated[Reason | None, Opt] = None

    _note_to_close = _reason_required("note", lambda form: form.outcome == "closed")


class VisitForm(_Form):
    unit: UnitCode
    visited_on: dt.date
    place: Text
    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
    outcome: Annotated[LongText | None, Opt] = None
    innovation: Annotated[Annotated[str, StringConstraints(max_length=40)] | None, Opt] = None
    innovator: Annotated[Email | None, Opt] = None


class PublicForm(PublicRequestIn):
    """The public form: the domain's model of a public request (extra fields such as the
    CSRF token are taken off before validation)."""


class TriageProposalForm(_Form):
    unit: UnitCode
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40)]
    title: Text
    year: int = Field(ge=2000, le=2100)
    jenis: Jenis
    bentuk: Bentuk
    urusan_main: Annotated[str, StringConstraints(min_length=1, max_length=120)]


class ReplyForm(_Form):
    reply: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=5000)]


F = TypeVar("F", bound=BaseModel)

_TYPE_KEYS = {
    "missing": "err.missing",
    "string_too_short": "err.missing",
    "string_too_long": "err.too_long",
    "int_parsing": "err.number",
    "int_type": "err.number",
    "decimal_parsing": "err.number",
    "decimal_type": "err.number",
    "decimal_max_digits": "err.number",
    "decimal_max_places": "err.number",
    "greater_than_equal": "err.range",
    "less_than_equal": "err.range",
    "date_from_datetime_parsing": "err.date",
    "date_parsing": "err.date",
    "date_type": "err.date",
    "enum": "err.choose",
    "literal_error": "err.choose",
    "value_error": "err.invalid",
    "string_pattern_mismatch": "err.invalid",
    "list_type": "err.invalid",
    "extra_forbidden": "err.invalid",
    "bool_parsing": "err.invalid",
}

#: Error types the domain's validators raise (``PydanticCustomError``): the portal's own
#: message for each, formatted with the field's label and the error's context.
_CUSTOM_KEYS = {
    "control_character": "err.control_character",
    "code_characters": "err.code_characters",
    "phone": "err.phone",
    "urusan_unknown": "err.urusan_unknown",
}

#: Error types that, on an empty value, mean the field was left empty.
_EMPTY = frozenset({"missing", "string_type", "string_too_short"})

#: Fields whose pydantic validator speaks English (the email check): their message is
#: the portal's.
_VALUE_ERROR_KEYS = {"email": "err.email"}


def _message(err: Any, name: str, lang: Language) -> FieldError:
    """One pydantic error as the portal's message, in ``lang``: every text comes from the
    translation table (``texts.py``), never pydantic's or a validator's English."""
    label = t(f"field.{name}", lang) if f"field.{name}" in MESSAGES else name
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in _CUSTOM_KEYS:
        text = t(_CUSTOM_KEYS[kind], lang, label=label, **ctx)
        if kind == "urusan_unknown" and ctx.get("suggestions"):
            text += t("err.urusan_nearest", lang, names=ctx["suggestions"])
        return FieldError(name, text)
    if kind == "value_error" and name in _VALUE_ERROR_KEYS:
        return FieldError(name, t(_VALUE_ERROR_KEYS[name], lang))
    value = err.get("input")
    if (value is None or (isinstance(value, str) and not value.strip())) and kind in _EMPTY:
        return FieldError(name, t("err.missing", lang, label=label))  # left empty: ask for it
    minimum = ctx.get("min_length")
    if kind == "string_too_short" and isinstance(minimum, int) and minimum > 1:
        return FieldError(name, t("err.too_short", lang, label=label, min=minimum))
    return FieldError(name, t(_TYPE_KEYS.get(kind, "err.invalid"), lang, label=label))


def errors_of(exc: ValidationError, lang: Language) -> list[FieldError]:
    """Translate pydantic's errors into messages naming the field, in ``lang``."""
    found: list[FieldError] = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
        name = loc[0] if loc else ""
        message = str((err.get("ctx") or {}).get("error", err["msg"]))
        if err["type"] == "value_error" and "@" in message:
            key, _, target = message.removeprefix("Value error, ").partition("@")
            if key in MESSAGES:  # "err.key@field" (an email's own "@" is not one)
                found.append(FieldError(target, t(key, lang)))
                continue
        found.append(_message(err, name, lang))
    return found


#: The form field a domain refusal is about (by its code), so that the page shows the
#: message at that field as well as in the summary. ``klinik.text_*`` name their field.
_DOMAIN_FIELDS = {
    "klinik.visit_future": "visited_on",
    "klinik.unit_unknown": "unit",
    "innovation.unknown": "innovation",
    "klinik.in_past": "day",
    "klinik.time_invalid": "time",
    "klinik.due_past": "due_on",
    "klinik.owner_unknown": "owner",
    "klinik.attendee_not_allowed": "attendees",
    "klinik.not_attendee": "present",
    "klinik.note_required": "note",
}


def domain_errors(exc: KinantiError, form: type[BaseModel], lang: Language) -> list[FieldError]:
    """A domain refusal of a valid ``form``, in ``lang``, at the field it is about (when
    that field is on the form; otherwise in the summary only)."""
    field = _DOMAIN_FIELDS.get(exc.code) or str(exc.params.get("field", ""))
    return [FieldError(field if field in form.model_fields else "", exc.message(lang))]


def parse(
    form: type[F], data: Mapping[str, Any], lang: Language
) -> tuple[F | None, list[FieldError]]:
    """Validate ``data`` into ``form``; on failure, the errors in the person's language."""
    try:
        return form.model_validate(dict(data)), []
    except ValidationError as exc:
        return None, errors_of(exc, lang)
