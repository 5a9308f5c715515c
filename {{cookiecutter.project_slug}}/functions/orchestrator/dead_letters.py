# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Dead-lettering a record: its original message to the DLQ with why, once, whatever replays happen.

The table keeps one ending per message id (`status: stored` written by the storing
step, or the `dead_lettered` marker written here, with the full failure detail), which makes
dead-lettering idempotent across executions: a batch that SQS redelivers after an execution failed
as a whole is not sent twice.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from pipeline_runtime import clients, storable
from pipeline_runtime.quotas import MAX_DEDUPLICATION_ID_CHARS, MAX_SQS_MESSAGE_BYTES
from pipeline_runtime.storage import NOT_ENDED, NOT_ENDED_VALUES, REDRIVEN

MAX_DETAIL_ATTRIBUTE_CHARS = 4000  # the failure_detail attribute; the ledger keeps more
MAX_LEDGER_DETAIL_CHARS = 64_000  # well inside DynamoDB's 400 KB item


def message_size(body: str, attributes: dict[str, str]) -> int:
    """Bytes SQS counts against its 1 MiB: the body and each attribute's name, type and value."""
    return len(body.encode()) + sum(
        len(name.encode()) + len(b"String") + len(value.encode()) for name, value in attributes.items()
    )


def fitting_attributes(body: str, message_id: str, reason: str, detail: str, execution_id: str) -> dict[str, str]:
    """The most failure attributes that fit beside the unchanged body; what is left out is in the ledger."""
    pointer = f"ledger item record_id={message_id} in table {os.environ['TABLE_NAME']}"
    choices = [
        {
            "failure_reason": reason,
            "failure_detail": detail,
            "source_message_id": message_id,
            "execution_id": execution_id,
        },
        {"failure_reason": reason, "failure_detail_ref": pointer, "source_message_id": message_id},
        {"failure_reason": reason, "source_message_id": message_id},
        {"source_message_id": message_id},
        {},  # the body alone; the ledger item names this DLQ message's id
    ]
    return next(attributes for attributes in choices if message_size(body, attributes) <= MAX_SQS_MESSAGE_BYTES)


def fifo_fields(queue_url: str, message_id: str, group: str | None) -> dict[str, str]:
    """What a FIFO queue requires of a send: the record's own message group, so the DLQ keeps its order, and a
    deduplication id, so a repeated send within SQS's five minutes is dropped; nothing for a standard queue."""
    if not queue_url.endswith(".fifo"):
        return {}
    deduplication = message_id
    if len(deduplication) > MAX_DEDUPLICATION_ID_CHARS:
        deduplication = hashlib.sha256(message_id.encode()).hexdigest()
    return {"MessageGroupId": group or message_id, "MessageDeduplicationId": deduplication}


def send_to_dead_letter_queue(
    message_id: str, body: str, reason: str, detail: Any, execution_id: str, group: str | None = None
) -> str:
    """Copy the original message to the DLQ (body unchanged, so it can be redriven) with why it failed.

    Nothing is sent if an earlier execution already stored or dead-lettered this message. The
    marker is written after the send, so a crash in between can only repeat the send, never lose
    the message.
    """
    dynamodb, table = clients.client("dynamodb"), os.environ["TABLE_NAME"]
    key = {"record_id": message_id}
    found = dynamodb.get_item(TableName=table, Key=clients.to_dynamodb(key), ConsistentRead=True).get("Item")
    status = clients.from_dynamodb(found).get("status", "stored") if found else None
    if status not in (None, REDRIVEN):
        return f"already {status}"
    full_detail = storable.dumps(detail, ensure_ascii=False)
    attributes = fitting_attributes(body, message_id, reason, full_detail[:MAX_DETAIL_ATTRIBUTE_CHARS], execution_id)
    queue_url = os.environ["DEAD_LETTER_QUEUE_URL"]
    sent = clients.client("sqs").send_message(
        QueueUrl=queue_url,
        MessageBody=body,
        MessageAttributes={name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()},
        **fifo_fields(queue_url, message_id, group),
    )
    marker = {
        **key,
        "status": "dead_lettered",
        "reason": reason,
        "failure_detail": full_detail[:MAX_LEDGER_DETAIL_CHARS],
        "execution_id": execution_id,
        "dead_letter_message_id": sent["MessageId"],
        "dead_lettered_at": datetime.now(UTC).isoformat(),
    }
    try:
        dynamodb.put_item(
            TableName=table, Item=clients.to_dynamodb(marker), ConditionExpression=NOT_ENDED, **NOT_ENDED_VALUES
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    return "dead_lettered"
