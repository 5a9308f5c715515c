"""Durable orchestrator: runs every record of an SQS batch through the step chain.

SQS invokes this function through its event source mapping. The records of a batch run
concurrently (`context.map`), each in a child context named after its message id, so a replay
after a crash skips every record, step and retry that was already checkpointed.

Each record ends in exactly one of these outcomes:
- stored:        every step succeeded and the last one wrote it to DynamoDB;
- rejected:      the validation step refused it; it is sent to the DLQ with its errors at once;
- dead_lettered: a step kept failing on the record's last allowed delivery; sent to the DLQ
                 with the last error;
- retry:         a step failed before the last delivery; reported in `batchItemFailures` so SQS
                 redelivers it (and its redrive policy dead-letters it if this function cannot).

Steps run as separate Lambda functions (context.invoke, step_mode "lambda_invoke") or inside this
function as checkpointed context.step calls (step_mode "durable_step"); see pipeline_config.py.
Template-owned: step logic lives in functions/<step>/, not here.
"""

from __future__ import annotations

import importlib
import json
import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_durable_execution_sdk_python import (
    DurableContext,
    WithRetryConfig,
    durable_execution,
    with_retry,
)
from aws_durable_execution_sdk_python.config import (
    CompletionConfig,
    Duration,
    MapConfig,
    StepConfig,
)
from aws_durable_execution_sdk_python.retries import RetryDecision
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError
from pipeline_config import STEP_MODE, STEP_RETRY, STEPS, TRANSIENT_ERROR_TYPES

logger = Logger()
metrics = Metrics()

VALIDATION_STEP, STORAGE_STEP = STEPS[0], STEPS[-1]
# In durable_step mode the steps' handlers run here; in lambda_invoke mode they are other functions.
STEP_HANDLERS = (
    {step: importlib.import_module(f"{step}_step").handler for step in STEPS} if STEP_MODE == "durable_step" else {}
)
TRANSFORM_STEPS = STEPS[1:-1]
MAX_ERROR_DETAIL_CHARS = 4000  # keeps DLQ message attributes far below SQS's 256 KiB message limit


@cache
def ledger_table():  # created on first use, after tests and local runs have set their endpoints
    return boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def step_function_name(step: str) -> str:
    """Function to invoke for a step: set by template.yaml, the bare step name when run locally."""
    return os.environ.get(f"{step.upper()}_FUNCTION_NAME", step)


def max_receive_count() -> int | None:
    value = os.environ.get("MAX_RECEIVE_COUNT", "")
    return int(value) if value else None


def record_concurrency() -> int | None:
    value = os.environ.get("RECORD_CONCURRENCY", "")
    return int(value) if value else None


def error_type_of(error: BaseException) -> str:
    """Short type of a failure: invoke and step errors carry the target's type as a string."""
    full = getattr(error, "error_type", None) or type(error).__name__
    return str(full).rsplit(".", 1)[-1]


def describe(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error)
    return f"{error_type_of(error)}: {message}"[:MAX_ERROR_DETAIL_CHARS]


def retry_transient(error: Exception, attempts_made: int) -> RetryDecision:
    """Retry transient failures with bounded exponential backoff; fail permanent ones at once."""
    if error_type_of(error) in TRANSIENT_ERROR_TYPES and attempts_made < STEP_RETRY.max_attempts:
        return RetryDecision.retry(Duration.from_seconds(STEP_RETRY.delay_before(attempts_made + 1)))
    return RetryDecision.no_retry()


def retry_any(error: Exception, attempts_made: int) -> RetryDecision:
    """Dead-lettering must not give up on the first SQS hiccup: retry every error, bounded."""
    if attempts_made < STEP_RETRY.max_attempts:
        return RetryDecision.retry(Duration.from_seconds(STEP_RETRY.delay_before(attempts_made + 1)))
    return RetryDecision.no_retry()


def run_step(ctx: DurableContext, step: str, payload: dict[str, Any]) -> Any:
    """Run one step, retrying transient errors; operation names are deterministic."""
    if STEP_MODE == "durable_step":
        handler = STEP_HANDLERS[step]
        return ctx.step(
            lambda _: handler(payload, ctx.lambda_context),
            name=step,
            config=StepConfig(retry_strategy=retry_transient),
        )
    target = step_function_name(step)
    return with_retry(
        ctx,
        lambda child, attempt: child.invoke(target, payload, name=f"{step}-attempt-{attempt}"),
        WithRetryConfig(retry_strategy=retry_transient, wrap_with_run_in_child_context=False),
        name=step,
    )


