# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Lambda entry point of every step function (step_mode lambda_invoke), from the runtime layer.

STEP_NAME names the step; its code is `<STEP_NAME>_step.py` in the
function's own folder (see steps.py for its contract). Executions started by an older orchestrator
finish on it after an upgrade, so the request formats it sent are still answered.
"""

from __future__ import annotations

import os
from functools import cache
from types import ModuleType
from typing import Any

from aws_lambda_powertools import Tracer

from pipeline_runtime import storable
from pipeline_runtime.context import CURRENT, RecordContext
from pipeline_runtime.errors import describe, rejection_errors
from pipeline_runtime.step_calls import logger, run_call
from pipeline_runtime.step_modules import import_step
from pipeline_runtime.steps import Step, load_step

V2_MAX_REPLY_BYTES = 960 * 1024  # what a v2.0 orchestrator's groups expect at most
tracer = Tracer()  # off outside Lambda


def handle(event: dict[str, Any], context: Any, module: ModuleType, steps: dict[str, Step] | None = None) -> Any:
    """Answer whatever an orchestrator sent: this version's request, a v2.0 group, a v1.0 single record.

    `steps` gives the step function per role (local runs wrap them); by default they come from `module`.
    """
    if "sources" in event:  # a request of this version's orchestrator
        step = (steps or {}).get(event["role"]) or load_step(module, event["role"])
        return run_call(event, step, context)
    if "records" in event:  # a v2.0 group: {"records": [...]} -> {"results": [{"ok": ...} | {"error": ...}]}
        return answer_v2_group(event["records"], context, lambda record, ctx: answer_v2_record(module, record, ctx))
    return answer_v2_record(module, event, context)  # v1.0 sent one record per invoke


def answer_v2_record(module: ModuleType, event: dict[str, Any], context: Any) -> Any:
    """One record in the v1/v2 event form, answered as those versions expect, whatever form the step has."""
    if callable(getattr(module, "handler", None)):
        return module.handler(event, context)
    role = "validate" if "body" in event else "store" if "original" in event else "transform"
    CURRENT.set(RecordContext(event["message_id"], event.get("execution_id", ""), event.get("original"), context))
    try:
        output = load_step(module, role)(event["body"] if role == "validate" else event["record"])
    except Exception as error:
        errors = rejection_errors(error)
        if role == "validate" and errors is not None:
            return {"valid": False, "errors": errors, "record": None}
        raise
    if role == "validate":
        return {"valid": True, "errors": [], "record": output}
    return {"record": output} if role == "transform" else output


def answer_v2_group(records: list[dict[str, Any]], context: Any, record_handler: Any) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    size = len('{"results": []}')
    for position, record in enumerate(records):
        try:
            result: dict[str, Any] = {"ok": record_handler(record, context)}
            result_size = len(storable.dumps(result)) + 2
        except Exception as error:  # that record's failure, as v2.0 reported it
            logger.exception("record failed", extra={"message_id": record.get("message_id")})
            result = {"error": describe(error)}
            result_size = len(storable.dumps(result)) + 2
        if size + result_size > V2_MAX_REPLY_BYTES:
            if results:  # v2.0 sends this record and the rest again
                results += [{"error": {"type": "ReplyFull", "message": "sent again"}}] * (len(records) - position)
                break
            result = {"error": {"type": "StepResultTooLarge", "message": f"{result_size} bytes"}}
            result_size = len(storable.dumps(result)) + 2
        results.append(result)
        size += result_size
    return {"results": results}


@cache
def deployed_step_module() -> ModuleType:
    """The step's code: `<STEP_NAME>_step.py` at the root of this function's package (LAMBDA_TASK_ROOT)."""
    return import_step(os.environ["STEP_NAME"], os.environ.get("LAMBDA_TASK_ROOT", "."))


@tracer.capture_lambda_handler(capture_response=False)  # joins the orchestrator's trace: records stay out of it
def handler(event: dict[str, Any], context: Any) -> Any:
    tracer.put_annotation("step", os.environ["STEP_NAME"])
    if "execution_id" in event:
        tracer.put_annotation("execution_id", event["execution_id"])
    return handle(event, context, deployed_step_module())
