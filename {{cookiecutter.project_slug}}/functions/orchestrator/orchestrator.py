"""Durable orchestrator: runs every record of an SQS batch through the step chain.

SQS invokes this function through its event source mapping. Each record ends in exactly one of:
- stored:        every step succeeded and the last one wrote it to DynamoDB;
- rejected:      the validation step refused it; it is sent to the DLQ with its errors at once;
- dead_lettered: a step kept failing on the record's last allowed delivery; sent to the DLQ
                 with the last error;
- retry:         a step failed before the last delivery; reported in `batchItemFailures` so SQS
                 redelivers it (and its redrive policy dead-letters it if this function cannot).

How records travel depends on STEP_MODE (pipeline_config.py):
- "lambda_invoke": each step is its own Lambda function. The records in flight (up to
  RECORD_CONCURRENCY at once) travel together: each step is invoked once for all of them
  (step_groups.py), so a batch costs one orchestrator invocation per step plus one, whatever
  its size, instead of one per step per record.
- "durable_step": the steps run here as checkpointed context.step calls, every record in its own
  child context of a context.map; nothing suspends, so a batch is a single invocation.
Either way a replay after a crash skips every step, retry and dead-letter already checkpointed.
Template-owned: step logic lives in functions/<step>/, not here.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, StepError, durable_execution
from aws_durable_execution_sdk_python.config import CompletionConfig, Duration, MapConfig, StepConfig
from aws_durable_execution_sdk_python.retries import RetryDecision
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from dead_letters import MAX_ERROR_DETAIL_CHARS, ledger_table, send_to_dead_letter_queue
from pipeline_config import STEP_MODE, STEP_RETRY, STEPS
from step_results import MalformedStepOutput, error_result, is_transient, with_fields

if STEP_MODE == "lambda_invoke":  # step_groups.py ships in this mode only
    from step_groups import run_step

logger = Logger()
metrics = Metrics()

__all__ = ["handler", "ledger_table"]

VALIDATION_STEP, STORAGE_STEP = STEPS[0], STEPS[-1]
TRANSFORM_STEPS = STEPS[1:-1]
# In durable_step mode the steps' handlers run here; in lambda_invoke mode they are other functions.
STEP_HANDLERS = (
    {step: importlib.import_module(f"{step}_step").handler for step in STEPS} if STEP_MODE == "durable_step" else {}
)

Record = dict[str, Any]
Outcome = dict[str, Any]


def max_receive_count() -> int | None:
    value = os.environ.get("MAX_RECEIVE_COUNT", "")
    return int(value) if value else None


def record_concurrency() -> int | None:
    value = os.environ.get("RECORD_CONCURRENCY", "")
    return int(value) if value else None


def describe(result: dict[str, Any]) -> str:
    """One line for a failed step result: `Type: message`."""
    error = result["error"]
    return f"{error['type']}: {error['message']}"[:MAX_ERROR_DETAIL_CHARS]


def failure_outcome(ctx: DurableContext, record: Record, detail: str, execution_id: str) -> Outcome:
    """A step failed for good in this execution: dead-letter on the last delivery, else let SQS redeliver."""
    receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    limit = max_receive_count()
    extra = {"message_id": record["messageId"], "execution_id": execution_id, "error": detail}
    if limit is not None and receives >= limit:
        ctx.logger.error("record failed on its last delivery", extra=extra)
        return {"outcome": "dead_lettered", "error": detail}
    ctx.logger.warning("record failed; SQS will redeliver it", extra=extra)
    return {"outcome": "retry", "error": detail}


def retry_transient(error: Exception, attempts_made: int) -> RetryDecision:
    """Retry transient failures with bounded exponential backoff; fail permanent ones at once."""
    if is_transient(error_result(error)) and attempts_made < STEP_RETRY.max_attempts:
        return RetryDecision.retry(Duration.from_seconds(STEP_RETRY.delay_before(attempts_made + 1)))
    return RetryDecision.no_retry()


def retry_any(error: Exception, attempts_made: int) -> RetryDecision:
    """Dead-lettering must not give up on the first SQS hiccup: retry every error, bounded."""
    if attempts_made < STEP_RETRY.max_attempts:
        return RetryDecision.retry(Duration.from_seconds(STEP_RETRY.delay_before(attempts_made + 1)))
    return RetryDecision.no_retry()


def dead_letter(
    ctx: DurableContext, endings: list[tuple[Record, str, Any]], execution_id: str, name: str
) -> str | None:
    """Send records to the DLQ in one checkpointed step; returns why it failed, if it did."""
    try:
        ctx.step(
            lambda _: [
                send_to_dead_letter_queue(record, reason, detail, execution_id) for record, reason, detail in endings
            ],
            name=name,
            config=StepConfig(retry_strategy=retry_any),
        )
    except StepError as error:  # after every retry; checkpoint and replay errors must escape to the SDK
        return describe(error_result(error))
    return None


# step_mode "lambda_invoke": the records in flight travel together, one chained invoke per step.


def run_wave(ctx: DurableContext, records: list[Record], execution_id: str) -> dict[str, Outcome]:
    """Take records through the chain together; a record that fails leaves the group, the others go on."""
    outcomes: dict[str, Outcome] = {}
    failed_for_good: list[tuple[Record, str, Any]] = []

    def fail(record: Record, result: dict[str, Any]) -> None:
        outcome = failure_outcome(ctx, record, describe(result), execution_id)
        outcomes[record["messageId"]] = outcome
        if outcome["outcome"] == "dead_lettered":
            failed_for_good.append((record, "step_failed", outcome["error"]))

    verdicts = run_step(ctx, VALIDATION_STEP, [{"message_id": r["messageId"], "body": r["body"]} for r in records])
    travelling: list[tuple[Record, Any, Any]] = []  # (record, validated original, current data)
    rejected: list[tuple[Record, str, Any]] = []
    for record, answer in zip(records, verdicts, strict=True):
        verdict = with_fields(answer, "valid", "errors", "record")
        if "error" in verdict:
            fail(record, verdict)
        elif not verdict["ok"]["valid"]:
            errors = verdict["ok"]["errors"]
            ctx.logger.warning(
                "record rejected",
                extra={"message_id": record["messageId"], "execution_id": execution_id, "errors": errors},
            )
            outcomes[record["messageId"]] = {"outcome": "rejected", "errors": errors}
            rejected.append((record, "validation_failed", errors))
        else:
            travelling.append((record, verdict["ok"]["record"], verdict["ok"]["record"]))
    if rejected:  # to the DLQ before the others go on
        unsent = dead_letter(ctx, rejected, execution_id, "dead-letter-rejected")
        for record, _reason, _detail in rejected if unsent else []:
            outcomes[record["messageId"]] = {"outcome": "retry", "error": f"dead-lettering failed: {unsent}"}

    for step in TRANSFORM_STEPS:
        results = run_step(ctx, step, [{"message_id": r["messageId"], "record": data} for r, _, data in travelling])
        still_travelling = []
        for (record, original, _data), answer in zip(travelling, results, strict=True):
            result = with_fields(answer, "record")
            if "error" in result:
                fail(record, result)
            else:
                still_travelling.append((record, original, result["ok"]["record"]))
        travelling = still_travelling

    stored = run_step(
        ctx,
        STORAGE_STEP,
        [
            {"message_id": r["messageId"], "execution_id": execution_id, "original": original, "record": data}
            for r, original, data in travelling
        ],
    )
    for (record, _original, _data), answer in zip(travelling, stored, strict=True):
        result = with_fields(answer, "record_id", "duplicate")
        if "error" in result:
            fail(record, result)
        else:
            outcomes[record["messageId"]] = {
                "outcome": "stored",
                "record_id": result["ok"]["record_id"],
                "duplicate": result["ok"]["duplicate"],
            }

    if failed_for_good:
        unsent = dead_letter(ctx, failed_for_good, execution_id, "dead-letter-failed")
        for record, _reason, detail in failed_for_good if unsent else []:
            outcomes[record["messageId"]] = {"outcome": "retry", "error": f"{detail}; dead-lettering failed: {unsent}"}
    return outcomes


def run_in_groups(context: DurableContext, records: list[Record], execution_id: str) -> dict[str, Outcome]:
    """Waves of RECORD_CONCURRENCY records, one after another; one wave when it covers the batch."""
    size = record_concurrency() or len(records) or 1
    outcomes: dict[str, Outcome] = {}
    for start in range(0, len(records), size):
        wave = records[start : start + size]
        outcomes.update(
            context.run_in_child_context(
                lambda ctx, wave=wave: run_wave(ctx, wave, execution_id),
                name=f"records-{start + 1}-{start + len(wave)}",
            )
        )
    return outcomes


# step_mode "durable_step": every record in its own child context, its steps checkpointed in-process.


def run_step_in_process(ctx: DurableContext, step: str, payload: dict[str, Any], *fields: str) -> dict[str, Any]:
    """The step's output, which must have `fields`; raises StepError or MalformedStepOutput for this record."""
    handler = STEP_HANDLERS[step]
    output = ctx.step(
        lambda _: handler(payload, ctx.lambda_context),
        name=step,
        config=StepConfig(retry_strategy=retry_transient),
    )
    checked = with_fields({"ok": output}, *fields)
    if "error" in checked:
        raise MalformedStepOutput(checked["error"]["message"])
    return output


