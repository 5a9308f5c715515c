# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Limits of real SQS that local servers do not check, enforced on this process's boto3 clients.

moto accepts any message whose body is under 1 MiB characters and ignores its attributes; SQS counts
the body's bytes and every attribute's name, type and value against 1 MiB. Installed by tests and
local runs before any client is created, so a message AWS would refuse is refused here too.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from pipeline_runtime.quotas import MAX_SQS_MESSAGE_BYTES


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


def install() -> None:
    """Check every SQS send made through boto3's default session (idempotent).

    Call it once the session exists for good: moto's mock_aws starts a new default session.
    """
    events = boto3._get_default_session().events
    events.register("provide-client-params.sqs.SendMessage", check_send_message, unique_id="local-sqs-message-size")
    events.register(
        "provide-client-params.sqs.SendMessageBatch", check_send_message_batch, unique_id="local-sqs-batch-message-size"
    )
