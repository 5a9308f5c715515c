# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""What a local run shows: where every message ended (the table, the DLQ), checked against what was sent."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from pipeline_runtime.claim_check import item_data
from pipeline_runtime.quotas import MAX_OPERATIONS, MAX_PERSISTED_BYTES


@dataclass
class Report:
    sent: int
    stored: int
    dead_lettered: int
    lost: list[str]
    duplicated: list[str]
    out_of_order: list[str]  # FIFO: stored before an earlier message of its group ended
    seconds: float
    batches: int
    redeliveries: int
    failed_executions: int
    timed_out_executions: int
    injected: dict[str, int]
    largest_batch_bytes: int
    most_operations: int
    most_payload_bytes_written: int
    execution_failures: list[str]
    stages: dict[str, dict[str, int]] = field(default_factory=dict)  # step -> calls on a record per outcome
    peak_memory_mb: dict[str, float] = field(default_factory=dict)  # function -> its largest invocation run alone
    memory_mb: int = 0  # their MemorySize
    out_of_memory: list[str] = field(default_factory=list)
    memory_unattributed: list[str] = field(default_factory=list)  # overlapping invocations past MemorySize together

    @property
    def ok(self) -> bool:
        return not self.lost and not self.duplicated and not self.out_of_order


def ledger(table_name: str) -> list[dict[str, Any]]:
    """Every item of the table: stored records and dead-letter markers."""
    table = boto3.resource("dynamodb").Table(table_name)
    page = table.scan(ConsistentRead=True)
    items = page["Items"]
    while "LastEvaluatedKey" in page:
        page = table.scan(ConsistentRead=True, ExclusiveStartKey=page["LastEvaluatedKey"])
        items += page["Items"]
    return items


