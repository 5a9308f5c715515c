# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""`make dlq` and `make redrive`: what waits in the deployed dead-letter queue, and sending it back once fixed.

    python tools/dlq.py show --stack <name> [--region r]
    python tools/dlq.py redrive --stack <name> --reason <failure_reason> [--limit N] [--region r]

`show` groups the waiting messages by their `failure_reason` attribute (count, oldest, a few message ids with
their detail) and leaves every one in place, visible again when it is done. `redrive` sends the messages of
one reason back to the input queue: body unchanged, with the record id they ended under (so the table's
ledger lets each be stored, or dead-lettered again, exactly once), to the queue the stack names; it turns
each ledger marker to `redriven` first and deletes a message from the DLQ only after its send succeeded. A
redrive stopped half-way is safe to run again: a message sent twice is stored once.
Queues and table come from the stack's outputs; endpoints are boto3's own (AWS_ENDPOINT_URL...).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "runtime")]
from pipeline_runtime.storage import REDRIVEN, REDRIVEN_RECORD_ID
from tools.smoke import stack_resources

NO_REASON = "(no failure_reason attribute: read its ledger item)"
SCAN_VISIBILITY_SECONDS = 60  # how long a scan keeps what it read out of view, so it reads each message once
EXAMPLES = 3


def fifo_fields(queue_url: str, waiting: Waiting) -> dict[str, str]:
    """Back to a FIFO queue: in the message group it failed in, deduplicated by the DLQ message's id (a repeated
    redrive within SQS's five minutes sends it once)."""
    if not queue_url.endswith(".fifo"):
        return {}
    message = waiting.message
    group = message.get("Attributes", {}).get("MessageGroupId") or message["MessageId"]
    return {"MessageGroupId": group, "MessageDeduplicationId": f"redrive-{message['MessageId']}"}


@dataclass
class Waiting:
    """One DLQ message as received: its id, why it failed, the record id it ended under."""

    message: dict[str, Any]
    attributes: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.attributes = {
            name: value["StringValue"]
            for name, value in self.message.get("MessageAttributes", {}).items()
            if "StringValue" in value
        }

    @property
    def reason(self) -> str:
        return self.attributes.get("failure_reason", NO_REASON)

    @property
    def record_id(self) -> str | None:
        return self.attributes.get("source_message_id")

    @property
    def sent_at(self) -> datetime:
        return datetime.fromtimestamp(int(self.message["Attributes"]["SentTimestamp"]) / 1000, UTC)


def receive_all(sqs: Any, queue_url: str, limit: int | None = None) -> list[Waiting]:
    """Every message in the queue (or the first `limit`), each received once and kept out of view meanwhile."""
    seen: dict[str, Waiting] = {}
    while limit is None or len(seen) < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=SCAN_VISIBILITY_SECONDS,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["SentTimestamp", "MessageGroupId"],
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            seen.setdefault(message["MessageId"], Waiting(message))
    return list(seen.values())


def release(sqs: Any, queue_url: str, waiting: list[Waiting]) -> None:
    """Make what a scan read visible again at once: it stays in the queue as it was."""
    for message in waiting:
        try:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message.message["ReceiptHandle"], VisibilityTimeout=0
            )
        except ClientError:  # its receive expired already: visible anyway
            pass


