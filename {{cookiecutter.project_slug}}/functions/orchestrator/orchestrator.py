# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Durable orchestrator: takes each SQS batch through the step chain and settles every record.

A batch's records (batch_records.py: one per message, or per S3 object) run in waves of RECORD_CONCURRENCY
records{% if cookiecutter.step_mode == 'durable_step' %} (one wave here){% endif %},
{%- if cookiecutter.queue_type == 'fifo' %}
a FIFO batch's in rounds of one record per message group,
{%- endif %}
one wave after another; in a wave each step is called once for all its records, then again, after a
durable wait, for those that failed transiently. Each record ends stored, dead-lettered (rejected, failed
on its last delivery, too large), or in batchItemFailures; records travel inline or through the payload
bucket (pipeline_runtime/quotas.py).
"""

from __future__ import annotations

import os
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, StepError, durable_execution
from aws_durable_execution_sdk_python.config import ChildConfig, Duration, StepConfig
from aws_durable_execution_sdk_python.serdes import JsonSerDes
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from batch_records import BatchRecord, SqsRecord, Wave, batch_records, waves
{% if cookiecutter.step_mode == 'lambda_invoke' -%}
from invoke_steps import call_step
{% else -%}
from inline_steps import call_step
{% endif -%}
from pipeline_config import RETRY, STEP_MODE, STEPS, record_concurrency, records_per_wave, retry_strategy, role
from pipeline_runtime import payloads, quotas
from pipeline_runtime.context import invocation_log_keys
from pipeline_runtime.errors import describe
from pipeline_runtime.messages import (
    ENDINGS,
    Payload,
    Record,
    StepReply,
    StepRequest,
    WaveOutcome,
    inline,
    settled,
    wave_outcome,
)
from settle import settle

logger = Logger()
metrics = Metrics()
metrics.set_default_dimensions(environment=os.environ.get("ENVIRONMENT", "local"))  # stacks may share an account
tracer = Tracer()  # off outside Lambda; in Lambda, X-Ray segments with boto3 calls as subsegments

__all__ = ["handler"]

JSON = JsonSerDes()  # checkpoints hold plain JSON: what the quotas measure
SETTLING = StepConfig(retry_strategy=retry_strategy, serdes=JSON)  # staging and dead-lettering retry any error


def max_receive_count() -> int | None:
    value = os.environ.get("MAX_RECEIVE_COUNT", "")
    return int(value) if value else None


def stage(ctx: DurableContext, records: list[Record], prefix: str, inline_limit: int) -> Payload | None:
    """The wave's records for its first step: inline if they fit a checkpoint, else staged in the bucket by a
    checkpointed step; None if the bucket stayed unreachable."""
    source = inline(records)
    if payloads.encoded_size(source) <= inline_limit:
        return source
    carried = [payloads.from_record(record) for record in source["records"]]
    try:
        return ctx.step(lambda _: payloads.pack(carried, f"{prefix}/stage.json", 0), name="stage", config=SETTLING)
    except StepError as error:
        logger.error("staging failed; SQS will redeliver the wave", extra={"error": describe(error)})
        return None


def run_step(ctx: DurableContext, step: str, request: StepRequest, record_count: int) -> tuple[list[StepReply], int]:
    """Call a step for the request's records, then again for those that failed transiently; a record that ran out
    of its invocation's time beside others first goes once alone. Every reply, and how many records are left."""
    replies, isolated = [], False
    for attempt in range(1, RETRY.max_attempts + 1):
        name = f"{step}-{attempt}"
        reply = call_step(ctx, step, {**request, "output_key": f"{request['output_key']}-{attempt}.json"}, name,
                          record_count)  # fmt: skip
        replies.append(reply)
        sources, again = [reply["output"]], ["transient", "isolate"]
        record_count = reply["counts"]["transient"] + reply["counts"]["isolate"]
        if reply["counts"]["isolate"] and not isolated:
            isolated = True
            alone = call_alone(ctx, step, {**request, "sources": [reply["output"]]}, attempt)
            replies.append(alone)
            sources, again = [reply["output"], alone["output"]], ["transient"]
            record_count = reply["counts"]["transient"] + alone["counts"]["transient"]
        if not record_count or attempt == RETRY.max_attempts:
            return replies, record_count
        delay = retry_strategy(RuntimeError("transient step failure"), attempt).delay_seconds
        ctx.wait(Duration.from_seconds(delay), name=f"{step}-backoff-{attempt}")
        request = {**request, "sources": sources, "select": again}
    return replies, record_count


def call_alone(ctx: DurableContext, step: str, request: StepRequest, attempt: int) -> StepReply:
    """The record marked `isolate` in an invocation of its own: if it runs out of time again, it is timed_out."""
    name = f"{step}-{attempt}-alone"
    if STEP_MODE == "durable_step":  # the step would run in this invocation's remaining time: start a fresh one
        ctx.wait(Duration.from_seconds(1), name=f"{name}-wait")
    alone: StepRequest = {**request, "select": "isolate", "output_key": f"{request['output_key']}-{attempt}-alone.json"}
    return call_step(ctx, step, alone, name, 1)