def send_to_dead_letter_queue(record: dict[str, Any], reason: str, detail: Any, execution_id: str) -> str:
    """Copy the original message to the DLQ (body unchanged, so it can be redriven) with why it failed.

    Idempotent across executions: the table keeps one ending per message id. If an earlier
    execution already stored or dead-lettered this message (and then failed as a whole, so SQS
    redelivered the batch), nothing is sent again. The marker is written after the send, so a
    crash in between can only repeat the send, never lose the message.
    """
    table = ledger_table()
    key = {"record_id": record["messageId"]}
    ended = table.get_item(Key=key, ConsistentRead=True).get("Item")
    if ended:
        return f"already {ended.get('status', 'stored')}"
    attributes = {
        "failure_reason": reason,
        "failure_detail": json.dumps(detail)[:MAX_ERROR_DETAIL_CHARS],
        "source_message_id": record["messageId"],
        "execution_id": execution_id,
    }
    boto3.client("sqs").send_message(
        QueueUrl=os.environ["DEAD_LETTER_QUEUE_URL"],
        MessageBody=record["body"],
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )
    marker = {**key, "status": "dead_lettered", "reason": reason, "execution_id": execution_id}
    try:
        table.put_item(
            Item={**marker, "dead_lettered_at": datetime.now(UTC).isoformat()},
            ConditionExpression="attribute_not_exists(record_id)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    metrics.add_metric(
        name="RecordsRejected" if reason == "validation_failed" else "RecordsDeadLettered",
        unit=MetricUnit.Count,
        value=1,
    )
    return "dead_lettered"


def dead_letter(ctx: DurableContext, record: dict[str, Any], reason: str, detail: Any, execution_id: str) -> None:
    ctx.step(
        lambda _: send_to_dead_letter_queue(record, reason, detail, execution_id),
        name="dead-letter",
        config=StepConfig(retry_strategy=retry_any),
    )


def process_record(ctx: DurableContext, record: dict[str, Any], execution_id: str) -> dict[str, Any]:
    """Run one record through the chain and decide its outcome (see the module docstring)."""
    message_id = record["messageId"]
    log_extra = {"message_id": message_id, "execution_id": execution_id}
    verdict = run_step(ctx, VALIDATION_STEP, {"message_id": message_id, "body": record["body"]})
    if not verdict["valid"]:
        ctx.logger.warning("record rejected", extra={**log_extra, "step": VALIDATION_STEP, "errors": verdict["errors"]})
        dead_letter(ctx, record, "validation_failed", verdict["errors"], execution_id)
        return {"outcome": "rejected", "errors": verdict["errors"]}
    data = verdict["record"]
    for step in TRANSFORM_STEPS:
        data = run_step(ctx, step, {"message_id": message_id, "record": data})["record"]
    stored = run_step(
        ctx,
        STORAGE_STEP,
        {"message_id": message_id, "execution_id": execution_id, "original": verdict["record"], "record": data},
    )
    return {"outcome": "stored", "record_id": stored["record_id"], "duplicate": stored["duplicate"]}


def process_record_isolated(ctx: DurableContext, record: dict[str, Any], execution_id: str) -> dict[str, Any]:
    """One record's failure never fails the batch: it is retried by SQS or dead-lettered."""
    try:
        return process_record(ctx, record, execution_id)
    except Exception as error:  # InvokeError, StepError, ChildContextError; suspension is a BaseException
        detail = describe(error)
        receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        limit = max_receive_count()
        extra = {"message_id": record["messageId"], "execution_id": execution_id, "error": detail}
        if limit is not None and receives >= limit:
            ctx.logger.error("record failed on its last delivery", extra=extra)
            dead_letter(ctx, record, "step_failed", detail, execution_id)
            return {"outcome": "dead_lettered", "error": detail}
        ctx.logger.warning("record failed; SQS will redeliver it", extra=extra)
        return {"outcome": "retry", "error": detail}


@metrics.log_metrics
@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    context.set_logger(logger)
    records: list[dict[str, Any]] = event.get("Records", [])
    execution_id = context.execution_context.durable_execution_arn
    batch = context.map(
        records,
        lambda ctx, record, _index, _all: process_record_isolated(ctx, record, execution_id),
        name="records",
        config=MapConfig(
            max_concurrency=record_concurrency(),
            completion_config=CompletionConfig.all_completed(),
            item_namer=lambda record, _index: f"record-{record['messageId']}",
        ),
    )
    outcomes: dict[str, dict[str, Any]] = {}
    for item in batch.all:
        message_id = records[item.index]["messageId"]
        if item.result is not None:
            outcomes[message_id] = item.result
        else:  # should not happen (records isolate their errors); never drop it silently
            outcomes[message_id] = {
                "outcome": "retry",
                "error": str(item.error.to_dict() if item.error else item.status),
            }
    failures = [{"itemIdentifier": mid} for mid, out in outcomes.items() if out["outcome"] == "retry"]
    if failures and not context.is_replaying():
        metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=len(failures))
    context.logger.info(
        "batch done", extra={"execution_id": execution_id, "records": len(records), "failed": len(failures)}
    )
    return {"batchItemFailures": failures, "outcomes": outcomes}
