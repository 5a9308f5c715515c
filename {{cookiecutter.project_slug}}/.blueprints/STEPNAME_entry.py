"""Lambda entry point of step `STEPNAME`: runs the step on every record of a group, one result each.

Template-owned: a regeneration rewrites it. Your logic stays in STEPNAME_step.py, whose `handler`
takes one record. The orchestrator sends a step the records in flight together, so one chained
invoke (one orchestrator replay) covers them all instead of one per record.
- Records run one after another: a step handler may keep per-record state, such as the logger's
  correlation id.
- A record that raises is reported alone, `{"error": {"type", "message"}}`; the orchestrator
  retries it (transient types) or fails it, and the others go on.
- A chained invoke's reply is capped at 1 MiB. Once the next result would not fit, that record
  and the ones after it are answered `ReplyFull` and the orchestrator sends them again (so the
  record whose result did not fit has run twice: keep steps idempotent, as retries need anyway).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

import STEPNAME_step as step

logger = Logger()

RecordHandler = Callable[[dict[str, Any], Any], Any]

MAX_REPLY_BYTES = 960 * 1024  # under the 1 MiB reply cap, with room for the envelope
REPLY_FULL = {"error": {"type": "ReplyFull", "message": "the step's reply was full; to be sent again"}}


def error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def run_record(record_event: dict[str, Any], context: Any, record_handler: RecordHandler) -> tuple[dict[str, Any], int]:
    """One record's result and its size in the reply."""
    try:
        result = {"ok": record_handler(record_event, context)}
        return result, len(json.dumps(result))
    except Exception as failure:  # reported for this record only (including an output JSON cannot carry)
        logger.exception("record failed", extra={"message_id": record_event.get("message_id")})
        result = error(type(failure).__name__, str(failure))
        return result, len(json.dumps(result))


def run_group(event: dict[str, Any], context: Any, record_handler: RecordHandler = step.handler) -> dict[str, Any]:
    """`{"records": [event, ...]}` -> `{"results": [{"ok": output} | {"error": {...}}, ...]}`, in order."""
    records = event["records"]
    results: list[dict[str, Any]] = []
    reply_bytes = len('{"results": []}')
    for position, record_event in enumerate(records):
        result, size = run_record(record_event, context, record_handler)
        if reply_bytes + size + 2 > MAX_REPLY_BYTES:
            if results:  # the orchestrator sends this record and the rest again
                results += [REPLY_FULL] * (len(records) - position)
                break
            result = error("StepResultTooLarge", f"the result is {size} bytes; a step may return {MAX_REPLY_BYTES}")
            size = len(json.dumps(result))
        results.append(result)
        reply_bytes += size + 2
    return {"results": results}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "records" not in event:  # one record, as a v1.0.0 orchestrator still in flight after an upgrade sends it
        return step.handler(event, context)
    return run_group(event, context)
