# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Build the SQS batch event that Lambda's event source mapping hands the orchestrator."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from local import formats

REGION = "{{ cookiecutter.aws_region }}"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:123456789012:input-queue"


def sqs_record(
    body: str,
    message_id: str | None = None,
    receive_count: int = 1,
    queue_arn: str = QUEUE_ARN,
    group: str | None = None,
    raw: bool = False,
    pad_to: int = 0,
) -> dict[str, Any]:
    """One record of the event; from a FIFO queue (`group`) with the attributes Lambda adds for one. `body` is a
    record's text, carried as this project's message format carries it (local/formats.py; for s3_event, put in
    the local source bucket first), or with `raw` a body as SQS delivered it."""
    if not raw:
        body = formats.carried_body(body, pad_to)
    fifo = {"MessageGroupId": group, "MessageDeduplicationId": str(uuid.uuid4())} if group is not None else {}
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": f"local-{uuid.uuid4()}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "0", **fifo},
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum, not security
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def fifo_fields(queue_url: str, group: str | None = None) -> dict[str, str]:
    """What a send to a FIFO queue needs: a message group (by default one of its own) and a deduplication id."""
    if not queue_url.endswith(".fifo"):
        return {}
    return {"MessageGroupId": group or str(uuid.uuid4()), "MessageDeduplicationId": str(uuid.uuid4())}


def sqs_event(records: list[dict[str, Any]]) -> str:
    """The runner's input: the event as Lambda sends it, UTF-8 JSON (the 6 MB limit counts these bytes)."""
    return json.dumps({"Records": records}, ensure_ascii=False)


def event_bytes(records: list[dict[str, Any]]) -> int:
    return len(sqs_event(records).encode())
