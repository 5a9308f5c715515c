# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""What the queue's message bodies are (the `message_format` option), and the record the first step gets.

- `json`: the body is the record, a JSON object.
- `sns`: an SNS notification (raw message delivery off); the record is its `Message`, a JSON object.
- `eventbridge`: an EventBridge event sent by a rule to the queue; the record is its `detail`.
- `s3_event`: an S3 event notification; the record is one object: bucket, key (decoded), size, etag,
  version_id, event_name and event_time. A message naming several objects is split into one record
  each (`split`), and the `s3:TestEvent` S3 sends when a notification is configured holds none.

Envelopes are checked with Powertools' parser models, one body at a time: its envelopes parse a whole
batch and one bad body would fail every record. A body that does not match its format is refused
(InvalidBody: dead-lettered at once as `invalid_body`, with what did not match), never retried.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from pipeline_runtime.quotas import HELD_OBJECT_BYTES
from pipeline_runtime.storable import MAX_REPORTED, InvalidBody, parse_body

MESSAGE_FORMAT = "{{ cookiecutter.message_format }}"
S3_TEST_EVENT = "s3:TestEvent"


def split(body: str) -> list[str]:
    """The bodies of a message's records: for s3_event one per object, each a one-object event of its own (so
    it dead-letters and redrives alone), none for a test event; for the other formats the body itself."""
    if MESSAGE_FORMAT != "s3_event":
        return [body]
    try:
        event = json.loads(body)
    except ValueError:
        return [body]  # refused by the first step as invalid_body
    if isinstance(event, dict) and event.get("Event") == S3_TEST_EVENT:
        return []
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or len(records) < 2:
        return [body]
    return [json.dumps({**event, "Records": [record]}) for record in records]


def held_object_bytes(body: str) -> int:
    """What the first step will hold of the object a record names (0 for the other formats, or no size)."""
    if MESSAGE_FORMAT != "s3_event":
        return 0
    try:
        size = json.loads(body)["Records"][0]["s3"]["object"]["size"]
    except (ValueError, KeyError, IndexError, TypeError):
        return 0
    return min(int(size), HELD_OBJECT_BYTES) if isinstance(size, int | float) else 0


def unwrap(body: Any) -> dict[str, Any]:
    """The record in a message body, as the first step receives it; InvalidBody if the body is not its format."""
    if MESSAGE_FORMAT == "sns":
        from aws_lambda_powertools.utilities.parser.models import SnsNotificationModel

        notification = checked(SnsNotificationModel, parse_body(body))
        return parse_body(notification.Message)
    if MESSAGE_FORMAT == "eventbridge":
        from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

        event = parse_body(body)
        detail = checked(EventBridgeModel, event).detail
        if not isinstance(detail, dict):
            raise InvalidBody([f"detail must be a JSON object, got {type(detail).__name__}"])
        return detail
    if MESSAGE_FORMAT == "s3_event":
        return s3_object(parse_body(body))
    return parse_body(body)


def s3_object(event: dict[str, Any]) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.parser.models import S3Model

    if event.get("Event") == S3_TEST_EVENT:
        raise InvalidBody(["an s3:TestEvent names no object"])
    records = checked(S3Model, event).Records
    if len(records) != 1:  # split() gives each object a record of its own
        raise InvalidBody([f"expected one object per record, got {len(records)}"])
    record = records[0]
    found = record.s3.object
    return {
        "bucket": record.s3.bucket.name,
        "key": unquote_plus(found.key),  # S3 sends keys URL-encoded
        "size": int(found.size) if found.size is not None else None,  # none for a removal
        "etag": found.eTag,
        **({"version_id": found.versionId} if found.versionId else {}),
        "event_name": record.eventName,
        "event_time": record.eventTime.isoformat(),
    }


def checked(model: Any, data: dict[str, Any]) -> Any:
    """`data` as `model`, or InvalidBody naming each field that did not match."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            f"not {MESSAGE_FORMAT}: {'.'.join(map(str, problem['loc'])) or 'body'}: {problem['msg']}"
            for problem in error.errors()
        ]
        raise InvalidBody(problems[:MAX_REPORTED]) from None
    except (AttributeError, KeyError, TypeError) as error:  # a model's own check tripping on a missing part
        raise InvalidBody([f"not {MESSAGE_FORMAT}: {type(error).__name__}: {error}"]) from None
