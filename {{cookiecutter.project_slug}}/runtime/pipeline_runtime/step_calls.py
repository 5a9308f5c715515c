# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""One call of a step on the records a request selects: your function per record, then the reply, packed.

The orchestrator sends a step one request per wave and attempt; the
same code answers it in the step's own Lambda function (lambda_invoke) or inside the orchestrator
(durable_step). A record that fails is reported alone; the others go on.

    request: {"step", "role", "execution_id", "sources", "select", "originals", "output_key",
              "inline_limit", "threads", "reserved_bytes"}
    reply:   {"output": payload of one record per selected record, "counts": {status: records}}

Records run at most `threads` at a time and only while their working sets fit the function's memory
(pipeline_runtime/memory.py); one that could never fit is payload_too_large.
"""

from __future__ import annotations

import contextvars
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from pipeline_runtime import payloads
from pipeline_runtime.context import CURRENT, RecordContext, invocation_log_keys
from pipeline_runtime.errors import describe, is_transient, rejection_errors
from pipeline_runtime.memory import HeldTexts, MemoryBudget, memory_mb
from pipeline_runtime.payloads import Carried
from pipeline_runtime.quotas import MAX_RECORD_BYTES, MAX_STEP_THREADS, record_working_set, records_budget_bytes
from pipeline_runtime.steps import Step
from pipeline_runtime.storable import UnstorableRecord, storage_problems

logger = Logger()

STATUSES = ("ok", "transient", "failed", "rejected", "too_large")


def run_record(
    request: dict[str, Any], record: Carried, original: Carried | None, step: Step, context: Any, room: Room
) -> Carried:
    """One record through the step, in a context of its own and within the call's memory: its result, whatever
    happened. Its data is parsed only once its working set fits, and leaves as text."""
    name, message_id = request["step"], record.id
    # Thread-safe keys live in this record's own context and outrank a process-wide correlation id.
    logger.thread_safe_append_keys(
        correlation_id=message_id, step=name, execution_id=request["execution_id"], **invocation_log_keys(context)
    )
    result: dict[str, Any] = {"id": message_id, "step": name}
    in_bucket = sum(
        carried.header.get("text_bytes", 0) for carried in (record, original) if carried and carried.text is None
    )
    with room.budget.holding(min(room.budget.total, 2 * in_bucket)):  # a text read from the bucket: bytes, then str
        text = record.data_text()
        original_text = original.data_text() if original else None
    needed = record_working_set(text, original_text)
    if not room.budget.fits(needed):  # no wait can make room for it
        logger.warning("record too large for the function's memory", extra={"message_id": message_id, "bytes": needed})
        return Carried({**result, "status": "too_large", "bytes": needed, "limit": room.budget.total, "of": "memory"})
    with room.budget.holding(needed):
        parsed_original = json.loads(original_text) if original_text is not None else None
        CURRENT.set(RecordContext(message_id, request["execution_id"], parsed_original, context))
        try:
            data = step(json.loads(text))
        except Exception as error:  # this record's outcome, never the call's
            return failure_of(record, result, error)
        problems = storage_problems(data)
        if problems:  # it could never travel on or be stored: no retry can change that
            logger.info("record unstorable", extra={"message_id": message_id, "errors": problems})
            return Carried({**result, "status": "rejected", "reason": UnstorableRecord.reason, "errors": problems})
        output = payloads.text_of(data)
    size = len(output.encode("utf-8"))
    if size > MAX_RECORD_BYTES:
        return Carried({**result, "status": "too_large", "bytes": size, "limit": MAX_RECORD_BYTES, "of": "JSON"})
    if room.held.keep(size):
        return Carried({**result, "status": "ok"}, output)
    pointer = payloads.put_text(f"{request['output_key']}-records/{message_id}.json", output)
    return Carried({**result, "status": "ok", **pointer})


def failure_of(record: Carried, result: dict[str, Any], error: Exception) -> Carried:
    """A step's exception as the record's result: rejected, transient (it goes again with its data), or failed."""
    errors = rejection_errors(error)
    if errors is not None:
        reason = getattr(error, "reason", "validation_failed")  # InvalidBody: refused at the door
        logger.info("record rejected", extra={"message_id": record.id, "reason": reason, "errors": errors})
        return Carried({**result, "status": "rejected", "reason": reason, "errors": errors})
    failure = describe(error)
    logger.exception("record failed", extra={"message_id": record.id, "error_type": failure["type"]})
    if is_transient(failure):
        pointer = {key: record.header[key] for key in ("data_ref", "text_bytes") if key in record.header}
        return Carried({**result, "status": "transient", "error": failure, **pointer}, record.text)
    return Carried({**result, "status": "failed", "error": failure})


@dataclass
class Room:
    """What a call's records share: the memory for records in flight, and the texts kept for the reply."""

    budget: MemoryBudget
    held: HeldTexts


def run_call(request: dict[str, Any], step: Step, context: Any) -> dict[str, Any]:
    """Answer one request: every selected record through `step`, then the reply, packed."""
    records = payloads.select(request["sources"], request["select"])
    originals = (
        {original.id: original for original in payloads.select(request["originals"], "ok")}
        if request["role"] == "store"
        else {}
    )
    reserved = int(request.get("reserved_bytes", 0))  # durable_step: what the orchestrator holds for its batch
    room = Room(MemoryBudget(records_budget_bytes(memory_mb(context), reserved)), HeldTexts())

    def one(record: Carried) -> Carried:
        original = originals.get(record.id)
        return contextvars.copy_context().run(run_record, request, record, original, step, context, room)

    threads = 1 if getattr(step, "sequential", False) else int(request.get("threads", 1))
    threads = max(1, min(threads, MAX_STEP_THREADS, len(records)))
    if threads == 1:
        results = [one(record) for record in records]
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"step-{request['step']}") as pool:
            results = list(pool.map(one, records))
    counts = Counter(result.status for result in results)
    if request["role"] == "store":  # a redelivered message the table already holds
        counts["duplicates"] = sum(
            1 for result in results if result.status == "ok" and json.loads(result.data_text())["duplicate"]
        )
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
