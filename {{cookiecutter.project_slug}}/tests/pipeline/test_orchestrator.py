# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""The orchestrator through the durable SDK's own test runner, every step function registered locally."""

from __future__ import annotations

import importlib
import io
import json
import logging
{% if cookiecutter.step_mode == 'lambda_invoke' -%}
import math
{% endif -%}
import threading
import time
from collections import Counter
from typing import Any

from aws_durable_execution_sdk_python import DurableContext
from aws_durable_execution_sdk_python.exceptions import InvocationError
from aws_durable_execution_sdk_python.execution import InvocationStatus
from aws_lambda_powertools import Logger
from botocore.exceptions import EndpointConnectionError
from conftest import REFERENCE_MESSAGE, STEPS

from local import internals, pipeline
from local.events import sqs_event, sqs_record
from pipeline_runtime import TransientStepError, current_message_id

ORCHESTRATOR = pipeline.orchestrator_module()


class StepCalls:
    """Counts calls per (step, message id) and injects failures around the real handlers."""

    def __init__(self, failures: dict[tuple[str, str], list[type[Exception]]] | None = None):
        self.calls: Counter[tuple[str, str]] = Counter()
        self.failures = failures or {}
        self._lock = threading.Lock()

    def wrap(self, step: str, function):
        def wrapped(data: Any):
            key = (step, current_message_id())
            with self._lock:
                self.calls[key] += 1
                planned = self.failures.get(key, [])
                error = planned.pop(0) if planned else None
            if error is not None:
                raise error(f"injected {error.__name__} in {step}")
            return function(data)

        return wrapped

    def per_step(self) -> Counter[str]:
        return Counter(step for (step, _message), count in self.calls.items() for _ in range(count))


def run(records: list[dict[str, Any]], calls: StepCalls | None = None, orchestrator=None, **runner_options):
    wrap_step = calls.wrap if calls else None
    with pipeline.make_runner(orchestrator=orchestrator, wrap_step=wrap_step, **runner_options) as runner:
        result = runner.run(input=sqs_event(records), execution_timeout=120)
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    return json.loads(result.result)


def test_reference_message_is_stored_transformed(aws):
    record = sqs_record(REFERENCE_MESSAGE)
    calls = StepCalls()

    output = run([record], calls)

    assert output == {
        "batchItemFailures": [],
        "counts": {"stored": 1, "duplicates": 0, "rejected": 0, "dead_lettered": 0, "retry": 0},
    }
    [item] = aws.stored_items()
    assert item["record_id"] == record["messageId"]
    assert item["original_data"]["data_source"] == "test.csv"
    assert item["transformed_data"]["data_source"] == ("TEST.CSV" if "transform" in STEPS else "test.csv")
    assert item["execution_id"]
    assert item["stored_at"].endswith("+00:00")
    assert calls.per_step() == Counter({step: 1 for step in STEPS})
    assert aws.dead_letters() == []


def test_invalid_record_goes_to_dlq_at_once_with_every_error(aws):
    invalid = sqs_record('{"processing_type": 7}')
    valid = sqs_record(REFERENCE_MESSAGE)
    calls = StepCalls()

    output = run([invalid, valid], calls)

    assert output["batchItemFailures"] == []  # not retried: retrying cannot fix it
    assert output["counts"]["rejected"] == 1 and output["counts"]["stored"] == 1
    assert [item["record_id"] for item in aws.stored_items()] == [valid["messageId"]]
    [dead] = aws.dead_letters()
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert dead["Body"] == invalid["body"]  # unchanged, so it can be redriven after a fix
    assert attributes["failure_reason"] == "validation_failed"
    assert attributes["source_message_id"] == invalid["messageId"]
    errors = json.loads(attributes["failure_detail"])  # every violation, whatever the schema's wording
    assert len(errors) == 2 and {error.split(":")[0] for error in errors} == {"data_source", "processing_type"}
    assert calls.calls[(STEPS[0], invalid["messageId"])] == 1
    assert all(calls.calls[(step, invalid["messageId"])] == 0 for step in STEPS[1:])


