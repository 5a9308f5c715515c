"""`make local`: run the whole pipeline on this machine and show where every message ended.

SQS and DynamoDB are moto's server on 127.0.0.1 (or servers you name), created from
template.yaml's own values; the orchestrator runs in the durable SDK's test runner with every
step function registered under its name; the SQS event source mapping is emulated by local.esm.

    python -m local.run [--count N] [--messages FILE.jsonl] [--transient-failure-rate R]
                        [--crash-rate R] [--seed S] [--dump DIR] [--json] [--no-quota-guard]
                        [--sqs-endpoint URL] [--dynamodb-endpoint URL] [--s3-endpoint URL]

Exit status 0 when every message sent ended exactly once (stored, or dead-lettered with its
reason), 1 when any was lost or duplicated.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stderr, redirect_stdout
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from local import aws_limits
from local.servers import free_loopback_port, wait_until_ready
from local.template_values import PROJECT_ROOT, load_settings
from pipeline_runtime.quotas import MAX_OPERATIONS, MAX_PERSISTED_BYTES, MAX_SQS_MESSAGE_BYTES

REFERENCE_EVENT = PROJECT_ROOT / "events" / "sqs-batch.json"
LOG_FILE = PROJECT_ROOT / "local-output" / "pipeline.log"
EXTRA_MESSAGES = [
    {"data_source": "orders.csv", "processing_type": "standard"},
    {"data_source": "clickstream.json", "processing_type": "priority"},
    {"data_source": "", "processing_type": 42},  # invalid: two violations, so it shows in the DLQ
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, help="send N generated messages, about 10%% of them invalid")
    parser.add_argument("--messages", type=Path, help="send each line of this JSONL file as a message body")
    parser.add_argument("--transient-failure-rate", type=float, default=0.0, help="chance a step call fails (retried)")
    parser.add_argument("--crash-rate", type=float, default=0.0, help="chance an orchestrator invocation crashes")
    parser.add_argument("--seed", type=int, default=1, help="seed for generated messages and faults")
    parser.add_argument("--dump", type=Path, help="write stored.jsonl and dead_letter.jsonl into this folder")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of tables")
    parser.add_argument("--rows", type=int, default=15, help="table rows to show per destination")
    parser.add_argument("--sqs-endpoint", help="use this SQS server instead of starting one")
    parser.add_argument("--dynamodb-endpoint", help="use this DynamoDB server instead of starting one")
    parser.add_argument("--s3-endpoint", help="use this S3 server for the payload bucket instead of starting one")
    parser.add_argument(
        "--no-quota-guard",
        action="store_true",
        help="count durable operations and payload bytes but do not fail executions over AWS's quotas (diagnosis only)",
    )
    parser.add_argument("--timeout", type=float, default=600, help="give up draining after this many seconds")
    parser.add_argument(
        "--execution-deadline", type=float, default=60, help="stop a batch's execution after this many seconds"
    )
    args = parser.parse_args(argv)
    for rate in ("transient_failure_rate", "crash_rate"):
        if not 0 <= getattr(args, rate) <= 1:
            parser.error(f"--{rate.replace('_', '-')} must be between 0 and 1")
    return args


def message_bodies(args: argparse.Namespace) -> list[str]:
    if args.messages:
        return [line for line in args.messages.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.count is not None:
        rng = random.Random(args.seed)  # noqa: S311 - test data
        invalid = [{"processing_type": "standard"}, {"data_source": 7, "processing_type": ""}, "not json"]
        bodies = []
        for i in range(args.count):
            if rng.random() < 0.1:
                choice = rng.choice(invalid)
                bodies.append(choice if isinstance(choice, str) else json.dumps(choice))
            else:
                kind = rng.choice(["standard", "priority"])
                bodies.append(json.dumps({"data_source": f"file-{i}.csv", "processing_type": kind}))
        return bodies
    reference = json.loads(REFERENCE_EVENT.read_text())["Records"][0]["body"]
    return [reference, *(json.dumps(message) for message in EXTRA_MESSAGES)]


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server in its own process on a free 127.0.0.1 port (no Docker, no credentials)."""
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_ready(
            lambda: urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close(),  # noqa: S310 - loopback URL
            process,
            "moto's server",
            timeout=30,
        )
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def aws_endpoints(args: argparse.Namespace) -> Iterator[str]:
    """Point boto3 at local servers: moto's unless every endpoint is given."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "{{ cookiecutter.aws_region }}",
            "POWERTOOLS_METRICS_NAMESPACE": "{{ cookiecutter.project_slug }}-local",
        }
    )
    with ExitStack() as stack:
        given = args.sqs_endpoint and args.dynamodb_endpoint and args.s3_endpoint
        moto_url = "" if given else stack.enter_context(moto_server())
        os.environ["AWS_ENDPOINT_URL_SQS"] = args.sqs_endpoint or moto_url
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = args.dynamodb_endpoint or moto_url
        os.environ["AWS_ENDPOINT_URL_S3"] = args.s3_endpoint or moto_url
        aws_limits.install()
        yield f"moto server on {moto_url}" if moto_url else "the given endpoints"


@dataclass
class Report:
    sent: int
    stored: int
    dead_lettered: int
    lost: list[str]
    duplicated: list[str]
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

    @property
    def ok(self) -> bool:
        return not self.lost and not self.duplicated


def receive_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message on a queue, each once (kept invisible while reading)."""
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=300,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", []):
        messages += batch
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


