# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""What the last step returns, stored once: one DynamoDB item per message id, written conditionally.

The item also keeps the validated original, the execution and the time;
an item over DynamoDB's 400 KB keeps its data in the payload bucket (claim_check.py). The table
doubles as the ledger of how each message ended: `status: stored` here, `dead_lettered` markers from
the orchestrator. `make redrive` turns a marker into `redriven` before it sends the message back, under
its record id (the REDRIVEN_RECORD_ID attribute): a redriven message may end again, once.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from pipeline_runtime import clients, storable
from pipeline_runtime.claim_check import fit_item
from pipeline_runtime.errors import TransientStepError
from pipeline_runtime.storable import UnstorableRecord, storage_problems

REDRIVEN = "redriven"  # a dead-lettered message sent back to the input queue; it has not ended since
REDRIVEN_RECORD_ID = "redriven_record_id"  # the message attribute naming the record id a redriven message keeps
# A message ends once: its record id is new to the ledger, or was redriven.
NOT_ENDED = "attribute_not_exists(record_id) OR #status = :redriven"
NOT_ENDED_VALUES = {
    "ExpressionAttributeNames": {"#status": "status"},
    "ExpressionAttributeValues": {":redriven": {"S": REDRIVEN}},
}
DATA_FIELDS = ("original_data", "transformed_data")  # moved to the payload bucket when the item is too large
RETRYABLE_DYNAMODB_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def build_item(record_id: str, execution_id: str, original: Any, stored: dict[str, Any], stored_at: datetime) -> dict:
    return {
        "record_id": record_id,
        "status": "stored",
        "execution_id": execution_id,
        "original_data": original,
        "transformed_data": stored,
        "stored_at": stored_at.isoformat(),
    }


def for_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return json.loads(storable.dumps(item), parse_float=Decimal)  # DynamoDB takes Decimal, not float


def put_once(item: dict[str, Any]) -> bool:
    """Write the item unless the message already ended (stored, or dead-lettered); False for a duplicate."""
    try:
        clients.client("dynamodb").put_item(
            TableName=os.environ["TABLE_NAME"],
            Item=clients.to_dynamodb(item),
            ConditionExpression=NOT_ENDED,
            **NOT_ENDED_VALUES,
        )
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "ConditionalCheckFailedException":
            return False
        if code in RETRYABLE_DYNAMODB_ERRORS:
            raise TransientStepError(f"DynamoDB {code}") from error
        raise
    return True


def store(record_id: str, execution_id: str, original: Any, stored: dict[str, Any]) -> dict[str, Any]:
    """What the last step returned, with the validated original, as the message's one item; UnstorableRecord if
    DynamoDB could never hold it. `duplicate`: the message had already ended."""
    problems = storage_problems(stored)
    if problems:
        raise UnstorableRecord(problems)
    item = build_item(record_id, execution_id, original, stored, datetime.now(UTC))
    item = fit_item(item, DATA_FIELDS, record_id, execution_id)
    return {"record_id": record_id, "duplicate": not put_once(for_dynamodb(item))}
