# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Poll SQS and run the orchestrator the way Lambda's SQS event source mapping does.

As Lambda: batches of batch_size records and 6 MB within the batching window, several in flight,
successes deleted, batchItemFailures redelivered (so the redrive policy applies). From a FIFO queue,
moto's SQS hands out a message group's messages in order and none while one of them is in flight. Faster: gathering
stops when nothing more is visible, failures come back after `retry_after` seconds, and an execution
past `execution_deadline` is stopped and its batch handed back, as Lambda does on a timeout.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from aws_durable_execution_sdk_python.execution import InvocationStatus
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner
from botocore.exceptions import ClientError

from local import internals
from local.events import event_bytes, sqs_event, sqs_record
from local.journal import Journal
from local.template_values import PipelineSettings
from pipeline_runtime.quotas import MAX_SYNC_PAYLOAD_BYTES


@dataclass
class PollStats:
    batches: int = 0
    failed_executions: int = 0
    timed_out_executions: int = 0
    redeliveries: int = 0
    largest_batch_bytes: int = 0
    finished: int = 0  # messages deleted: stored or dead-lettered for good
    outcomes: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def finish(self) -> None:
        with self._lock:
            self.finished += 1

    def add(
        self, counts: dict[str, int], failed_execution: bool, timed_out: bool, redeliveries: int, batch_bytes: int
    ) -> None:
        with self._lock:
            self.batches += 1
            self.failed_executions += failed_execution
            self.timed_out_executions += timed_out
            self.redeliveries += redeliveries
            self.largest_batch_bytes = max(self.largest_batch_bytes, batch_bytes)
            for outcome, count in counts.items():
                self.outcomes[outcome] = self.outcomes.get(outcome, 0) + count


def lambda_attributes(message: dict[str, Any]) -> dict[str, Any]:
    """A received message's attributes as an SQS event record spells them."""
    return {
        name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
        for name, value in message.get("MessageAttributes", {}).items()
        if "StringValue" in value
    }


