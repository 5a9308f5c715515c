"""Step `STEPNAME`: upper-cases `data_source` and records how the record was processed.

User-owned: put your transformation in `transform`; a regeneration leaves this file alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


def transform(record: dict[str, Any], processed_at: datetime) -> dict[str, Any]:
    return {
        **record,
        "data_source": record["data_source"].upper(),
        "processing": {
            "step": "STEPNAME",
            "processing_type": record["processing_type"],
            "processed_at": processed_at.isoformat(),
        },
    }


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(event["message_id"])
    return {"record": transform(event["record"], datetime.now(UTC))}
