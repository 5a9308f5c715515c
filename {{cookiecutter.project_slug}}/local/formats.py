# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Message bodies in the shape the queue's source sends them (message_format), for local runs and tests.

A record's JSON text goes out as the body itself (json), in an SNS notification as SNS delivers it to a
subscribed queue with raw delivery off (sns), as the event an EventBridge rule sends (eventbridge), or as
an object put in the source bucket and the event notification S3 sends for it (s3_event). The shapes
follow AWS's documented event structures; tests/pipeline/test_message_formats.py runs what moto's SNS,
EventBridge and S3 send through the same unwrapping. A text that is not a JSON object cannot be an
EventBridge detail: it goes out bare, which the pipeline must refuse as `invalid_body`.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from pipeline_runtime import quotas
from pipeline_runtime.message_formats import MESSAGE_FORMAT

REGION = "{{ cookiecutter.aws_region }}"
ACCOUNT = "123456789012"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:pipeline-input"
EVENT_SOURCE = "com.example.orders"
ENVELOPE_ALLOWANCE = 2048  # what an SNS or EventBridge envelope adds to a record's text, at most
# The largest record text a message of this format can carry: SQS's body limit, the SNS message or
# EventBridge event it travels in first (less its envelope), or, for s3_event, the first step's object limit.
LARGEST_RECORD_BYTES = {
    "sns": quotas.MAX_SNS_MESSAGE_BYTES - ENVELOPE_ALLOWANCE,
    "eventbridge": quotas.MAX_EVENTBRIDGE_EVENT_BYTES - ENVELOPE_ALLOWANCE,
    "s3_event": quotas.HELD_OBJECT_BYTES,
}.get(MESSAGE_FORMAT, quotas.MAX_SQS_MESSAGE_BYTES)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sns_notification(message: str) -> str:
    message_id = str(uuid.uuid4())
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": TOPIC_ARN,
            "Message": message,
            "Timestamp": now(),
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000.pem",
            "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC_ARN}:1",
        },
        ensure_ascii=False,
    )


def eventbridge_event(detail: str) -> str:
    """The event a rule sends, its detail the record's text as written (a text that is not a JSON object goes
    out bare: PutEvents takes only an object as Detail, so no rule could send it)."""
    try:
        parsed = json.loads(detail)
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict):
        return detail
    envelope = json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Record ready",
            "source": EVENT_SOURCE,
            "account": ACCOUNT,
            "time": now().split(".")[0] + "Z",
            "region": REGION,
            "resources": [],
            "detail": None,
        },
        ensure_ascii=False,
    )
    return envelope.removesuffix("null}") + detail + "}"


def s3_event(bucket: str, key: str, size: int, etag: str) -> str:
    """The notification S3 sends for a new object (event structure version 2.1)."""
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": REGION,
                    "eventTime": now(),
                    "eventName": "ObjectCreated:Put",
                    "userIdentity": {"principalId": "AWS:EXAMPLE"},
                    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                    "responseElements": {"x-amz-request-id": "EXAMPLE", "x-amz-id-2": "EXAMPLE"},
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "pipeline-input",
                        "bucket": {
                            "name": bucket,
                            "ownerIdentity": {"principalId": "EXAMPLE"},
                            "arn": f"arn:aws:s3:::{bucket}",
                        },
                        "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag, "sequencer": "0A1B2C"},
                    },
                }
            ]
        }
    )


@dataclass
class Wrapper:
    """Turns record texts into message bodies; for s3_event it puts each text in `source_bucket` first."""

    s3: Any = None  # an S3 client: s3_event only
    source_bucket: str | None = None
    prefix: str = "incoming/"  # where the deployed bucket's new objects notify the queue (template.yaml)

    def body(self, content: str, number: int) -> str:
        if MESSAGE_FORMAT == "sns":
            return sns_notification(content)
        if MESSAGE_FORMAT == "eventbridge":
            return eventbridge_event(content)
        if MESSAGE_FORMAT == "s3_event":
            key = f"{self.prefix}{number:06d} record.json"  # a space: S3 sends keys URL-encoded
            data = content.encode()
            etag = self.s3.put_object(Bucket=self.source_bucket, Key=key, Body=data)["ETag"].strip('"')
            return s3_event(self.source_bucket, key, len(data), etag)
        return content


def as_sent(original: dict[str, Any]) -> dict[str, Any]:
    """A stored original without what the S3 blueprint's first step adds about the message (`source_object`)."""
    return {key: value for key, value in original.items() if key != "source_object"}


_numbers = itertools.count(1_000_000)  # test objects' keys, apart from a local run's


def carried_body(content: str, pad_to: int = 0) -> str:
    """A test's record text as the body of its message (s3_event: in LOCAL_SOURCE_BUCKET, which the `aws`
    fixture's resources name). `pad_to`: an S3 event, small by nature, padded to that many bytes with a field
    the pipeline ignores, for tests of what happens to large bodies (staging them in the payload bucket)."""
    if MESSAGE_FORMAT != "s3_event":
        return Wrapper().body(content, 0)
    import boto3

    body = Wrapper(boto3.client("s3"), os.environ["LOCAL_SOURCE_BUCKET"]).body(content, next(_numbers))
    padding = pad_to - len(body.encode()) - len(', "padding": ""')
    return body[:-1] + ', "padding": "' + "p" * padding + '"}' if padding > 0 else body


def wrapper(resources: dict[str, str]) -> Wrapper:
    """The wrapper for the resources pipeline.create_resources made."""
    if MESSAGE_FORMAT != "s3_event":
        return Wrapper()
    import boto3

    return Wrapper(boto3.client("s3"), resources["source_bucket"])
