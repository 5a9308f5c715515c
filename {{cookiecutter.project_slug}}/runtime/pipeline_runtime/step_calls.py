# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""One call of a step on the records a request selects: your function per record, then the reply, packed.

The orchestrator sends a step one StepRequest per wave and attempt (messages.py); the
same code answers it with a StepReply in the step's own Lambda function (lambda_invoke) or inside the
orchestrator (durable_step). Whatever a step does with one record (an exception of any kind, a result that
cannot be encoded, sized or stored) ends that record alone; the others go on.

Records run at most `threads` at a time and only while their working sets fit the function's memory
(pipeline_runtime/memory.py); one that could never fit is payload_too_large. The call answers before
its invocation's time runs out (quotas.py, "Time"): records not started by then go again (transient);
the one that ran longest without finishing is `isolate` (the orchestrator calls it once alone), or
`timed_out` if it was alone already; the others still running go again.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from pipeline_runtime import input_queue, message_formats, payloads, storage
from pipeline_runtime.context import CURRENT, RecordContext, invocation_log_keys
from pipeline_runtime.errors import describe, is_runtime_signal, is_transient, rejection_errors
from pipeline_runtime.memory import HeldTexts, MemoryBudget, NoRoomInTime, memory_mb
from pipeline_runtime.messages import FailedCall, StatusCounts, StepReply, StepRequest, no_counts
from pipeline_runtime.payloads import Carried
from pipeline_runtime.quotas import (
    MAX_RECORD_BYTES,
    MAX_STEP_THREADS,
    densest_working_set,
    record_working_set,
    records_budget_bytes,
    reply_reserve_seconds,
)
from pipeline_runtime.steps import Step
from pipeline_runtime.storable import UnstorableRecord, storage_problems

logger = Logger()


class RecordTooLarge(Exception):
    """A step's output past MAX_RECORD_BYTES as UTF-8 JSON."""

    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__(f"{size} bytes of JSON, more than the {MAX_RECORD_BYTES} a record may hold")


def output_text(data: Any) -> str:
    """What a step returned as the JSON text it travels as; UnstorableRecord or RecordTooLarge if it cannot."""
    problems = storage_problems(data)  # walked without recursion: nothing deeper than DynamoDB takes is encoded
    if problems:
        raise UnstorableRecord(problems)
    output = payloads.text_of(data)
    size = len(output.encode("utf-8"))
    if size > MAX_RECORD_BYTES:
        raise RecordTooLarge(size)
    return output


@dataclass
class CallClock:
    """When a call must answer (monotonic seconds), from the Lambda context's remaining time; None: no limit."""

    answer_by: float | None = None
    start_by: float | None = None
    started: dict[str, float] = field(default_factory=dict)  # record id -> when its step began

    @classmethod
    def of(cls, context: Any) -> CallClock:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(remaining):
            return cls()
        seconds, now = remaining() / 1000, time.monotonic()
        reserve = reply_reserve_seconds(seconds)
        return cls(answer_by=now + seconds - reserve, start_by=now + seconds - 2 * reserve)

    def seconds_to_answer(self) -> float | None:
        return None if self.answer_by is None else max(0.0, self.answer_by - time.monotonic())

    def may_start(self) -> bool:
        return self.start_by is None or time.monotonic() < self.start_by