@dataclass
class EventSourceMapping:
    runner: DurableFunctionTestRunner
    settings: PipelineSettings
    queue_url: str
    concurrent_batches: int = 5  # what Lambda starts an SQS event source mapping with
    retry_after: int = 0
    execution_deadline: float = 60
    stats: PollStats = field(default_factory=PollStats)
    failures: list[str] = field(default_factory=list)  # why executions failed, for the report
    received: list[dict[str, Any]] = field(default_factory=list)  # received, not yet in a batch
    journal: Journal | None = None  # what happened to each message, for make local's breakdown and --trace
    function_name: str = "OrchestratorFunction"  # the execution's function, as the template names it

    def __post_init__(self) -> None:
        self.sqs = boto3.client("sqs")
        self.queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def queue_depth(self) -> tuple[int, int]:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        """The event record Lambda builds from a received message."""
        return sqs_record(
            message["Body"],
            message_id=message["MessageId"],
            receive_count=int(message["Attributes"]["ApproximateReceiveCount"]),
            queue_arn=self.queue_arn,
            group=message["Attributes"].get("MessageGroupId"),  # a FIFO queue's
            raw=True,
        ) | {"receiptHandle": message["ReceiptHandle"], "messageAttributes": lambda_attributes(message)}

    def receive(self, wanted: int) -> list[dict[str, Any]]:
        """Up to `wanted` (at most 10) more messages, kept until a batch takes them (one a 6 MB batch left out)."""
        if not self.received:
            self.received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, wanted),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        return self.received

    def gather_batch(self) -> list[dict[str, Any]]:
        """Up to batch_size messages whose event stays within 6 MB; one that would not fit waits for the next.

        Past the batching window it polls no more, but keeps what it already received together: two batches
        must never split one receive, which from a FIFO queue can hold several messages of one group."""
        deadline = time.monotonic() + self.settings.max_batching_window_seconds
        messages: list[dict[str, Any]] = []
        size = event_bytes([])
        while len(messages) < self.settings.batch_size and self.receive(self.settings.batch_size - len(messages)):
            record = self.record(self.received[0])
            record_size = event_bytes([record, record]) - event_bytes([record])  # with its ", " separator
            if messages and size + record_size > MAX_SYNC_PAYLOAD_BYTES:
                break  # it opens the next batch
            messages.append(self.received.pop(0))
            size += record_size
            if time.monotonic() >= deadline and not self.received:  # what one receive brought stays in one batch
                break
        return messages

    def process_batch(self, messages: list[dict[str, Any]]) -> None:
        event = sqs_event([self.record(message) for message in messages])
        name = f"batch-{uuid.uuid4()}"
        for message in messages:
            self.note(
                message["MessageId"], "received", execution=name, records=len(messages),
                delivery=int(message["Attributes"]["ApproximateReceiveCount"]),
            )  # fmt: skip
        arn = self.runner.run_async(
            input=event,
            execution_timeout=self.settings.execution_timeout_seconds,
            function_name=self.function_name,
            execution_name=name,
        )
        result = self.wait_for(arn)
        if result is None:  # past execution_deadline
            # The runner has no public stop. Not awaited, in case the execution's lane is the stuck part.
            threading.Thread(target=internals.stop_execution, args=(self.runner, arn), daemon=True).start()
        if result is not None and result.status is InvocationStatus.SUCCEEDED:
            output = json.loads(result.result)
            failed = {item["itemIdentifier"] for item in output["batchItemFailures"]}
            counts = output["counts"]
        else:  # a failed or timed-out execution hands the whole batch back to SQS
            failed, counts = {m["MessageId"] for m in messages}, {}
            # In Lambda the batch comes back after the visibility timeout, which outlasts any invocation of the
            # execution: a step invocation still storing when the execution failed has ended by then. Here it comes
            # back as soon as none runs, so a redelivery never races it (stored and then redriven to the DLQ).
            meter = getattr(self.runner, "memory_meter", None)
            if meter is not None:
                meter.wait_idle(arn, self.settings.function_timeout_seconds)
            if result is not None:
                self.failures.append(str(result.error))
        self.stats.add(
            counts,
            failed_execution=result is not None and result.status is not InvocationStatus.SUCCEEDED,
            timed_out=result is None,
            redeliveries=len(failed),
            batch_bytes=len(event.encode()),
        )
        status = "timed out" if result is None else f"{result.status.value.lower()}"
        for message in messages:
            self.note(
                message["MessageId"], "batch_ended", execution=name, status=status, outcome=self.settle(message, failed)
            )

    def settle(self, message: dict[str, Any], failed: set[str]) -> str:
        """Delete a message the execution finished, or hand it back to SQS; what became of it."""
        if message["MessageId"] not in failed:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            self.stats.finish()
            return "deleted from the queue"
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=self.retry_after
            )
        except ClientError:  # the pipeline deleted it when it ended (stored or dead-lettered)
            self.stats.finish()
            return "already deleted when it ended"
        return "handed back to SQS"

    def wait_for(self, arn: str) -> Any:
        """The execution's result, or None past execution_deadline. One wait: the runner cancels what a wait
        that times out was waiting for, so a shorter one would lose the result."""
        try:
            return self.runner.wait_for_result(arn, timeout=self.execution_deadline)
        except TimeoutError:
            return None

    def note(self, message_id: str, what: str, **details: Any) -> None:
        if self.journal is not None:
            self.journal.add(message_id, what, **details)

    def drain(
        self,
        timeout: float,
        progress: Callable[[int, int], None] | None = None,
        more_coming: Callable[[], bool] = lambda: False,
    ) -> bool:
        """Poll until the queue holds nothing visible or in flight and `more_coming()` is false;
        False if `timeout` ran out first."""
        deadline = time.monotonic() + timeout
        last_progress = 0.0
        in_flight: list[threading.Thread] = []
        errors: list[BaseException] = []

        def run(messages: list[dict[str, Any]]) -> None:
            try:
                self.process_batch(messages)
            except BaseException as error:  # a harness error surfaces in drain instead of hiding
                errors.append(error)

        while time.monotonic() < deadline:
            in_flight = [thread for thread in in_flight if thread.is_alive()]
            if errors:
                raise errors[0]
            if len(in_flight) < self.concurrent_batches:
                messages = self.gather_batch()
                if messages:
                    # Daemon threads: when `timeout` runs out, a batch still running does not hold up the exit.
                    thread = threading.Thread(target=run, args=(messages,), name="esm-batch", daemon=True)
                    thread.start()
                    in_flight.append(thread)
                    continue
                if not in_flight:
                    # Asked before the depth: a send that ends between the two is then counted, not lost.
                    coming = more_coming()
                    visible, invisible = self.queue_depth()
                    if progress:
                        progress(visible, invisible)
                    if visible == 0 and invisible == 0 and not coming:
                        return True
            elif progress and time.monotonic() - last_progress >= 1:  # moto counts a queue slowly
                last_progress = time.monotonic()
                progress(*self.queue_depth())
            time.sleep(0.02)
        return False
