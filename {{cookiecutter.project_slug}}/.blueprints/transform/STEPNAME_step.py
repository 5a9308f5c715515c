"""Step `STEPNAME`: upper-cases `data_source` and records how the record was processed.

Yours: put your transformation in `transform`; a regeneration leaves this file alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


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


def process(record: dict[str, Any]) -> dict[str, Any]:
    return transform(record, datetime.now(UTC))
