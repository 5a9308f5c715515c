# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Records between steps: inline in the checkpointed payload while small, in the payload bucket otherwise.

A payload (messages.py) holds records inline, points to them in s3://$PAYLOAD_BUCKET, or stands for the
records of a call that failed whole (its sources and statuses, every record sharing the call's error).
A record that goes again keeps its data; the first step's data is the message body.

In a step a record's data stays JSON text (`Carried`) until the record's turn, so a call never holds
more than its records' texts parsed one working set at a time. A payload in the bucket is JSON lines:
each record's header, then, when it has data, exactly `text_bytes` bytes of its JSON text and a
newline; a record's text too large to keep with the others is an object of its own (`data_ref`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pipeline_runtime import clients, storable
from pipeline_runtime.messages import GOES_AGAIN, FailedCall, Payload, Record, inline, payload_kind

IN_FLIGHT_PREFIX = "in-flight"  # expired by the bucket's lifecycle rule: only running executions read them


@dataclass
class Carried:
    """One record in a step call: its header (id, status, step, error...) and its data as JSON text, in hand or
    in the bucket (`header["data_ref"]`); None for a record that carries no data."""

    header: Record
    text: str | None = None

    @property
    def id(self) -> str:
        return self.header["id"]

    @property
    def status(self) -> str:
        return self.header["status"]

    def data_text(self) -> str | None:
        """The data's JSON text, read from the bucket when it travels on its own."""
        if self.text is None and "data_ref" in self.header:
            return s3().get_object(Bucket=bucket(), Key=self.header["data_ref"])["Body"].read().decode("utf-8")
        return self.text

    def record(self) -> Record:
        """The record with its data parsed, as an inline payload holds it."""
        text = self.data_text()
        header = {key: value for key, value in self.header.items() if key not in ("data_ref", "text_bytes")}
        return header if text is None else {**header, "data": json.loads(text)}


def s3() -> Any:
    return clients.client("s3")


def bucket() -> str:
    return os.environ["PAYLOAD_BUCKET"]


def encoded_size(value: Any) -> int:
    """Bytes `value` takes in a checkpoint: the SDK serialises with json.dumps, non-ASCII as \\uXXXX."""
    return len(storable.dumps(value))


def utf8_size(value: Any) -> int:
    """Bytes `value` takes as UTF-8 JSON: how records are stored in the bucket and measured for MAX_RECORD_BYTES."""
    return len(json_bytes(value))


def key_prefix(execution_id: str, wave: int) -> str:
    """Deterministic per execution and wave, so a replay or retry rewrites the same objects."""
    digest = hashlib.sha256(execution_id.encode()).hexdigest()[:24]
    return f"{IN_FLIGHT_PREFIX}/{digest}/wave-{wave}"


def plain_number(value: Any) -> Any:
    """DynamoDB's Decimal as a JSON number."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def text_of(value: Any) -> str:
    """A record's data as the JSON text it travels as: compact, UTF-8, NaN refused."""
    return storable.dumps(value, ensure_ascii=False, separators=(",", ":"), default=plain_number)


def json_bytes(value: Any) -> bytes:
    return text_of(value).encode("utf-8")


def get_json(key: str) -> Any:
    return json.loads(s3().get_object(Bucket=bucket(), Key=key)["Body"].read())


def put_text(key: str, text: str) -> Record:
    """A record's text as an object of its own; the header fields that point to it."""
    body = text.encode("utf-8")
    s3().put_object(Bucket=bucket(), Key=key, Body=body, ContentType="application/json")
    return {"data_ref": key, "text_bytes": len(body)}


def from_record(record: Record) -> Carried:
    """A record of an inline payload, its data back to text."""
    header = {key: value for key, value in record.items() if key != "data"}
    return Carried(header, text_of(record["data"]) if "data" in record else None)


def pack(records: list[Carried], key: str, inline_limit: int) -> Payload:
    """The records inline if they fit in `inline_limit` checkpoint bytes, else JSON lines stored under `key`."""
    if all("data_ref" not in carried.header for carried in records):
        text_bytes = sum(len(carried.text or "") for carried in records)
        if text_bytes <= inline_limit:  # the inline JSON is at least as large: only then worth building
            in_line = inline([carried.record() for carried in records])
            if encoded_size(in_line) <= inline_limit:
                return in_line
    s3().put_object(Bucket=bucket(), Key=key, Body=b"".join(json_lines(records)), ContentType="application/jsonl")
    return {"kind": "bucket", "ref": key, "count": len(records)}


def json_lines(records: list[Carried]) -> Iterator[bytes]:
    for carried in records:
        text = carried.text.encode("utf-8") if carried.text is not None else None
        header = carried.header if text is None else {**carried.header, "text_bytes": len(text)}
        yield json_bytes(header) + b"\n"
        if text is not None:
            yield text + b"\n"


def read_lines(body: bytes) -> Iterator[Carried]:
    position = 0
    while position < len(body):
        end = body.index(b"\n", position)
        header = json.loads(body[position:end])
        position = end + 1
        text = None
        if "text_bytes" in header and "data_ref" not in header:
            size = header.pop("text_bytes")
            text = body[position : position + size].decode("utf-8")
            position += size + 1
        yield Carried(header, text)


def carried(payload: Payload) -> list[Carried]:
    """Every record a payload holds, data as text, reading the bucket for references."""
    kind = payload_kind(payload)
    if kind == "inline":
        return [from_record(record) for record in payload["records"]]
    if kind == "bucket":
        body = s3().get_object(Bucket=bucket(), Key=payload["ref"])["Body"].read()
        if body.startswith(b"["):  # a JSON array, as versions before 3.1 wrote them
            return [from_record(record) for record in json.loads(body)]
        return list(read_lines(body))
    return failed_call_records(payload)


def failed_call_records(payload: FailedCall) -> list[Carried]:
    """The records a failed call was sent, each with the call's failure; those that go again keep their data."""
    failure = payload["failed_call"]
    header = {"status": failure["status"], "step": failure["step"], "error": failure["error"]}
    sources = with_status(payload["sources"], payload["select"])
    if failure["status"] not in GOES_AGAIN:
        return [Carried({"id": source.id, **header}) for source in sources]
    pointers = ("data_ref", "text_bytes")  # a record that goes again keeps its data
    return [
        Carried(
            {"id": source.id, **header, **{key: source.header[key] for key in pointers if key in source.header}},
            source.text,
        )
        for source in sources
    ]


def with_status(payloads: list[Payload], status: str | list[str]) -> list[Carried]:
    """The records of `payloads` whose status is `status` (or one of them), in order."""
    wanted = {status} if isinstance(status, str) else set(status)
    return [record for payload in payloads for record in carried(payload) if record.status in wanted]


def load(payload: Payload) -> list[Record]:
    """Every record a payload holds, data parsed (for tools and tests: a step works on `carried`)."""
    return [record.record() for record in carried(payload)]
