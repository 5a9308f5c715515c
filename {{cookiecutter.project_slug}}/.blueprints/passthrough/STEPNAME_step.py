"""Step `STEPNAME`: passes each record on unchanged until you give it logic.

Yours: write this step's logic in `process`; a regeneration leaves this file alone. Raise
`TransientStepError` (from pipeline_runtime) to have the record retried with backoff, `RecordRejected`
to send it to the dead-letter queue at once, anything else to fail it (SQS redelivers it).
"""

from __future__ import annotations

from typing import Any


def process(record: dict[str, Any]) -> dict[str, Any]:
    return record