def process_record(ctx: DurableContext, record: Record, execution_id: str) -> Outcome:
    """Run one record through the chain; one record's failure never fails the batch."""
    message_id = record["messageId"]
    # Records run on concurrent map branches sharing one logger, so a step's set_correlation_id
    # (process-wide) would tag other records' lines. Keys set here live in this branch's own
    # context (the SDK runs each branch in a copy) and take precedence over process-wide ones.
    logger.thread_safe_append_keys(correlation_id=message_id)
    try:
        verdict = run_step_in_process(
            ctx, VALIDATION_STEP, {"message_id": message_id, "body": record["body"]}, "valid", "errors", "record"
        )
        if not verdict["valid"]:
            ctx.logger.warning(
                "record rejected",
                extra={"message_id": message_id, "execution_id": execution_id, "errors": verdict["errors"]},
            )
            unsent = dead_letter(ctx, [(record, "validation_failed", verdict["errors"])], execution_id, "dead-letter")
            if unsent:
                return {"outcome": "retry", "error": f"dead-lettering failed: {unsent}"}
            return {"outcome": "rejected", "errors": verdict["errors"]}
        data = verdict["record"]
        for step in TRANSFORM_STEPS:
            data = run_step_in_process(ctx, step, {"message_id": message_id, "record": data}, "record")["record"]
        stored = run_step_in_process(
            ctx,
            STORAGE_STEP,
            {"message_id": message_id, "execution_id": execution_id, "original": verdict["record"], "record": data},
            "record_id",
            "duplicate",
        )
        return {"outcome": "stored", "record_id": stored["record_id"], "duplicate": stored["duplicate"]}
    except (StepError, MalformedStepOutput) as error:  # this record's; SDK errors (replay, checkpoint) escape
        outcome = failure_outcome(ctx, record, describe(error_result(error)), execution_id)
        if outcome["outcome"] == "dead_lettered":
            unsent = dead_letter(ctx, [(record, "step_failed", outcome["error"])], execution_id, "dead-letter")
            if unsent:
                return {"outcome": "retry", "error": f"{outcome['error']}; dead-lettering failed: {unsent}"}
        return outcome


