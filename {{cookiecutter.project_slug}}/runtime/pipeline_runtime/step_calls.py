# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""One call of a step on the records a request selects: your function per record, then the reply, packed.

The orchestrator sends a step one request per wave and attempt; the
same code answers it in the step's own Lambda function (lambda_invoke) or inside the orchestrator
(durable_step). A record that fails is reported alone; the others go on.

    request: {"step", "role", "execution_id", "sources", "select", "originals", "output_key",
              "inline_limit", "threads"}
    reply:   {"output": payload of one record per selected record, "counts": {status: records}}
"""

from __future__ import annotations

import contextvars
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger

from pipeline_runtime import payloads
from pipeline_runtime.context import CURRENT, RecordContext, invocation_log_keys
from pipeline_runtime.errors import describe, is_transient, rejection_errors
from pipeline_runtime.quotas import MAX_RECORD_BYTES, MAX_STEP_THREADS
from pipeline_runtime.steps import Step
from pipeline_runtime.storable import UnstorableRecord, storage_problems

logger = Logger()

STATUSES = ("ok", "transient", "failed", "rejected", "too_large")


def run_record(
    request: dict[str, Any], record: dict[str, Any], original: Any, step: Step, context: Any
) -> dict[str, Any]:
    """One record through the step, in a context of its own: its result, whatever happened."""
    name, message_id = request["step"], record["id"]
    CURRENT.set(RecordContext(message_id, request["execution_id"], original, context))
    # Thread-safe keys live in this record's own context and outrank a process-wide correlation id.
    logger.thread_safe_append_keys(
        correlation_id=message_id, step=name, execution_id=request["execution_id"], **invocation_log_keys(context)
    )
    result: dict[str, Any] = {"id": message_id, "step": name}
    try:
        data = step(record["data"])
    except Exception as error:  # this record's outcome, never the call's
        errors = rejection_errors(error)
        if errors is not None:
            reason = getattr(error, "reason", "validation_failed")  # InvalidBody: refused at the door
            logger.info("record rejected", extra={"message_id": message_id, "reason": reason, "errors": errors})
            return {**result, "status": "rejected", "reason": reason, "errors": errors}
        failure = describe(error)
        logger.exception("record failed", extra={"message_id": message_id, "error_type": failure["type"]})
        if is_transient(failure):  # it goes again: with the data it came with
            return {**result, "status": "transient", "error": failure, "data": record["data"]}
        return {**result, "status": "failed", "error": failure}
    problems = storage_problems(data)
    if problems:  # it could never travel on or be stored: no retry can change that
        logger.info("record unstorable", extra={"message_id": message_id, "errors": problems})
        return {**result, "status": "rejected", "reason": UnstorableRecord.reason, "errors": problems}
    size = payloads.utf8_size(data)
    if size > MAX_RECORD_BYTES:
        return {**result, "status": "too_large", "bytes": size, "limit": MAX_RECORD_BYTES}
    return {**result, "status": "ok", "data": data}


def run_call(request: dict[str, Any], step: Step, context: Any) -> dict[str, Any]:
    """Answer one request: every selected record through `step`, then the reply, packed."""
    records = payloads.select(request["sources"], request["select"])
    originals = (
        {record["id"]: record["data"] for record in payloads.select(request["originals"], "ok")}
        if request["role"] == "store"
        else {}
    )

    def one(record: dict[str, Any]) -> dict[str, Any]:
        return contextvars.copy_context().run(run_record, request, record, originals.get(record["id"]), step, context)

    threads = 1 if getattr(step, "sequential", False) else int(request.get("threads", 1))
    threads = max(1, min(threads, MAX_STEP_THREADS, len(records)))
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