def test_redelivered_invalid_record_is_dead_lettered_once(aws):
    # An execution that fails as a whole hands its batch back to SQS; the next one must not repeat the DLQ send.
    invalid = sqs_record("not json")

    first = run([invalid])
    second = run([{**invalid, "attributes": {**invalid["attributes"], "ApproximateReceiveCount": "2"}}])

    assert first["counts"]["rejected"] == second["counts"]["rejected"] == 1
    assert len(aws.dead_letters()) == 1
    [marker] = aws.ledger()
    assert marker["status"] == "dead_lettered" and marker["reason"] == "invalid_body"  # not JSON: refused at the door
    assert aws.stored_items() == []


def test_transient_failure_is_retried_then_succeeds(aws):
    record = sqs_record(REFERENCE_MESSAGE)
    flaky_step = STEPS[1]
    calls = StepCalls({(flaky_step, record["messageId"]): [TransientStepError, TransientStepError]})

    output = run([record], calls)

    assert output["counts"]["stored"] == 1
    assert calls.calls[(flaky_step, record["messageId"])] == 3
    assert len(aws.stored_items()) == 1


def test_permanent_failure_is_reported_for_redelivery(aws, monkeypatch):
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "3")  # receive 1 of 3: SQS can still redeliver it
    failing = sqs_record(REFERENCE_MESSAGE, receive_count=1)
    healthy = sqs_record(REFERENCE_MESSAGE)
    calls = StepCalls({(STEPS[1], failing["messageId"]): [ValueError]})

    output = run([failing, healthy], calls)

    assert output["batchItemFailures"] == [{"itemIdentifier": failing["messageId"]}]
    assert aws.ending(failing["messageId"]) is None  # neither stored nor dead-lettered yet
    assert calls.calls[(STEPS[1], failing["messageId"])] == 1  # permanent: no retry inside the execution
    assert [item["record_id"] for item in aws.stored_items()] == [healthy["messageId"]]
    assert aws.dead_letters() == []  # SQS redelivers it; not dead-lettered yet


def test_a_step_answer_the_chain_cannot_carry_dead_letters_that_record_only(aws, monkeypatch):
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "3")
    broken, healthy = sqs_record(REFERENCE_MESSAGE), sqs_record(REFERENCE_MESSAGE)
    middle = STEPS[1]

    def wrap_step(step, function):
        def answer(data):
            if step == middle and current_message_id() == broken["messageId"]:
                return {"tags": {"a", "b"}}  # a set: JSON cannot carry it to the next step
            return function(data)

        return answer

    with pipeline.make_runner(wrap_step=wrap_step) as runner:
        result = runner.run(input=sqs_event([broken, healthy]), execution_timeout=120)

    assert result.status is InvocationStatus.SUCCEEDED, result.error
    output = json.loads(result.result)
    assert output["batchItemFailures"] == []  # no retry can make a set JSON: dead-lettered at once
    [dead] = aws.dead_letters()
    assert dead["MessageAttributes"]["failure_reason"]["StringValue"] == "unstorable_record"
    assert "a set, which JSON cannot carry" in dead["MessageAttributes"]["failure_detail"]["StringValue"]
    assert [item["record_id"] for item in aws.stored_items()] == [healthy["messageId"]]


def test_sdk_errors_are_not_taken_for_a_records_failure(aws, monkeypatch):
    # A checkpoint or replay error must reach the SDK (it fails or retries the invocation), not be
    # swallowed as one record's failure: here the first step call raises a retryable InvocationError.
    operation = "{{ 'invoke' if cookiecutter.step_mode == 'lambda_invoke' else 'step' }}"  # how steps are called
    original = getattr(DurableContext, operation)
    raised = []

    def flaky_sdk(self, *args, **kwargs):
        if not raised:
            raised.append(True)
            raise InvocationError("checkpoint service briefly unavailable")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DurableContext, operation, flaky_sdk)
    record = sqs_record(REFERENCE_MESSAGE)

    output = run([record])

    assert raised
    assert output["counts"]["stored"] == 1  # the invocation was retried
    assert len(aws.stored_items()) == 1


def test_failure_on_last_delivery_goes_to_dlq_with_last_error(aws, settings):
    record = sqs_record(REFERENCE_MESSAGE, receive_count=settings.max_receive_count)
    calls = StepCalls({(STEPS[-1], record["messageId"]): [ValueError]})

    output = run([record], calls)

    assert output["batchItemFailures"] == []
    assert output["counts"]["dead_lettered"] == 1
    [dead] = aws.dead_letters()
    assert dead["MessageAttributes"]["failure_reason"]["StringValue"] == "step_failed"
    assert "ValueError" in dead["MessageAttributes"]["failure_detail"]["StringValue"]


