"""Step `STEPNAME`: the first step. Reads the object an S3 event names and checks the record it holds.

Yours: edit `Record` and `read_object` freely; a regeneration leaves this file alone. The record arrives
unwrapped from the S3 event (pipeline_runtime/message_formats.py): bucket, key, size, etag, event_name and
event_time. The object is read as a stream, never more than MAX_OBJECT_BYTES of it in memory, and must hold
one JSON object with the fields below. A missing, replaced or too large object, or one the schema refuses,
goes to the dead-letter queue at once with why; an S3 error that may pass (throttling) fails the record, and
SQS delivers it again. For files of many records, read `response["Body"].iter_lines()` one at a time instead.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import BaseModel, parse
from botocore.exceptions import ClientError
from pydantic import ConfigDict, Field, StrictStr

from pipeline_runtime import clients
from pipeline_runtime.errors import RecordRejected
from pipeline_runtime.quotas import HELD_OBJECT_BYTES
from pipeline_runtime.storable import parse_body

MAX_OBJECT_BYTES = HELD_OBJECT_BYTES  # one record per object: the most of one the runtime leaves memory for
CHUNK_BYTES = 64 * 1024
GONE = ("NoSuchKey", "PreconditionFailed")  # deleted, or replaced (the new version sends an event of its own)


class Record(BaseModel):
    """The fields every object's record must carry; other fields pass through unchanged."""

    model_config = ConfigDict(extra="allow")

    data_source: StrictStr = Field(min_length=1)
    processing_type: StrictStr = Field(min_length=1)


def read_object(bucket: str, key: str, etag: str | None, size: int | None) -> bytes:
    """The object's bytes, as the event saw it (its ETag), streamed up to MAX_OBJECT_BYTES."""
    where = f"s3://{bucket}/{key}"
    if size is not None and size > MAX_OBJECT_BYTES:
        raise RecordRejected(f"{where} is {size} bytes; this step reads at most {MAX_OBJECT_BYTES}")
    try:
        response = clients.client("s3").get_object(Bucket=bucket, Key=key, **({"IfMatch": etag} if etag else {}))
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in GONE:
            raise RecordRejected(f"{where}: {code}: no longer the object this event names") from None
        raise
    read, body = bytearray(), response["Body"]
    try:
        for chunk in body.iter_chunks(CHUNK_BYTES):
            read += chunk
            if len(read) > MAX_OBJECT_BYTES:
                raise RecordRejected(f"{where} holds more than {MAX_OBJECT_BYTES} bytes")
    finally:
        body.close()  # the rest is never read
    return bytes(read)


def process(record: dict[str, Any]) -> dict[str, Any]:
    content = read_object(record["bucket"], record["key"], record.get("etag"), record.get("size"))
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordRejected(f"s3://{record['bucket']}/{record['key']} is not UTF-8 text") from None
    found = parse_body(text)
    parse(event=found, model=Record)  # checks it; the record goes on as read, without a copy of a large object
    return {**found, "source_object": record}
