# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""What the pipeline costs on AWS: one dated price list, and the bill of a batch from what it used.

Estimates for US East (N. Virginia) at PRICES_DATE, from AWS's public price pages (PRICES_SOURCE);
check the current price list before quoting them. The template's `make bench` prices its measured
batches with this file, and the README's "What it costs" uses it for this project's options.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

PRICES_DATE = "2026-11-29"
PRICES_SOURCE = (
    "aws.amazon.com/lambda/pricing (requests, duration, durable functions), aws.amazon.com/sqs/pricing, "
    "aws.amazon.com/dynamodb/pricing/on-demand, aws.amazon.com/s3/pricing; US East (N. Virginia)"
)
GB = 1024**3
PRICES = {  # US dollars
    "durable_operation": 8.00 / 1_000_000,
    "durable_data_written_per_gb": 0.25,
    "durable_data_retained_per_gb_month": 0.15,
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second": {"arm64": 0.0000133334, "x86_64": 0.0000166667},
    "sqs_request": 0.40 / 1_000_000,  # standard queue, per 64 KB chunk of a request
    "dynamodb_write_unit": 0.625 / 1_000_000,  # on-demand, per write request unit (1 KB)
    "s3_put": 0.005 / 1_000,
    "s3_get": 0.0004 / 1_000,
}
SQS_CHUNK_BYTES = 64 * 1024
DYNAMODB_WRITE_UNIT_BYTES = 1024


@dataclass(frozen=True)
class BatchUsage:
    """What one batch used, as AWS meters it."""

    records: int
    durable_operations: int = 0
    payload_bytes_written: int = 0  # by the durable execution, retained for its retention period
    lambda_requests: int = 0
    lambda_milliseconds: float = 0  # every invocation's duration, each rounded up to 1 ms
    sqs_requests: int = 0
    dynamodb_write_units: int = 0
    s3_puts: int = 0
    s3_gets: int = 0


def bill(usage: BatchUsage, memory_mb: int, architecture: str, retention_days: int) -> dict[str, float]:
    """The batch's cost by item, in dollars."""
    data_gb = usage.payload_bytes_written / GB
    gb_seconds = usage.lambda_milliseconds / 1000 * memory_mb / 1024
    return {
        "durable operations": usage.durable_operations * PRICES["durable_operation"],
        "durable data written": data_gb * PRICES["durable_data_written_per_gb"],
        "durable data retained": data_gb * retention_days / 30 * PRICES["durable_data_retained_per_gb_month"],
        "Lambda requests": usage.lambda_requests * PRICES["lambda_request"],
        "Lambda compute": gb_seconds * PRICES["lambda_gb_second"][architecture],
        "SQS requests": usage.sqs_requests * PRICES["sqs_request"],
        "DynamoDB writes": usage.dynamodb_write_units * PRICES["dynamodb_write_unit"],
        "S3 requests": usage.s3_puts * PRICES["s3_put"] + usage.s3_gets * PRICES["s3_get"],
    }


def per_million_messages(usage: BatchUsage, memory_mb: int, architecture: str, retention_days: int) -> dict[str, float]:
    """The bill of a million messages sent in batches like this one, by item, in dollars."""
    scale = 1_000_000 / usage.records
    return {item: cost * scale for item, cost in bill(usage, memory_mb, architecture, retention_days).items()}


def sqs_requests(body_sizes: list[int]) -> int:
    """A producer's SendMessage per message, the event source mapping's ReceiveMessage and
    DeleteMessageBatch per 10 messages; each request billed per 64 KB chunk."""
    sends = sum(max(1, math.ceil(size / SQS_CHUNK_BYTES)) for size in body_sizes)
    groups = [body_sizes[start : start + 10] for start in range(0, len(body_sizes), 10)]
    receives = sum(max(1, math.ceil(sum(group) / SQS_CHUNK_BYTES)) for group in groups)
    return sends + receives + len(groups)  # one DeleteMessageBatch per received group


def dynamodb_write_units(item_sizes: list[int]) -> int:
    """On-demand writes: one unit per KB of each item written (a conditional put like any other)."""
    return sum(max(1, math.ceil(size / DYNAMODB_WRITE_UNIT_BYTES)) for size in item_sizes)