def test_a_dead_letter_send_that_keeps_failing_is_retried_by_botocore_alone_then_by_sqs(aws):
    unlucky, lucky = sqs_record('{"unlucky": 1}'), sqs_record('{"lucky": 1}')  # both rejected by the schema
    attempts: Counter[str] = Counter()

    def unreachable(request: Any, **_kwargs: Any) -> None:  # before moto's handler answers it
        if unlucky["messageId"].encode() in (request.body or b""):  # its DLQ copy names it
            attempts["unlucky"] += 1
            raise EndpointConnectionError(endpoint_url=request.url)

    events = internals.boto3_session_events()
    events.register_first("before-send.sqs.SendMessage", unreachable, unique_id="dlq-unreachable")
    try:
        output = run([unlucky, lucky])
    finally:
        events.unregister("before-send.sqs.SendMessage", unique_id="dlq-unreachable")

    assert attempts["unlucky"] == 3  # botocore's standard mode, and no retry layer of ours on top
    assert output["batchItemFailures"] == [{"itemIdentifier": unlucky["messageId"]}]  # SQS brings it back
    assert output["counts"]["rejected"] == 1
    [dead] = aws.dead_letters()
    assert dead["MessageAttributes"]["source_message_id"]["StringValue"] == lucky["messageId"]
    assert aws.ending(unlucky["messageId"]) is None


def test_crash_mid_batch_replays_without_rerunning_finished_steps(aws):
    records = [sqs_record(REFERENCE_MESSAGE) for _ in range(3)]
    calls = StepCalls()
    invocations = {"count": 0}

    def crashing_orchestrator(event, context):
        invocations["count"] += 1
        result = ORCHESTRATOR.handler(event, context)
        if invocations["count"] == 1:  # its steps are checkpointed, then the sandbox dies before replying
            raise InvocationError("simulated sandbox crash")
        return result

    output = run(records, calls, orchestrator=crashing_orchestrator)

    assert invocations["count"] >= 2
    assert output["batchItemFailures"] == []
    assert calls.per_step() == Counter({step: len(records) for step in STEPS})
    assert len(aws.stored_items()) == len(records)


