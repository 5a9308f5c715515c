# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Stored items that fit DynamoDB: a large item's data goes to the payload bucket, the item keeps a pointer.

DynamoDB holds at most 400 KB per item, while SQS carries messages
up to 1 MiB and an item keeps both the original and the transformed data.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pipeline_runtime import payloads
from pipeline_runtime.quotas import STORED_ITEM_INLINE_BYTES

RECORDS_PREFIX = "records"  # kept: the stored items point here (no lifecycle expiry)


def fit_item(item: dict[str, Any], data_fields: tuple[str, ...], record_id: str, execution_id: str) -> dict[str, Any]:
    """`item` unchanged if small enough, else without `data_fields`, which go to the payload bucket.

    Each delivery writes its own object (records/<record id>/<execution>.json), so a redelivered
    message never replaces the object the stored item already points to.
    """
    if payloads.utf8_size(item) <= STORED_ITEM_INLINE_BYTES:
        return item
    data = {field: item[field] for field in data_fields if field in item}
    execution = hashlib.sha256(execution_id.encode()).hexdigest()[:24]
    object_key = f"{RECORDS_PREFIX}/{record_id}/{execution}.json"
    body = payloads.json_bytes(data)
    payloads.s3().put_object(Bucket=payloads.bucket(), Key=object_key, Body=body, ContentType="application/json")
    kept = {field: value for field, value in item.items() if field not in data_fields}
    return {**kept, "data_ref": f"s3://{payloads.bucket()}/{object_key}", "data_bytes": len(body)}


def item_data(item: dict[str, Any]) -> dict[str, Any]:
    """A stored item with its data fields back in place, read from the bucket when it holds a pointer."""
    if "data_ref" not in item:
        return item
    key = str(item["data_ref"]).split("/", 3)[3]
    return {**{k: v for k, v in item.items() if k not in ("data_ref", "data_bytes")}, **payloads.get_json(key)}
