# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""A step's contract: `process(record: dict) -> dict` in `functions/<step>/<step>_step.py`.

Raise TransientStepError to retry the record, RecordRejected (or a pydantic ValidationError) to
dead-letter it at once, anything else to fail it. The first step gets the record its message carries,
parsed from JSON and unwrapped from its format's envelope (message_formats.py); what the last returns
is stored (step_calls.run_record makes the write).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import Any

from pipeline_runtime.errors import MalformedStepOutput
from pipeline_runtime.message_formats import unwrap

Step = Callable[[Any], Any]  # one record's input data -> its output data, raising to fail it


def process_form(process: Callable[[dict[str, Any]], Any], role: str) -> Step:
    def run(data: Any) -> Any:
        result = process(unwrap(data) if role == "validate" else data)
        if not isinstance(result, dict):
            raise MalformedStepOutput(f"process() must return the record as a dict, got {type(result).__name__}")
        return result

    return run


@cache
def load_step(module: ModuleType, role: str) -> Step:
    """The module's step function for this role: its `process`, wrapped."""
    if callable(getattr(module, "process", None)):
        return process_form(module.process, role)
    if callable(getattr(module, "handler", None)):
        raise TypeError(
            f"{module.__name__} defines handler(event, context), the v2 step form removed in v4.0.0: write "
            "process(record) -> record instead (CHANGELOG v3.0.0 shows how)"
        )
    raise TypeError(f"{module.__name__} defines no process(record)")