def endings(resources: dict[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stored items (with data kept in the bucket put back) and the DLQ's messages, each read once."""
    items = ledger(resources["table_name"])
    stored = sorted(
        (item_data(item) for item in items if item["status"] == "stored"), key=lambda item: item["stored_at"]
    )
    markers = {item["dead_letter_message_id"]: item for item in items if "dead_letter_message_id" in item}
    messages = receive_all(boto3.client("sqs"), resources["dead_letter_queue_url"])
    return stored, [dead_letter_row(message, markers) for message in messages]


def lost_and_duplicated(
    sent: dict[str, str], stored: list[dict[str, Any]], dead: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """The messages sent that ended nowhere, and those that ended twice."""
    ends = Counter([item["record_id"] for item in stored] + [row["message_id"] for row in dead])
    return [mid for mid in sent if ends[mid] == 0], [mid for mid, count in ends.items() if count > 1]


def stored_out_of_order(sent: list[str], groups: dict[str, str], stored: list[dict[str, Any]]) -> list[str]:
    """FIFO: each message stored before a message sent earlier in its group was stored (`sent` in send order,
    `groups` each message's group). One that ended in the DLQ is not waited for: SQS moved on from it too."""
    stored_at = {item["record_id"]: item["stored_at"] for item in stored}
    last: dict[str, tuple[str, str]] = {}  # group -> (stored_at, message id) of its latest stored message so far
    early = []
    for message_id in sent:
        group = groups.get(message_id)
        if group is None or message_id not in stored_at:
            continue
        if group in last and stored_at[message_id] < last[group][0]:
            early.append(message_id)
        last[group] = max(last.get(group, ("", "")), (stored_at[message_id], message_id))
    return early


def receive_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message on a queue, each once (kept invisible while reading). A FIFO queue hands out no more of a
    message group while one is in flight, so its messages are deleted as they are read: the run is over."""
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=300,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", []):
        messages += batch
        if queue_url.endswith(".fifo"):
            for message in batch:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def dead_letter_row(message: dict[str, Any], markers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One DLQ message: whose it is and why, from its attributes or, where they did not fit, the ledger.

    `markers` maps the DLQ message id to the ledger's dead_lettered marker. A message SQS's redrive
    policy moved keeps its own id and carries no failure attributes.
    """
    attributes = {name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()}
    marker = markers.get(message["MessageId"], {})
    detail = attributes.get("failure_detail") or marker.get("failure_detail")
    return {
        "message_id": attributes.get("source_message_id") or marker.get("record_id") or message["MessageId"],
        "reason": attributes.get("failure_reason") or marker.get("reason") or "redrive: maxReceiveCount exceeded",
        "detail": json.loads(detail) if detail else None,
        "body": message["Body"],
    }


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def short_execution_id(execution_arn: str) -> str:
    """The part of a durable execution ARN that tells executions apart: its id (a UUID), shortened.

    AWS: arn:aws:lambda:<region>:<account>:durable-execution:<function>:<name>:<id>; the local
    runner: <id>/<invocation id>, with the same invocation id for every execution.
    """
    ids = [part for part in re.split(r"[:/]", execution_arn) if UUID.fullmatch(part)]
    return (ids[-1] if execution_arn.startswith("arn:") else ids[0])[:13] + "…" if ids else execution_arn[-14:]


def print_tables(stored: list[dict[str, Any]], dead: list[dict[str, Any]], rows: int) -> None:
    print(f"\nDynamoDB ({counted(len(stored), 'item')})")
    print(f"  {'record_id':<38} {'data_source':<18} {'stored as':<18} {'execution':<14} stored_at")
    for item in stored[:rows]:
        original = str(item["original_data"].get("data_source"))[:18]
        transformed = str(item["transformed_data"].get("data_source"))[:18]
        execution = short_execution_id(str(item["execution_id"]))
        print(f"  {item['record_id']:<38} {original:<18} {transformed:<18} {execution:<14} {item['stored_at']}")
    if len(stored) > rows:
        print(f"  ... {len(stored) - rows} more")
    print(f"\nDead-letter queue ({counted(len(dead), 'message')})")
    print(f"  {'message_id':<38} {'reason':<18} detail")
    for row in dead[:rows]:
        print(f"  {row['message_id']:<38} {row['reason']:<18} {json.dumps(row['detail'])[:90]}")
    if len(dead) > rows:
        print(f"  ... {len(dead) - rows} more")


def counted(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"


def described(counts: dict[str, int], names: dict[str, tuple[str, str]]) -> str:
    """{"crashes": 2} -> "2 crashes", with a name per key (singular, plural); "none" when empty."""
    parts = [counted(count, *names.get(key, (key, key))) for key, count in sorted(counts.items()) if count]
    return ", ".join(parts) or "none"


INJECTED = {
    "transient_failures": ("transient step failure", "transient step failures"),
    "crashes": ("crash", "crashes"),
}
STAGE_COLUMNS = (("ok", "passed"), ("rejected", "rejected"), ("transient", "retried"), ("failed", "failed"))


def stage_lines(stages: dict[str, dict[str, int]]) -> list[str]:
    """Per step, in chain order: its calls on a record and how they ended (a retried call is called again)."""
    width = max([len(step) for step in stages] + [4])
    lines = [f"  {'step':<{width}} {'calls':>8}" + "".join(f" {title:>9}" for _, title in STAGE_COLUMNS)]
    for step, counts in stages.items():
        calls = sum(counts.values())
        lines.append(
            f"  {step:<{width}} {calls:>8,}" + "".join(f" {counts.get(key, 0):>9,}" for key, _ in STAGE_COLUMNS)
        )
    return lines


def print_summary(report: Report, dead: list[dict[str, Any]] | None = None) -> None:
    rate = report.sent / report.seconds if report.seconds else 0
    print(
        f"\n{counted(report.sent, 'message')} sent: {report.stored:,} stored, {report.dead_lettered:,} dead-lettered, "
        f"{len(report.lost):,} lost, {len(report.duplicated):,} duplicated, "
        + (f"{len(report.out_of_order):,} stored out of order, " if report.out_of_order else "")
        + f"in {report.seconds:.1f} s "
        f"({rate:,.0f} messages/s)"
    )
    if report.stages:
        print("Per step (each call on a record):")
        print("\n".join(stage_lines(report.stages)))
    reasons = Counter(row["reason"] for row in dead or [])
    if reasons:
        print("Dead-lettered: " + ", ".join(f"{count:,} {reason}" for reason, count in reasons.most_common()))
    print(
        f"Executions: {counted(report.batches, 'batch', 'batches')}, "
        f"{counted(report.redeliveries, 'redelivery', 'redeliveries')}, {report.failed_executions:,} failed, "
        f"{report.timed_out_executions:,} timed out; injected: {described(report.injected, INJECTED)}"
    )
    print(
        f"Largest execution: {report.most_operations:,} of {MAX_OPERATIONS:,} durable operations, "
        f"{report.most_payload_bytes_written:,} of {MAX_PERSISTED_BYTES:,} payload bytes written"
    )
    if report.peak_memory_mb:
        peaks = ", ".join(f"{function} {peak:,.0f} MB" for function, peak in report.peak_memory_mb.items())
        print(f"Peak memory of an invocation run alone (MemorySize {report.memory_mb:,} MB): {peaks}")
    for failure in report.out_of_memory:
        print(f"An invocation ran out of memory: {failure}")
    if report.memory_unattributed:
        print(f"{len(report.memory_unattributed):,} overlapping invocations passed MemorySize together; "
              "rerun with --concurrent-batches 1 to measure each alone")  # fmt: skip
    for failure in report.execution_failures:
        print(f"An execution failed: {failure}")


def dump(folder: Path, stored: list[dict[str, Any]], dead: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "stored.jsonl").open("w") as out:
        out.writelines(json.dumps(item, default=str) + "\n" for item in stored)
    with (folder / "dead_letter.jsonl").open("w") as out:
        out.writelines(json.dumps(row) + "\n" for row in dead)