def run_record(
    request: StepRequest, record: Carried, original: Carried | None, step: Step, context: Any, room: Room
) -> Carried:
    """One record through the step, in a context of its own and within the call's memory and time: its result,
    whatever happened. Its data is parsed only once its working set fits, and leaves as text."""
    name, message_id = request["step"], record.id
    # Thread-safe keys live in this record's own context and outrank a process-wide correlation id.
    logger.thread_safe_append_keys(
        correlation_id=message_id, step=name, execution_id=request["execution_id"], **invocation_log_keys(context)
    )
    result: dict[str, Any] = {"id": message_id, "step": name}
    if request["role"] == "validate" and "receipt" in record.header:  # the store deletes the message with it
        result["receipt"] = record.header["receipt"]
    receipt = original.header.get("receipt") if original else None
    in_bucket = sum(
        carried.header.get("text_bytes", 0) for carried in (record, original) if carried and carried.text is None
    )
    try:
        with room.budget.holding(min(room.budget.total, 2 * in_bucket), until=room.clock.start_by):
            text = record.data_text()  # a text read from the bucket: bytes, then str
            original_text = original.data_text() if original else None
        needed = record_working_set(text, original_text)
        if request["role"] == "validate":  # and what the first step reads beyond its record (an S3 object)
            needed += densest_working_set(message_formats.held_object_bytes(text))
        if not room.budget.fits(needed):  # no wait can make room for it
            logger.warning("record too large for memory", extra={"message_id": message_id, "bytes": needed})
            return Carried(
                {**result, "status": "too_large", "bytes": needed, "limit": room.budget.total, "of": "memory"}
            )
        with room.budget.holding(needed, until=room.clock.start_by):
            if not room.clock.may_start():
                raise NoRoomInTime
            room.clock.started[message_id] = time.monotonic()
            try:
                CURRENT.set(RecordContext(message_id, request["execution_id"], context))
                data = step(json.loads(text))
                if request["role"] == "store":  # the one write: the last step's result, with the validated original
                    original_data = json.loads(original_text) if original_text is not None else None
                    data = storage.store(message_id, request["execution_id"], original_data, data)
                output = output_text(data)
            except BaseException as error:  # this record's outcome, never the call's
                if is_runtime_signal(error):
                    raise
                return failure_of(record, result, error)
    except NoRoomInTime:
        return again(record, result, {"type": "Timeout", "message": "not started: the invocation's time ran out"})
    if request["role"] == "store":  # the message ended: SQS must not hand it out again
        input_queue.delete_ended(receipt, message_id)
    return done(request, result, output, room)


def done(request: StepRequest, result: dict[str, Any], output: str, room: Room) -> Carried:
    """A record the step finished, its output kept for the reply while the call's held texts allow, else in the
    bucket."""
    if room.held.keep(len(output.encode("utf-8"))):
        return Carried({**result, "status": "ok"}, output)
    pointer = payloads.put_text(f"{request['output_key']}-records/{result['id']}.json", output)
    return Carried({**result, "status": "ok", **pointer})


def again(record: Carried, result: dict[str, Any], error: dict[str, Any], status: str = "transient") -> Carried:
    """The record goes again with its data (in the bucket if it travels there)."""
    pointer = {key: record.header[key] for key in ("data_ref", "text_bytes") if key in record.header}
    return Carried({**result, "status": status, "error": error, **pointer}, record.text)


def failure_of(record: Carried, result: dict[str, Any], error: BaseException) -> Carried:
    """A step's exception as the record's result: rejected, too large, transient (it goes again), or failed."""
    errors = rejection_errors(error)
    if errors is not None:
        reason = getattr(error, "reason", "validation_failed")  # InvalidBody, UnstorableRecord
        logger.info("record rejected", extra={"message_id": record.id, "reason": reason, "errors": errors})
        return Carried({**result, "status": "rejected", "reason": reason, "errors": errors})
    if isinstance(error, RecordTooLarge):
        return Carried({**result, "status": "too_large", "bytes": error.size, "limit": MAX_RECORD_BYTES, "of": "JSON"})
    failure = describe(error)
    logger.exception("record failed", extra={"message_id": record.id, "error_type": failure["type"]})
    if is_transient(failure):
        return again(record, result, failure)
    return Carried({**result, "status": "failed", "error": failure})


@dataclass
class Room:
    """What a call's records share: the memory for records in flight, the texts kept for the reply, the time."""

    budget: MemoryBudget
    held: HeldTexts
    clock: CallClock


def run_call(request: StepRequest, step: Step, context: Any) -> StepReply:
    """Answer one request: every record it selects through `step`, then the reply, packed."""
    records = payloads.with_status(request["sources"], request["select"])
    originals = (
        {original.id: original for original in payloads.with_status(request["originals"], "ok")}
        if request["role"] == "store"
        else {}
    )
    reserved = int(request.get("reserved_bytes", 0))  # durable_step: what the orchestrator holds for its batch
    room = Room(MemoryBudget(records_budget_bytes(memory_mb(context), reserved)), HeldTexts(), CallClock.of(context))

    def one(record: Carried) -> Carried:
        original = originals.get(record.id)
        return contextvars.copy_context().run(run_record, request, record, original, step, context, room)

    threads = max(1, min(int(request.get("threads", 1)), MAX_STEP_THREADS, len(records)))
    finished = run_records(records, one, threads, room.clock.seconds_to_answer(), f"step-{request['step']}")
    results = outcomes(records, finished, room.clock, request["step"])
    counts = no_counts()
    counts.update(Counter(result.status for result in results))  # type: ignore[typeddict-item]
    if request["role"] == "store":  # a redelivered message the table already holds
        counts["duplicates"] = sum(
            1 for result in results if result.status == "ok" and json.loads(result.data_text())["duplicate"]
        )
    return {"output": payloads.pack(results, request["output_key"], int(request["inline_limit"])), "counts": counts}


