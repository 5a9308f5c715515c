"""The local event source mapping hands a stuck execution's batch back to SQS, as Lambda does on a timeout."""

from __future__ import annotations

import threading

import boto3
import pytest
from conftest import REFERENCE_MESSAGE, STEPS

from local import pipeline
from local.esm import EventSourceMapping

pytestmark = pytest.mark.integration


def test_stuck_execution_is_stopped_and_its_batch_redelivered(aws):
    release = threading.Event()
    first_call = threading.Event()

    def wrap(step, handler):
        def maybe_stuck(event, context):
            if step == STEPS[0] and not first_call.is_set():
                first_call.set()
                release.wait(timeout=60)  # the first execution hangs here until the test ends
            return handler(event, context)

        return maybe_stuck

    boto3.client("sqs").send_message(QueueUrl=aws.resources["queue_url"], MessageBody=REFERENCE_MESSAGE)
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
