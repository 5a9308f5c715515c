# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""What a step's failure is worth: a retry with backoff, or the record's failure (template-owned)."""

from __future__ import annotations

from typing import Any

MAX_ERROR_MESSAGE_CHARS = 1000  # kept in checkpoints and DLQ attributes; the full text is in the step's log


class TransientStepError(Exception):
    """Raise it from a step for a failure worth retrying (throttling, a dependency briefly down)."""


class RecordRejected(Exception):
    """Raise it from a step for a record no retry can fix: it goes to the dead-letter queue at once."""

    def __init__(self, errors: list[str] | str) -> None:
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(self.errors))


class MalformedStepOutput(Exception):
    """A step answered with something the chain cannot carry on: that record's failure."""


def is_runtime_signal(error: BaseException) -> bool:
    """The durable SDK's own control flow (SuspendExecution and kin: BaseExceptions so user code lets them
    pass): they must reach the SDK. Anything else a step raises, SystemExit included, is the record's."""
    return not isinstance(error, Exception) and type(error).__module__.startswith("aws_durable_execution_sdk_python")


def rejection_errors(error: BaseException) -> list[str] | None:
    """Every error of a rejection: RecordRejected, or a pydantic ValidationError (all its errors at once)."""
    if isinstance(error, RecordRejected):
        return error.errors
    errors = getattr(error, "errors", None)
    if type(error).__name__ == "ValidationError" and callable(errors):
        return [f"{'.'.join(map(str, item['loc'])) or 'record'}: {item['msg']}" for item in errors()]
    return None


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
