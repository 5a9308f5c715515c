# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Local runs fail where AWS would: each durable-execution quota, crossed by one, and met exactly.

The SDK's test runner enforces few of these (a 1 MiB chained-invoke payload, 32,768-byte errors in
checkpoints); local/quota_guard.py enforces them all, with the service's own messages, on every runner
local.pipeline.make_runner builds.
"""

from __future__ import annotations

import json

import pytest
from aws_durable_execution_sdk_python import DurableContext, InvokeError, StepError, durable_execution
from aws_durable_execution_sdk_python.config import ChildConfig, MapConfig, StepConfig, StepSemantics
from aws_durable_execution_sdk_python.execution import InvocationStatus
from aws_durable_execution_sdk_python.retries import RetryDecision
from aws_durable_execution_sdk_python.serdes import JsonSerDes

from local import pipeline
from local.quota_guard import QuotaGuard, RequestTooLargeError
from pipeline_runtime.quotas import (
    MAX_ERROR_PAYLOAD_BYTES,
    MAX_OPERATION_PAYLOAD_BYTES,
    MAX_OPERATIONS,
    MAX_PERSISTED_BYTES,
    MAX_SYNC_PAYLOAD_BYTES,
)

# START is checkpointed before the body runs, so the result travels alone, whatever its size.
ALONE = StepConfig(step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY, serdes=JsonSerDes())
ONCE = StepConfig(retry_strategy=lambda _error, _attempts: RetryDecision.no_retry(), serdes=JsonSerDes())


def run(handler, event: str = "{}", guard: QuotaGuard | None = None, functions: dict | None = None):
    guard = guard or QuotaGuard(enforce=True)
    with pipeline.make_runner(orchestrator=handler, quota_guard=guard) as runner:
        for name, function in (functions or {}).items():
            runner.register_function(name, function)
        result = runner.run(input=event, execution_timeout=120)
    [usage] = guard.usage.values()
    return result, usage


def map_of(branches: int):
    """The execution start, the map and one operation per branch."""

    @durable_execution
    def handler(event: dict, context: DurableContext) -> None:
        context.map(list(range(branches)), lambda _ctx, item, _i, _all: None, name="m", config=MapConfig())

    return handler


def steps_returning(count: int, payload_bytes: int):
    """`count` steps, each checkpointing a JSON string of exactly `payload_bytes` bytes."""

    @durable_execution
    def handler(event: dict, context: DurableContext) -> None:
        for number in range(count):
            context.step(lambda _: "x" * (payload_bytes - 2), name=f"s{number}", config=ALONE)

    return handler


def assert_refused(result, quota: str) -> None:
    assert result.status is InvocationStatus.FAILED
    assert quota in result.error.message and "AWS allows at most" in result.error.message


def test_operations_up_to_the_quota_pass():
    result, usage = run(map_of(MAX_OPERATIONS - 2))
    assert result.status is InvocationStatus.SUCCEEDED
    assert usage.operations == MAX_OPERATIONS


def test_one_operation_over_the_quota_fails_the_execution():
    result, usage = run(map_of(MAX_OPERATIONS - 1))
    assert_refused(result, "durable operations in this execution would be 3,001 operations")
    assert usage.operations <= MAX_OPERATIONS


STEP_REFUSED = "STEP output payload size must be less than or equal to 262144 bytes."  # the service's words


def test_a_step_result_of_exactly_262144_bytes_passes():
    result, usage = run(steps_returning(1, MAX_OPERATION_PAYLOAD_BYTES))
    assert result.status is InvocationStatus.SUCCEEDED
    assert usage.largest_by_kind["STEP output"] == MAX_OPERATION_PAYLOAD_BYTES == 262_144


def test_a_step_result_one_byte_over_fails_the_execution_with_the_services_message():
    result, usage = run(steps_returning(1, MAX_OPERATION_PAYLOAD_BYTES + 1))
    assert result.status is InvocationStatus.FAILED
    assert STEP_REFUSED in result.error.message
    assert usage.violations == [STEP_REFUSED]


def child_returning(result_bytes: int):
    @durable_execution
    def handler(event: dict, context: DurableContext) -> int:
        result = context.run_in_child_context(lambda _ctx: "c" * (result_bytes - 2), name="child",
                                              config=ChildConfig(serdes=JsonSerDes()))  # fmt: skip
        return len(result)

    return handler


@pytest.mark.parametrize("result_bytes", [MAX_OPERATION_PAYLOAD_BYTES, MAX_OPERATION_PAYLOAD_BYTES + 1])
def test_a_child_context_result_over_262144_bytes_is_checkpointed_as_a_summary_by_the_sdk(result_bytes):
    # The SDK replays the children instead of checkpointing a larger result: no operation crosses the limit.
    result, usage = run(child_returning(result_bytes))
    assert result.status is InvocationStatus.SUCCEEDED and json.loads(result.result) == result_bytes - 2
    assert usage.largest_by_kind["CONTEXT output"] <= MAX_OPERATION_PAYLOAD_BYTES


def invoking(input_bytes: int):
    """Calls `target` with a JSON string of exactly `input_bytes` bytes; returns what it answered or why it failed."""

    @durable_execution
    def handler(event: dict, context: DurableContext) -> str:
        try:
            return context.invoke("target", "i" * (input_bytes - 2), name="call")[:20]
        except InvokeError as error:
            return f"failed: {error}"

    return handler


def answering(result_bytes: int):
    return {"target": lambda _event, _context: "o" * (result_bytes - 2)}


def test_a_chained_invoke_input_and_result_of_exactly_262144_bytes_pass():
    result, usage = run(invoking(MAX_OPERATION_PAYLOAD_BYTES), functions=answering(MAX_OPERATION_PAYLOAD_BYTES))
    assert result.status is InvocationStatus.SUCCEEDED and json.loads(result.result) == "o" * 20
    assert usage.largest_by_kind["CHAINED_INVOKE input"] == usage.largest_by_kind["CHAINED_INVOKE output"] == 262_144


def test_a_chained_invoke_input_one_byte_over_fails_the_execution():
    result, _usage = run(invoking(MAX_OPERATION_PAYLOAD_BYTES + 1), functions=answering(10))
    assert result.status is InvocationStatus.FAILED
    assert "CHAINED_INVOKE input payload size must be less than or equal to 262144 bytes." in result.error.message


def test_a_chained_invoke_result_one_byte_over_fails_the_invoke():
    result, usage = run(invoking(10), functions=answering(MAX_OPERATION_PAYLOAD_BYTES + 1))
    assert result.status is InvocationStatus.SUCCEEDED  # the handler saw the invoke fail, as in AWS
    assert "CHAINED_INVOKE output payload size must be less than or equal to 262144 bytes." in json.loads(result.result)
    assert len(usage.violations) == 1


def failing_with(message_chars: int):
    """One step that fails once (no retry) with a message of `message_chars` characters."""

    @durable_execution
    def handler(event: dict, context: DurableContext) -> str:
        def fail(_step):
            raise ValueError("e" * message_chars)

        try:
            context.step(fail, name="fails", config=ONCE)
        except StepError:
            return "failed"
        return "passed"

    return handler


def test_an_error_object_of_exactly_32768_bytes_passes_and_one_byte_more_fails_the_execution():
    _result, probe = run(failing_with(100))
    overhead = probe.largest_by_kind["error"] - 100  # the error object's fields around its message
    within, usage = run(failing_with(MAX_ERROR_PAYLOAD_BYTES - overhead))
    assert within.status is InvocationStatus.SUCCEEDED
    assert usage.largest_by_kind["error"] == MAX_ERROR_PAYLOAD_BYTES == 32_768

    over, usage = run(failing_with(MAX_ERROR_PAYLOAD_BYTES - overhead + 1))
    assert over.status is InvocationStatus.FAILED
    assert usage.violations == ["Error object size must be less than 32768 bytes."]


def test_an_event_of_exactly_6_mb_starts():
    event = json.dumps({"pad": "x" * (MAX_SYNC_PAYLOAD_BYTES - len('{"pad": ""}'))})
    result, usage = run(steps_returning(0, 0), event)
    assert result.status is InvocationStatus.SUCCEEDED
    assert usage.input_bytes == MAX_SYNC_PAYLOAD_BYTES


def test_an_event_over_6_mb_is_refused_before_any_execution():
    event = json.dumps({"pad": "x" * (MAX_SYNC_PAYLOAD_BYTES - len('{"pad": ""}') + 1)})
    guard = QuotaGuard(enforce=True)
    with pipeline.make_runner(orchestrator=steps_returning(0, 0), quota_guard=guard) as runner:
        with pytest.raises(RequestTooLargeError, match="the batch event would be 6,291,457 bytes"):
            runner.run(input=event, execution_timeout=60)
    assert guard.usage == {}


def returning(result_bytes: int):
    @durable_execution
    def handler(event: dict, context: DurableContext) -> str:
        return "r" * (result_bytes - 2)  # a JSON string: two quotes more

    return handler


def test_a_result_of_exactly_6_mb_is_returned():
    result, usage = run(returning(MAX_SYNC_PAYLOAD_BYTES))
    assert result.status is InvocationStatus.SUCCEEDED
    assert usage.persisted_bytes == 2 + MAX_SYNC_PAYLOAD_BYTES  # the event "{}" and the result


def test_a_result_over_6_mb_fails_the_execution():
    result, _usage = run(returning(MAX_SYNC_PAYLOAD_BYTES + 1))
    assert_refused(result, "would be 6,291,457 bytes")


# Written: the event "{}" (2 bytes), every step's payload, the result "null" (4 bytes).
STEP_BYTES = MAX_OPERATION_PAYLOAD_BYTES - 1
STEPS_WITHIN = (MAX_PERSISTED_BYTES - 2 - 4) // STEP_BYTES


def test_payload_written_up_to_100_mb_passes():
    result, usage = run(steps_returning(STEPS_WITHIN, STEP_BYTES))
    assert result.status is InvocationStatus.SUCCEEDED
    assert usage.persisted_bytes == 2 + STEPS_WITHIN * STEP_BYTES + 4 <= MAX_PERSISTED_BYTES


def test_payload_written_past_100_mb_fails_the_execution():
    result, usage = run(steps_returning(STEPS_WITHIN + 1, STEP_BYTES))
    assert_refused(result, "payload written by this execution would be")
    assert usage.persisted_bytes <= MAX_PERSISTED_BYTES


def test_the_guard_can_be_turned_off_for_diagnosis_and_still_counts(monkeypatch):
    monkeypatch.setenv("LOCAL_QUOTA_GUARD", "off")
    result, usage = run(map_of(MAX_OPERATIONS - 1), guard=QuotaGuard())
    assert result.status is InvocationStatus.SUCCEEDED
    assert usage.operations == MAX_OPERATIONS + 1
    assert usage.violations and "3,001 operations" in usage.violations[0]