def show(session: Any, stack_name: str, say: Any = print) -> int:
    stack = stack_resources(session.client("cloudformation"), stack_name)
    sqs = session.client("sqs")
    waiting = receive_all(sqs, stack.dead_letter_queue)
    try:
        by_reason: dict[str, list[Waiting]] = defaultdict(list)
        for message in waiting:
            by_reason[message.reason].append(message)
        say(f"Dead-letter queue of {stack_name}: {len(waiting)} message(s) waiting ({stack.dead_letter_queue})")
        for reason, messages in sorted(by_reason.items(), key=lambda item: -len(item[1])):
            oldest = min(message.sent_at for message in messages)
            say(f"  {reason}: {len(messages)}, oldest {oldest:%Y-%m-%d %H:%M:%S} UTC")
            for message in sorted(messages, key=lambda m: m.sent_at)[:EXAMPLES]:
                detail = message.attributes.get("failure_detail") or message.attributes.get("failure_detail_ref", "")
                say(f"    {message.message['MessageId']} (record {message.record_id}): {detail[:160]}")
        if by_reason:
            say("Fix the cause, then: make redrive REASON=<reason> [LIMIT=n]")
    finally:
        release(sqs, stack.dead_letter_queue, waiting)
    return len(waiting)


def mark_redriven(dynamodb: Any, table: str, message: Waiting) -> None:
    """The ledger's marker for this record becomes `redriven`: its message may end again, once."""
    now = datetime.now(UTC).isoformat()
    item = {
        "record_id": {"S": message.record_id},
        "status": {"S": REDRIVEN},
        "redriven_at": {"S": now},
        "redriven_from_dead_letter_message_id": {"S": message.message["MessageId"]},
        "previous_reason": {"S": message.reason},
    }
    try:
        dynamodb.put_item(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(record_id) OR #status IN (:dead_lettered, :redriven)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":dead_lettered": {"S": "dead_lettered"}, ":redriven": {"S": REDRIVEN}},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        raise LookupError(f"record {message.record_id} is stored already: its DLQ copy is left in place") from error


def redrive(session: Any, stack_name: str, reason: str, limit: int | None = None, say: Any = print) -> int:
    stack = stack_resources(session.client("cloudformation"), stack_name)
    sqs, dynamodb = session.client("sqs"), session.client("dynamodb")
    waiting = receive_all(sqs, stack.dead_letter_queue)
    matching = [message for message in waiting if message.reason == reason][:limit]
    moved: list[Waiting] = []
    try:
        for message in matching:
            attributes = {}
            if message.record_id:
                try:
                    mark_redriven(dynamodb, stack.table, message)
                except LookupError as skipped:
                    say(f"  {message.message['MessageId']}: {skipped}")
                    continue
                attributes = {REDRIVEN_RECORD_ID: {"DataType": "String", "StringValue": message.record_id}}
            body = message.message["Body"]
            sent = sqs.send_message(
                QueueUrl=stack.queue,
                MessageBody=body,
                MessageAttributes=attributes,
                **fifo_fields(stack.queue, message),
            )
            sqs.delete_message(QueueUrl=stack.dead_letter_queue, ReceiptHandle=message.message["ReceiptHandle"])
            moved.append(message)
            say(f"  {message.message['MessageId']} -> {sent['MessageId']} (record {message.record_id or 'new'})")
    finally:
        release(sqs, stack.dead_letter_queue, [message for message in waiting if message not in moved])
    left = sum(message.reason == reason for message in waiting) - len(moved)
    say(f"make redrive: moved {len(moved)} {reason} message(s) to {stack.queue}" + (f"; {left} left" if left else ""))
    return len(moved)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tools/dlq.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["show", "redrive"])
    parser.add_argument("--stack", required=True, help="the deployed stack's name")
    parser.add_argument("--region", help="its region (default: your AWS configuration's)")
    parser.add_argument("--reason", help="redrive: the failure_reason whose messages go back")
    parser.add_argument("--limit", type=int, help="redrive: at most this many")
    args = parser.parse_args(argv)
    if args.command == "redrive" and not args.reason:
        parser.error("redrive needs REASON=<failure_reason> (make dlq lists them)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    session = boto3.Session(region_name=args.region)
    try:
        if args.command == "show":
            show(session, args.stack)
        else:
            redrive(session, args.stack, args.reason, args.limit)
    except (ClientError, BotoCoreError, LookupError) as error:
        print(f"make {'dlq' if args.command == 'show' else 'redrive'}: FAILED, {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
