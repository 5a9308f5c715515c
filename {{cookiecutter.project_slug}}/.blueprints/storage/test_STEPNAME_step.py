"""Step `STEPNAME` (storage): one item per message id, conditional and idempotent, in moto's DynamoDB."""

from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

import STEPNAME_step as step

EVENT = {
    "message_id": "m-1",
    "execution_id": "arn:aws:lambda:us-east-1:123456789012:function:orchestrator:live/durable-execution/x/y",
    "original": {"data_source": "test.csv", "processing_type": "standard", "ratio": 0.5},
    "record": {"data_source": "TEST.CSV", "processing_type": "standard", "ratio": 0.5},
}


def test_stores_original_and_transformed_data(aws, lambda_context):
    result = step.handler(EVENT, lambda_context)

    assert result == {"record_id": "m-1", "duplicate": False}
    [item] = aws.stored_items()
    assert item["original_data"]["data_source"] == "test.csv"
    assert item["transformed_data"]["data_source"] == "TEST.CSV"
    assert item["transformed_data"]["ratio"] == Decimal("0.5")
    assert item["execution_id"] == EVENT["execution_id"]
    assert item["stored_at"].endswith("+00:00")


def test_second_delivery_is_a_duplicate_not_a_second_item(aws, lambda_context):
    step.handler(EVENT, lambda_context)
    first = aws.stored_items()

    result = step.handler({**EVENT, "record": {"changed": True}}, lambda_context)

    assert result["duplicate"] is True
    assert aws.stored_items() == first


def test_throttling_is_raised_as_transient(aws, monkeypatch):
    def throttled(**_kwargs):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem")

    monkeypatch.setattr(step.table(), "put_item", throttled)

    with pytest.raises(step.TransientStepError):
        step.store({"record_id": "m-1"})


def test_other_errors_are_not_hidden(aws, monkeypatch):
    def denied(**_kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "PutItem")

    monkeypatch.setattr(step.table(), "put_item", denied)

    with pytest.raises(ClientError):
        step.store({"record_id": "m-1"})
