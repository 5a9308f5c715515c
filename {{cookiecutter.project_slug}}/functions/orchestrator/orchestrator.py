# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Durable orchestrator: takes each SQS batch through the step chain and settles every record.

A batch runs in waves of RECORD_CONCURRENCY records{% if cookiecutter.step_mode == 'durable_step' %} (one wave here){% endif %}; in a wave each step is called once
for all its records, then again, after a durable wait, for those that failed transiently. Each
record ends stored, dead-lettered (rejected, failed on its last delivery, too large), or in
batchItemFailures; records travel inline or through the payload bucket (pipeline_runtime/quotas.py).
"""

from __future__ import annotations

import os
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, StepError, durable_execution
from aws_durable_execution_sdk_python.config import ChildConfig, Duration, StepConfig
from aws_durable_execution_sdk_python.serdes import JsonSerDes
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

{% if cookiecutter.step_mode == 'lambda_invoke' -%}
from invoke_steps import call_step, wave_size
{% else -%}
from inline_steps import call_step, wave_size
{% endif -%}
from pipeline_config import RETRY, STEP_MODE, STEPS, record_concurrency, retry_strategy, role
from pipeline_runtime import payloads, quotas
from pipeline_runtime.context import invocation_log_keys
from pipeline_runtime.errors import describe
from pipeline_runtime.storage import REDRIVEN_RECORD_ID
from settle import settle

logger = Logger()
metrics = Metrics()
metrics.set_default_dimensions(environment=os.environ.get("ENVIRONMENT", "local"))  # stacks may share an account
tracer = Tracer()  # off outside Lambda; in Lambda, X-Ray segments with boto3 calls as subsegments

__all__ = ["handler"]

Record = dict[str, Any]
JSON = JsonSerDes()  # checkpoints hold plain JSON: what the quotas measure
SETTLING = StepConfig(retry_strategy=retry_strategy, serdes=JSON)  # staging and dead-lettering retry any error


def max_receive_count() -> int | None:
    value = os.environ.get("MAX_RECEIVE_COUNT", "")
    return int(value) if value else None


def record_id(record: Record) -> str:
    """The message's id in the ledger: its own, or, redriven from the DLQ (make redrive), the one it ended under."""
    redriven = record.get("messageAttributes", {}).get(REDRIVEN_RECORD_ID, {}).get("stringValue")
    return redriven or record["messageId"]


def staged(records: list[Record]) -> list[dict[str, Any]]:
    """A wave's records as the first step reads them."""
    return [
        {
            "id": record_id(record),
            "status": "ok",
            "data": record["body"],
            "receives": int(record.get("attributes", {}).get("ApproximateReceiveCount", "1")),
            **({"receipt": record["receiptHandle"]} if record.get("receiptHandle") else {}),  # to delete it once ended
        }
        for record in records
    ]


def run_step(
    ctx: DurableContext, step: str, request: dict[str, Any], selected: int
) -> tuple[list[dict[str, Any]], int]:
    """Call a step for the selected records, then again for those that failed transiently; a record that ran out of
    its invocation's time beside others first goes once alone. Every reply, and how many records are left to retry."""
    replies, isolated = [], False
    for attempt in range(1, RETRY.max_attempts + 1):
        name = f"{step}-{attempt}"
        attempt_key = f"{request['output_key']}-{attempt}.json"
        reply = call_step(ctx, step, {**request, "output_key": attempt_key}, name, selected)
        replies.append(reply)
        sources, again = [reply["output"]], ["transient", "isolate"]
        selected = reply["counts"]["transient"] + reply["counts"]["isolate"]
        if reply["counts"]["isolate"] and not isolated:
            isolated = True
            alone = call_alone(ctx, step, {**request, "sources": [reply["output"]]}, attempt)
            replies.append(alone)
            sources, again = [reply["output"], alone["output"]], ["transient"]
            selected = reply["counts"]["transient"] + alone["counts"]["transient"]
        if not selected or attempt == RETRY.max_attempts:
            return replies, selected
        delay = retry_strategy(RuntimeError("transient step failure"), attempt).delay_seconds
        ctx.wait(Duration.from_seconds(delay), name=f"{step}-backoff-{attempt}")
        request = {**request, "sources": sources, "select": again}
    return replies, selected


def call_alone(ctx: DurableContext, step: str, request: dict[str, Any], attempt: int) -> dict[str, Any]:
    """The record marked `isolate` in an invocation of its own: if it runs out of time again, it is timed_out."""
    name = f"{step}-{attempt}-alone"
    if STEP_MODE == "durable_step":  # the step would run in this invocation's remaining time: start a fresh one
        ctx.wait(Duration.from_seconds(1), name=f"{name}-wait")
    alone = {**request, "select": "isolate", "output_key": f"{request['output_key']}-{attempt}-alone.json"}
    return call_step(ctx, step, alone, name, 1)


