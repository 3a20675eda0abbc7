"""Errors of the domain. Every message says what was wrong and how to fix it.

Every error has a ``code`` (a stable, typed reason that tests and callers match on) and the
``params`` its message needs; ``message(language)`` renders it in the reader's language
from ``domain.messages`` (``str(error)`` is the English text, for logs).

KinantiError
 +-- ValidationError            bad input at the edge (file, CLI, form)
 +-- NotFoundError              a code or email that does not exist
 +-- ConflictError              a concurrent change won (optimistic lock) or a duplicate
 +-- LifecycleError             the lifecycle refuses a move
 |    +-- IllegalTransitionError    the transition table has no such move
 |    +-- InnovationClosedError     the innovation already has a terminal outcome
 |    +-- GateRequiredError         the move needs an approved gate
 +-- GateError                  a gate decision is refused
 |    +-- GateNotOpenError          no open gate, or it was decided already (stale)
 |    +-- NotAuthorizedError        the person may not decide this gate (role, own unit)
 |    +-- RequirementMissingError   approval needs a scorecard, act or evidence first
 |    +-- IdentityNotProvenError    the decision carries no valid proof of who gives it
 +-- DeliveryError              an email could not be delivered (see notifications)
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from domain.enums import Language


class KinantiError(Exception):
    """Root of every error Kinanti raises on purpose."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str = "", *, code: str | None = None, **params: Any) -> None:
        if code is not None:
            self.code = code  # type: ignore[misc]  # per instance: the precise reason
        self.params = params
        super().__init__(message or self._english())

    def _english(self) -> str:
        from domain.messages import render

        return render(self.code, Language.EN, self.params) or self.code

    def message(self, language: Language | str = Language.ID) -> str:
        """The message in ``language`` (falls back to the English text)."""
        return message_of(self.code, self.params, language, str(self))

    def stored_params(self) -> dict[str, Any]:
        """``params`` as JSON can store them (messages by language keep their keys), so a
        recorded refusal can be shown later in each reader's language (``message_of``)."""
        stored: dict[str, Any] = json.loads(json.dumps(self.params, default=str))
        return stored


def message_of(
    code: str | None, params: dict[str, Any] | None, language: Language | str, fallback: str
) -> str:
    """The message of an error ``code`` with ``params`` in ``language``, else ``fallback``
    (a recorded refusal's stored text)."""
    from domain.messages import render

    if code is None:
        return fallback
    return render(code, Language(language), params or {}) or fallback


class ValidationError(KinantiError):
    """Raised when input (a file, a CLI argument, a form) is invalid; names the field."""

    code = "invalid"

    def __init__(
        self,
        message: str = "",
        problems: list[str] | None = None,
        *,
        code: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(message, code=code, **params)
        base = str(self)
        self.problems = problems or [base]
        if problems is not None:
            self.args = (base + "\n" + "\n".join(problems),)


class NotFoundError(KinantiError):
    """Raised when a unit, person, innovation or gate referenced by code does not exist."""

    code = "not_found"


class ConflictError(KinantiError):
    """Raised when someone else changed the record first (version mismatch) or a key repeats."""

    code = "conflict"


class LifecycleError(KinantiError):
    """Raised when the lifecycle refuses a move."""

    code = "lifecycle"


class IllegalTransitionError(LifecycleError):
    """Raised when the transition table has no edge between the two stages."""

    code = "lifecycle.illegal_move"


class InnovationClosedError(LifecycleError):
    """Raised when an innovation already ended (rejected, withdrawn, discontinued)."""

    code = "lifecycle.closed"


class GateRequiredError(LifecycleError):
    """Raised when a gated move is attempted without an approved gate decision."""

    code = "lifecycle.gate_required"


class GateError(KinantiError):
    """Raised when a gate decision cannot be accepted."""

    code = "gate"


class GateNotOpenError(GateError):
    """Raised when there is no open gate to decide (none opened, or already decided)."""

    code = "gate.not_open"


class NotAuthorizedError(GateError):
    """Raised when the person lacks the role, or belongs to the unit that owns the innovation."""

    code = "gate.not_authorized"


class RequirementMissingError(GateError):
    """Raised when approval needs something first (trial scorecard, adopting act, evidence)."""

    code = "gate.requirement_missing"


class IdentityNotProvenError(GateError):
    """Raised when a decision arrives without proof of who gives it (a typed email is no
    proof): decisions are given signed in to the Kinanti portal, or by an operator's CLI."""

    code = "gate.identity_unproven"


class DeliveryError(KinantiError):
    """Raised when an email cannot be delivered; ``permanent`` tells whether to retry."""

    code = "delivery"

    def __init__(self, message: str, *, permanent: bool) -> None:
        self.permanent = permanent
        super().__init__(message)
