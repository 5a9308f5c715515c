# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""A message that ended (stored, or dead-lettered) leaves the input queue at once.

Otherwise it stays in flight until the execution's reply reaches the event source mapping; if the
execution fails first, SQS hands the message out again and, once its receives run out, moves it to
the DLQ although it was stored. Deleting it with its delivery's receipt handle closes that window.
A delete that fails is only logged: the message comes back and ends as a duplicate.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from pipeline_runtime import clients

logger = Logger()


def delete_ended(receipt: str | None, message_id: str) -> bool:
    """Delete the delivered message from INPUT_QUEUE_URL; False if there was nothing to delete it with or SQS
    refused (a receipt handle from an earlier delivery)."""
    queue_url = os.environ.get("INPUT_QUEUE_URL")
    if not receipt or not queue_url:
        return False
    try:
        clients.client("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)
    except (BotoCoreError, ClientError) as error:
        logger.warning("could not delete an ended message", extra={"message_id": message_id, "error": str(error)})
        return False
    return True
