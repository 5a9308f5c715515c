# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""From an SQS batch to its records, and the waves that carry them.

Each message gives its records (pipeline_runtime/message_formats.py: one per S3 object, none for S3's test
event, else the body itself). From a standard queue the records go in waves of `per_wave`, in batch order.
From a FIFO queue they go in rounds, the first record of every message group, then the second, and so on:
a record runs only once every earlier record of its group in the batch has ended, and the orchestrator
hands a group's later records back unprocessed once one of them goes back to SQS.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from pipeline_config import QUEUE_TYPE
from pipeline_runtime import message_formats
from pipeline_runtime.messages import Record
from pipeline_runtime.storage import REDRIVEN_RECORD_ID

SqsRecord = dict[str, Any]  # one record of the SQS event, as Lambda delivers it


@dataclass(frozen=True)
class BatchRecord:
    record: Record  # as the first step reads it
    message_id: str  # the SQS message it came from: batchItemFailures names that
    group: str | None  # its FIFO message group; None from a standard queue


@dataclass(frozen=True)
class Wave:
    name: str  # its child context's name when a batch runs in several waves
    positions: list[int]  # its records' positions in the batch's records


def record_id(message: SqsRecord) -> str:
    """The message's id in the ledger: its own, or, redriven from the DLQ (make redrive), the one it ended under."""
    redriven = message.get("messageAttributes", {}).get(REDRIVEN_RECORD_ID, {}).get("stringValue")
    return redriven or message["messageId"]


def group_of(message: SqsRecord) -> str:
    """A FIFO message's group; one without (an event built by hand) is a group of its own."""
    return message.get("attributes", {}).get("MessageGroupId") or f"message:{message['messageId']}"


def batch_records(messages: list[SqsRecord]) -> list[BatchRecord]:
    """Every record of the batch, in order, as the first step reads it; a message of several records (an S3
    event naming several objects) gives each the id `<message id>/<n>`."""
    found = []
    for message in messages:
        parts = message_formats.split(message["body"])
        group = group_of(message) if QUEUE_TYPE == "fifo" else None
        for number, part in enumerate(parts, start=1):
            record: Record = {
                "id": record_id(message) if len(parts) == 1 else f"{record_id(message)}/{number}",
                "status": "ok",
                "data": part,
                "receives": int(message.get("attributes", {}).get("ApproximateReceiveCount", "1")),
            }
            if len(parts) == 1 and message.get("receiptHandle"):  # deleted once it ended; several: once all did
                record["receipt"] = message["receiptHandle"]
            if group is not None:  # a FIFO dead-letter queue takes it in the same group
                record["group"] = group
            found.append(BatchRecord(record, message["messageId"], group))
    return found


def waves(records: list[BatchRecord], per_wave: int) -> list[Wave]:
    """The waves the records run in, one after another."""
    if QUEUE_TYPE != "fifo":
        return [
            Wave(
                f"records-{start + 1}-{min(start + per_wave, len(records))}",
                list(range(start, min(start + per_wave, len(records)))),
            )
            for start in range(0, len(records), per_wave)
        ]
    rounds: list[list[int]] = []
    earlier: Counter[str | None] = Counter()
    for position, record in enumerate(records):
        round_number = earlier[record.group]
        earlier[record.group] += 1
        if round_number == len(rounds):
            rounds.append([])
        rounds[round_number].append(position)
    return [
        Wave(
            f"round-{number}-records-{start + 1}-{min(start + per_wave, len(members))}",
            members[start : start + per_wave],
        )
        for number, members in enumerate(rounds, start=1)
        for start in range(0, len(members), per_wave)
    ]
