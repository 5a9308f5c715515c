"""Measure one rendered project's orchestrator in the durable SDK's test runner; prints JSON.

Run from the project's folder: python measure_orchestration.py --sizes 10 100 1000 [--baseline 10 100] [--repeat 3]

The runner keeps the SDK's own timing (its 0.1 s stop-signal poll), so invocation counts are what
the SDK produces. The baseline is the reference pattern: records one after another, each step a
chained invoke, which costs an orchestrator invocation per step per record.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

sys.path.insert(0, os.getcwd())
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "bench",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",  # the failures injected for the worst case would flood the output
    }
)

from aws_durable_execution_sdk_python import DurableContext, InvokeError, durable_execution
from aws_durable_execution_sdk_python.execution import InvocationStatus
from aws_durable_execution_sdk_python.lambda_service import OperationType
from local import aws_limits, pipeline

try:
    from pipeline_runtime import step_function  # lambda_invoke projects only
except ImportError:
    step_function = None
from local.events import event_bytes, sqs_event, sqs_record
from local.quota_guard import QuotaGuard
from local.template_values import load_settings
from moto import mock_aws
from pipeline_runtime import quotas, storage
from pipeline_runtime.context import CURRENT, RecordContext
from pipeline_runtime.errors import rejection_errors
from pipeline_runtime.steps import load_step

BODY = {"data_source": "bench.csv", "processing_type": "standard"}


def body(padded_to: int) -> str:
    """The reference message, padded with a `notes` field to `padded_to` bytes (if larger)."""
    plain = json.dumps(BODY)
    return json.dumps({**BODY, "notes": "n" * max(0, padded_to - len(plain) - 13)}) if padded_to > len(plain) else plain


def largest_batch(body_bytes: int) -> int:
    """The most records of this body size one event source mapping batch holds: 10,000, and 6 MB of event."""
    record = sqs_record(body(body_bytes), message_id=str(uuid.uuid4()))
    per_record = event_bytes([record, record]) - event_bytes([record])  # with its ", " separator
    return min(quotas.MAX_BATCH_RECORDS, (quotas.MAX_SYNC_PAYLOAD_BYTES - event_bytes([])) // per_record)


def operations_in_history(result: Any) -> int:
    """Durable operations as the execution's own records show them: the start, every operation, every retry."""
    operations = result.get_all_operations()
    retries = sum(max(0, (getattr(op, "attempt", None) or 1) - 1) for op in operations if op.operation_type is OperationType.STEP)
    return 1 + len(operations) + retries


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()

    def add(self) -> None:
        with self.lock:
            self.value += 1


def reference_step_function(module: Any, role: str) -> Callable[[dict[str, Any], Any], Any]:
    """The reference pattern's step function: one record per invoke, answered in its own event form."""
    step = load_step(module, role)

    def handle(event: dict[str, Any], context: Any) -> Any:
        CURRENT.set(RecordContext(event["message_id"], event.get("execution_id", ""), context))
        try:
            output = step(event["body"] if role == "validate" else event["record"])
            if role == "store":
                output = storage.store(event["message_id"], event.get("execution_id", ""), event.get("original"), output)
        except Exception as error:
            errors = rejection_errors(error)
            if role == "validate" and errors is not None:
                return {"valid": False, "errors": errors, "record": None}
            raise
        if role == "validate":
            return {"valid": True, "errors": [], "record": output}
        return {"record": output} if role == "transform" else output

    return handle


def sequential_reference_orchestrator(steps: tuple[str, ...]):
    """The reference pattern's loop, for comparison: one record, then the next."""

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            message_id = record["messageId"]
            try:
                verdict = context.invoke(
                    steps[0], {"message_id": message_id, "body": record["body"]}, name=f"v-{message_id}"
                )
                data = verdict["record"]
                for step in steps[1:-1]:
                    data = context.invoke(
                        step, {"message_id": message_id, "record": data}, name=f"{step}-{message_id}"
                    )["record"]
                context.invoke(
                    steps[-1],
                    {
                        "message_id": message_id,
                        "execution_id": "baseline",
                        "original": verdict["record"],
                        "record": data,
                    },
                    name=f"s-{message_id}",
                )
            except InvokeError:
                failures.append({"itemIdentifier": message_id})
        return {"batchItemFailures": failures}

    return handler


