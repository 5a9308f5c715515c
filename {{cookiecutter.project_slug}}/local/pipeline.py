# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Wire the project's real handlers into the durable SDK's local test runner."""

from __future__ import annotations

{% if cookiecutter.step_mode == 'lambda_invoke' -%}
import functools
{% endif -%}
import importlib
import json
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import boto3
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

from local import internals
from local.aws_calls import AwsCalls
from local.function_timeout import with_timeout
from local.memory_meter import MemoryMeter
from local.quota_guard import QuotaGuard
from local.template_values import PROJECT_ROOT, PipelineSettings, load_settings
{% if cookiecutter.step_mode == 'lambda_invoke' -%}
from pipeline_runtime import step_function, storage
{% else -%}
from pipeline_runtime import storage
{% endif -%}
from pipeline_runtime.naming import function_name_variable
from pipeline_runtime.step_modules import import_step
from pipeline_runtime.steps import load_step{% if cookiecutter.step_mode == 'lambda_invoke' %}
from tools.render_rules import logical_id{% endif %}

FUNCTIONS = PROJECT_ROOT / "functions"
Handler = Callable[[dict[str, Any], Any], Any]
HandlerWrapper = Callable[[str, Handler], Handler]


def orchestrator_module() -> ModuleType:
    return importlib.import_module("orchestrator")


def step_modules() -> dict[str, ModuleType]:
    """Each step's module, in chain order, imported as the deployed functions import it."""
    steps = importlib.import_module("pipeline_config").STEPS
    return {step: import_step(step, FUNCTIONS / step) for step in steps}


def create_resources(
    settings: PipelineSettings, table_name: str, queue_name: str, visibility_timeout: int | None = None
) -> dict[str, str]:
    """Create the queue, its DLQ (with the template's redrive policy; FIFO queues if it declares them), the table,
    the payload bucket and, for s3_event, the source bucket notifying the queue.

    `visibility_timeout` overrides the template's for local runs that bound executions more tightly.
    """
    sqs = boto3.client("sqs")
    suffix, fifo = (".fifo", {"FifoQueue": "true"}) if settings.fifo else ("", {})
    dlq_url = sqs.create_queue(
        QueueName=f"{queue_name}-dlq{suffix}",
        Attributes={"MessageRetentionPeriod": str(settings.dead_letter_retention_seconds), **fifo},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    if settings.content_based_deduplication:
        fifo["ContentBasedDeduplication"] = "true"
    queue_url = sqs.create_queue(
        QueueName=f"{queue_name}{suffix}",
        Attributes={
            **fifo,
            "VisibilityTimeout": str(visibility_timeout or settings.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receive_count}
            ),
        },
    )["QueueUrl"]
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=settings.table_key_schema,
        AttributeDefinitions=settings.table_attribute_definitions,
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.2})
    bucket = f"{table_name.lower().replace('_', '-').replace('.', '-')[:40]}-payloads"
    s3 = boto3.client("s3")
    region = s3.meta.region_name
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **where)  # outside us-east-1, S3 wants the region named
    resources = {"queue_url": queue_url, "dead_letter_queue_url": dlq_url, "table_name": table_name, "bucket": bucket}
    if settings.source_bucket:
        resources["source_bucket"] = f"{bucket.removesuffix('-payloads')}-source"
        s3.create_bucket(Bucket=resources["source_bucket"], **where)
    return resources


def function_environment(settings: PipelineSettings, resources: dict[str, str]) -> dict[str, str]:
    """What template.yaml gives the functions, with local resource names."""
    return {
        "TABLE_NAME": resources["table_name"],
        "DEAD_LETTER_QUEUE_URL": resources["dead_letter_queue_url"],
        "MAX_RECEIVE_COUNT": str(settings.max_receive_count),
        "RECORD_CONCURRENCY": str(settings.record_concurrency),
        "PAYLOAD_BUCKET": resources["bucket"],
        "INPUT_QUEUE_URL": resources["queue_url"],  # a message that ended is deleted from it at once
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings.memory_mb),  # what Lambda tells a function of its MemorySize
        # Not a function's: where local/formats.py puts the objects a test's S3 events name (s3_event).
        **({"LOCAL_SOURCE_BUCKET": resources["source_bucket"]} if "source_bucket" in resources else {}),
        # Each step function by its template name, as the orchestrator invokes it (the runner registers both).
        **{function_name_variable(step): name for step, name in settings.step_function_names.items()},
    }


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


