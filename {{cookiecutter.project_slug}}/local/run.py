# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""`make local`: run the whole pipeline on this machine and show where every message ended.

moto's server stands in for SQS, DynamoDB and S3 (servers.py); messages are fed to the queue
(messages.py), the event source mapping emulated (esm.py), the orchestrator run in the durable SDK's
test runner (pipeline.py), the endings shown (report.py). Exit status 1 if any message was lost or
duplicated. `python -m local.run --help` lists the options.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from local.journal import Journal, find_message, trace_lines
from local.journal import read as read_journal
from local.messages import Sender, message_bodies
from local.report import (
    Report,
    dump,
    endings,
    lost_and_duplicated,
    print_summary,
    print_tables,
    stored_out_of_order,
)
from local.servers import aws_endpoints
from local.template_values import PROJECT_ROOT, load_settings

if TYPE_CHECKING:
    from pipeline_runtime.steps import Step

OUTPUT_DIR = Path(os.environ.get("LOCAL_OUTPUT_DIR") or PROJECT_ROOT / "local-output")  # tests run side by side
LOG_FILE = OUTPUT_DIR / "pipeline.log"
TRACE_FILE = OUTPUT_DIR / "trace.jsonl"


def shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


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
    parser.add_argument(
        "--trace",
        metavar="MESSAGE",
        help="print one message's path through the steps, with timings: N for the Nth sent, its id or a unique "
        "prefix (every message of the run is in local-output/trace.jsonl: make trace ID=...)",
    )
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
    parser.add_argument(
        "--concurrent-batches",
        type=int,
        default=5,
        help="executions at once, as the event source mapping starts (1: every invocation's memory measured alone)",
    )
    args = parser.parse_args(argv)
    if args.messages and not args.messages.is_file():  # one line, not a traceback from deep in a run
        raise SystemExit(f"make local: {args.messages}: no such file (MESSAGES is a file of one message body per line)")
    for rate in ("transient_failure_rate", "crash_rate"):
        if not 0 <= getattr(args, rate) <= 1:
            parser.error(f"--{rate.replace('_', '-')} must be between 0 and 1")
    return args


def run(args: argparse.Namespace) -> Report:
    console = sys.stderr  # progress lines; the functions' logs go to LOG_FILE
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    with LOG_FILE.open("w") as log, redirect_stdout(log), redirect_stderr(log):  # before any logger exists
        import boto3

        from local import formats, pipeline
        from local.esm import EventSourceMapping
        from local.faults import FaultPlan
        from local.memory_meter import MemoryMeter
        from local.quota_guard import QuotaGuard

        settings = load_settings()
        # The local mapping stops executions after --execution-deadline, so the queue only has to hide a batch
        # that long (plus a margin); a receive lost under load then costs seconds, not the template's timeout.
        visibility = min(settings.visibility_timeout_seconds, int(args.execution_deadline) + 30)
        table_name = "{{ cookiecutter.table_name }}-local"
        resources = pipeline.create_resources(settings, table_name, queue_name="input", visibility_timeout=visibility)
        faults = FaultPlan(args.seed, args.transient_failure_rate, args.crash_rate)
        guard = QuotaGuard(enforce=False if args.no_quota_guard else None)  # None: LOCAL_QUOTA_GUARD decides
        meter = MemoryMeter(settings.memory_mb)
        journal = Journal()
        bodies = message_bodies(args.count, args.messages, args.seed)

        def wrap_step(step: str, function: Step) -> Step:  # journaled outside the faults, so it sees them
            return journal.wrap_step(step, faults.wrap_step(step, function))

        with (
            pipeline.environment(pipeline.function_environment(settings, resources)),
            pipeline.make_runner(
                orchestrator=faults.wrap_orchestrator(pipeline.orchestrator_module().handler),
                wrap_step=wrap_step,
                quota_guard=guard,
                memory_meter=meter,
            ) as runner,
        ):
            esm = EventSourceMapping(
                runner, settings, resources["queue_url"], concurrent_batches=args.concurrent_batches,
                execution_deadline=args.execution_deadline, journal=journal,
            )  # fmt: skip
            window = max(50, 2 * settings.batch_size * esm.concurrent_batches)  # enough to fill every batch
            sender = Sender(
                boto3.client("sqs"), resources["queue_url"], bodies, lambda: esm.stats.finished, window,
                wrap=formats.wrapper(resources).body, journal=journal,
            )  # fmt: skip
            faults.message_keys, faults.keys_lock = sender.keys, sender.keys_lock  # faults follow the send order
            with Progress(console, len(bodies), lambda: esm.stats.finished, lambda: len(sender.sent)):
                drained = esm.drain(args.timeout, more_coming=sender.start().sending)
            sent = sender.stop()
            seconds = time.monotonic() - journal.started
            stored, dead = endings(resources)
            journal.ended(stored, dead)
            journal.write(TRACE_FILE)
    if not drained:
        print(f"warning: the queue did not drain within {args.timeout:.0f} s", file=sys.stderr)
    if len(sent) < len(bodies):
        print(f"warning: {len(bodies) - len(sent)} of {len(bodies)} messages were never sent", file=sys.stderr)
    usage = guard.total()
    steps = list(importlib.import_module("pipeline_config").STEPS)
    lost, duplicated = lost_and_duplicated(sent, stored, dead)
    out_of_order = stored_out_of_order(list(sent), sender.groups, stored)
    report = Report(
        sent=len(sent),
        stored=len(stored),
        dead_lettered=len(dead),
        lost=lost,
        duplicated=duplicated,
        out_of_order=out_of_order,
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
        stages={step: dict(counts) for step, counts in journal.stage_counts(steps).items()},
        peak_memory_mb=runner.memory_meter.peak_mb(),
        memory_mb=settings.memory_mb,
        out_of_memory=sorted(set(runner.memory_meter.violations)),
        memory_unattributed=runner.memory_meter.unattributed,
    )
    if args.dump:
        dump(args.dump, stored, dead)
    if args.json:
        sent_rows = [
            {"message_id": message_id, "body": body, "content": sender.contents[message_id]}
            | ({"group": sender.groups[message_id]} if message_id in sender.groups else {})
            for message_id, body in sent.items()
        ]
        output = {"summary": asdict(report), "sent": sent_rows, "stored": stored, "dead_letter": dead}
        print(json.dumps(output, default=str, indent=2))
    else:
        print_tables(stored, dead, args.rows)
        print_summary(report, dead)
        print(f"Function logs and metrics: {shown(LOG_FILE)}; every message's path: "
              f"{shown(TRACE_FILE)} (make trace ID=<N or message id>)")  # fmt: skip
    if args.trace:
        print_trace(journal.events, args.trace)
    return report


