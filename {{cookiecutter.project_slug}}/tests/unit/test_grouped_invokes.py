"""step_mode lambda_invoke: the records in flight travel together, one chained invoke per step."""

from __future__ import annotations

import importlib
import json
import threading
from collections import Counter
from typing import Any

from aws_durable_execution_sdk_python.execution import InvocationStatus
from aws_durable_execution_sdk_python.lambda_service import OperationType
from conftest import REFERENCE_MESSAGE, STEP_MODULES, STEPS

from local import pipeline
from local.events import sqs_event, sqs_record

ORCHESTRATOR = pipeline.orchestrator_module()
step_groups = importlib.import_module("step_groups")
MAX_REPLY_BYTES = importlib.import_module(f"{STEPS[0]}_entry").MAX_REPLY_BYTES


class TooManyRequestsException(Exception):
    """What Lambda answers when a step function is throttled: the orchestrator retries it."""


class FunctionCalls:
    """Counts invokes per step function; can fail whole invokes, as a throttled or crashed Lambda does."""

    def __init__(self, failures: dict[str, list[type[Exception]]] | None = None):
        self.invokes: Counter[str] = Counter()
        self.group_sizes: dict[str, list[int]] = {step: [] for step in STEPS}
        self.failures = failures or {}
        self._lock = threading.Lock()

    def function(self, step: str, record_handler):
        run_group = importlib.import_module(f"{step}_entry").run_group

        def invoked(event: dict[str, Any], context: Any) -> Any:
            with self._lock:
                self.invokes[step] += 1
                self.group_sizes[step].append(len(event["records"]))
                planned = self.failures.get(step, [])
                error = planned.pop(0) if planned else None
            if error is not None:
                raise error(f"injected {error.__name__} for the whole {step} invoke")
            return run_group(event, context, record_handler)

        return invoked


def run(records: list[dict[str, Any]], calls: FunctionCalls, wrap_step=None, record_concurrency: int | None = None):
    """Run a batch (all of it in flight at once unless `record_concurrency` says otherwise)."""
    invocations = Counter()

    def counted(event, context):
        invocations["orchestrator"] += 1
        return ORCHESTRATOR.handler(event, context)

    concurrency = {"RECORD_CONCURRENCY": str(record_concurrency or len(records))}
    with pipeline.environment(concurrency), pipeline.make_runner(orchestrator=counted) as runner:
        for step in STEPS:  # the entry points as make_runner registers them, counted and failing on demand
            handler = STEP_MODULES[step].handler
            runner.register_function(step, calls.function(step, wrap_step(step, handler) if wrap_step else handler))
        result = runner.run(input=sqs_event(records), execution_timeout=120)
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    invokes = [op for op in result.get_all_operations() if op.operation_type is OperationType.CHAINED_INVOKE]
    return json.loads(result.result), invocations["orchestrator"], invokes


def test_a_batch_costs_one_invoke_per_step_and_one_invocation_per_step_plus_one(aws):
    records = [sqs_record(REFERENCE_MESSAGE) for _ in range(50)]
    calls = FunctionCalls()

    output, invocations, invokes = run(records, calls)

    assert output["batchItemFailures"] == []
    assert calls.invokes == Counter({step: 1 for step in STEPS})
    assert calls.group_sizes == {step: [50] for step in STEPS}
    assert len(invokes) == len(STEPS)
    assert invocations == len(STEPS) + 1  # deterministic: one pending invoke at a time
    assert len(aws.stored_items()) == 50


def test_record_concurrency_sets_the_waves(aws):
    records = [sqs_record(REFERENCE_MESSAGE) for _ in range(5)]
    calls = FunctionCalls()

    output, invocations, _invokes = run(records, calls, record_concurrency=2)

    assert calls.group_sizes == {step: [2, 2, 1] for step in STEPS}  # never more than 2 records in flight
    assert invocations == 3 * len(STEPS) + 1
    assert {out["outcome"] for out in output["outcomes"].values()} == {"stored"}