@contextmanager
def worst_case_faults(
    records: list[dict[str, Any]], per_wave: int, first_step: str, last_step: str
) -> Iterator[Callable]:
    """Every record fails transiently at every step until its last attempt; staging and settling fail
    until theirs (the bucket refusing); one record per wave fails for good at the last step, on its last
    delivery, so every wave settles. Yields the step wrapper for make_runner."""
    from pipeline_runtime import TransientStepError, current_message_id, payloads

    settle = importlib.import_module("settle")
    attempts = importlib.import_module("pipeline_config").RETRY.max_attempts
    failing_for_good = {record["messageId"] for record in records[::per_wave]}
    seen: dict[Any, int] = {}
    lock = threading.Lock()

    def count(key: Any) -> int:
        with lock:
            seen[key] = seen.get(key, 0) + 1
            return seen[key]

    def wrap_step(step: str, function: Callable) -> Callable:
        def flaky(data: Any) -> Any:
            if count((step, current_message_id())) < attempts:
                raise TransientStepError("injected")
            if step == last_step and current_message_id() in failing_for_good:
                raise ValueError("injected for good")
            return function(data)

        return flaky

    pack, carried = payloads.pack, settle.payloads.carried

    def staging(records: list[Any], key: str, inline_limit: int) -> Any:
        if key.endswith("/stage.json") and count(key) < attempts:
            raise ConnectionError("injected: the bucket refused")
        return pack(records, key, inline_limit)

    def settle_carried(payload: dict[str, Any]) -> Any:  # settling reads the wave's first reply first
        if f"/{first_step}-1.json" in str(payload) and count(("settle", str(payload))) < attempts:
            raise ConnectionError("injected: the bucket refused")
        return carried(payload)

    payloads.pack = staging
    settle.payloads = type("FlakyPayloads", (), {"carried": staticmethod(settle_carried)})
    try:
        yield wrap_step
    finally:
        payloads.pack = pack
        settle.payloads = payloads


def measure(
    size: int,
    baseline: bool,
    body_bytes: int = 0,
    sdk_timing: bool = True,
    record_concurrency: int | None = None,
    worst_case: bool = False,
) -> dict[str, Any]:
    os.environ["RECORD_CONCURRENCY"] = str(record_concurrency or size)  # at least the batch size by default
    steps = tuple(pipeline.step_modules())
    orchestrator = sequential_reference_orchestrator(steps) if baseline else pipeline.orchestrator_module().handler
    invocations, step_calls = Counter(), Counter()
    billed = Billed()

    def counted_orchestrator(event: Any, context: Any) -> Any:
        invocations.add()
        with billed.invocation():
            return orchestrator(event, context)

    def counted_step(step: str, function):
        def wrapped(data: Any) -> Any:
            step_calls.add()
            return function(data)

        return wrapped

    receives = load_settings().max_receive_count if worst_case else 1  # permanent failures then go to the DLQ
    records = [
        sqs_record(body(body_bytes), message_id=str(uuid.uuid4()), receive_count=receives) for _ in range(size)
    ]
    guard = QuotaGuard(enforce=True)
    with ExitStack() as stack:
        stack.enter_context(billed.watching())
        wrap = counted_step
        if worst_case:
            faulty = stack.enter_context(worst_case_faults(records, record_concurrency or size, steps[0], steps[-1]))
            wrap = lambda step, handler: counted_step(step, faulty(step, handler))  # noqa: E731
        runner = stack.enter_context(
            pipeline.make_runner(
                orchestrator=counted_orchestrator,
                wrap_step=wrap,
                quota_guard=guard,
                **({"stop_signal_poll_seconds": pipeline.SDK_STOP_SIGNAL_POLL_SECONDS} if sdk_timing else {}),
            )
        )
        if baseline:  # the reference's step functions take one record per invoke
            role = importlib.import_module("pipeline_config").role
            for step, module in pipeline.step_modules().items():
                runner.register_function(step, billed.timed(reference_step_function(module, role(step))))
        started = time.perf_counter()
        result = runner.run(input=sqs_event(records), execution_timeout=900)
        wall = time.perf_counter() - started
    if result.status is not InvocationStatus.SUCCEEDED or json.loads(result.result)["batchItemFailures"]:
        raise SystemExit(f"benchmark run failed: {result.status} {result.error}")
    mode = "baseline" if baseline else pipeline.orchestrator_module().STEP_MODE
    operations = result.get_all_operations()
    [usage] = guard.usage.values()
    if usage.operations != operations_in_history(result):
        raise SystemExit(f"the guard counted {usage.operations} operations, the history shows {operations_in_history(result)}")
    return {
        "orchestrator": "sequential reference" if baseline else mode,
        "step_mode": "lambda_invoke" if baseline else mode,
        "records": size,
        "record_concurrency": record_concurrency or size,
        "worst_case": worst_case,
        "body_bytes": len(records[0]["body"]),
        "event_bytes": usage.input_bytes,
        "steps": len(steps),
        "orchestrator_invocations": invocations.value,
        # Lambda invocations of step functions, as the execution recorded them
        "chained_invokes": sum(op.operation_type is OperationType.CHAINED_INVOKE for op in operations),
        "step_executions": step_calls.value,  # one per record per step, wherever it ran
        "step_function_invocations": billed.step_invocations,  # what the chained invokes cost in Lambda
        "lambda_milliseconds": billed.milliseconds,  # every invocation's duration, rounded up to 1 ms each
        "s3_puts": billed.s3_puts,
        "s3_gets": billed.s3_gets,
        "item_sizes": stored_item_sizes([record["messageId"] for record in records]),
        "body_sizes": [len(record["body"].encode()) for record in records],
        "durable_operations": usage.operations,  # what AWS counts against 3,000 and bills
        "payload_bytes_written": usage.persisted_bytes,  # against 100 MB per execution
        "largest_payload_bytes": usage.largest_payload_bytes,  # against 262,144 bytes per operation
        "largest_by_kind": usage.largest_by_kind,  # per operation type ("STEP output" ...) and "error" (32,768)
        "result_bytes": usage.result_bytes,  # against 6 MB
        "wall_seconds": round(wall, 3),
    }


