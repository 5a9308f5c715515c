"""Step `STEPNAME`: passes each record on unchanged until you give it logic.

User-owned: write this step's logic in `process`; a regeneration leaves this file alone.
Raise an exception to fail the record (SQS redelivers it, then dead-letters it); raise one
whose class is named `TransientStepError` to have the orchestrator retry it with backoff first.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


class TransientStepError(Exception):
    """A failure worth retrying (throttling, a dependency briefly down)."""


def process(record: dict[str, Any]) -> dict[str, Any]:
    # Your logic here: return the record to hand to the next step.
    return record


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(event["message_id"])
    return {"record": process(event["record"])}
