"""Step `STEPNAME` (reads the S3 object an event names).

Each case puts an object in an in-process S3 (moto) and hands the step the record the runtime unwraps.
"""

import json

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from functions.STEPNAME import STEPNAME_step as step
from pipeline_runtime import clients
from pipeline_runtime.errors import RecordRejected

VALID = {"data_source": "test.csv", "processing_type": "standard"}
BUCKET = "incoming"


@pytest.fixture
def s3():
    with mock_aws():
        clients.reset()
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client
    clients.reset()


def event_record(s3, key: str, body: bytes) -> dict:
    etag = s3.put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"].strip('"')
    return {"bucket": BUCKET, "key": key, "size": len(body), "etag": etag, "event_name": "ObjectCreated:Put",
            "event_time": "2026-12-01T00:00:00+00:00"}  # fmt: skip


def test_the_object_record_is_read_and_named(s3):
    record = event_record(s3, "in/a b.json", json.dumps({**VALID, "extra": 1}).encode())
    assert step.process(record) == {**VALID, "extra": 1, "source_object": record}


def test_a_record_the_schema_refuses_names_every_field(s3):
    with pytest.raises(ValidationError) as raised:
        step.process(event_record(s3, "bad.json", b'{"data_source": 7}'))
    assert {error["loc"][0] for error in raised.value.errors()} == {"data_source", "processing_type"}


def test_a_replaced_or_deleted_object_is_rejected(s3):
    record = event_record(s3, "k.json", json.dumps(VALID).encode())
    s3.put_object(Bucket=BUCKET, Key="k.json", Body=b'{"data_source": "new", "processing_type": "x"}')
    with pytest.raises(RecordRejected, match="PreconditionFailed"):
        step.process(record)
    s3.delete_object(Bucket=BUCKET, Key="k.json")
    with pytest.raises(RecordRejected, match="NoSuchKey"):
        step.process(record)


def test_an_object_past_the_limit_is_rejected_without_reading_it_whole(s3, monkeypatch):
    monkeypatch.setattr(step, "MAX_OBJECT_BYTES", 100)
    monkeypatch.setattr(step, "CHUNK_BYTES", 10)
    record = event_record(s3, "big.json", b" " * 500)
    with pytest.raises(RecordRejected, match="is 500 bytes"):
        step.process(record)
    with pytest.raises(RecordRejected, match="more than 100 bytes"):  # the event understated its size
        step.process({**record, "size": None})
