"""Step `STEPNAME`: the last step. Shapes what is stored for each record.

Yours: return the data to keep; a regeneration leaves this file alone. The template stores it once
per message in DynamoDB (`transformed_data`, beside the validated `original_data`, the execution and
the time; a redelivered message never makes a second item, a large one keeps its data in the
payload bucket). Raise `TransientStepError` (from pipeline_runtime) to have the record retried.
"""

from __future__ import annotations

from typing import Any


def process(record: dict[str, Any]) -> dict[str, Any]:
    return record
