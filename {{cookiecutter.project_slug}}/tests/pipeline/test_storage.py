# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Storing what the last step returns: once per message, throttling retried, other errors not hidden."""

from __future__ import annotations

from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from local.pipeline import store_directly
from pipeline_runtime import TransientStepError, clients


def test_stored_with_the_original_the_execution_and_the_time(aws):
    result = store_directly("m-1", {"data_source": "a.csv", "ratio": 0.5}, {"data_source": "A.CSV", "ratio": 0.5})

    assert result == {"record_id": "m-1", "duplicate": False}
    [item] = aws.stored_items()
    assert item["status"] == "stored" and item["execution_id"] == "local"
    assert item["original_data"] == {"data_source": "a.csv", "ratio": Decimal("0.5")}
    assert item["transformed_data"]["data_source"] == "A.CSV"
    assert item["stored_at"].endswith("+00:00")


def test_a_second_delivery_is_a_duplicate_not_a_second_item(aws):
    store_directly("m-1", {"n": 1}, {"n": 1})
    first = aws.stored_items()

    assert store_directly("m-1", {"n": 1}, {"changed": True})["duplicate"] is True
    assert aws.stored_items() == first


def failing_put(code: str):
    def put_item(**_kwargs):
        raise ClientError({"Error": {"Code": code}}, "PutItem")

    return put_item


def test_throttling_is_raised_as_transient(aws, monkeypatch):
    monkeypatch.setattr(clients.client("dynamodb"), "put_item", failing_put("ProvisionedThroughputExceededException"))

    with pytest.raises(TransientStepError):
        store_directly("m-1", {}, {})


def test_other_errors_are_not_hidden(aws, monkeypatch):
    monkeypatch.setattr(clients.client("dynamodb"), "put_item", failing_put("AccessDeniedException"))

    with pytest.raises(ClientError):
        store_directly("m-1", {}, {})
