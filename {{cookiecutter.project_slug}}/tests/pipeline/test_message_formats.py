# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Every message format as AWS's services send it to the queue (moto's SNS, EventBridge and S3), unwrapped for
the first step; and this project's own format through the whole pipeline."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from conftest import REFERENCE_MESSAGE

from local import pipeline
from local.events import sqs_event, sqs_record
from local.formats import as_sent
from pipeline_runtime import message_formats
from pipeline_runtime.storable import InvalidBody

RECORD = json.loads(REFERENCE_MESSAGE)
BUCKET = "uploads-from-a-service"
FORMATS = ["json", "sns", "eventbridge", "s3_event"]


def service_queue() -> str:
    """A standard queue the services deliver to (an SNS standard topic or an S3 bucket cannot feed a FIFO one)."""
    return boto3.client("sqs").create_queue(QueueName="from-a-service")["QueueUrl"]


def queue_arn(queue_url: str) -> str:
    sqs = boto3.client("sqs")
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def received(queue_url: str) -> list[dict[str, Any]]:
    sqs, messages = boto3.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    ):
        messages += batch
    return messages


def sent_by_the_service(message_format: str, queue_url: str, text: str) -> list[dict[str, Any]]:
    """`text` sent the way this format's source sends it, and what the queue received."""
    arn = queue_arn(queue_url)
    if message_format == "sns":  # a subscription with raw message delivery off, the default
        sns = boto3.client("sns")
        topic = sns.create_topic(Name="records")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        sns.publish(TopicArn=topic, Message=text)
    elif message_format == "eventbridge":  # a rule whose target is the queue
        events = boto3.client("events")
        events.put_rule(Name="records", EventPattern=json.dumps({"source": ["com.example.orders"]}))
        events.put_targets(Rule="records", Targets=[{"Id": "queue", "Arn": arn}])
        events.put_events(Entries=[{"Source": "com.example.orders", "DetailType": "Record ready", "Detail": text}])
    elif message_format == "s3_event":  # the bucket notifies the queue: a test event, then one per new object
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        notify = {"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]}
        s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration=notify)
        s3.put_object(Bucket=BUCKET, Key="incoming/a b.json", Body=text.encode())
    else:
        boto3.client("sqs").send_message(QueueUrl=queue_url, MessageBody=text)
    messages = received(queue_url)
    for message in messages:
        message["Body"] = with_what_moto_leaves_out(message_format, message["Body"])
    return messages


def with_what_moto_leaves_out(message_format: str, body: str) -> str:
    """moto's events lack fields AWS always sends, which Powertools' models require: its EventBridge event the
    `account`, its S3 records `userIdentity`, `requestParameters`, `responseElements` and the bucket's
    `ownerIdentity` (AWS's event structures: the EventBridge and S3 user guides). Only those are added."""
    event = json.loads(body)
    if message_format == "eventbridge":
        event.setdefault("account", "123456789012")
    for record in event.get("Records", []) if message_format == "s3_event" else []:
        record.setdefault("userIdentity", {"principalId": "AWS:EXAMPLE"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        record.setdefault("responseElements", {"x-amz-request-id": "EXAMPLE", "x-amz-id-2": "EXAMPLE"})
        record["s3"]["bucket"].setdefault("ownerIdentity", {"principalId": "EXAMPLE"})
    return json.dumps(event) if message_format in ("eventbridge", "s3_event") else body


@pytest.mark.parametrize("message_format", FORMATS)
def test_each_format_gives_the_first_step_the_record_its_source_sent(aws, monkeypatch, message_format):
    monkeypatch.setattr(message_formats, "MESSAGE_FORMAT", message_format)
    messages = sent_by_the_service(message_format, service_queue(), REFERENCE_MESSAGE)

    parts = [part for message in messages for part in message_formats.split(message["Body"])]

    [record] = [message_formats.unwrap(part) for part in parts]  # S3's test event holds no record
    if message_format == "s3_event":
        assert len(messages) == 2 and '"s3:TestEvent"' in messages[0]["Body"]
        assert {key: record[key] for key in ("bucket", "key", "size")} == {
            "bucket": BUCKET,
            "key": "incoming/a b.json",  # S3 sends it URL-encoded
            "size": len(REFERENCE_MESSAGE.encode()),
        }
        assert record["etag"] and record["event_name"].startswith("ObjectCreated:") and record["event_time"]
    else:
        assert record == RECORD


@pytest.mark.parametrize(
    ("message_format", "body", "problem"),
    [
        ("json", "[1, 2]", "body must be a JSON object"),
        ("sns", REFERENCE_MESSAGE, "not sns: Type: Field required"),  # raw delivery: choose json
        ("sns", json.dumps({"Type": "Notification", "Message": "[1]"}), "not sns: TopicArn"),
        ("eventbridge", REFERENCE_MESSAGE, "not eventbridge: version: Field required"),
        ("s3_event", REFERENCE_MESSAGE, "not s3_event: Records: Field required"),
        ("s3_event", json.dumps({"Records": [{"eventSource": "aws:s3"}]}), "not s3_event: "),  # no `s3` part
    ],
    ids=["json-list", "sns-raw-delivery", "sns-incomplete", "eventbridge-bare-record", "s3-bare-record", "s3-partial"],
)
def test_a_body_not_in_its_format_is_refused_at_the_door_naming_what_is_wrong(
    monkeypatch, message_format, body, problem
):
    monkeypatch.setattr(message_formats, "MESSAGE_FORMAT", message_format)
    with pytest.raises(InvalidBody) as refused:
        message_formats.unwrap(body)
    assert refused.value.reason == "invalid_body"
    assert any(error.startswith(problem) for error in refused.value.errors), refused.value.errors


def test_an_s3_event_naming_several_objects_is_one_record_each(monkeypatch):
    monkeypatch.setattr(message_formats, "MESSAGE_FORMAT", "s3_event")
    one = {"eventSource": "aws:s3", "s3": {"object": {"key": "a"}}}
    parts = message_formats.split(json.dumps({"Records": [one, {**one, "s3": {"object": {"key": "b"}}}]}))
    assert [json.loads(part)["Records"][0]["s3"]["object"]["key"] for part in parts] == ["a", "b"]
    assert message_formats.split('{"Event": "s3:TestEvent", "Bucket": "b"}') == []
    assert message_formats.split("not json") == ["not json"]  # refused by the first step as invalid_body


def test_this_projects_format_through_the_pipeline_as_its_source_sends_it(aws):
    messages = sent_by_the_service(message_formats.MESSAGE_FORMAT, service_queue(), REFERENCE_MESSAGE)
    records = [sqs_record(message["Body"], message_id=message["MessageId"], raw=True) for message in messages]

    with pipeline.make_runner() as runner:
        result = runner.run(input=sqs_event(records), execution_timeout=120)

    assert result.status is InvocationStatus.SUCCEEDED, result.error
    output = json.loads(result.result)
    assert output["batchItemFailures"] == []  # S3's test event too: acknowledged, and it holds no record
    [item] = aws.stored_items()
    assert as_sent(item["original_data"]) == RECORD
    assert item["record_id"] == records[-1]["messageId"]
