"""Lambda entry point of every step function (step_mode lambda_invoke), from the runtime layer.

Template-owned (regenerated). STEP_NAME names the step; its code is `<STEP_NAME>_step.py` in the
function's own folder, whose `handler` takes one record. Executions started by an older
orchestrator finish on it after an upgrade, so the request formats it sent are still answered.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

from pipeline_runtime.errors import describe
from pipeline_runtime.step_calls import RecordHandler, logger, run_call

V2_MAX_REPLY_BYTES = 960 * 1024  # what a v2.0 orchestrator's groups expect at most


def handle(event: dict[str, Any], context: Any, record_handler: RecordHandler) -> Any:
    if "sources" in event:  # a request of this version's orchestrator
        return run_call(event, record_handler, context)
    if "records" in event:  # a v2.0 group: {"records": [...]} -> {"results": [{"ok": ...} | {"error": ...}]}
        return answer_v2_group(event["records"], context, record_handler)
    return record_handler(event, context)  # v1.0 sent one record per invoke


def answer_v2_group(records: list[dict[str, Any]], context: Any, record_handler: RecordHandler) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    size = len('{"results": []}')
    for position, record in enumerate(records):
        try:
            result: dict[str, Any] = {"ok": record_handler(record, context)}
            result_size = len(json.dumps(result)) + 2
        except Exception as error:  # that record's failure, as v2.0 reported it
            logger.exception("record failed", extra={"message_id": record.get("message_id")})
            result = {"error": describe(error)}
            result_size = len(json.dumps(result)) + 2
        if size + result_size > V2_MAX_REPLY_BYTES:
            if results:  # v2.0 sends this record and the rest again
                results += [{"error": {"type": "ReplyFull", "message": "sent again"}}] * (len(records) - position)
                break
            result = {"error": {"type": "StepResultTooLarge", "message": f"{result_size} bytes"}}
            result_size = len(json.dumps(result)) + 2
        results.append(result)
        size += result_size
    return {"results": results}


def handler(event: dict[str, Any], context: Any) -> Any:
    step = importlib.import_module(f"{os.environ['STEP_NAME']}_step")
    return handle(event, context, step.handler)
