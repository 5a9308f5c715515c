# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Limits of real SQS and DynamoDB that local servers do not check, enforced on this process's boto3 clients.

moto accepts any message whose body is under 1 MiB characters and ignores its attributes; SQS counts
the body's bytes and every attribute's name, type and value against 1 MiB. moto also stores items
nested past DynamoDB's 32 levels and maps with empty keys, which the service refuses (its messages
below are the real DynamoDB Local engine's). Installed by tests and local runs before any client is
created, so a request AWS would refuse is refused here too.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from local import internals
from pipeline_runtime.quotas import MAX_DYNAMODB_NESTING, MAX_SQS_MESSAGE_BYTES

NESTING_REFUSED = (
    "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
)
EMPTY_NAME_REFUSED = "Empty attribute name"


def sqs_message_bytes(body: str, attributes: dict[str, Any] | None) -> int:
    size = len(body.encode())
    for name, value in (attributes or {}).items():
        data = value.get("StringValue") or value.get("BinaryValue") or b""
        size += (
            len(name.encode())
            + len(value.get("DataType", "").encode())
            + len(data if isinstance(data, bytes) else data.encode())
        )
    return size


def refuse(operation: str, size: int) -> ClientError:
    message = (
        "One or more parameters are invalid. Reason: Message must be shorter than "
        f"{MAX_SQS_MESSAGE_BYTES} bytes ({size} bytes)."
    )
    return ClientError({"Error": {"Code": "InvalidParameterValue", "Message": message}}, operation)


def check_send_message(params: dict[str, Any], **_kwargs: Any) -> None:
    size = sqs_message_bytes(params["MessageBody"], params.get("MessageAttributes"))
    if size > MAX_SQS_MESSAGE_BYTES:
        raise refuse("SendMessage", size)


def check_send_message_batch(params: dict[str, Any], **_kwargs: Any) -> None:
    for entry in params["Entries"]:
        size = sqs_message_bytes(entry["MessageBody"], entry.get("MessageAttributes"))
        if size > MAX_SQS_MESSAGE_BYTES:
            raise refuse("SendMessageBatch", size)


def attribute_problem(value: dict[str, Any]) -> str | None:
    """DynamoDB's refusal of one attribute value in wire format ({"M": ...}, {"L": ...}, {"S": ...}), or None."""
    pending = [(value, 1)]  # an attribute's own map or list is level 1; one at level 32 is refused (the item counts)
    while pending:
        item, level = pending.pop()
        children = item.get("M", {}).items() if "M" in item else enumerate(item.get("L", []))
        if ("M" in item or "L" in item) and level >= MAX_DYNAMODB_NESTING:
            return NESTING_REFUSED
        for name, child in children:
            if name == "":
                return EMPTY_NAME_REFUSED
            pending.append((child, level + 1))
    return None


def written_items(operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    if operation == "PutItem":
        return [params.get("Item", {})]
    if operation == "BatchWriteItem":
        return [
            w["PutRequest"]["Item"] for ws in params.get("RequestItems", {}).values() for w in ws if "PutRequest" in w
        ]
    if operation == "TransactWriteItems":
        return [entry["Put"]["Item"] for entry in params.get("TransactItems", []) if "Put" in entry]
    if operation == "UpdateItem":
        return [params.get("ExpressionAttributeValues", {})]
    return []


def check_dynamodb_write(model: Any, params: dict[str, Any], **_kwargs: Any) -> None:
    body = params.get("body") or b"{}"
    request = json.loads(body.decode() if isinstance(body, bytes) else body)
    for item in written_items(model.name, request):
        for value in item.values():
            problem = attribute_problem(value)
            if problem:
                raise ClientError({"Error": {"Code": "ValidationException", "Message": problem}}, model.name)


def install() -> None:
    """Check every SQS send made through boto3's default session (idempotent).

    Call it once the session exists for good: moto's mock_aws starts a new default session.
    """
    events = internals.boto3_session_events()
    events.register("provide-client-params.sqs.SendMessage", check_send_message, unique_id="local-sqs-message-size")
    events.register(
        "provide-client-params.sqs.SendMessageBatch", check_send_message_batch, unique_id="local-sqs-batch-message-size"
    )
    events.register("before-call.dynamodb", check_dynamodb_write, unique_id="local-dynamodb-item-limits")
