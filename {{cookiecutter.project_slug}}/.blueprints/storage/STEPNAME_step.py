"""Step `STEPNAME`: the last step. Stores each record in DynamoDB exactly once.

The item key is the SQS message id and the write is conditional, so a redelivered or replayed
message never creates a second item. An item too large for DynamoDB (400 KB) keeps its data in the
payload bucket and a pointer (`data_ref`). User-owned: adapt `build_item` to your data.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from pipeline_runtime.claim_check import fit_item

logger = Logger()

RETRYABLE_DYNAMODB_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


DATA_FIELDS = ("original_data", "transformed_data")  # moved to the payload bucket when the item is too large


class TransientStepError(Exception):
    """DynamoDB was briefly unavailable; the orchestrator retries this with backoff."""


@cache
def table():  # created on first use, after tests and local runs have set their endpoints
    return boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def build_item(event: dict[str, Any], stored_at: datetime) -> dict[str, Any]:
    return {
        "record_id": event["message_id"],
        "status": "stored",
        "execution_id": event["execution_id"],
        "original_data": event["original"],
        "transformed_data": event["record"],
        "stored_at": stored_at.isoformat(),
    }


def for_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(item), parse_float=Decimal)  # DynamoDB takes Decimal, not float


def store(item: dict[str, Any]) -> bool:
    """Write the item unless the message already ended (stored, or dead-lettered by the orchestrator).

    Returns False for a duplicate.
    """
    try:
        table().put_item(Item=item, ConditionExpression="attribute_not_exists(record_id)")
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "ConditionalCheckFailedException":
            return False
        if code in RETRYABLE_DYNAMODB_ERRORS:
            raise TransientStepError(f"DynamoDB {code}") from error
        raise
    return True


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # No metrics here: the orchestrator counts outcomes once per batch (this may run on several threads).
    logger.set_correlation_id(event["message_id"])
    item = fit_item(build_item(event, datetime.now(UTC)), DATA_FIELDS, event["message_id"], event["execution_id"])
    created = store(for_dynamodb(item))
    if not created:
        logger.info("duplicate delivery: item already stored")
    return {"record_id": event["message_id"], "duplicate": not created}
