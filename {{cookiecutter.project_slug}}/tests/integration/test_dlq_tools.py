# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""`make dlq` and `make redrive` against a stack on local servers: dead-lettered -> fixed -> redriven -> stored.

moto's server holds the queues and the table, and a stand-in stack whose outputs name them (as for make
smoke); the local event source mapping runs the orchestrator on what arrives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import REFERENCE_MESSAGE, STEPS

from local import pipeline
from local.esm import EventSourceMapping
from local.events import fifo_fields
from local.formats import carried_body
from local.servers import moto_server, stand_in_stack
from local.template_values import PROJECT_ROOT
from pipeline_runtime import RecordRejected, clients
from tools import dlq

pytestmark = pytest.mark.integration
STACK = "dlq-test-stack"
NEEDS_THE_FIX = json.dumps({**json.loads(REFERENCE_MESSAGE), "needs_the_fix": True})


@pytest.fixture
def stack(settings) -> Iterator[dict[str, str]]:
    """moto's server, every boto3 client pointed at it, the pipeline's resources and a stack naming them."""
    with moto_server() as url, pipeline.environment({"AWS_ENDPOINT_URL": url}):
        clients.reset()
        resources = pipeline.create_resources(settings, table_name="dlq-table", queue_name="dlq-input")
        stand_in_stack(STACK, resources)
        with pipeline.environment(pipeline.function_environment(settings, resources)):
            yield resources
        clients.reset()


class Pipeline:
    """The deployed pipeline, locally: a step with a bug that rejects some records until it is fixed."""

    def __init__(self, settings: Any, resources: dict[str, str]):
        self.settings, self.resources, self.fixed = settings, resources, threading.Event()

    def step_with_a_bug(self, step: str, function: Any) -> Any:
        def wrapped(data: Any) -> Any:
            if step == STEPS[-1] and data.get("needs_the_fix") and not self.fixed.is_set():  # a dict in any chain
                raise RecordRejected(["needs_the_fix: this version cannot handle it"])
            return function(data)

        return wrapped

    def send(self, body: str) -> str:
        queue_url = self.resources["queue_url"]
        message = {"QueueUrl": queue_url, "MessageBody": carried_body(body), **fifo_fields(queue_url)}
        return boto3.client("sqs").send_message(**message)["MessageId"]

    def run(self) -> None:
        with pipeline.make_runner(wrap_step=self.step_with_a_bug) as runner:
            assert EventSourceMapping(runner, self.settings, self.resources["queue_url"]).drain(120)

    def ending(self, record_id: str) -> dict[str, Any] | None:
        item = boto3.client("dynamodb").get_item(
            TableName=self.resources["table_name"], Key={"record_id": {"S": record_id}}, ConsistentRead=True
        )
        return clients.from_dynamodb(item["Item"]) if "Item" in item else None

    def ledger(self) -> list[dict[str, Any]]:
        items = boto3.client("dynamodb").scan(TableName=self.resources["table_name"], ConsistentRead=True)["Items"]
        return [clients.from_dynamodb(item) for item in items]

    def dead_letter_count(self) -> int:
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=self.resources["dead_letter_queue_url"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(count) for count in attributes.values())


def make(command: str, *args: str) -> subprocess.CompletedProcess[str]:
    """tools/dlq.py as the Makefile runs it."""
    region = os.environ["AWS_DEFAULT_REGION"]
    return subprocess.run(
        [sys.executable, "tools/dlq.py", command, "--stack", STACK, "--region", region, *args],
        cwd=PROJECT_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_dead_lettered_then_fixed_then_redriven_is_stored_once(stack, settings):
    deployed = Pipeline(settings, stack)
    fixable, invalid = deployed.send(NEEDS_THE_FIX), deployed.send("not json")
    deployed.run()
    assert deployed.ending(fixable)["status"] == deployed.ending(invalid)["status"] == "dead_lettered"

    shown = make("show")

    assert shown.returncode == 0, shown.stderr
    assert "2 message(s) waiting" in shown.stdout
    assert "  validation_failed: 1, oldest " in shown.stdout and "  invalid_body: 1, oldest " in shown.stdout
    assert f"(record {fixable}): " in shown.stdout and "needs_the_fix" in shown.stdout
    assert deployed.dead_letter_count() == 2 and make("show").stdout.count("message(s) waiting") == 1  # left in place

    deployed.fixed.set()  # the cause, fixed and deployed
    redriven = make("redrive", "--reason", "validation_failed")

    assert redriven.returncode == 0, redriven.stderr
    assert redriven.stdout.rstrip().endswith(f"moved 1 validation_failed message(s) to {stack['queue_url']}")
    assert deployed.ending(fixable)["status"] == "redriven"
    deployed.run()
    item = deployed.ending(fixable)
    assert item["status"] == "stored" and item["transformed_data"]["needs_the_fix"] is True  # under its first id
    assert [entry["record_id"] for entry in deployed.ledger() if entry["status"] == "stored"] == [fixable]
    assert deployed.dead_letter_count() == 1 and "  invalid_body: 1" in make("show").stdout  # the other one stays


class SendsButCannotDelete:
    """A session whose SQS client fails to delete from the DLQ once: a redrive stopped between send and delete."""

    def __init__(self):
        self.session, self.failed = boto3.Session(), False

    def client(self, service: str) -> Any:
        client = self.session.client(service)
        if service == "sqs":
            delete = client.delete_message

            def delete_once_failing(**kwargs: Any) -> Any:
                if not self.failed:
                    self.failed = True
                    raise ConnectionError("the redrive was stopped here")
                return delete(**kwargs)

            client.delete_message = delete_once_failing
        return client


def test_a_redrive_stopped_after_its_send_is_run_again_and_the_message_is_stored_once(stack, settings):
    deployed = Pipeline(settings, stack)
    fixable = deployed.send(NEEDS_THE_FIX)
    deployed.run()
    deployed.fixed.set()

    with pytest.raises(ConnectionError):
        dlq.redrive(SendsButCannotDelete(), STACK, "validation_failed", say=lambda _line: None)
    assert deployed.dead_letter_count() == 1  # sent, and still in the DLQ: nothing lost
    lines: list[str] = []
    assert dlq.redrive(boto3.Session(), STACK, "validation_failed", say=lines.append) == 1  # sent a second time
    deployed.run()

    assert [(entry["record_id"], entry["status"]) for entry in deployed.ledger()] == [(fixable, "stored")]
    assert deployed.dead_letter_count() == 0


def test_redrive_names_what_it_needs(stack):
    result = make("redrive")

    assert result.returncode == 2 and "redrive needs REASON=<failure_reason>" in result.stderr