def test_a_throttled_step_invoke_is_retried_for_every_record_of_the_group(aws):
    records = [sqs_record(REFERENCE_MESSAGE) for _ in range(3)]
    calls = FunctionCalls({STEPS[1]: [TooManyRequestsException]})

    output, _invocations, invokes = run(records, calls)

    assert output["batchItemFailures"] == []
    assert calls.invokes[STEPS[1]] == 2
    assert calls.group_sizes[STEPS[1]] == [3, 3]
    assert sorted(op.name for op in invokes if op.name.startswith(f"{STEPS[1]}-")) == [
        f"{STEPS[1]}-invoke-1",
        f"{STEPS[1]}-invoke-2",
    ]
    assert len(aws.stored_items()) == 3


def test_a_failed_step_invoke_fails_its_records_not_the_batch(aws, monkeypatch):
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "3")
    records = [sqs_record(REFERENCE_MESSAGE) for _ in range(2)]
    calls = FunctionCalls({STEPS[-1]: [RuntimeError]})

    output, _invocations, _invokes = run(records, calls)

    assert sorted(failure["itemIdentifier"] for failure in output["batchItemFailures"]) == sorted(
        record["messageId"] for record in records
    )
    assert all("RuntimeError" in out["error"] for out in output["outcomes"].values())
    assert calls.invokes[STEPS[-1]] == 1  # permanent: SQS redelivers, no retry inside the execution
    assert aws.stored_items() == []


def test_only_the_failing_records_are_retried(aws):
    records = [sqs_record(REFERENCE_MESSAGE) for _ in range(4)]
    flaky = records[2]["messageId"]
    planned = {flaky: 2}
    lock = threading.Lock()

    def wrap_step(step, handler):
        def flaky_for_one(event, context):
            with lock:
                fail = step == STEPS[1] and planned.get(event["message_id"], 0) > 0
                if fail:
                    planned[event["message_id"]] -= 1
            if fail:
                raise TooManyRequestsException("throttled")
            return handler(event, context)

        return flaky_for_one

    calls = FunctionCalls()
    output, _invocations, _invokes = run(records, calls, wrap_step=wrap_step)

    assert calls.group_sizes[STEPS[1]] == [4, 1, 1]
    assert output["batchItemFailures"] == []
    assert len(aws.stored_items()) == 4


def test_results_that_overflow_a_reply_are_sent_again_and_stored_once(aws):
    # Each verdict is a third of what a reply may carry: the first invoke answers two, the second the rest.
    pad = "x" * (MAX_REPLY_BYTES // 3)
    records = [sqs_record(REFERENCE_MESSAGE) for _ in range(4)]

    def wrap_step(step, handler):
        if step != STEPS[0]:
            return handler

        def padded(event, context):  # a large verdict; what the next steps get stays small
            return {**handler(event, context), "diagnostics": pad}

        return padded

    calls = FunctionCalls()
    output, _invocations, _invokes = run(records, calls, wrap_step=wrap_step)

    assert calls.group_sizes[STEPS[0]] == [4, 2]
    assert output["batchItemFailures"] == []
    assert sorted(item["record_id"] for item in aws.stored_items()) == sorted(r["messageId"] for r in records)


def test_groups_keep_order_and_stay_under_the_payload_limit():
    events = [{"message_id": f"m-{n}", "body": "x" * (n * 10)} for n in range(200)]
    limit = 4096

    groups = step_groups.payload_groups(events, limit=limit)

    assert [index for group in groups for index in group] == list(range(200))
    for group in groups:
        assert len(json.dumps({"records": [events[i] for i in group]}).encode()) <= limit
    assert step_groups.payload_groups(events, limit=limit) == groups  # a replay rebuilds the same groups


def test_a_record_larger_than_a_group_travels_alone():
    events = [{"message_id": "small"}, {"message_id": "big", "body": "x" * 5000}, {"message_id": "small-2"}]

    assert step_groups.payload_groups(events, limit=1000) == [[0], [1], [2]]
    assert step_groups.payload_groups([], limit=1000) == []
