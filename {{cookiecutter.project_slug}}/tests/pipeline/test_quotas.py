# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""No batch the options allow crosses a durable-execution quota, and one message never sinks its batch.

Every run here goes through the local quota guard (local/quota_guard.py): an execution crossing a
quota would fail as it does in AWS, and each test also reads what the guard counted.
"""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from conftest import REFERENCE_MESSAGE, STEPS

import dead_letters
import settle
from local import pipeline
from local.events import event_bytes, sqs_event, sqs_record
from local.formats import LARGEST_RECORD_BYTES, as_sent
from local.quota_guard import QuotaGuard
from pipeline_config import RETRY, STEP_MODE
from pipeline_runtime import TransientStepError, claim_check, current_message_id, payloads, quotas
from tools import render_rules

ATTEMPTS = RETRY.max_attempts
KIB, MIB = 1024, 1024 * 1024


def body_of(size: int, filler: str = "x") -> str:
    """A valid message of `size` UTF-8 bytes (or just under), its bulk made of `filler`."""
    base = json.dumps({"data_source": "big.csv", "processing_type": "standard", "notes": ""}, ensure_ascii=False)
    count = (size - len(base.encode())) // len(filler.encode())
    return json.dumps(
        {"data_source": "big.csv", "processing_type": "standard", "notes": filler * count}, ensure_ascii=False
    )


def run(records: list[dict[str, Any]], wrap_step=None):
    guard = QuotaGuard(enforce=True)
    with pipeline.make_runner(wrap_step=wrap_step, quota_guard=guard) as runner:
        result = runner.run(input=sqs_event(records), execution_timeout=300)
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    [usage] = guard.usage.values()
    assert usage.violations == []
    return json.loads(result.result), usage, result


def within_quotas(usage) -> None:
    assert usage.operations <= quotas.MAX_OPERATIONS
    assert usage.persisted_bytes <= quotas.MAX_PERSISTED_BYTES
    assert usage.largest_payload_bytes <= quotas.PLANNED_OPERATION_PAYLOAD_BYTES < quotas.MAX_OPERATION_PAYLOAD_BYTES
    assert usage.largest_by_kind.get("error", 0) <= quotas.MAX_ERROR_PAYLOAD_BYTES
    assert usage.input_bytes <= quotas.MAX_SYNC_PAYLOAD_BYTES
    assert usage.result_bytes <= quotas.MAX_SYNC_PAYLOAD_BYTES


def largest_batch(settings) -> list[dict[str, Any]]:
    """The largest batch these options let the event source mapping send: batch_size records, 6 MB."""
    per_record = min(quotas.MAX_SQS_MESSAGE_BYTES, (quotas.MAX_SYNC_PAYLOAD_BYTES - 4096) // settings.batch_size)
    records = [sqs_record(body_of(max(per_record - 600, 100))) for _ in range(settings.batch_size)]
    assert event_bytes(records) <= quotas.MAX_SYNC_PAYLOAD_BYTES
    return records


def test_the_largest_batch_these_options_allow_is_stored_within_every_quota(aws, settings):
    records = largest_batch(settings)

    output, usage, _result = run(records)

    assert output["counts"]["stored"] == len(records) and output["batchItemFailures"] == []
    within_quotas(usage)
    assert len(aws.stored_items()) == len(records)


@pytest.mark.parametrize("waves", {{ '[1, 2]' if cookiecutter.step_mode == 'lambda_invoke' else '[1]' }})  # durable_step: one wave
def test_a_batch_failing_everywhere_it_can_costs_the_worst_case_and_no_more(aws, settings, monkeypatch, waves):
    # Every step call fails transiently until its last attempt, staging and settling fail until theirs:
    # the durable operations counted are exactly what the hooks allow for.
    staged_size = quotas.inline_payload_cap(STEP_MODE, len(STEPS), 1, ATTEMPTS)  # each record alone is staged
    records = [
        sqs_record(body_of(staged_size), receive_count=settings.max_receive_count, pad_to=staged_size)
        for _ in range(2 * waves)
    ]
    monkeypatch.setenv("RECORD_CONCURRENCY", "2")
    last_step_fails = {record["messageId"] for record in records[::2]}  # one per wave ends in the DLQ: settling works
    attempts: dict[tuple[str, str], int] = {}
    lock = threading.Lock()

    def wrap_step(step, function):
        def flaky(data):
            key = (step, current_message_id())
            with lock:
                attempts[key] = attempt = attempts.get(key, 0) + 1
            if attempt < ATTEMPTS:
                raise TransientStepError(f"{step} attempt {attempt}")
            if step == STEPS[-1] and current_message_id() in last_step_fails:
                raise ValueError("permanent")
            return function(data)

        return flaky

    def failing_until_last(function, counter: dict[str, int], applies=lambda key: True):
        def failing(*args, **kwargs):
            key = str(args[0])
            counter[key] = counter.get(key, 0) + 1
            if applies(key) and counter[key] < ATTEMPTS:
                raise ConnectionError("briefly unreachable")
            return function(*args, **kwargs)

        return failing

    stages: dict[str, int] = {}
    pack = payloads.pack

    def staging(records, key, inline_limit):  # the bucket refuses a wave's staging until its last attempt
        stages[key] = stages.get(key, 0) + 1
        if key.endswith("/stage.json") and stages[key] < ATTEMPTS:
            raise ConnectionError("briefly unreachable")
        return pack(records, key, inline_limit)

    monkeypatch.setattr(payloads, "pack", staging)
    # Settling reads the wave's first reply first: the bucket fails that read until the step's last attempt.
    settle_reads = failing_until_last(payloads.carried, {}, lambda key: f"/{STEPS[0]}-1.json" in key)
    monkeypatch.setattr(settle, "payloads", SimpleNamespace(carried=settle_reads))

    output, usage, _result = run(records, wrap_step)

    assert len([key for key in stages if key.endswith("/stage.json")]) == waves, "the waves were staged"
    # Every failure but running out of time (tests/pipeline/test_isolation.py adds the isolated calls)
    assert usage.operations == render_rules.worst_case_operations(
        STEP_MODE, len(STEPS), len(records), 2, ATTEMPTS, isolating=False
    )
    within_quotas(usage)
    assert output["counts"] == {
        "stored": len(records) - waves,
        "duplicates": 0,
        "rejected": 0,
        "dead_lettered": waves,
        "retry": 0,
    }


@pytest.mark.parametrize(
    "filler",
    ["x", "中", "😀"],
    ids=["ascii", "three-byte-cjk", "four-byte-emoji"],
)
def test_a_body_of_any_size_sqs_accepts_is_stored_whole(aws, filler):
    # The largest record this message format carries: SQS's 1 MiB body, or less inside an SNS or EventBridge one
    content = body_of(LARGEST_RECORD_BYTES, filler)
    big = sqs_record(content)
    small = [sqs_record(REFERENCE_MESSAGE) for _ in range(3)]
    assert LARGEST_RECORD_BYTES - 4 < len(content.encode()) <= LARGEST_RECORD_BYTES
    assert len(big["body"].encode()) <= quotas.MAX_SQS_MESSAGE_BYTES

    output, usage, _result = run([small[0], big, *small[1:]])

    assert output["counts"]["stored"] == 4 and output["batchItemFailures"] == []
    within_quotas(usage)
    stored = {item["record_id"]: item for item in aws.stored_items()}
    assert set(stored) == {record["messageId"] for record in [big, *small]}
    assert "data_ref" in stored[big["messageId"]]  # too large for one DynamoDB item: kept in the bucket
    assert as_sent(claim_check.item_data(stored[big["messageId"]])["original_data"]) == json.loads(content)
    assert all("data_ref" not in stored[record["messageId"]] for record in small)


def test_a_record_too_large_to_carry_goes_to_the_dlq_at_once_and_alone(aws):
    bloated, healthy = sqs_record(REFERENCE_MESSAGE), sqs_record(REFERENCE_MESSAGE)
    calls: dict[str, int] = {}

    def wrap_step(step, function):
        def bloating(data):
            output = function(data)
            if step == STEPS[0]:
                calls[current_message_id()] = calls.get(current_message_id(), 0) + 1
                if current_message_id() == bloated["messageId"]:
                    return {**output, "blob": "b" * quotas.MAX_RECORD_BYTES}
            return output

        return bloating

    output, usage, _result = run([bloated, healthy], wrap_step)

    assert output["batchItemFailures"] == []  # retrying cannot shrink it
    assert output["counts"] == {"stored": 1, "duplicates": 0, "rejected": 0, "dead_lettered": 1, "retry": 0}
    assert calls[bloated["messageId"]] == 1
    within_quotas(usage)
    [dead] = aws.dead_letters()
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert attributes["failure_reason"] == "payload_too_large"
    detail = json.loads(attributes["failure_detail"])
    assert detail["step"] == STEPS[0] and detail["bytes"] > detail["limit"] == quotas.MAX_RECORD_BYTES
    assert dead["Body"] == bloated["body"]
    assert [item["record_id"] for item in aws.stored_items()] == [healthy["messageId"]]


def test_the_result_stays_small_whatever_fails(aws, monkeypatch):
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "3")  # first delivery: every record goes back to SQS
    records = [sqs_record(REFERENCE_MESSAGE) for _ in range(500)]

    def wrap_step(step, function):
        def failing(data):
            raise ValueError("a long reason " * 400)

        return failing

    output, usage, result = run(records, wrap_step)

    assert len(output["batchItemFailures"]) == 500
    assert set(output) == {"batchItemFailures", "counts"}  # what goes beyond these belongs in the logs
    assert usage.result_bytes == len(result.result.encode()) < 40 * KIB


@pytest.mark.parametrize("room", [0, 120], ids=["body-alone-fills-sqs-limit", "room-for-some-attributes"])
def test_dead_lettering_a_body_near_1_mib_keeps_it_unchanged_and_the_detail_in_the_ledger(aws, room):
    body = "n" * (quotas.MAX_SQS_MESSAGE_BYTES - room)  # not JSON, nor this format's envelope: refused at the door
    invalid = sqs_record(body, raw=True)

    output, usage, _result = run([invalid, sqs_record(REFERENCE_MESSAGE)])

    assert output["counts"]["rejected"] == 1 and output["counts"]["stored"] == 1
    within_quotas(usage)
    [dead] = aws.dead_letters()
    assert dead["Body"] == body  # unchanged, so it can be redriven
    attributes = {name: value["StringValue"] for name, value in dead.get("MessageAttributes", {}).items()}
    assert dead_letters.message_size(body, attributes) <= quotas.MAX_SQS_MESSAGE_BYTES
    [marker] = [item for item in aws.ledger() if item["status"] == "dead_lettered"]
    assert marker["record_id"] == invalid["messageId"] and marker["reason"] == "invalid_body"
    assert marker["dead_letter_message_id"] == dead["MessageId"]
    assert json.loads(marker["failure_detail"])[0].startswith("body is not valid JSON")
    if room:
        assert attributes["source_message_id"] == invalid["messageId"]


def test_inline_payloads_stay_within_the_budget_across_waves_steps_and_attempts(aws, monkeypatch):
    # Waves whose records are inline up to the cap, each step growing them, every record retried twice
    # at every step: the bytes written stay within the inline budget plus the event and references.
    monkeypatch.setenv("RECORD_CONCURRENCY", "4")
    waves = {{ '3' if cookiecutter.step_mode == 'lambda_invoke' else '1  # one wave in durable_step mode' }}
    cap = quotas.inline_payload_cap(STEP_MODE, len(STEPS), waves, ATTEMPTS)
    records = [sqs_record(body_of(cap // 6)) for _ in range(4 * waves)]
    tries: dict[tuple[str, str], int] = {}
    lock = threading.Lock()

    def wrap_step(step, function):
        def growing_and_flaky(data):
            key = (step, current_message_id())
            with lock:
                tries[key] = attempt = tries.get(key, 0) + 1
            if attempt < ATTEMPTS:
                raise TransientStepError("again")
            output = function(data)
            return output if step == STEPS[-1] else {**output, f"{step}_pad": "g" * (cap // 20)}

        return growing_and_flaky

    output, usage, _result = run(records, wrap_step)

    assert output["counts"]["stored"] == len(records)
    within_quotas(usage)
    references_and_counts = usage.operations * 4096
    assert usage.persisted_bytes <= usage.input_bytes + quotas.INLINE_BUDGET_BYTES + references_and_counts
