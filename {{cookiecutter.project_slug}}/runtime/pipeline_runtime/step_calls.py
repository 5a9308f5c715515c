"""One call of a step on the records a request selects: run your handler per record, pack the reply.

Template-owned (regenerated). The orchestrator sends a step one request per wave and attempt; the
same code answers it in the step's own Lambda function (lambda_invoke) or inside the orchestrator
(durable_step). A record that fails is reported alone; the others go on.

    request: {"step", "role", "execution_id", "sources", "select", "originals", "output_key",
              "inline_limit", "threads"}
    reply:   {"output": payload of one record per selected record, "counts": {status: records}}
"""

from __future__ import annotations

import contextvars
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger

from pipeline_runtime import payloads
from pipeline_runtime.errors import describe, is_transient
from pipeline_runtime.quotas import MAX_RECORD_BYTES, MAX_STEP_THREADS

logger = Logger()

RecordHandler = Callable[[dict[str, Any], Any], Any]
STATUSES = ("ok", "transient", "failed", "rejected", "too_large")
# What each role's handler must answer, and what travels on.
REQUIRED_FIELDS = {
    "validate": ("valid", "errors", "record"),
    "transform": ("record",),
    "store": ("record_id", "duplicate"),
}


def record_event(request: dict[str, Any], record: dict[str, Any], original: Any) -> dict[str, Any]:
    """What your handler receives for one record."""
    if request["role"] == "validate":
        return {"message_id": record["id"], "body": record["data"]}
    if request["role"] == "transform":
        return {"message_id": record["id"], "record": record["data"]}
    return {
        "message_id": record["id"],
        "execution_id": request["execution_id"],
        "original": original,
        "record": record["data"],
    }


def outcome(step: str, role: str, message_id: str, answer: Any) -> dict[str, Any]:
    """A handler's answer as this record's result."""
    result: dict[str, Any] = {"id": message_id, "step": step}
    missing = [field for field in REQUIRED_FIELDS[role] if not isinstance(answer, dict) or field not in answer]
    if missing:
        message = f"the step's output lacks {', '.join(missing)}: {str(answer)[:200]}"
        return {**result, "status": "failed", "error": {"type": "MalformedStepOutput", "message": message}}
    if role == "validate" and not answer["valid"]:
        return {**result, "status": "rejected", "errors": answer["errors"]}
    data = (
        answer["record"]
        if role in ("validate", "transform")
        else {"record_id": answer["record_id"], "duplicate": bool(answer["duplicate"])}
    )
    try:
        size = payloads.utf8_size(data)
    except (TypeError, ValueError) as error:  # not JSON: it could not travel to the next step
        return {**result, "status": "failed", "error": describe(error)}
    if size > MAX_RECORD_BYTES:
        return {**result, "status": "too_large", "bytes": size, "limit": MAX_RECORD_BYTES}
    return {**result, "status": "ok", "data": data}


def run_record(
    request: dict[str, Any], record: dict[str, Any], original: Any, handler: RecordHandler, context: Any
) -> dict[str, Any]:
    step, message_id = request["step"], record["id"]
    # Thread-safe keys live in this record's own context and outrank a process-wide correlation id.
    logger.thread_safe_append_keys(correlation_id=message_id, step=step)
    try:
        answer = handler(record_event(request, record, original), context)
    except Exception as error:  # this record's failure only
        failure = describe(error)
        logger.exception("record failed", extra={"message_id": message_id, "error_type": failure["type"]})
        if is_transient(failure):  # it goes again: with the data it came with
            return {"id": message_id, "step": step, "status": "transient", "error": failure, "data": record["data"]}
        return {"id": message_id, "step": step, "status": "failed", "error": failure}
    return outcome(step, request["role"], message_id, answer)


def run_call(request: dict[str, Any], handler: RecordHandler, context: Any) -> dict[str, Any]:
    """Answer one request: every selected record through `handler`, then the reply, packed."""
    records = payloads.select(request["sources"], request["select"])
    originals = (
        {record["id"]: record["data"] for record in payloads.select(request["originals"], "ok")}
        if request["role"] == "store"
        else {}
    )

    def one(record: dict[str, Any]) -> dict[str, Any]:
        return contextvars.copy_context().run(
            run_record, request, record, originals.get(record["id"]), handler, context
        )

    threads = max(1, min(int(request.get("threads", 1)), MAX_STEP_THREADS, len(records)))
    if threads == 1:
        results = [one(record) for record in records]
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"step-{request['step']}") as pool:
            results = list(pool.map(one, records))
    counts = Counter(result["status"] for result in results)
    if request["role"] == "store":  # a redelivered message the table already holds
        counts["duplicates"] = sum(1 for result in results if result["status"] == "ok" and result["data"]["duplicate"])
    output = payloads.pack(results, request["output_key"], int(request["inline_limit"]))
    return {"output": output, "counts": {status: counts[status] for status in (*STATUSES, "duplicates")}}


def reply_is_well_formed(reply: Any) -> bool:
    return (
        isinstance(reply, dict)
        and isinstance(reply.get("output"), dict)
        and isinstance(reply.get("counts"), dict)
        and all(isinstance(reply["counts"].get(status), int) for status in STATUSES)
    )


def failed_call(step: str, request: dict[str, Any], error: dict[str, Any], selected: int) -> dict[str, Any]:
    """The reply for a call that failed as a whole: every record it selected shares the error."""
    status = "transient" if is_transient(error) else "failed"
    output = {
        "failed_call": {"step": step, "status": status, "error": error},
        "sources": request["sources"],
        "select": request["select"],
    }
    counts = dict.fromkeys((*STATUSES, "duplicates"), 0)
    counts[status] = selected
    return {"output": output, "counts": counts}