def run_in_process(context: DurableContext, records: list[Record], execution_id: str) -> dict[str, Outcome]:
    batch = context.map(
        records,
        lambda ctx, record, _index, _all: process_record(ctx, record, execution_id),
        name="records",
        config=MapConfig(
            max_concurrency=record_concurrency(),
            completion_config=CompletionConfig.all_completed(),
            item_namer=lambda record, _index: f"record-{record['messageId']}",
        ),
    )
    return {
        records[item.index]["messageId"]: item.result
        if item.result is not None
        else {"outcome": "retry", "error": str(item.error.to_dict() if item.error else item.status)}
        for item in batch.all
    }


def outcome_counts(outcomes: dict[str, Outcome]) -> dict[str, int]:
    """Metric name -> records of the batch that ended that way (a duplicate delivery is not a new item)."""
    names = {"stored": "RecordsStored", "rejected": "RecordsRejected", "dead_lettered": "RecordsDeadLettered"}
    counts = dict.fromkeys([*names.values(), "RecordsFailed"], 0)
    for outcome in outcomes.values():
        if outcome["outcome"] == "retry":
            counts["RecordsFailed"] += 1
        elif not outcome.get("duplicate"):
            counts[names[outcome["outcome"]]] += 1
    return counts


@metrics.log_metrics
@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    context.set_logger(logger)
    # Batch lines name no record: hide the id a step set process-wide (same process in durable_step
    # mode, and on a warm start). Record branches set their own in process_record.
    logger.thread_safe_append_keys(correlation_id=None)
    records: list[Record] = event.get("Records", [])
    execution_id = context.execution_context.durable_execution_arn
    run = run_in_process if STEP_MODE == "durable_step" else run_in_groups
    outcomes = run(context, records, execution_id)
    for record in records:  # should not happen (records isolate their errors); never drop one silently
        outcomes.setdefault(record["messageId"], {"outcome": "retry", "error": "no outcome recorded"})
    failures = [{"itemIdentifier": mid} for mid, out in outcomes.items() if out["outcome"] == "retry"]
    if not context.is_replaying():  # once per batch, on this thread: Powertools metrics are not thread-safe
        for name, count in outcome_counts(outcomes).items():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    context.logger.info(
        "batch done", extra={"execution_id": execution_id, "records": len(records), "failed": len(failures)}
    )
    return {"batchItemFailures": failures, "outcomes": outcomes}