def run_wave(
    ctx: DurableContext, records: list[Record], wave: int, execution_id: str, inline_limit: int
) -> WaveOutcome:
    """Each step in turn on the records the step before passed on, the last one storing them; then what did not
    end stored is settled. What each record of the wave became."""
    prefix, every_record = payloads.key_prefix(execution_id, wave), list(range(len(records)))
    source = stage(ctx, records, prefix, inline_limit)
    if source is None:
        return wave_outcome(retry=every_record)
    outputs: list[Payload] = []  # every reply's records, in order: the last one naming a record says how it ended
    outcome, unsettled = wave_outcome(), 0
    body_bytes = sum(len(record["data"]) for record in records)  # durable_step: the steps share this memory
    reserved = quotas.batch_reserve_bytes(body_bytes, len(records)) if STEP_MODE == "durable_step" else 0
    sources, originals, record_count = [source], [], len(records)
    for position, step in enumerate(STEPS):
        storing = position == len(STEPS) - 1
        request: StepRequest = {
            "step": step, "role": role(step), "execution_id": execution_id, "sources": sources, "select": "ok",
            "originals": originals if storing else [], "output_key": f"{prefix}/{step}", "inline_limit": inline_limit,
            "threads": min(record_concurrency(), quotas.MAX_STEP_THREADS), "reserved_bytes": reserved,
        }  # fmt: skip
        replies, left = run_step(ctx, step, request, record_count)
        counts = [reply["counts"] for reply in replies]
        outputs += [reply["output"] for reply in replies]
        unsettled += sum(c["rejected"] + c["failed"] + c["too_large"] + c["timed_out"] for c in counts) + left
        sources = [reply["output"] for reply in replies if reply["counts"]["ok"]]  # only these hold records going on
        record_count = sum(c["ok"] for c in counts)
        originals = sources if position == 0 else originals
        if storing:
            outcome = wave_outcome(record_count, sum(c["duplicates"] for c in counts))
        if not record_count:
            break
    if not unsettled:
        return outcome
    try:
        settling = ctx.step(
            lambda _: settle(source, outputs, execution_id, max_receive_count()), name="settle", config=SETTLING
        )
    except StepError as error:  # the bucket stayed unreachable: stored records come back as duplicates
        logger.error("settling failed; SQS will redeliver the wave", extra={"error": describe(error)})
        return {**outcome, "retry": every_record}
    return settled(outcome, settling)


def run_waves(
    context: DurableContext, records: list[BatchRecord], planned: list[Wave], execution_id: str
) -> tuple[list[WaveOutcome], set[str]]:
    """The waves one after another, several each in a child context of its own: what each wave's records became,
    and the messages SQS must deliver again. A FIFO group whose record goes back keeps its later records back."""
    inline_limit = quotas.inline_payload_cap(STEP_MODE, len(STEPS), len(planned), RETRY.max_attempts)
    outcomes, failed, held_back = [], set(), set()  # held_back: FIFO groups with a record going back to SQS
    for index, wave in enumerate(planned):
        running = [position for position in wave.positions if records[position].group not in held_back]
        failed |= {records[position].message_id for position in wave.positions if records[position].group in held_back}
        if not running:
            continue
        wave_records = [records[position].record for position in running]
        outcome = (
            run_wave(context, wave_records, index, execution_id, inline_limit)
            if len(planned) == 1
            else context.run_in_child_context(
                lambda ctx, wave_records=wave_records, index=index: run_wave(
                    ctx, wave_records, index, execution_id, inline_limit
                ),
                name=wave.name,
                config=ChildConfig(serdes=JSON),
            )
        )
        outcomes.append(outcome)
        for position in (running[number] for number in outcome["retry"]):
            failed.add(records[position].message_id)
            if records[position].group is not None:
                held_back.add(records[position].group)
    return outcomes, failed


def put_metrics(counts: dict[str, int]) -> None:
    """Once per batch, on the handler's thread: Powertools metrics are not thread-safe."""
    for metric, value in (
        ("RecordsStored", counts["stored"] - counts["duplicates"]),
        ("RecordsRejected", counts["rejected"]),
        ("RecordsDeadLettered", counts["dead_lettered"]),
        ("RecordsFailed", counts["retry"]),
    ):
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)


@tracer.capture_lambda_handler(capture_response=False)  # each invocation a segment; records stay out of traces
@metrics.log_metrics
@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    context.set_logger(logger)
    messages: list[SqsRecord] = event.get("Records", [])
    execution_id = context.execution_context.durable_execution_arn
    # This thread's keys: batch lines name no record or step (each record's lines get theirs from the step runtime).
    logger.thread_safe_append_keys(
        correlation_id=None, step=None, execution_id=execution_id, **invocation_log_keys(context.lambda_context)
    )
    tracer.put_annotation("execution_id", execution_id)  # find an execution's invocations in X-Ray
    tracer.put_annotation("records", len(messages))
    records = batch_records(messages)
    outcomes, failed = run_waves(context, records, waves(records, records_per_wave(len(records))), execution_id)
    failures = [{"itemIdentifier": message["messageId"]} for message in messages if message["messageId"] in failed]
    counts = {name: sum(outcome[name] for outcome in outcomes) for name in ENDINGS} | {"retry": len(failures)}
    if not context.is_replaying():
        put_metrics(counts)
    without_record = len(messages) - len({record.message_id for record in records})  # S3's test events
    context.logger.info(
        "batch done",
        extra={"execution_id": execution_id, "records": len(messages), "without_record": without_record, **counts},
    )
    # Only what SQS needs and the counts: the return value of a synchronous invoke is capped at 6 MB.
    return {"batchItemFailures": failures, "counts": counts}
