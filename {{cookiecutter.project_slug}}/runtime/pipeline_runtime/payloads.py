# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Records between steps: inline in the checkpointed payload while small, in the payload bucket otherwise.

A payload is `{"records": [...]}`, `{"ref": key, "count": n}` (in s3://$PAYLOAD_BUCKET), or
`{"failed_call": ..., "sources": [...], "select": status}` (every record those sources select failed
with the call). A record is `{"id", "status", "data", "step", "error"}`; a transient one keeps its data.
"""

from __future__ import annotations

import hashlib
import json
import os
from decimal import Decimal
from typing import Any

from pipeline_runtime import clients, storable

Record = dict[str, Any]
Payload = dict[str, Any]

IN_FLIGHT_PREFIX = "in-flight"  # expired by the bucket's lifecycle rule: only running executions read them


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


def json_bytes(value: Any) -> bytes:
    return storable.dumps(value, ensure_ascii=False, default=plain_number).encode("utf-8")


def put_json(key: str, value: Any) -> int:
    body = json_bytes(value)
    s3().put_object(Bucket=bucket(), Key=key, Body=body, ContentType="application/json")
    return len(body)


def get_json(key: str) -> Any:
    return json.loads(s3().get_object(Bucket=bucket(), Key=key)["Body"].read())


def pack(records: list[Record], key: str, inline_limit: int) -> Payload:
    """The records inline if they fit in `inline_limit` checkpoint bytes, else stored under `key`."""
    inline = {"records": records}
    if encoded_size(inline) <= inline_limit:
        return inline
    put_json(key, records)
    return {"ref": key, "count": len(records)}


def load(payload: Payload) -> list[Record]:
    """Every record a payload holds, reading the bucket for references."""
    if "records" in payload:
        return payload["records"]
    if "ref" in payload:
        return get_json(payload["ref"])
    failure = payload["failed_call"]
    carried = ("data",) if failure["status"] == "transient" else ()  # a transient record goes again with its data
    return [
        {"id": record["id"], "status": failure["status"], "step": failure["step"], "error": failure["error"]}
        | {field: record[field] for field in carried}
        for record in select(payload["sources"], payload["select"])
    ]


def select(payloads: list[Payload], status: str) -> list[Record]:
    """The records of `payloads` whose status is `status`, in order."""
    return [record for payload in payloads for record in load(payload) if record["status"] == status]
