# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""The local event source mapping: batches within 6 MB, a stuck execution's batch handed back to SQS, nothing left."""

from __future__ import annotations

import dataclasses
import json
import threading

import boto3
import pytest
from conftest import REFERENCE_MESSAGE, STEPS

from local import pipeline
from local.esm import EventSourceMapping
from local.events import fifo_fields
from local.formats import carried_body
from pipeline_runtime.message_formats import MESSAGE_FORMAT
from pipeline_runtime.quotas import MAX_SQS_MESSAGE_BYTES, MAX_SYNC_PAYLOAD_BYTES

pytestmark = pytest.mark.integration


def test_stuck_execution_is_stopped_and_its_batch_redelivered(aws):
    release = threading.Event()
    first_call = threading.Event()

    def wrap(step, function):
        def maybe_stuck(data):
            if step == STEPS[0] and not first_call.is_set():
                first_call.set()
                release.wait(timeout=60)  # the first execution hangs here until the test ends
            return function(data)

        return maybe_stuck

    queue_url = aws.resources["queue_url"]
    body = carried_body(REFERENCE_MESSAGE)
    boto3.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body, **fifo_fields(queue_url))
    try:
        with pipeline.make_runner(wrap_step=wrap) as runner:
            esm = EventSourceMapping(runner, aws.settings, aws.resources["queue_url"], execution_deadline=1)
            assert esm.drain(timeout=60)
    finally:
        release.set()

    assert esm.stats.timed_out_executions == 1
    if aws.settings.max_receive_count > 1:  # redelivered, and stored by the second execution
        assert esm.stats.batches == 2
        assert len(aws.stored_items()) == 1
    else:  # no delivery left: the redrive policy moves it to the dead-letter queue
        assert esm.stats.batches == 1
        assert len(aws.dead_letters()) == 1 and aws.stored_items() == []


def test_batches_stay_within_the_6_mb_a_synchronous_invoke_carries(aws):
    # Ten messages of nearly 1 MiB, a batch size of ten: Lambda would send them in two batches. A message
    # received but left out of a batch has used a receive, so the queue allows several (as AWS advises).
    settings = dataclasses.replace(aws.settings, batch_size=10, max_batching_window_seconds=1, max_receive_count=5)
    queue_url = pipeline.create_resources(settings, table_name="big-messages", queue_name="big-input")["queue_url"]
    notes = "n" * (MAX_SQS_MESSAGE_BYTES - 100)
    sqs = boto3.client("sqs")
    for number in range(10):  # SQS-sized bodies, sent as they are: an SNS message or an EventBridge event is smaller
        body = json.dumps({"data_source": f"big-{number}.csv", "processing_type": "standard", "notes": notes})
        sqs.send_message(QueueUrl=queue_url, MessageBody=body, **fifo_fields(queue_url))

    with pipeline.make_runner() as runner:
        esm = EventSourceMapping(runner, settings, queue_url, concurrent_batches=1)
        assert esm.drain(timeout=120)

    assert esm.stats.batches >= 2
    assert 5 * MAX_SQS_MESSAGE_BYTES < esm.stats.largest_batch_bytes <= MAX_SYNC_PAYLOAD_BYTES
    # Every one ended: stored, or, not in this project's message format, dead-lettered as invalid_body
    assert len(aws.stored_items()) == (10 if MESSAGE_FORMAT == "json" else 0)
    assert len(aws.stored_items()) + len(aws.dead_letters()) == 10


def test_a_message_sent_as_the_sender_finishes_is_still_drained(aws):
    # The sender ends its last send while the mapping looks at the queue: drain must see that message. (It once
    # read the depth first, then heard "nothing more coming", and left a whole run's messages behind.)
    queue_url = aws.resources["queue_url"]
    sent = threading.Event()

    def sender_finishing() -> bool:
        if not sent.is_set():
            body = carried_body(REFERENCE_MESSAGE)
            boto3.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body, **fifo_fields(queue_url))
            sent.set()
        return False  # the send above was its last

    with pipeline.make_runner() as runner:
        esm = EventSourceMapping(runner, aws.settings, queue_url)
        assert esm.drain(timeout=60, more_coming=sender_finishing)

    assert esm.stats.batches == 1
    assert len(aws.stored_items()) == 1
