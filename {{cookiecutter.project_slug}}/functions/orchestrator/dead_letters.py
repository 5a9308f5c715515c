"""Dead-lettering a record: its original message to the DLQ with why, once, whatever replays happen.

Template-owned. The table keeps one ending per message id (`status: stored` written by the storing
step, or the `dead_lettered` marker written here), which makes dead-lettering idempotent across
executions: a batch that SQS redelivers after an execution failed as a whole is not sent twice.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

MAX_ERROR_DETAIL_CHARS = 4000  # keeps DLQ message attributes far below SQS's 256 KiB message limit


@cache
def ledger_table():  # created on first use, after tests and local runs have set their endpoints
    return boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def send_to_dead_letter_queue(record: dict[str, Any], reason: str, detail: Any, execution_id: str) -> str:
    """Copy the original message to the DLQ (body unchanged, so it can be redriven) with why it failed.

    Nothing is sent if an earlier execution already stored or dead-lettered this message. The
    marker is written after the send, so a crash in between can only repeat the send, never lose
    the message.
    """
    table = ledger_table()
    key = {"record_id": record["messageId"]}
    ended = table.get_item(Key=key, ConsistentRead=True).get("Item")
    if ended:
        return f"already {ended.get('status', 'stored')}"
    attributes = {
        "failure_reason": reason,
        "failure_detail": json.dumps(detail)[:MAX_ERROR_DETAIL_CHARS],
        "source_message_id": record["messageId"],
        "execution_id": execution_id,
    }
    boto3.client("sqs").send_message(
        QueueUrl=os.environ["DEAD_LETTER_QUEUE_URL"],
        MessageBody=record["body"],
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )
    marker = {**key, "status": "dead_lettered", "reason": reason, "execution_id": execution_id}
    try:
        table.put_item(
            Item={**marker, "dead_lettered_at": datetime.now(UTC).isoformat()},
            ConditionExpression="attribute_not_exists(record_id)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    return "dead_lettered"
