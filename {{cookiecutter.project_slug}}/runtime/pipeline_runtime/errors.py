"""What a step's failure is worth: a retry with backoff, or the record's failure (template-owned)."""

from __future__ import annotations

from typing import Any

MAX_ERROR_MESSAGE_CHARS = 1000  # kept in checkpoints and DLQ attributes; the full text is in the step's log


class TransientStepError(Exception):
    """Raise it from a step for a failure worth retrying (throttling, a dependency briefly down)."""


# Error types, compared on their last dotted segment ("ChainedInvoke.Timeout" -> "Timeout"), worth
# retrying: explicit transient errors (any class of that name), Lambda throttles, timeouts.
TRANSIENT_ERROR_TYPES = frozenset(
    {
        "TransientStepError",
        "TooManyRequestsException",
        "ThrottlingException",
        "ServiceException",
        "ServiceUnavailableException",
        "Timeout",
        "Timedout",
    }
)


def error_type_of(error: BaseException) -> str:
    """Short type of a failure: invoke and step errors carry the target's type as a dotted string."""
    full = getattr(error, "error_type", None) or type(error).__name__
    return str(full).rsplit(".", 1)[-1]


def describe(error: BaseException) -> dict[str, Any]:
    message = getattr(error, "message", None) or str(error)
    return {"type": error_type_of(error), "message": str(message)[:MAX_ERROR_MESSAGE_CHARS]}


def is_transient(error: dict[str, Any]) -> bool:
    return str(error.get("type", "")).rsplit(".", 1)[-1] in TRANSIENT_ERROR_TYPES
