"""Step `STEPNAME` (validation): every schema violation is reported, valid records pass through parsed."""

import json

import pytest

import STEPNAME_step as step

VALID = {"data_source": "test.csv", "processing_type": "standard"}


def test_reference_message_is_valid():
    assert step.validate(json.dumps(VALID)) == (VALID, [])


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ("{}", ["data_source: required field is missing", "processing_type: required field is missing"]),
        (
            '{"data_source": 1, "processing_type": ""}',
            ["data_source: expected str, got int", "processing_type: must not be empty"],
        ),
        ("not json", ["body is not valid JSON: Expecting value: line 1 column 1 (char 0)"]),
        ("[1, 2]", ["body must be a JSON object, got list"]),
    ],
    ids=["missing-fields", "wrong-type-and-empty", "not-json", "not-an-object"],
)
def test_every_violation_is_reported(body, errors):
    assert step.validate(body)[1] == errors


def test_handler_returns_verdict(lambda_context):
    valid = step.handler({"message_id": "m-1", "body": json.dumps(VALID)}, lambda_context)
    invalid = step.handler({"message_id": "m-2", "body": "{}"}, lambda_context)

    assert valid == {"valid": True, "errors": [], "record": VALID}
    assert invalid["valid"] is False and invalid["record"] is None and len(invalid["errors"]) == 2