def print_trace(events: list[dict[str, Any]], wanted: str) -> bool:
    try:
        message_id = find_message(events, wanted)
    except LookupError as error:
        print(f"--trace {error}", file=sys.stderr)
        return False
    print("\n" + "\n".join(trace_lines(events, message_id)))
    return True


@dataclass
class Progress:
    """A live line on a terminal while a run drains: messages ended, sent, rate. Silent when not a terminal."""

    stream: TextIO
    total: int
    ended: Callable[[], int]
    sent: Callable[[], int]
    interval: float = 0.5
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Progress:
        self.started = time.monotonic()
        if self.stream.isatty():
            self._thread = threading.Thread(target=self._run, name="local-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self.stream.isatty():
            self._thread.join(timeout=5)
            self.stream.write("\r\033[K")  # the summary replaces the line
            self.stream.flush()

    def line(self) -> str:
        seconds = time.monotonic() - self.started
        ended = self.ended()
        return (
            f"  {ended:,}/{self.total:,} messages ended, {self.sent():,} sent, "
            f"{ended / seconds if seconds else 0:,.0f} messages/s, {seconds:,.1f} s"
        )

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.stream.write("\r\033[K" + self.line())
            self.stream.flush()


def trace_main(argv: list[str] | None = None) -> int:
    """`make trace ID=...`: one message's path in the last run, from local-output/trace.jsonl."""
    parser = argparse.ArgumentParser(prog="make trace", description=trace_main.__doc__)
    parser.add_argument("message", help="N for the Nth sent, its id, or a unique prefix of it")
    args = parser.parse_args(argv)
    if not TRACE_FILE.is_file():
        parser.error(f"{shown(TRACE_FILE)} does not exist yet: run make local first")
    return 0 if print_trace(read_journal(TRACE_FILE), args.message) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with aws_endpoints(args.sqs_endpoint, args.dynamodb_endpoint, args.s3_endpoint) as where:
        if not args.json:
            print(f"Local pipeline: {where}; settings from template.yaml", file=sys.stderr)
        report = run(args)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(trace_main(sys.argv[2:]) if sys.argv[1:2] == ["trace"] else main())