def run_wave(
    ctx: DurableContext, records: list[Record], wave: int, execution_id: str, inline_limit: int
) -> dict[str, Any]:
    """Take one wave through every step, then settle what did not end stored; what each record became."""
    prefix = payloads.key_prefix(execution_id, wave)
    stage = staged(records)
    source: dict[str, Any] = {"records": stage}
    if payloads.encoded_size(source) > inline_limit:
        try:
            carried = [payloads.from_record(record) for record in stage]
            stage_key = f"{prefix}/stage.json"
            source = ctx.step(lambda _: payloads.pack(carried, stage_key, 0), name="stage", config=SETTLING)
        except StepError as error:  # the bucket stayed unreachable: let SQS bring the wave back
            logger.error("staging failed; SQS will redeliver the wave", extra={"error": describe(error)})
            return {"stored": 0, "duplicates": 0, "rejected": 0, "dead_lettered": 0, "retry": list(range(len(records)))}

    outputs: list[dict[str, Any]] = []  # every reply, in order: the last one naming a record says how it ended
    ended = dict.fromkeys(("stored", "duplicates", "unsettled"), 0)
    # A step running in this function shares its memory with the batch (pipeline_runtime/quotas.py, "Memory").
    body_bytes = sum(len(record["body"]) for record in records)
    reserved = quotas.batch_reserve_bytes(body_bytes, len(records)) if STEP_MODE == "durable_step" else 0
    sources, originals, selected = [source], [], len(records)
    for position, step in enumerate(STEPS):
        request = {
            "step": step,
            "role": role(step),
            "execution_id": execution_id,
            "sources": sources,
            "select": "ok",
            "originals": originals if position == len(STEPS) - 1 else [],
            "output_key": f"{prefix}/{step}",
            "inline_limit": inline_limit,
            "threads": min(record_concurrency(), quotas.MAX_STEP_THREADS),
            "reserved_bytes": reserved,
        }
        replies, left = run_step(ctx, step, request, selected)
        outputs += [reply["output"] for reply in replies]
        counts = [reply["counts"] for reply in replies]
        ended["unsettled"] += sum(c["rejected"] + c["failed"] + c["too_large"] + c["timed_out"] for c in counts) + left
        carrying = [reply["output"] for reply in replies if reply["counts"]["ok"]]  # only these hold records going on
        selected = sum(c["ok"] for c in counts)
        if position == 0:
            originals = carrying
        if position == len(STEPS) - 1:
            ended["stored"], ended["duplicates"] = selected, sum(c["duplicates"] for c in counts)
        if not selected:
            break
        sources = carrying

    result = {
        "stored": ended["stored"],
        "duplicates": ended["duplicates"],
        "rejected": 0,
        "dead_lettered": 0,
        "retry": [],
    }
    if ended["unsettled"]:
        try:
            settled = ctx.step(
                lambda _: settle(source, outputs, execution_id, max_receive_count()), name="settle", config=SETTLING
            )
        except StepError as error:  # the bucket stayed unreachable: stored records come back as duplicates
            logger.error("settling failed; SQS will redeliver the wave", extra={"error": describe(error)})
            return {**result, "retry": list(range(len(records)))}
        result = {name: result[name] + settled[name] for name in ("stored", "duplicates", "rejected", "dead_lettered")}
        result["retry"] = settled["retry"]
    return result


@tracer.capture_lambda_handler(capture_response=False)  # each invocation a segment; records stay out of traces
@metrics.log_metrics
@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    context.set_logger(logger)
    records: list[Record] = event.get("Records", [])
    execution_id = context.execution_context.durable_execution_arn
    # This thread's keys: batch lines name no record or step (each record's lines get theirs from the step runtime).
    logger.thread_safe_append_keys(
        correlation_id=None, step=None, execution_id=execution_id, **invocation_log_keys(context.lambda_context)
    )
    tracer.put_annotation("execution_id", execution_id)  # find an execution's invocations in X-Ray
    tracer.put_annotation("records", len(records))
    size = wave_size(records)
    waves = [records[start : start + size] for start in range(0, len(records), size)]
    inline_limit = quotas.inline_payload_cap(STEP_MODE, len(STEPS), len(waves), RETRY.max_attempts)
    results = []
    for index, wave in enumerate(waves):
        if len(waves) == 1:
            results.append(run_wave(context, wave, index, execution_id, inline_limit))
            continue
        first = index * size + 1
        results.append(
            context.run_in_child_context(
                lambda ctx, wave=wave, index=index: run_wave(ctx, wave, index, execution_id, inline_limit),
                name=f"records-{first}-{first + len(wave) - 1}",
                config=ChildConfig(serdes=JSON),
            )
        )
    failures = [
        {"itemIdentifier": wave[p]["messageId"]}
        for wave, result in zip(waves, results, strict=True)
        for p in result["retry"]
    ]
    counts = {
        name: sum(result[name] for result in results) for name in ("stored", "duplicates", "rejected", "dead_lettered")
    }
    counts["retry"] = len(failures)
    if not context.is_replaying():  # once per batch, on this thread: Powertools metrics are not thread-safe
        for metric, value in (
            ("RecordsStored", counts["stored"] - counts["duplicates"]),
            ("RecordsRejected", counts["rejected"]),
            ("RecordsDeadLettered", counts["dead_lettered"]),
            ("RecordsFailed", counts["retry"]),
        ):
            metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)
    context.logger.info("batch done", extra={"execution_id": execution_id, "records": len(records), **counts})
    # Only what SQS needs and the counts: the return value of a synchronous invoke is capped at 6 MB.
    return {"batchItemFailures": failures, "counts": counts}