class Billed:
    """What Lambda and S3 bill that the execution's history does not show: durations and requests."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.milliseconds = 0
        self.step_invocations = 0
        self.s3_puts = self.s3_gets = 0

    @contextmanager
    def invocation(self, step: bool = False) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            with self.lock:
                self.milliseconds += math.ceil((time.perf_counter() - started) * 1000)
                self.step_invocations += int(step)

    def timed(self, function: Callable) -> Callable:
        def invoked(*args: Any, **kwargs: Any) -> Any:
            with self.invocation(step=True):
                return function(*args, **kwargs)

        return invoked

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Count S3 requests, and time every step function's invocation (lambda_invoke)."""
        from local import internals

        handle = step_function.handle if step_function else None

        def counted(model: Any, **_kwargs: Any) -> None:
            with self.lock:
                if model.name == "PutObject":
                    self.s3_puts += 1
                elif model.name == "GetObject":
                    self.s3_gets += 1

        events = internals.boto3_session_events()
        events.register("before-call.s3", counted, unique_id="bench-s3-requests")
        if step_function:
            step_function.handle = self.timed(handle)
        try:
            yield
        finally:
            events.unregister("before-call.s3", unique_id="bench-s3-requests")
            if step_function:
                step_function.handle = handle


def stored_item_sizes(message_ids: list[str]) -> list[int]:
    """Bytes of each item this batch stored (attribute names and values, as DynamoDB sizes them, about)."""
    from pipeline_runtime import clients

    dynamodb, table = clients.client("dynamodb"), os.environ["TABLE_NAME"]
    sizes = []
    for message_id in message_ids:
        item = dynamodb.get_item(TableName=table, Key={"record_id": {"S": message_id}}).get("Item")
        if item:
            sizes.append(len(json.dumps(clients.from_dynamodb(item), default=str, ensure_ascii=False).encode()))
    return sizes