def run_records(
    records: list[Carried], one: Callable[[Carried], Carried], threads: int, seconds: float | None, name: str
) -> list[Carried | None]:
    """Each record through `one`, `threads` at a time, for at most `seconds`: the results, None where a record is
    still running or never started. Daemon threads: one left running never holds up the process (make local's
    --timeout); in Lambda the sandbox is frozen once the reply is sent."""
    results: list[Carried | None] = [None] * len(records)
    escaped: list[BaseException] = []  # only the durable runtime's own signals leave run_record
    turns, lock, stop, done = iter(range(len(records))), threading.Lock(), threading.Event(), threading.Event()
    running = [threads]

    def work() -> None:
        while not stop.is_set():
            with lock:
                position = next(turns, None)
            if position is None:
                break
            try:
                results[position] = one(records[position])
            except BaseException as error:
                escaped.append(error)
                stop.set()
        with lock:
            running[0] -= 1
            if not running[0]:
                done.set()

    for number in range(threads):  # each thread in a copy of the caller's context: its log keys, its tracing
        thread = threading.Thread(target=contextvars.copy_context().run, args=(work,), name=f"{name}-{number}")
        thread.daemon = True
        thread.start()
    done.wait(seconds)
    stop.set()  # no record starts after this
    if escaped:
        raise escaped[0]
    return results


def outcomes(records: list[Carried], finished: list[Carried | None], clock: CallClock, step: str) -> list[Carried]:
    """Each record's result; for those still running when the call must answer, what to do with them."""
    running = [record.id for record, result in zip(records, finished, strict=True) if result is None]
    began = sorted((clock.started[mid], mid) for mid in running if mid in clock.started)
    slowest = began[0][1] if began else None  # the first to start: the likeliest to hold the others up
    results = []
    for record, done in zip(records, finished, strict=True):
        if done is not None:
            results.append(done)
            continue
        result = {"id": record.id, "step": step}
        if record.id != slowest:
            note = "started too late" if record.id in clock.started else "not started"
            results.append(
                again(record, result, {"type": "Timeout", "message": f"{note}: the invocation's time ran out"})
            )
            continue
        seconds = round(time.monotonic() - clock.started[record.id], 1)
        logger.warning("record still running when the call had to answer", extra={"message_id": record.id})
        error = {
            "type": "StepTimedOut",
            "message": f"still running after {seconds} s, when the invocation's time ran out",
        }
        if len(records) == 1:  # it had the invocation to itself: no retry gives it more
            results.append(Carried({**result, "status": "timed_out", "error": error}))
        else:
            results.append(again(record, result, error, "isolate"))
    return results


def well_formed(reply: Any) -> StepReply | None:
    """The reply with every status counted, or None."""
    if not (
        isinstance(reply, dict) and isinstance(reply.get("output"), dict) and isinstance(reply.get("counts"), dict)
    ):
        return None
    counts: StatusCounts = {status: reply["counts"].get(status) for status in no_counts()}  # type: ignore[misc]
    if not all(isinstance(count, int) for count in counts.values()):
        return None
    return {"output": reply["output"], "counts": counts}


def failed_call(step: str, request: StepRequest, error: dict[str, Any], record_count: int) -> StepReply:
    """The reply for a call that failed as a whole: each of its `record_count` records shares the error. A lone
    record whose invocation timed out had all of that invocation's time: it is timed_out, never retried."""
    timed_out = record_count == 1 and str(error.get("type", "")).rsplit(".", 1)[-1] in ("Timedout", "Timeout")
    status = "timed_out" if timed_out else "transient" if is_transient(error) else "failed"
    counts = no_counts()
    counts[status] = record_count  # type: ignore[literal-required]
    output: FailedCall = {
        "kind": "failed_call",
        "failed_call": {"step": step, "status": status, "error": error},
        "sources": request["sources"],
        "select": request["select"],
    }
    return {"output": output, "counts": counts}
