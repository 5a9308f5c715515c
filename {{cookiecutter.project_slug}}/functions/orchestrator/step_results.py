"""What a step's outcome looks like to the orchestrator, in both step modes.

Template-owned. A step answers each record with `{"ok": <its output>}` or, once it failed,
`{"error": {"type": ..., "message": ...}}`; failures of a transient type are worth retrying.
"""

from __future__ import annotations

from typing import Any

from pipeline_config import TRANSIENT_ERROR_TYPES

StepResult = dict[str, Any]


def error_type_of(error: BaseException) -> str:
    """Short type of a failure: invoke and step errors carry the target's type as a dotted string."""
    full = getattr(error, "error_type", None) or type(error).__name__
    return str(full).rsplit(".", 1)[-1]


def error_result(error: BaseException) -> StepResult:
    return {"error": {"type": error_type_of(error), "message": getattr(error, "message", None) or str(error)}}


def error_type(result: StepResult) -> str | None:
    return str(result["error"]["type"]).rsplit(".", 1)[-1] if "error" in result else None


def is_transient(result: StepResult) -> bool:
    return error_type(result) in TRANSIENT_ERROR_TYPES


class MalformedStepOutput(Exception):
    """A step answered without the fields the chain needs: that record's failure, not the batch's."""


def with_fields(result: StepResult, *fields: str) -> StepResult:
    """The result if it failed or its output has these fields; otherwise a MalformedStepOutput failure."""
    output = result.get("ok")
    if "error" in result or (isinstance(output, dict) and all(field in output for field in fields)):
        return result
    message = f"the step's output lacks {', '.join(fields)}: {str(output)[:200]}"
    return {"error": {"type": MalformedStepOutput.__name__, "message": message}}