def estimate(
    step_mode: str,
    steps: int,
    batch_size: int,
    durable_operations: int,
    invocations: tuple[int, int],
    message_bytes: int = 1024,
    step_ms_per_record: float = 5,
    invocation_overhead_ms: float = 100,
) -> BatchUsage:
    """A full batch that meets no failure, its records inline (the README's worked example). The counts
    come from the plan (`tools/render_rules.py`): operations, and (orchestrator, step) invocations.

    Each orchestrator invocation waits about 100 ms for the durable SDK's checkpoint thread to stop;
    each step takes `step_ms_per_record` per record. The checkpoints hold the event and each step call's
    records: what it was sent and what it returned in lambda_invoke mode, what it returned in durable_step.
    """
    orchestrator_invocations, step_invocations = invocations
    payloads_per_call = 2 if step_mode == "lambda_invoke" else 1
    event_bytes = batch_size * (message_bytes + 500)  # each record's SQS envelope is about 500 bytes
    item_bytes = 2 * message_bytes + 400  # the message, what the last step returned, and the metadata
    return BatchUsage(
        records=batch_size,
        durable_operations=durable_operations,
        payload_bytes_written=event_bytes + steps * payloads_per_call * batch_size * (message_bytes + 100),
        lambda_requests=orchestrator_invocations + step_invocations,
        lambda_milliseconds=orchestrator_invocations * invocation_overhead_ms + steps * batch_size * step_ms_per_record,
        sqs_requests=sqs_requests([message_bytes] * batch_size),
        dynamodb_write_units=dynamodb_write_units([item_bytes] * batch_size),
    )


def table(costs: dict[str, float]) -> str:
    """A Markdown table of a bill by item, with its total."""
    rows = [f"| {item} | ${cost:,.2f} |" for item, cost in costs.items()]
    return "\n".join(
        ["| item | per million messages |", "| --- | ---: |", *rows, f"| **total** | **${sum(costs.values()):,.2f}** |"]
    )


def main(argv: list[str] | None = None) -> None:
    from tools import render_rules  # the plan; `make costs` runs from the project's folder

    parser = argparse.ArgumentParser(
        description=f"Estimate what a million messages cost (US East prices of {PRICES_DATE})."
    )
    parser.add_argument("--step-mode", choices=["lambda_invoke", "durable_step"], required=True)
    parser.add_argument("--steps", type=int, required=True, help="number of pipeline steps")
    parser.add_argument("--batch-size", type=int, required=True, help="records per batch (a full batch is assumed)")
    parser.add_argument("--record-concurrency", type=int, required=True, help="records per wave")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--architecture", choices=sorted(PRICES["lambda_gb_second"]), required=True)
    parser.add_argument("--retention-days", type=int, required=True)
    parser.add_argument("--fifo", action="store_true", help="a FIFO queue: a batch of one message group assumed")
    parser.add_argument("--message-bytes", type=int, default=1024, help="a message body's size (default 1024)")
    parser.add_argument("--step-ms", type=float, default=5, help="each step's work per record in ms (default 5)")
    args = parser.parse_args(argv)
    plan = (args.step_mode, args.steps, args.batch_size, args.record_concurrency)
    operations = render_rules.operations_when_nothing_fails(*plan, by_reference=False, fifo_queue=args.fifo)
    invocations = render_rules.invocations_when_nothing_fails(*plan, fifo_queue=args.fifo)
    usage = estimate(
        args.step_mode, args.steps, args.batch_size, operations, invocations, args.message_bytes, args.step_ms
    )
    print(table(per_million_messages(usage, args.memory_mb, args.architecture, args.retention_days)))
    requests = "request" if usage.lambda_requests == 1 else "requests"
    print(f"\n{usage.durable_operations} durable operations and {usage.lambda_requests} Lambda {requests} per batch.")
    print(f"Estimates for US East (N. Virginia) at the prices of {PRICES_DATE}; check the current price list.")


if __name__ == "__main__":
    main()
