"""Settling a wave: each record that did not end stored goes to the DLQ with its reason, or back to SQS.

Template-owned. Runs as one checkpointed step, after the wave's last step call.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from dead_letters import send_to_dead_letter_queue
from pipeline_runtime import payloads

logger = Logger()


def reason_and_detail(ending: dict[str, Any]) -> tuple[str, Any]:
    if ending["status"] == "rejected":
        return "validation_failed", ending["errors"]
    if ending["status"] == "too_large":
        return "payload_too_large", {"step": ending["step"], "bytes": ending["bytes"], "limit": ending["limit"]}
    error = ending["error"]
    return "step_failed", f"{ending['step']}: {error['type']}: {error['message']}"


def settle(
    source: dict[str, Any], outputs: list[dict[str, Any]], execution_id: str, max_receives: int | None
) -> dict[str, Any]:
    """Dead-letter what must go now; returns the counts and the wave positions SQS should redeliver."""
    last_word: dict[str, dict[str, Any]] = {}
    for output in outputs:
        for record in payloads.load(output):
            last_word[record["id"]] = record
    rejected = dead_lettered = 0
    retry = []
    for position, message in enumerate(payloads.load(source)):
        ending = last_word.get(message["id"])
        if ending is None:  # cannot happen: every call answers each record it selects; never drop one silently
            ending = {
                "status": "failed",
                "step": "orchestrator",
                "error": {"type": "NoOutcome", "message": "no step answered"},
            }
        if ending["status"] == "ok":
            continue  # stored by the last step
        reason, detail = reason_and_detail(ending)
        extra = {"message_id": message["id"], "execution_id": execution_id, "reason": reason, "detail": detail}
        last_delivery = max_receives is not None and message["receives"] >= max_receives
        if reason == "step_failed" and not last_delivery:
            logger.warning("record failed; SQS will redeliver it", extra=extra)
            retry.append(position)
            continue
        logger.warning("record dead-lettered", extra=extra)
        send_to_dead_letter_queue(message["id"], message["data"], reason, detail, execution_id)
        if reason == "validation_failed":
            rejected += 1
        else:
            dead_lettered += 1
    return {"rejected": rejected, "dead_lettered": dead_lettered, "retry": retry}
