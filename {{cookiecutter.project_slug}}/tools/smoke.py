# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""`make smoke`: after a deploy, one good and one bad message through the deployed stack.

Reads the queue, dead-letter queue and table from the stack's outputs, sends the reference message
and an invalid one (in the project's message format; for s3_event, events naming objects it puts under
smoke/, which the bucket does not notify), and waits until the first is stored in the table and the second is in the DLQ
with its reason. Then it removes what it made (the item, the DLQ message and its ledger marker), so
it leaves no data behind and no message for the DLQ alarm. Endpoints are boto3's own
(AWS_ENDPOINT_URL...): the project's tests run this same code against local servers.
Exit status: 0 passed (or skipped: no credentials), 1 failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "runtime")]
from local import formats  # the message format's shapes, as the pipeline's sources send them
from local.events import fifo_fields  # a FIFO queue's group and deduplication id

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_EVENT = PROJECT_ROOT / "events" / "sqs-batch.json"
INVALID_BODY = json.dumps({"data_source": "", "processing_type": 42})  # fails the generated validate step
OUTPUTS = {"queue": "InputQueueUrl", "dead_letter_queue": "DeadLetterQueueUrl", "table": "ProcessedDataTableName"}
SOURCE_BUCKET_OUTPUT = "SourceBucketName"  # s3_event: the bucket whose objects the records name


@dataclass(frozen=True)
class Stack:
    queue: str
    dead_letter_queue: str
    table: str
    source_bucket: str | None = None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the deployed stack's name")
    parser.add_argument("--region", help="its region (default: your AWS configuration's)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for both messages to land")
    parser.add_argument("--body", help="the message that must be stored (default: the one in events/sqs-batch.json)")
    parser.add_argument("--invalid-body", default=INVALID_BODY, help="a message your first step must reject")
    parser.add_argument("--keep", action="store_true", help="leave the stored item and the DLQ message in place")
    return parser.parse_args(argv)


def stack_resources(cloudformation: Any, name: str) -> Stack:
    """The queue, DLQ and table names from the stack's outputs: nothing is configured twice."""
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    missing = [key for key in OUTPUTS.values() if key not in outputs]
    if missing:
        raise LookupError(f"stack {name} has no output {', '.join(missing)}: is it this project's stack?")
    return Stack(
        **{field: outputs[key] for field, key in OUTPUTS.items()}, source_bucket=outputs.get(SOURCE_BUCKET_OUTPUT)
    )


def reference_body() -> str:
    return json.loads(REFERENCE_EVENT.read_text())["Records"][0]["body"]


def stored_item(dynamodb: Any, table: str, message_id: str) -> dict[str, Any] | None:
    item = dynamodb.get_item(TableName=table, Key={"record_id": {"S": message_id}}, ConsistentRead=True).get("Item")
    return item if item and item.get("status", {}).get("S") == "stored" else None


def find_dead_letter(sqs: Any, queue_url: str, message_id: str) -> dict[str, Any] | None:
    """The DLQ message for `message_id`, left invisible for deleting; any other is made visible again at once."""
    messages = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=1,
        VisibilityTimeout=60,
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    found = None
    for message in messages:
        attributes = {name: value.get("StringValue") for name, value in message.get("MessageAttributes", {}).items()}
        if attributes.get("source_message_id") == message_id:
            found = {**message, "attributes": attributes}
        else:  # someone else's: not ours to hide
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    return found


def smoke(session: Any, args: argparse.Namespace, say: Any = print) -> bool:
    stack = stack_resources(session.client("cloudformation"), args.stack)
    sqs, dynamodb = session.client("sqs"), session.client("dynamodb")
    say(f"Stack {args.stack}: queue {stack.queue}, table {stack.table}")
    # In this project's message format (an s3_event's object under smoke/, which the bucket does not notify)
    prefix = f"smoke/{uuid.uuid4()}/"
    wrap = formats.Wrapper(session.client("s3"), stack.source_bucket, prefix=prefix).body
    good = sqs.send_message(
        QueueUrl=stack.queue,
        MessageBody=wrap(args.body or reference_body(), 1),
        **fifo_fields(stack.queue, "smoke-good"),
    )["MessageId"]
    bad = sqs.send_message(
        QueueUrl=stack.queue, MessageBody=wrap(args.invalid_body, 2), **fifo_fields(stack.queue, "smoke-invalid")
    )["MessageId"]
    say(f"Sent the reference message ({good}) and an invalid one ({bad}); waiting up to {args.timeout:.0f} s")
    started = time.monotonic()
    item = dead = None
    while time.monotonic() - started < args.timeout and (item is None or dead is None):
        if item is None and (item := stored_item(dynamodb, stack.table, good)):
            say(f"  stored after {time.monotonic() - started:.1f} s, in execution {item['execution_id']['S']}")
        if dead is None and (dead := find_dead_letter(sqs, stack.dead_letter_queue, bad)):
            reason, detail = dead["attributes"].get("failure_reason"), dead["attributes"].get("failure_detail", "")
            say(f"  dead-lettered after {time.monotonic() - started:.1f} s: {reason} {detail[:120]}")
        if item is None or dead is None:
            time.sleep(1)
    if item is None:
        say(f"FAILED: the reference message {good} was not stored in {stack.table} within {args.timeout:.0f} s")
    if dead is None:
        say(f"FAILED: the invalid message {bad} did not reach the dead-letter queue within {args.timeout:.0f} s")
    if not args.keep:  # what the smoke made and found, gone: no data behind, nothing for the DLQ alarm
        if item is not None:
            dynamodb.delete_item(TableName=stack.table, Key={"record_id": {"S": good}})
        if dead is not None:  # its ledger marker, then the DLQ message
            dynamodb.delete_item(TableName=stack.table, Key={"record_id": {"S": bad}})
            sqs.delete_message(QueueUrl=stack.dead_letter_queue, ReceiptHandle=dead["ReceiptHandle"])
        if stack.source_bucket and item is not None and dead is not None:  # the objects the events named
            s3 = session.client("s3")
            for found in s3.list_objects_v2(Bucket=stack.source_bucket, Prefix=prefix).get("Contents", []):
                s3.delete_object(Bucket=stack.source_bucket, Key=found["Key"])
    for message_id, landed in ((good, item), (bad, dead)):
        if landed is None:  # it may still land: say where, rather than delete what is not there yet
            say(f"  left in place: {message_id} may still arrive in {stack.table} or the DLQ; remove it by hand")
    return item is not None and dead is not None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    session = boto3.Session(region_name=args.region)
    if session.get_credentials() is None:
        print("make smoke: SKIPPED, no AWS credentials configured (aws configure, or AWS_PROFILE); nothing was sent")
        return 0
    try:
        passed = smoke(session, args)
    except (ClientError, BotoCoreError, LookupError) as error:
        print(f"make smoke: FAILED, {error}", file=sys.stderr)
        return 1
    print("make smoke: passed" if passed else "make smoke: FAILED")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