def print_tables(stored: list[dict[str, Any]], dead: list[dict[str, Any]], rows: int) -> None:
    print(f"\nDynamoDB ({len(stored)} items)")
    print(f"  {'record_id':<38} {'data_source':<18} {'stored as':<18} {'execution_id':<20} stored_at")
    for item in stored[:rows]:
        original = str(item["original_data"].get("data_source"))[:18]
        transformed = str(item["transformed_data"].get("data_source"))[:18]
        execution = "…" + str(item["execution_id"])[-19:]
        print(f"  {item['record_id']:<38} {original:<18} {transformed:<18} {execution:<20} {item['stored_at']}")
    if len(stored) > rows:
        print(f"  ... {len(stored) - rows} more")
    print(f"\nDead-letter queue ({len(dead)} messages)")
    print(f"  {'message_id':<38} {'reason':<18} detail")
    for row in dead[:rows]:
        print(f"  {row['message_id']:<38} {row['reason']:<18} {json.dumps(row['detail'])[:90]}")
    if len(dead) > rows:
        print(f"  ... {len(dead) - rows} more")


def send_messages(sqs: Any, queue_url: str, bodies: list[str]) -> dict[str, str]:
    """Send every body; returns message id -> body. A batch request holds 10 messages and 1 MiB at most."""
    sent: dict[str, str] = {}
    chunk: list[str] = []
    for body in [*bodies, None]:
        if chunk and (
            body is None or len(chunk) == 10 or sum(map(utf8_len, chunk)) + utf8_len(body) > MAX_SQS_MESSAGE_BYTES
        ):
            entries = [{"Id": str(i), "MessageBody": text} for i, text in enumerate(chunk)]
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            sent |= {entry["MessageId"]: chunk[int(entry["Id"])] for entry in response.get("Successful", [])}
            chunk = []
        if body is not None:
            chunk.append(body)
    if len(sent) != len(bodies):
        raise SystemExit(f"only {len(sent)} of {len(bodies)} messages were accepted by SQS")
    return sent


def utf8_len(text: str) -> int:
    return len(text.encode())