def measure_floor(size: int, body_bytes: int = 0) -> dict[str, Any]:
    """What a user would run without durable functions: one plain Lambda per batch, Powertools' batch
    processor calling the same steps on each record, no checkpoints (a crash redoes the batch)."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from pipeline_runtime.context import CURRENT, RecordContext
    from pipeline_runtime.steps import load_step

    role = importlib.import_module("pipeline_config").role
    steps = [(step, role(step), load_step(module, role(step))) for step, module in pipeline.step_modules().items()]
    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: Any) -> None:
        data, original = record.body, None
        for _step, step_role, function in steps:
            CURRENT.set(RecordContext(record.message_id, "floor", None))
            data = function(data)
            if step_role == "store":
                data = storage.store(record.message_id, "floor", original, data)
            original = data if step_role == "validate" else original

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

    records = [sqs_record(body(body_bytes), message_id=str(uuid.uuid4())) for _ in range(size)]
    billed = Billed()
    with billed.watching(), billed.invocation():
        output = handler(json.loads(sqs_event(records)), None)
    if output["batchItemFailures"]:
        raise SystemExit(f"the floor failed records: {output['batchItemFailures'][:3]}")
    return {
        "orchestrator": "plain Lambda (floor)",
        "records": size,
        "body_bytes": len(records[0]["body"]),
        "steps": len(steps),
        "orchestrator_invocations": 1,
        "step_function_invocations": 0,
        "durable_operations": 0,
        "payload_bytes_written": 0,
        "lambda_milliseconds": billed.milliseconds,
        "s3_puts": billed.s3_puts,
        "s3_gets": billed.s3_gets,
        "item_sizes": stored_item_sizes([record["messageId"] for record in records]),
        "body_sizes": [len(record["body"].encode()) for record in records],
        "wall_seconds": round(billed.milliseconds / 1000, 3),
    }


QUOTA_BODIES = [100, 10 * 1024, 200 * 1024]
QUOTA_SIZES = [10, 100, 1000]


def quota_matrix() -> list[dict[str, Any]]:
    """Every body size at 10, 100 and 1000 records and at the largest batch it allows (6 MB of event)."""
    rows = []
    for body_bytes in QUOTA_BODIES:
        largest = largest_batch(body_bytes)
        for size in sorted({*(s for s in QUOTA_SIZES if s < largest), largest}):
            row = measure(size, baseline=False, body_bytes=body_bytes, sdk_timing=False)
            rows.append({**row, "largest_allowed": size == largest})
    return rows


def worst_case_rows(record_concurrencies: list[int]) -> list[dict[str, Any]]:
    """The largest batch of small messages, every step call failing until its last attempt: measured."""
    largest = largest_batch(QUOTA_BODIES[0])
    return [
        {**measure(largest, False, QUOTA_BODIES[0], sdk_timing=False, record_concurrency=rc, worst_case=True),
         "largest_allowed": True}
        for rc in record_concurrencies
    ]  # fmt: skip


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Repeated runs of one configuration: the worst invocation count, the median wall time, and every value."""
    invocations = [run["orchestrator_invocations"] for run in runs]
    walls = sorted(run["wall_seconds"] for run in runs)
    return {
        **runs[0],
        "runs": len(runs),
        "orchestrator_invocations": max(invocations),
        "orchestrator_invocations_per_run": invocations,
        "wall_seconds": walls[len(walls) // 2],
        "wall_seconds_per_run": [run["wall_seconds"] for run in runs],
        "lambda_milliseconds": sorted(run["lambda_milliseconds"] for run in runs)[len(runs) // 2],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[10, 100, 1000])
    parser.add_argument("--baseline", type=int, nargs="*", default=[])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each template size (the baseline runs once)")
    parser.add_argument("--body-bytes", type=int, default=0, help="pad each message body to this size")
    parser.add_argument("--quota-matrix", action="store_true", help="only the quota matrix: body sizes x batch sizes")
    parser.add_argument("--floor", type=int, nargs="*", default=[], help="also the plain-Lambda floor at these sizes")
    parser.add_argument(
        "--worst-case", type=int, nargs="*", help="only worst-case runs of the largest batch, at these record_concurrency"
    )
    args = parser.parse_args()
    results = []
    with mock_aws(), open(os.devnull, "w") as quiet:
        aws_limits.install()
        settings = load_settings()
        resources = pipeline.create_resources(settings, table_name="bench", queue_name="bench")
        with pipeline.environment(pipeline.function_environment(settings, resources)), redirect_stdout(quiet):
            if args.worst_case:
                results = worst_case_rows(args.worst_case)
            elif args.quota_matrix:
                results = quota_matrix()
            else:
                for size in args.sizes:
                    results.append(summarise([measure(size, False, args.body_bytes) for _ in range(args.repeat)]))
                for size in args.baseline:
                    results.append(summarise([measure(size, True, args.body_bytes)]))
                results += [measure_floor(size, args.body_bytes) for size in args.floor]
    print(json.dumps({"project": Path.cwd().name, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
