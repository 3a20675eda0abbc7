"""Errors of the domain. Every message says what was wrong and how to fix it.

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
 +-- DeliveryError              an email could not be delivered (see notifications)
"""

from __future__ import annotations


class KinantiError(Exception):
    """Root of every error Kinanti raises on purpose."""


class ValidationError(KinantiError):
    """Raised when input (a file, a CLI argument, a form) is invalid; names the field."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or [message]
        super().__init__(message if problems is None else message + "\n" + "\n".join(problems))


class NotFoundError(KinantiError):
    """Raised when a unit, person, innovation or gate referenced by code does not exist."""


class ConflictError(KinantiError):
    """Raised when someone else changed the record first (version mismatch) or a key repeats."""


class LifecycleError(KinantiError):
    """Raised when the lifecycle refuses a move."""


class IllegalTransitionError(LifecycleError):
    """Raised when the transition table has no edge between the two stages."""


class InnovationClosedError(LifecycleError):
    """Raised when an innovation already ended (rejected, withdrawn, discontinued)."""


class GateRequiredError(LifecycleError):
    """Raised when a gated move is attempted without an approved gate decision."""


class GateError(KinantiError):
    """Raised when a gate decision cannot be accepted."""


class GateNotOpenError(GateError):
    """Raised when there is no open gate to decide (none opened, or already decided)."""


class NotAuthorizedError(GateError):
    """Raised when the person lacks the role, or belongs to the unit that owns the innovation."""


class RequirementMissingError(GateError):
    """Raised when approval needs something first (trial scorecard, adopting act, evidence)."""


class DeliveryError(KinantiError):
    """Raised when an email cannot be delivered; ``permanent`` tells whether to retry."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        self.permanent = permanent
        super().__init__(message)
