# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""The limits of real AWS services that local servers do not check, held at their exact boundary."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

import dead_letters
from local.aws_limits import sqs_message_bytes
from local.events import fifo_fields
from pipeline_runtime import claim_check, payloads
from pipeline_runtime.quotas import MAX_SQS_MESSAGE_BYTES, STORED_ITEM_INLINE_BYTES

ATTRIBUTE = {"reason": {"DataType": "String", "StringValue": "why"}}
ATTRIBUTE_BYTES = len("reason") + len("String") + len("why")


def test_sqs_takes_a_message_of_exactly_1_mib_attributes_included(aws):
    body = "b" * (MAX_SQS_MESSAGE_BYTES - ATTRIBUTE_BYTES)
    assert sqs_message_bytes(body, ATTRIBUTE) == MAX_SQS_MESSAGE_BYTES
    queue_url = aws.resources["queue_url"]
    boto3.client("sqs").send_message(
        QueueUrl=queue_url, MessageBody=body, MessageAttributes=ATTRIBUTE, **fifo_fields(queue_url)
    )


def test_sqs_refuses_one_byte_more_as_aws_does_though_moto_would_not(aws):
    body = "b" * (MAX_SQS_MESSAGE_BYTES - ATTRIBUTE_BYTES + 1)
    with pytest.raises(ClientError, match="Message must be shorter than 1048576 bytes"):
        queue_url = aws.resources["queue_url"]
        boto3.client("sqs").send_message(
            QueueUrl=queue_url, MessageBody=body, MessageAttributes=ATTRIBUTE, **fifo_fields(queue_url)
        )


@pytest.mark.parametrize(
    ("room", "kept"),
    [
        (10_000, {"failure_reason", "failure_detail", "source_message_id", "execution_id"}),
        (400, {"failure_reason", "failure_detail_ref", "source_message_id"}),
        (120, {"failure_reason", "source_message_id"}),
        (60, {"source_message_id"}),
        (0, set()),
    ],
    ids=["all", "detail-by-reference", "reason-and-id", "id-only", "body-alone"],
)
def test_dead_letter_attributes_shrink_to_fit_beside_the_body(aws, room, kept):
    body = "b" * (MAX_SQS_MESSAGE_BYTES - room)
    attributes = dead_letters.fitting_attributes(body, "m" * 36, "validation_failed", "x" * 300, "e" * 150)
    assert set(attributes) == kept
    assert dead_letters.message_size(body, attributes) <= MAX_SQS_MESSAGE_BYTES


def item_of(size: int) -> dict:
    item = {"record_id": "m-1", "original_data": {"notes": ""}, "transformed_data": {}}
    item["original_data"]["notes"] = "n" * (size - payloads.utf8_size(item))
    assert payloads.utf8_size(item) == size
    return item


def test_an_item_at_the_threshold_stays_whole_in_dynamodb(aws):
    item = item_of(STORED_ITEM_INLINE_BYTES)
    assert claim_check.fit_item(item, ("original_data", "transformed_data"), "m-1", "exec-1") == item


def test_an_item_one_byte_over_keeps_its_data_in_the_bucket(aws):
    item = item_of(STORED_ITEM_INLINE_BYTES + 1)

    fitted = claim_check.fit_item(item, ("original_data", "transformed_data"), "m-1", "exec-1")

    assert set(fitted) == {"record_id", "data_ref", "data_bytes"}
    assert fitted["data_ref"].startswith(f"s3://{aws.resources['bucket']}/records/m-1/")
    assert claim_check.item_data(fitted) == item
