# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""One record never sinks its batch, and nothing ends twice: whatever a step does with one record (raises
anything, returns what cannot be encoded or stored, runs too long, edits its input in place) ends that
record alone; a message leaves the input queue as soon as it ends; the report says what really happened."""

from __future__ import annotations

import importlib
import json
import time
from typing import Any

import boto3
import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from conftest import REFERENCE_MESSAGE, STEPS

from local import pipeline
from local.esm import EventSourceMapping
from local.events import fifo_fields, sqs_event, sqs_record
from local.formats import as_sent, carried_body
from local.journal import Journal, trace_lines
from local.quota_guard import QuotaGuard
from pipeline_runtime import current_message_id, payloads, quotas
from pipeline_runtime.context import CURRENT, RecordContext
from pipeline_runtime.step_calls import RecordTooLarge, output_text, run_call
from tools import render_rules

STEP_MODE = "{{ cookiecutter.step_mode }}"
PIPELINE_CONFIG = importlib.import_module("pipeline_config")
ATTEMPTS = PIPELINE_CONFIG.RETRY.max_attempts
BUGGY = STEPS[-2]  # the step before the storing one (the first, in a two-step chain)


def run(records: list[dict[str, Any]], wrap_step=None, **runner_options: Any) -> tuple[dict[str, Any], QuotaGuard]:
    guard = QuotaGuard()
    with pipeline.make_runner(wrap_step=wrap_step, quota_guard=guard, **runner_options) as runner:
        result = runner.run(input=sqs_event(records), execution_timeout=300)
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    return json.loads(result.result), guard


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"n": value}
    return value


class Bug(BaseException):
    """Not an Exception: what a bare `except Exception` in the runtime would let through."""


def raising(error: BaseException) -> Any:
    def bug() -> dict[str, Any]:
        raise error

    return bug


BUGS = {
    "SystemExit": (raising(SystemExit(3)), "step_failed", "SystemExit: 3"),
    "KeyboardInterrupt": (raising(KeyboardInterrupt()), "step_failed", "KeyboardInterrupt"),
    "BaseException": (raising(Bug("in one record")), "step_failed", "Bug: in one record"),
    "20000-levels": (lambda: {"deep": deep(20_000)}, "unstorable_record", "nested deeper than the 31 levels"),
    "lone-surrogate": (lambda: {"text": "\udfff"}, "unstorable_record", "a lone surrogate"),
    "surrogate-key": (lambda: {"\udfff": 1}, "unstorable_record", "a key with a lone surrogate"),
}


@pytest.mark.parametrize(("bug", "reason", "why"), BUGS.values(), ids=BUGS.keys())
def test_whatever_a_step_does_with_one_record_ends_that_record_alone(aws, settings, bug, reason, why):
    records = [sqs_record(REFERENCE_MESSAGE, receive_count=settings.max_receive_count) for _ in range(5)]
    victim = records[2]["messageId"]

    def wrap_step(step, function):
        def buggy(data):
            output = function(data)
            if step == BUGGY and current_message_id() == victim:
                return {**output, **bug()}  # raises, or returns what can never travel on
            return output

        return buggy

    output, guard = run(records, wrap_step)

    assert output["batchItemFailures"] == []  # the other four are stored, not retried
    assert output["counts"]["stored"] == 4 and output["counts"]["dead_lettered"] == 1
    [dead] = aws.dead_letters()
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert attributes["source_message_id"] == victim
    assert attributes["failure_reason"] == reason and why in attributes["failure_detail"], attributes
    if reason == "step_failed":  # the step, and the real cause
        assert attributes["failure_detail"].startswith(f'"{BUGGY}: '), attributes
    assert {item["record_id"] for item in aws.stored_items()} == {r["messageId"] for r in records} - {victim}
    assert guard.total().violations == []


def test_a_call_answers_before_its_time_runs_out_with_what_finished(lambda_context):
    class Context:  # what Lambda's context says: 4 s left
        def __init__(self) -> None:
            self.deadline = time.monotonic() + 4

        def get_remaining_time_in_millis(self) -> int:
            return int((self.deadline - time.monotonic()) * 1000)

        def __getattr__(self, name: str) -> Any:
            return getattr(lambda_context, name)

    def slow_second(record: dict[str, Any]) -> dict[str, Any]:
        if record["n"] == "m-2":
            time.sleep(8)
        return record

    request = {
        "step": "transform", "role": "transform", "execution_id": "exec-1", "select": "ok", "originals": [],
        "sources": [{"records": [{"id": f"m-{n}", "status": "ok", "data": {"n": f"m-{n}"}} for n in (1, 2, 3)]}],
        "output_key": "in-flight/test/transform-1.json", "inline_limit": 64 * 1024, "threads": 1,
    }  # fmt: skip
    began = time.monotonic()

    reply = run_call(request, slow_second, Context())

    assert time.monotonic() - began < 3.5  # reply reserve: 1 s of the 4
    by_id = {record.id: record.header for record in payloads.carried(reply["output"])}
    assert by_id["m-1"]["status"] == "ok"
    assert by_id["m-2"]["status"] == "isolate" and by_id["m-2"]["error"]["type"] == "StepTimedOut"
    assert by_id["m-3"]["status"] == "transient" and "not started" in by_id["m-3"]["error"]["message"]
    assert [record.text for record in payloads.carried(reply["output"])][1:] == ['{"n":"m-2"}', '{"n":"m-3"}']
    assert reply["counts"] | {"duplicates": 0} == {
        "ok": 1, "transient": 1, "failed": 0, "rejected": 0, "too_large": 0, "isolate": 1, "timed_out": 0,
        "duplicates": 0,
    }  # fmt: skip

    alone = run_call({**request, "sources": [reply["output"]], "select": "isolate"}, slow_second, Context())

    [timed_out] = payloads.carried(alone["output"])
    assert timed_out.id == "m-2" and timed_out.status == "timed_out" and timed_out.text is None


def test_a_record_that_outlasts_its_invocation_goes_alone_then_to_the_dlq_and_the_rest_is_stored(aws):
    records = [sqs_record(REFERENCE_MESSAGE, receive_count=1) for _ in range(5)]
    slow = records[1]["messageId"]
    calls: list[str] = []

    def wrap_step(step, function):
        def sleepy(data):
            if step == BUGGY and current_message_id() == slow:
                calls.append(slow)
                time.sleep(12)  # past the 4 s Timeout below, each time
            return function(data)

        return sleepy

    began = time.monotonic()
    output, guard = run(records, wrap_step, function_timeout=4)

    assert time.monotonic() - began < 12  # no invocation waited for the sleeping record
    assert output["batchItemFailures"] == [] and output["counts"]["stored"] == 4
    # With its wave, then alone (a wave of one record is alone already): never retried again
    alone_at_once = STEP_MODE == "lambda_invoke" and PIPELINE_CONFIG.record_concurrency() == 1
    assert calls == [slow] * (1 if alone_at_once else 2)
    [dead] = aws.dead_letters()
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert attributes["source_message_id"] == slow and attributes["failure_reason"] == "step_timed_out"
    assert attributes["failure_detail"].startswith(f'"{BUGGY}: still running after ')
    assert len(aws.stored_items()) == 4
    assert guard.total().violations == []
    worst = render_rules.worst_case_operations(STEP_MODE, len(STEPS), len(records), len(records), ATTEMPTS)
    assert guard.total().operations <= worst


def test_a_step_editing_its_input_in_place_never_changes_the_stored_original(aws):
    records = [sqs_record(REFERENCE_MESSAGE) for _ in range(4)]

    def wrap_step(step, function):
        def editing(data):
            if step != STEPS[0]:  # a common habit: add to the record it was given, in place, and pass it on
                data["edited_in_place_by"] = step
            return function(data)

        return editing

    output, _guard = run(records, wrap_step)

    assert output["counts"]["stored"] == 4
    for item in aws.stored_items():
        assert as_sent(item["original_data"]) == json.loads(REFERENCE_MESSAGE)  # as validated, whatever came after


def test_a_message_leaves_the_input_queue_as_soon_as_it_ends(aws):
    sqs, queue_url = boto3.client("sqs"), aws.resources["queue_url"]
    for body in (REFERENCE_MESSAGE, REFERENCE_MESSAGE, "not json", REFERENCE_MESSAGE):
        sqs.send_message(QueueUrl=queue_url, MessageBody=carried_body(body), **fifo_fields(queue_url))
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    records = [
        sqs_record(message["Body"], message_id=message["MessageId"], raw=True)
        | {"receiptHandle": message["ReceiptHandle"]}
        for message in received
    ]
    assert len(records) == 4

    output, _guard = run(records)

    assert output["counts"]["stored"] == 3 and output["counts"]["rejected"] == 1
    # Nobody deleted them but the pipeline: had the execution failed after this, SQS could not redrive them.
    depth = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert (depth["ApproximateNumberOfMessages"], depth["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")


def test_the_report_shows_an_output_that_cannot_be_encoded_or_sized_as_it_ended(aws):
    records = [sqs_record(REFERENCE_MESSAGE, receive_count=3) for _ in range(3)]
    spoiled = records[0]["messageId"]
    journal = Journal()
    for record in records:
        journal.add(record["messageId"], "sent", body=record["body"])

    def spoil(step, function):
        def spoiling(data):
            output = function(data)
            return {**output, "text": "\udfff"} if step == STEPS[0] and current_message_id() == spoiled else output

        return spoiling

    run(records, lambda step, function: journal.wrap_step(step, spoil(step, function)))

    counts = journal.stage_counts(list(STEPS))[STEPS[0]]
    assert (counts["ok"], counts["rejected"]) == (2, 1)
    trace = "\n".join(trace_lines(journal.events, spoiled))
    assert f"{STEPS[0]}: rejected in " in trace and "lone surrogate" in trace

    too_large = journal.wrap_step(STEPS[0], lambda data: {"x": "y" * quotas.MAX_RECORD_BYTES})
    token = CURRENT.set(RecordContext("m-large", "exec-1", None))
    try:
        with pytest.raises(RecordTooLarge):
            output_text(too_large({}))
    finally:
        CURRENT.reset(token)
    assert journal.events[-1]["outcome"] == "failed" and "RecordTooLarge" in journal.events[-1]["detail"]


def test_the_local_event_source_mapping_gives_up_on_time_whatever_a_step_does(aws, settings):
    def wrap_step(step, function):
        def stuck(data):
            time.sleep(30)  # within the function's Timeout: only make local's --timeout can cut it short
            return function(data)

        return stuck

    began = time.monotonic()
    with pipeline.make_runner(wrap_step=wrap_step) as runner:
        queue_url = aws.resources["queue_url"]
        body = carried_body(REFERENCE_MESSAGE)
        boto3.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body, **fifo_fields(queue_url))
        drained = EventSourceMapping(runner, settings, aws.resources["queue_url"]).drain(timeout=2)

    assert not drained
    assert time.monotonic() - began < 10  # not the 30 s of the step, nor the mapping's 60 s execution deadline


def test_local_runs_give_every_function_the_template_timeout(aws, settings):
    told: list[int] = []

    def wrap_step(step, function):
        def timed(data):
            told.append(CURRENT.get().lambda_context.get_remaining_time_in_millis())
            return function(data)

        return timed

    output, _guard = run([sqs_record(REFERENCE_MESSAGE)], wrap_step)

    assert output["counts"]["stored"] == 1 and len(told) == len(STEPS)
    assert all(0 < remaining <= settings.function_timeout_seconds * 1000 for remaining in told), told
