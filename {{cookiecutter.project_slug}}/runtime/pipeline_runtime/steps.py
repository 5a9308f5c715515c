# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""A step's contract: `process(record: dict) -> dict` in `functions/<step>/<step>_step.py`.

Raise TransientStepError to retry the record, RecordRejected (or a pydantic ValidationError) to
dead-letter it at once, anything else to fail it. The first step gets the body parsed from JSON; what
the last returns is stored. A v2 `handler(event, context)` still runs, with a warning, until v4.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import Any

from aws_lambda_powertools import Logger

from pipeline_runtime import storage
from pipeline_runtime.context import current_record
from pipeline_runtime.errors import MalformedStepOutput, RecordRejected
from pipeline_runtime.storable import UnstorableRecord, parse_body, storage_problems

logger = Logger()

Step = Callable[[Any], Any]  # one record's input data -> its output data, raising to fail it


def process_form(process: Callable[[dict[str, Any]], Any], role: str) -> Step:
    def run(data: Any) -> Any:
        result = process(parse_body(data) if role == "validate" else data)
        if not isinstance(result, dict):
            raise MalformedStepOutput(f"process() must return the record as a dict, got {type(result).__name__}")
        if role != "store":
            return result
        problems = storage_problems(result)  # before the write; what other steps return is checked by the runtime
        if problems:
            raise UnstorableRecord(problems)
        return storage.store(current_record(), result)

    return run


LEGACY_FIELDS = {
    "validate": ("valid", "errors", "record"),
    "transform": ("record",),
    "store": ("record_id", "duplicate"),
}


def handler_form(handler: Callable[[dict[str, Any], Any], Any], role: str) -> Step:
    """A v2 step, `handler(event, context)`: given its v2 event, its v2 answer read as a result."""

    def run(data: Any) -> Any:
        record = current_record()
        event: dict[str, Any] = {"message_id": record.message_id}
        if role == "validate":
            parse_body(data)  # the door holds for a v2 step too: a body that can never be stored goes at once
            event["body"] = data
        elif role == "transform":
            event["record"] = data
        else:
            event |= {"execution_id": record.execution_id, "original": record.original, "record": data}
        answer = handler(event, record.lambda_context)
        missing = [field for field in LEGACY_FIELDS[role] if not isinstance(answer, dict) or field not in answer]
        if missing:
            raise MalformedStepOutput(f"the step's output lacks {', '.join(missing)}: {str(answer)[:200]}")
        if role == "validate" and not answer["valid"]:
            raise RecordRejected(answer["errors"])
        if role == "store":
            return {"record_id": answer["record_id"], "duplicate": bool(answer["duplicate"])}
        return answer["record"]

    run.sequential = True  # v2 ran a step function's records one after another: its state may rely on it
    return run


@cache
def load_step(module: ModuleType, role: str) -> Step:
    """The module's step function for this role: `process`, or a v2 `handler` (deprecated)."""
    if callable(getattr(module, "process", None)):
        return process_form(module.process, role)
    if callable(getattr(module, "handler", None)):
        message = (
            f"{module.__name__}.handler(event, context) is the v2 step form: it runs until v4.0.0. Replace it "
            "with process(record) -> record (see CHANGELOG v3.0.0)."
        )
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        logger.warning(message)
        return handler_form(module.handler, role)
    raise TypeError(f"{module.__name__} defines neither process(record) nor handler(event, context)")