def test_redelivered_message_still_gives_one_item(aws):
    record = sqs_record(REFERENCE_MESSAGE)

    first = run([record])
    second = run([{**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": "2"}}])

    assert (first["counts"]["stored"], first["counts"]["duplicates"]) == (1, 0)
    assert (second["counts"]["stored"], second["counts"]["duplicates"]) == (1, 1)
    assert len(aws.stored_items()) == 1


def test_a_batch_costs_a_fixed_number_of_invocations_whatever_its_size(aws, monkeypatch):
    # Every chained invoke suspends the orchestrator until its result comes back. Records in flight share
    # one invoke per step, so a batch costs len(STEPS) + 1 invocations per wave of RECORD_CONCURRENCY
    # records (minus the first), or a single invocation when the steps run in-process.
    counts = {}
    for size, concurrency in ((1, 1), (12, 12), (12, 5)):
        monkeypatch.setenv("RECORD_CONCURRENCY", str(concurrency))
        invocations = {"count": 0}

        def counting_orchestrator(event, context, invocations=invocations):
            invocations["count"] += 1
            return ORCHESTRATOR.handler(event, context)

        records = [sqs_record(REFERENCE_MESSAGE) for _ in range(size)]
        output = run(
            records,
            orchestrator=counting_orchestrator,
            stop_signal_poll_seconds=pipeline.SDK_STOP_SIGNAL_POLL_SECONDS,
        )
        assert output["batchItemFailures"] == []
        counts[(size, concurrency)] = invocations["count"]

{%- if cookiecutter.step_mode == 'durable_step' %}
    assert counts == {(1, 1): 1, (12, 12): 1, (12, 5): 1}
{%- else %}
    waves = math.ceil(12 / 5)
    assert counts == {(1, 1): len(STEPS) + 1, (12, 12): len(STEPS) + 1, (12, 5): waves * len(STEPS) + 1}
{%- endif %}
    assert len(aws.stored_items()) == 1 + 12 + 12


def emitted_metrics(output: str) -> list[dict[str, Any]]:
    """Each EMF blob Powertools printed, as metric name -> values."""
    blobs = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    return [{m["Name"]: blob[m["Name"]] for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]} for blob in blobs]


def test_outcomes_are_counted_once_per_batch_in_the_metrics(aws, capsys):
    valid, invalid = sqs_record(REFERENCE_MESSAGE), sqs_record("not json")
    run([valid, invalid])
    run([{**valid, "attributes": {**valid["attributes"], "ApproximateReceiveCount": "2"}}])  # a duplicate delivery

    assert emitted_metrics(capsys.readouterr().out) == [
        {"RecordsStored": [1.0], "RecordsRejected": [1.0], "RecordsDeadLettered": [0.0], "RecordsFailed": [0.0]},
        {"RecordsStored": [0.0], "RecordsRejected": [0.0], "RecordsDeadLettered": [0.0], "RecordsFailed": [0.0]},
    ]


def test_log_lines_carry_their_own_records_correlation_id_and_batch_lines_none(aws):
    # durable_step runs records' steps on concurrent threads that share one logger; lambda_invoke
    # runs one record after another in each step function. Either way no line may name another record.
    step_logger = Logger()
    written = io.StringIO()
    copy = logging.StreamHandler(written)
    copy.setFormatter(step_logger.registered_formatter)

    def wrap_step(step, function):
        def wrapped(data: Any):
            output = function(data)
            time.sleep(0.02)  # the other records' steps run meanwhile
            step_logger.info("step finished", extra={"finished_record": current_message_id()})
            return output

        return wrapped

    records = [sqs_record(REFERENCE_MESSAGE) for _ in range(6)]
    step_logger.addHandler(copy)
    try:
        with pipeline.make_runner(wrap_step=wrap_step) as runner:
            result = runner.run(input=sqs_event(records), execution_timeout=120)
    finally:
        step_logger.removeHandler(copy)
    assert result.status is InvocationStatus.SUCCEEDED, result.error

    logged = [json.loads(line) for line in written.getvalue().splitlines()]
    lines = [line for line in logged if line["message"] == "step finished"]
    assert len(lines) == len(records) * len(STEPS)
    assert [line["correlation_id"] for line in lines] == [line["finished_record"] for line in lines]
    batch_done = [line for line in logged if line["message"] == "batch done"]
    assert batch_done and all("correlation_id" not in line for line in batch_done)


def fifo_batch(monkeypatch, *groups: str) -> list[dict[str, Any]]:
    """Records of a FIFO queue's batch in these message groups; the orchestrator reads them as FIFO whatever
    queue_type this project has."""
    monkeypatch.setattr(importlib.import_module("batch_records"), "QUEUE_TYPE", "fifo")
    return [sqs_record(REFERENCE_MESSAGE, group=group) for group in groups]


def test_fifo_a_record_going_back_takes_its_groups_later_records_back_unprocessed(aws, monkeypatch):
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "3")  # receive 1 of 3: the failed record goes back to SQS
    first, later, other = fifo_batch(monkeypatch, "g1", "g1", "g2")
    calls = StepCalls({(STEPS[1], first["messageId"]): [ValueError]})

    output = run([first, later, other], calls)

    # Standard waves would store `later` now, ahead of `first`, which SQS delivers again.
    assert output["batchItemFailures"] == [
        {"itemIdentifier": first["messageId"]},
        {"itemIdentifier": later["messageId"]},
    ]
    assert [item["record_id"] for item in aws.stored_items()] == [other["messageId"]]  # the other group goes on
    assert calls.calls[(STEPS[0], later["messageId"])] == 0  # not even started
    assert aws.dead_letters() == []


def test_fifo_records_of_a_group_are_stored_in_order_and_a_dead_lettered_one_lets_the_next_go(aws, monkeypatch):
    rejected, first, second = fifo_batch(monkeypatch, "g1", "g1", "g1")
    rejected["body"] = json.dumps({"data_source": ""})  # the schema refuses it: dead-lettered, so it ended

    output = run([rejected, first, second])

    assert output["batchItemFailures"] == []
    stored = {item["record_id"]: item["stored_at"] for item in aws.stored_items()}
    assert set(stored) == {first["messageId"], second["messageId"]}
    assert stored[first["messageId"]] < stored[second["messageId"]]
    [dead] = aws.dead_letters()
    assert dead["Body"] == rejected["body"]
