# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Settling a wave: each record that did not end stored goes to the DLQ with its reason, or back to SQS.

Runs as one checkpointed step, after the wave's last step call.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from dead_letters import send_to_dead_letter_queue
from pipeline_runtime import input_queue, payloads
from pipeline_runtime.messages import Payload, WaveOutcome, wave_outcome
from pipeline_runtime.payloads import Carried

logger = Logger()

REJECTIONS = ("validation_failed", "invalid_body")  # the message itself is refused


def reason_and_detail(ending: dict[str, Any]) -> tuple[str, Any]:
    if ending["status"] == "rejected":  # by the first step's schema, or at the door (invalid_body)
        return ending.get("reason", "validation_failed"), ending["errors"]
    if ending["status"] == "too_large":  # its JSON past MAX_RECORD_BYTES, or its working set past the memory
        detail = {key: ending[key] for key in ("step", "bytes", "limit", "of") if key in ending}
        return "payload_too_large", detail
    if ending["status"] == "timed_out":  # it ran past its step's invocation alone: more time is not coming
        return "step_timed_out", f"{ending['step']}: {ending['error']['message']}"
    error = ending["error"]
    return "step_failed", f"{ending['step']}: {error['type']}: {error['message']}"


def dead_letter(message: Carried, reason: str, detail: Any, execution_id: str) -> str | None:
    """The send's outcome, or None if SQS, the table or the bucket failed past botocore's retries (SQS redelivers
    the record)."""
    try:
        body = json.loads(message.data_text())  # the staged record's data: the message body as received
        return send_to_dead_letter_queue(message.id, body, reason, detail, execution_id, message.header.get("group"))
    except Exception:  # this record's send alone; the others still go
        logger.exception("dead-lettering failed; SQS will redeliver the record", extra={"message_id": message.id})
        return None


def settle(source: Payload, outputs: list[Payload], execution_id: str, max_receives: int | None) -> WaveOutcome:
    """Dead-letter what must go now; what the wave's unsettled records became, and those SQS should redeliver.

    A record whose send keeps failing goes back to SQS alone, so this step fails only when the
    payload bucket is unreachable; the orchestrator then hands the whole wave back.
    """
    last_word: dict[str, dict[str, Any]] = {}
    for output in outputs:
        for record in payloads.carried(output):
            last_word[record.id] = record.header
    outcome = wave_outcome()
    for position, message in enumerate(payloads.carried(source)):
        ending = last_word.get(message.id)
        if ending is None:  # cannot happen: every call answers each record it selects; never drop one silently
            ending = {"status": "failed", "step": "orchestrator", "error": {"type": "NoOutcome", "message": "none"}}
        if ending["status"] == "ok":
            continue  # stored by the last step, and counted from its reply
        reason, detail = reason_and_detail(ending)
        extra = {"message_id": message.id, "execution_id": execution_id, "reason": reason, "detail": detail}
        last_delivery = max_receives is not None and message.header["receives"] >= max_receives
        if reason == "step_failed" and not last_delivery:  # failed, or still to retry (transient, isolate)
            logger.warning("record failed; SQS will redeliver it", extra=extra)
            outcome["retry"].append(position)
            continue
        sent = dead_letter(message, reason, detail, execution_id)
        if sent is None:
            outcome["retry"].append(position)
            continue
        input_queue.delete_ended(message.header.get("receipt"), message.id)  # it ended: SQS must not move it too
        if sent == "already stored":  # an earlier delivery stored it after all
            outcome["stored"] += 1
            outcome["duplicates"] += 1
        else:  # sent now, or by an earlier execution
            logger.warning("record dead-lettered", extra={**extra, "outcome": sent})
            outcome["rejected" if reason in REJECTIONS else "dead_lettered"] += 1  # type: ignore[literal-required]
    return outcome