SDK_STOP_SIGNAL_POLL_SECONDS = 0.1


def make_runner(
    orchestrator: Handler | None = None,
    wrap_step: HandlerWrapper | None = None,
    stop_signal_poll_seconds: float = 0.005,
    quota_guard: QuotaGuard | None = None,
    memory_meter: MemoryMeter | None = None,
    function_timeout: float | None = None,
    aws_calls: AwsCalls | None = None,
) -> DurableFunctionTestRunner:
    """A runner for the orchestrator with every step function registered under its name.

    `wrap_step(step, function)` lets tests and local runs inject faults around each step's function of
    one record (`pipeline_runtime.steps.Step`: input data in, output data out; the record's message id
    is `pipeline_runtime.current_message_id()`), as the step runtime runs it when deployed.
    `quota_guard` enforces AWS's durable-execution quotas (a new one by default; see
    local/quota_guard.py); it is reachable as `runner.quota_guard`. `memory_meter` measures every
    invocation's peak memory and fails it past the template's MemorySize (local/memory_meter.py; a new
    one by default), as `runner.memory_meter`. Every invocation runs under the template's function Timeout
    (`function_timeout` overrides it), ended past it and told the time left, as in Lambda. `aws_calls`
    records which AWS actions each function's code calls (local/aws_calls.py), as `runner.aws_calls`.
    `stop_signal_poll_seconds` sets a private SDK constant (local/internals.py): how often an invocation's checkpoint
    thread looks for its stop signal. The SDK's 0.1 s adds ~100 ms to every orchestrator
    invocation, pure waiting locally; pass SDK_STOP_SIGNAL_POLL_SECONDS to time it as the SDK does
    (fewer, longer invocations: more branch results arrive before each one ends).
    """
    internals.set_stop_signal_poll_seconds(stop_signal_poll_seconds)
    module = orchestrator_module()
    region = os.environ.get("AWS_DEFAULT_REGION", "{{ cookiecutter.aws_region }}")  # reported in Lambda contexts
    settings = load_settings()
    timeout = function_timeout or settings.function_timeout_seconds
    meter = memory_meter or MemoryMeter(settings.memory_mb)
{%- if cookiecutter.step_mode == 'lambda_invoke' %}
    calls = aws_calls or AwsCalls({"OrchestratorFunction": FUNCTIONS / "orchestrator"})
{%- else %}
    calls = aws_calls or AwsCalls(sole_function="OrchestratorFunction")  # every step runs in the orchestrator
{%- endif %}
    timed = with_timeout(calls.wrap("OrchestratorFunction", orchestrator or module.handler), timeout)
    measured = meter.wrap("OrchestratorFunction", timed, orchestrator=True)
    runner = DurableFunctionTestRunner(
        handler=measured, poll_interval=0.01, region=region, invocation_timeout=math.ceil(timeout)
    )
    runner.memory_meter = meter
    runner.aws_calls = calls
    internals.reinvoke_at_once_after_a_crash(runner)
    runner.quota_guard = quota_guard or QuotaGuard()
    runner.quota_guard.install(runner)
    modules, role = step_modules(), importlib.import_module("pipeline_config").role
    functions = {step: load_step(step_module, role(step)) for step, step_module in modules.items()}
    if wrap_step:
        functions = {step: wrap_step(step, function) for step, function in functions.items()}
{%- if cookiecutter.step_mode == 'durable_step' %}
    importlib.import_module("inline_steps").STEP_FUNCTIONS.update(functions)  # steps run in the orchestrator
{%- else %}
    for step, function in functions.items():  # each step function as deployed, running the (wrapped) step
        handle = functools.partial(step_function.handle, module=modules[step], steps={role(step): function})
        marked = calls.wrap(logical_id(step), handle, invoked_by="OrchestratorFunction")
        deployed = meter.wrap(logical_id(step), with_timeout(marked, timeout))
        for name in (step, logical_id(step)):  # tests invoke by step name, local runs by the template's name
            runner.register_function(name, deployed)
{%- endif %}
    return runner


def store_directly(
    message_id: str, original: Any, record: dict[str, Any], execution_id: str = "local"
) -> dict[str, Any]:
    """Store one record as the runtime does after the last step (for tests of what that step returns)."""
    return storage.store(message_id, execution_id, original, record)
