# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Strict at the door: a body that can never be stored is dead-lettered on its first delivery as invalid_body,
and a step output that can never be stored as unstorable_record; the rest of the batch is stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from botocore.exceptions import ClientError
from conftest import REFERENCE_MESSAGE, STEPS

from local import pipeline
from local.events import sqs_event, sqs_record
from pipeline_runtime import current_message_id, storable
from pipeline_runtime.storable import MAX_RECORD_NESTING, InvalidBody, parse_body, storage_problems


def nested(levels: int, leaf: str = "0") -> str:
    """A JSON object `levels` deep (the body itself is level 1), valid for the schema."""
    inner = leaf
    for _ in range(levels - 1):
        inner = '{"n": ' + inner + "}"
    return '{"data_source": "a.csv", "processing_type": "standard", "n": ' + inner + "}"


BAD_BODIES = {
    "nan": ('{"data_source": "a.csv", "processing_type": "standard", "x": NaN}', "NaN is not a number"),
    "infinity": ('{"data_source": "a.csv", "processing_type": "standard", "x": Infinity}', "Infinity is not"),
    "minus-infinity": ('{"data_source": "a.csv", "processing_type": "standard", "x": -Infinity}', "-Infinity is not"),
    "1e999": ('{"data_source": "a.csv", "processing_type": "standard", "x": 1e999}', "1e999: not a finite number"),
    "1e200": ('{"data_source": "a.csv", "processing_type": "standard", "x": 1e200}', "outside the magnitudes"),
    "1e-200": ('{"data_source": "a.csv", "processing_type": "standard", "x": 1e-200}', "outside the magnitudes"),
    "39-digits": ('{"data_source": "a.csv", "processing_type": "standard", "x": ' + "9" * 39 + "}", "38 digits"),
    "empty-key": ('{"data_source": "a.csv", "processing_type": "standard", "x": {"": 1}}', "an empty key"),
    "32-levels": (nested(MAX_RECORD_NESTING + 1), "nested deeper than the 31 levels"),
    "5000-levels": (nested(5000), "nests deeper than the 31 levels"),
    "not-json": ("data_source=a.csv", "body is not valid JSON"),
    "a-list": ('[{"data_source": "a.csv"}]', "body must be a JSON object, got list"),
}


@pytest.mark.parametrize(("body", "why"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_body_that_can_never_be_stored_is_refused_with_what_is_wrong(body, why):
    with pytest.raises(InvalidBody) as refused:
        parse_body(body)
    assert any(why in error for error in refused.value.errors), refused.value.errors


@pytest.mark.parametrize(
    "body",
    [
        nested(MAX_RECORD_NESTING),
        '{"data_source": "a.csv", "processing_type": "standard", "x": 9.9e125, "y": 1e-130, "z": ' + "9" * 38 + "}",
        '{"data_source": "a.csv", "processing_type": "standard", "x": {"k": null, "e": ""}}',
    ],
    ids=["31-levels", "largest-and-smallest-numbers-38-digits", "null-and-empty-string-values"],
)
def test_a_body_just_within_every_rule_passes(body):
    assert parse_body(body) == json.loads(body)


def test_a_step_output_dynamodb_or_json_cannot_hold_is_named():
    output = {"ratio": float("nan"), "when": datetime.now(UTC), "tags": {"a"}, "deep": json.loads(nested(31))}
    problems = storage_problems(output)
    assert any("record.ratio: not a finite number" in p for p in problems)
    assert any("record.when: a datetime" in p for p in problems)
    assert any("record.tags: a set" in p for p in problems)
    assert any("record.deep" in p and "nested deeper" in p for p in problems)
    with pytest.raises(ValueError, match="Out of range float values"):
        storable.dumps({"x": float("inf")})


def run(records: list[dict[str, Any]], wrap_step=None) -> dict[str, Any]:
    with pipeline.make_runner(wrap_step=wrap_step) as runner:
        result = runner.run(input=sqs_event(records), execution_timeout=120)
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    return json.loads(result.result)


def test_every_unstorable_body_goes_to_the_dlq_on_its_first_delivery_and_the_rest_is_stored(aws):
    bad = [sqs_record(body, receive_count=1) for body, _why in BAD_BODIES.values()]
    good = [sqs_record(REFERENCE_MESSAGE) for _ in range(3)]

    output = run([good[0], *bad, *good[1:]])

    assert output["batchItemFailures"] == []  # nothing is retried
    assert output["counts"]["stored"] == len(good) and output["counts"]["rejected"] == len(bad)
    reasons = {
        message["Body"]: message["MessageAttributes"]["failure_reason"]["StringValue"] for message in aws.dead_letters()
    }
    assert reasons == {record["body"]: "invalid_body" for record in bad}
    assert {item["record_id"] for item in aws.stored_items()} == {record["messageId"] for record in good}


def test_a_step_making_an_unstorable_record_dead_letters_it_at_once(aws):
    records = [sqs_record(REFERENCE_MESSAGE, receive_count=1) for _ in range(3)]
    spoiled = records[1]["messageId"]

    def wrap_step(step, function):
        def spoiling(data):
            output = function(data)
            if step == STEPS[-2] and current_message_id() == spoiled:
                return {**output, "ratio": float("nan")}
            return output

        return spoiling

    output = run(records, wrap_step)

    assert output["batchItemFailures"] == [] and output["counts"]["dead_lettered"] == 1
    [dead] = aws.dead_letters()
    assert dead["MessageAttributes"]["failure_reason"]["StringValue"] == "unstorable_record"
    assert "record.ratio: not a finite number" in dead["MessageAttributes"]["failure_detail"]["StringValue"]
    assert len(aws.stored_items()) == 2


def nested_attribute(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"S": "leaf"}
    for _ in range(levels):
        value = {"M": {"n": value}}
    return value


def test_local_dynamodb_refuses_an_item_nested_past_32_levels_as_the_service_does(aws):
    dynamodb, table = boto3.client("dynamodb"), aws.resources["table_name"]
    dynamodb.put_item(TableName=table, Item={"record_id": {"S": "31"}, "data": nested_attribute(31)})
    with pytest.raises(ClientError, match="Nesting Levels have exceeded supported limits"):
        dynamodb.put_item(TableName=table, Item={"record_id": {"S": "32"}, "data": nested_attribute(32)})
    with pytest.raises(ClientError, match="Empty attribute name"):
        dynamodb.put_item(TableName=table, Item={"record_id": {"S": "e"}, "data": {"M": {"": {"S": "x"}}}})
