"""The one exception tree of the clean room.

Every error has a stable ``code`` and an HTTP ``status``; the service turns it into one JSON
envelope and the client raises the same class again. Subclasses also inherit the builtin that
fits, so ``except ValueError`` keeps working for callers who do not know our tree.
"""

from __future__ import annotations

from typing import Any, ClassVar


class WorkbenchError(Exception):
    """Base of every error a user can act on."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_envelope(self) -> dict[str, Any]:
        """The JSON body the service sends for this error."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(WorkbenchError, ValueError):
    """The request is malformed or a value has the wrong type or form."""

    code = "invalid_input"
    status = 422


class Unauthenticated(WorkbenchError):
    """No token, or a token that is unknown or revoked."""

    code = "unauthenticated"
    status = 401


class PermissionDenied(WorkbenchError, PermissionError):
    """The actor can see the resource but may not do this to it."""

    code = "permission_denied"
    status = 403


class NotFound(WorkbenchError, LookupError):
    """No such resource, or one the actor may not see (we never say which)."""

    code = "not_found"
    status = 404


class Conflict(WorkbenchError):
    """The change clashes with existing state (a duplicate name, a wrong status)."""

    code = "conflict"
    status = 409


class RoomExpired(WorkbenchError):
    """The room is past its end date and therefore read-only."""

    code = "room_expired"
    status = 409


class BudgetExceeded(WorkbenchError):
    """A run would spend more privacy budget than is left."""

    code = "budget_exceeded"
    status = 409

    def __init__(self, message: str, *, requested: str, remaining: str, **details: Any) -> None:
        super().__init__(message, requested=requested, remaining=remaining, **details)
        self.requested = requested
        self.remaining = remaining


class RuleViolation(WorkbenchError, ValueError):
    """A question breaks one or more analysis rules; ``violations`` lists every one."""

    code = "rule_violation"
    status = 422

    def __init__(self, message: str, *, violations: list[dict[str, Any]], **details: Any) -> None:
        super().__init__(message, violations=violations, **details)
        self.violations = violations


class PayloadTooLarge(WorkbenchError, ValueError):
    """An upload is over the configured size limit."""

    code = "payload_too_large"
    status = 413


class TamperDetected(WorkbenchError):
    """A hash chain is broken, or does not extend the head a party verified before."""

    code = "tamper_detected"
    status = 409


class Busy(WorkbenchError):
    """Too many runs at once for this user or room; retry when one of them has finished."""

    code = "busy"
    status = 429


class TimedOut(WorkbenchError):
    """A run outlived its room's timeout and was stopped (its budget stays spent)."""

    code = "timed_out"
    status = 504


ERRORS: dict[str, type[WorkbenchError]] = {
    cls.code: cls
    for cls in (
        WorkbenchError,
        InvalidInput,
        Unauthenticated,
        PermissionDenied,
        NotFound,
        Conflict,
        RoomExpired,
        BudgetExceeded,
        RuleViolation,
        PayloadTooLarge,
        TamperDetected,
        Busy,
        TimedOut,
    )
}


def error_from_envelope(body: dict[str, Any]) -> WorkbenchError:
    """Rebuild the exception a service sent, so clients raise the same class."""
    err = body.get("error", {}) if isinstance(body, dict) else {}
    cls = ERRORS.get(err.get("code", "error"), WorkbenchError)
    message = err.get("message", "the service returned an error")
    details = dict(err.get("details") or {})
    if cls is BudgetExceeded:
        return BudgetExceeded(
            message,
            requested=details.pop("requested", "?"),
            remaining=details.pop("remaining", "?"),
            **details,
        )
    if cls is RuleViolation:
        return RuleViolation(message, violations=details.pop("violations", []), **details)
    return cls(message, **details)
