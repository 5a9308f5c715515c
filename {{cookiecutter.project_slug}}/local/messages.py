# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""The messages a local run sends: the reference ones, generated ones, or a file's; fed to the queue as it drains."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.journal import Journal
from local.template_values import PROJECT_ROOT
from pipeline_runtime.quotas import MAX_SQS_MESSAGE_BYTES

REFERENCE_EVENT = PROJECT_ROOT / "events" / "sqs-batch.json"
EXTRA_MESSAGES = [
    {"data_source": "orders.csv", "processing_type": "standard"},
    {"data_source": "clickstream.json", "processing_type": "priority"},
    {"data_source": "", "processing_type": 42},  # invalid: two violations, so it shows in the DLQ
]


def message_bodies(count: int | None = None, messages: Path | None = None, seed: int = 1) -> list[str]:
    """A file's lines, `count` generated messages (about 10% invalid), or the reference and three more."""
    if messages:
        return [line for line in messages.read_text(encoding="utf-8").splitlines() if line.strip()]
    if count is not None:
        rng = random.Random(seed)  # noqa: S311 - test data
        invalid = [{"processing_type": "standard"}, {"data_source": 7, "processing_type": ""}, "not json"]
        bodies = []
        for i in range(count):
            if rng.random() < 0.1:
                choice = rng.choice(invalid)
                bodies.append(choice if isinstance(choice, str) else json.dumps(choice))
            else:
                kind = rng.choice(["standard", "priority"])
                bodies.append(json.dumps({"data_source": f"file-{i}.csv", "processing_type": kind}))
        return bodies
    reference = json.loads(REFERENCE_EVENT.read_text())["Records"][0]["body"]
    return [reference, *(json.dumps(message) for message in EXTRA_MESSAGES)]


def request_chunks(bodies: list[str]) -> list[list[int]]:
    """Indexes of bodies per SendMessageBatch request: 10 messages and 1 MiB at most."""
    chunks: list[list[int]] = []
    size = 0
    for index, body in enumerate(bodies):
        body_size = len(body.encode())
        if not chunks or len(chunks[-1]) == 10 or size + body_size > MAX_SQS_MESSAGE_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(index)
        size += body_size
    return chunks


FIFO_GROUPS = 7  # message groups a local run spreads a FIFO queue's messages over: several per batch, in order


def group_of(index: int) -> str:
    return f"group-{index % FIFO_GROUPS}"


@dataclass
class Sender:
    """Sends the records in order, each as its message format's body (`wrap`), keeping at most `window` of them
    unfinished in the queue; to a FIFO queue, each in group `group_of(index)` with its own deduplication id.

    moto's server scans every message in a queue on each receive, so a run that queued thousands at
    once would spend its time there; a producer feeding a queue as it drains is also closer to how
    a pipeline is used. `finished()` counts the messages the event source mapping deleted.
    """

    sqs: Any
    queue_url: str
    bodies: list[str]
    finished: Callable[[], int]
    window: int = 50
    wrap: Callable[[str, int], str] = lambda content, index: content  # record text -> body (local/formats.py)
    sent: dict[str, str] = field(default_factory=dict)  # message id -> body, in send order
    contents: dict[str, str] = field(default_factory=dict)  # message id -> the record text its body carries
    groups: dict[str, str] = field(default_factory=dict)  # message id -> its FIFO message group
    keys: dict[str, int] = field(default_factory=dict)  # message id -> position in `bodies`
    keys_lock: threading.Lock = field(default_factory=threading.Lock)  # held while a request's keys are recorded
    error: BaseException | None = None
    journal: Journal | None = None  # each message's sending, for make local's --trace
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Sender:
        self._thread = threading.Thread(target=self._run, name="local-sender", daemon=True)
        self._thread.start()
        return self

    def sending(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> dict[str, str]:
        """Stop sending (what is not sent yet stays unsent); returns what was sent."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        if self.error:
            raise self.error
        return self.sent

    def queued(self) -> int:
        """Messages sent and not finished: counted by the queue itself once the window looks full (a message
        SQS's redrive moved to the dead-letter queue was never deleted by the event source mapping)."""
        unfinished = len(self.sent) - self.finished()
        if unfinished < self.window:
            return unfinished
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def _run(self) -> None:
        try:
            wrapped = [self.wrap(content, index) for index, content in enumerate(self.bodies)]
            for chunk in request_chunks(wrapped):
                while self.queued() >= self.window:
                    if self._stop.wait(0.2):
                        return
                fifo = self.queue_url.endswith(".fifo")
                entries = [
                    {
                        "Id": str(index),
                        "MessageBody": wrapped[index],
                        **({"MessageGroupId": group_of(index), "MessageDeduplicationId": str(index)} if fifo else {}),
                    }
                    for index in chunk
                ]
                bodies = {entry["Id"]: entry["MessageBody"] for entry in entries}
                with self.keys_lock:  # a fault plan waits for these keys rather than miss one
                    sending_at = time.monotonic()  # the queue can deliver before the call returns
                    response = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
                    for entry in response.get("Successful", []):
                        self.keys[entry["MessageId"]] = int(entry["Id"])
                        self.sent[entry["MessageId"]] = bodies[entry["Id"]]
                        self.contents[entry["MessageId"]] = self.bodies[int(entry["Id"])]
                        if fifo:
                            self.groups[entry["MessageId"]] = group_of(int(entry["Id"]))
                        if self.journal is not None:
                            self.journal.add(
                                entry["MessageId"], "sent", at=sending_at, body=self.bodies[int(entry["Id"])][:200]
                            )
                if len(response.get("Successful", [])) != len(entries):
                    raise SystemExit(f"SQS refused messages: {response.get('Failed')}")
        except BaseException as error:  # reported by stop()
            self.error = error
