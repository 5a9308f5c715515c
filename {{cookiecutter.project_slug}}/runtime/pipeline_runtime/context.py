# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""The record a step is working on, per thread: its message id, execution and Lambda context (never its data).

The step runtime sets it for each record; your code reads
`current_message_id()` (from pipeline_runtime) when it needs the SQS message id.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecordContext:
    """The record a step is working on, set by the runtime for each record (thread-safe)."""

    message_id: str
    execution_id: str
    lambda_context: Any


CURRENT: contextvars.ContextVar[RecordContext] = contextvars.ContextVar("pipeline_record")


def current_message_id() -> str:
    """The SQS message id of the record being processed."""
    return CURRENT.get().message_id


def invocation_log_keys(lambda_context: Any) -> dict[str, str]:
    """The function and request a log line comes from. Set as thread-safe keys: locally every function
    runs in one process, and a Lambda function may run several records at once."""
    return {
        "function_name": getattr(lambda_context, "function_name", None) or "",
        "function_request_id": getattr(lambda_context, "aws_request_id", None) or "",
    }