def run(args: argparse.Namespace) -> Report:
    console = sys.stderr  # progress lines; the functions' logs go to LOG_FILE
    LOG_FILE.parent.mkdir(exist_ok=True)
    with LOG_FILE.open("w") as log, redirect_stdout(log), redirect_stderr(log):  # before any logger exists
        import boto3

        from local import pipeline
        from local.esm import EventSourceMapping
        from local.faults import FaultPlan
        from local.quota_guard import QuotaGuard
        from pipeline_runtime.claim_check import item_data

        settings = load_settings()
        bodies = message_bodies(args)
        # The local mapping stops executions after --execution-deadline, so the queue only has to hide a batch
        # that long (plus a margin); a receive lost under load then costs seconds, not the template's timeout.
        visibility = min(settings.visibility_timeout_seconds, int(args.execution_deadline) + 30)
        resources = pipeline.create_resources(
            settings, table_name="{{ cookiecutter.table_name }}-local", queue_name="input", visibility_timeout=visibility
        )
        faults = FaultPlan(args.seed, args.transient_failure_rate, args.crash_rate)
        guard = QuotaGuard(enforce=False if args.no_quota_guard else None)  # None: LOCAL_QUOTA_GUARD decides
        sqs = boto3.client("sqs")
        started = time.monotonic()
        sent = send_messages(sqs, resources["queue_url"], bodies)
        faults.message_keys = {message_id: f"message-{index}" for index, message_id in enumerate(sent)}
        last_report = [started]

        def progress(visible: int, in_flight: int) -> None:
            now = time.monotonic()
            if now - last_report[0] >= 2:
                last_report[0] = now
                print(f"  [{now - started:5.1f}s] {visible} queued, {in_flight} in flight", file=console)

        with (
            pipeline.environment(pipeline.function_environment(settings, resources)),
            pipeline.make_runner(
                orchestrator=faults.wrap_orchestrator(pipeline.orchestrator_module().handler),
                wrap_step=faults.wrap_step,
                quota_guard=guard,
            ) as runner,
        ):
            esm = EventSourceMapping(
                runner, settings, resources["queue_url"], execution_deadline=args.execution_deadline
            )
            drained = esm.drain(args.timeout, progress)
            seconds = time.monotonic() - started
            table = boto3.resource("dynamodb").Table(resources["table_name"])
            ledger, page = [], {"LastEvaluatedKey": None}
            while "LastEvaluatedKey" in page:
                start = {"ExclusiveStartKey": page["LastEvaluatedKey"]} if page["LastEvaluatedKey"] else {}
                page = table.scan(ConsistentRead=True, **start)
                ledger += page["Items"]
            stored = sorted(
                (item_data(item) for item in ledger if item["status"] == "stored"), key=lambda item: item["stored_at"]
            )
            markers = {item["dead_letter_message_id"]: item for item in ledger if "dead_letter_message_id" in item}
            dead = [dead_letter_row(m, markers) for m in receive_all(sqs, resources["dead_letter_queue_url"])]
    if not drained:
        print(f"warning: the queue did not drain within {args.timeout:.0f} s", file=sys.stderr)
    usage = guard.total()
    endings = Counter([item["record_id"] for item in stored] + [row["message_id"] for row in dead])
    report = Report(
        sent=len(sent),
        stored=len(stored),
        dead_lettered=len(dead),
        lost=[message_id for message_id in sent if endings[message_id] == 0],
        duplicated=[message_id for message_id, count in endings.items() if count > 1],
        seconds=round(seconds, 2),
        batches=esm.stats.batches,
        redeliveries=esm.stats.redeliveries,
        failed_executions=esm.stats.failed_executions,
        timed_out_executions=esm.stats.timed_out_executions,
        injected=dict(faults.injected),
        largest_batch_bytes=esm.stats.largest_batch_bytes,
        most_operations=usage.operations,
        most_payload_bytes_written=usage.persisted_bytes,
        execution_failures=sorted(set(esm.failures)),
    )
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        with (args.dump / "stored.jsonl").open("w") as out:
            out.writelines(json.dumps(item, default=str) + "\n" for item in stored)
        with (args.dump / "dead_letter.jsonl").open("w") as out:
            out.writelines(json.dumps(row) + "\n" for row in dead)
    if args.json:
        sent_rows = [{"message_id": message_id, "body": body} for message_id, body in sent.items()]
        output = {"summary": asdict(report), "sent": sent_rows, "stored": stored, "dead_letter": dead}
        print(json.dumps(output, default=str, indent=2))
    else:
        print_tables(stored, dead, args.rows)
        rate = report.sent / seconds if seconds else 0
        print(
            f"\n{report.sent} sent: {report.stored} stored, {report.dead_lettered} dead-lettered, "
            f"{len(report.lost)} lost, {len(report.duplicated)} duplicated "
            f"in {seconds:.1f} s ({rate:.0f} messages/s, {report.batches} batches, "
            f"{report.redeliveries} redeliveries, {report.failed_executions} failed and "
            f"{report.timed_out_executions} timed-out executions, injected: {report.injected or 'none'})"
        )
        print(
            f"Largest execution: {report.most_operations:,} of {MAX_OPERATIONS:,} durable operations, "
            f"{report.most_payload_bytes_written:,} of {MAX_PERSISTED_BYTES:,} payload bytes written"
        )
        for failure in report.execution_failures:
            print(f"An execution failed: {failure}")
        print(f"Function logs and metrics: {LOG_FILE.relative_to(PROJECT_ROOT)}")
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with aws_endpoints(args) as where:
        if not args.json:
            print(f"Local pipeline: {where}; settings from template.yaml", file=sys.stderr)
        report = run(args)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
