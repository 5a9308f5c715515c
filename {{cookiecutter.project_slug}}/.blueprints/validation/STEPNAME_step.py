"""Step `STEPNAME`: the first step. Checks each message against a declared schema.

User-owned: edit RECORD_SCHEMA and `validate` freely; a regeneration leaves this file alone.
Returns every violation at once; a rejected record goes to the dead-letter queue with them.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()

# Field -> required JSON type. Every field here must be present, of that type and not empty.
RECORD_SCHEMA: dict[str, type] = {
    "data_source": str,
    "processing_type": str,
}


def validate(body: str) -> tuple[dict[str, Any] | None, list[str]]:
    """Parse a message body and list every schema violation (an empty list means valid)."""
    try:
        record = json.loads(body)
    except (TypeError, ValueError) as error:
        return None, [f"body is not valid JSON: {error}"]
    if not isinstance(record, dict):
        return None, [f"body must be a JSON object, got {type(record).__name__}"]
    errors = []
    for field, expected in RECORD_SCHEMA.items():
        if field not in record:
            errors.append(f"{field}: required field is missing")
        elif not isinstance(record[field], expected):
            errors.append(f"{field}: expected {expected.__name__}, got {type(record[field]).__name__}")
        elif not record[field]:
            errors.append(f"{field}: must not be empty")
    return record, errors


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(event["message_id"])
    record, errors = validate(event["body"])
    if errors:
        logger.info("record invalid", extra={"errors": errors})
    return {"valid": not errors, "errors": errors, "record": record if not errors else None}
