"""Poll SQS and run the orchestrator the way Lambda's SQS event source mapping does.

Like the real one: batches of up to `batch_size` gathered for up to the batching window, several
batches in flight at once, the batch held invisible for the queue's visibility timeout while the
durable execution runs, successful messages deleted, `batchItemFailures` left for redelivery (and
so for the queue's redrive policy), and a failed execution returning the whole batch.

Unlike it, to finish in seconds: gathering stops early when the queue has nothing more visible,
failed messages become visible again after `retry_after` seconds instead of the rest of the
visibility timeout, and an execution still unfinished after `execution_deadline` seconds (not the
template's ExecutionTimeout) is stopped and its batch handed back, as Lambda does on a timeout.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from aws_durable_execution_sdk_python.execution import InvocationStatus
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

from local.events import sqs_event, sqs_record
from local.template_values import PipelineSettings


@dataclass
class PollStats:
    batches: int = 0
    failed_executions: int = 0
    timed_out_executions: int = 0
    redeliveries: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self, outcomes: dict[str, dict[str, Any]], failed_execution: bool, timed_out: bool, redeliveries: int
    ) -> None:
        with self._lock:
            self.batches += 1
            self.failed_executions += failed_execution
            self.timed_out_executions += timed_out
            self.redeliveries += redeliveries
            for outcome in outcomes.values():
                self.outcomes[outcome["outcome"]] = self.outcomes.get(outcome["outcome"], 0) + 1


@dataclass
class EventSourceMapping:
    runner: DurableFunctionTestRunner
    settings: PipelineSettings
    queue_url: str
    concurrent_batches: int = 5  # what Lambda starts an SQS event source mapping with
    retry_after: int = 0
    execution_deadline: float = 60
    stats: PollStats = field(default_factory=PollStats)

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

    def gather_batch(self) -> list[dict[str, Any]]:
        deadline = time.monotonic() + self.settings.max_batching_window_seconds
        messages: list[dict[str, Any]] = []
        while len(messages) < self.settings.batch_size:
            wanted = min(10, self.settings.batch_size - len(messages))
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=wanted,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += received
            if time.monotonic() >= deadline or len(received) < wanted:  # window over, or nothing more visible
                break
        return messages

    def process_batch(self, messages: list[dict[str, Any]]) -> None:
        records = [
            sqs_record(
                m["Body"],
                message_id=m["MessageId"],
                receive_count=int(m["Attributes"]["ApproximateReceiveCount"]),
                queue_arn=self.queue_arn,
            )
            | {"receiptHandle": m["ReceiptHandle"]}
            for m in messages
        ]
        arn = self.runner.run_async(
            input=sqs_event(records),
            execution_timeout=self.settings.execution_timeout_seconds,
            execution_name=f"batch-{uuid.uuid4()}",
        )
        try:
            result = self.runner.wait_for_result(arn, timeout=self.execution_deadline)
        except TimeoutError:
            result = None
            # Private: the runner has no public stop. Not awaited, in case the execution's lane is the stuck part.
            threading.Thread(target=self.runner._executor.stop_execution, args=(arn,), daemon=True).start()
        if result is not None and result.status is InvocationStatus.SUCCEEDED:
            output = json.loads(result.result)
            failed = {item["itemIdentifier"] for item in output["batchItemFailures"]}
            outcomes = output["outcomes"]
        else:  # a failed or timed-out execution hands the whole batch back to SQS
            failed, outcomes = {m["MessageId"] for m in messages}, {}
        self.stats.add(
            outcomes,
            failed_execution=result is not None and result.status is not InvocationStatus.SUCCEEDED,
            timed_out=result is None,
            redeliveries=len(failed),
        )
        for message in messages:
            if message["MessageId"] in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=self.retry_after
                )
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def drain(self, timeout: float, progress: Callable[[int, int], None] | None = None) -> bool:
        """Poll until the queue holds nothing visible or in flight; False if `timeout` ran out first."""
        deadline = time.monotonic() + timeout
        with ThreadPoolExecutor(max_workers=self.concurrent_batches) as pool:
            in_flight: set = set()
            while time.monotonic() < deadline:
                for future in [future for future in in_flight if future.done()]:
                    future.result()  # a harness error surfaces here instead of hiding
                    in_flight.remove(future)
                if len(in_flight) < self.concurrent_batches:
                    messages = self.gather_batch()
                    if messages:
                        in_flight.add(pool.submit(self.process_batch, messages))
                        continue
                    if not in_flight:
                        visible, invisible = self.queue_depth()
                        if progress:
                            progress(visible, invisible)
                        if visible == 0 and invisible == 0:
                            return True
                elif progress:
                    progress(*self.queue_depth())
                time.sleep(0.02)
        return False
