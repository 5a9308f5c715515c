# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Shared fixtures: offline AWS settings, an in-process AWS (moto), the durable test runner."""

from __future__ import annotations

import os

# Before any boto3 client exists: never reach a real account from the tests.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "{{ cookiecutter.aws_region }}",
        "POWERTOOLS_METRICS_NAMESPACE": "{{ cookiecutter.project_slug }}-tests",
    }
)

from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import aws_limits, pipeline
from local.template_values import PipelineSettings, load_settings
from pipeline_runtime import clients

STEP_MODULES = pipeline.step_modules()
STEPS = tuple(STEP_MODULES)
REFERENCE_MESSAGE = '{"data_source": "test.csv", "processing_type": "standard"}'


@dataclass
class LocalAws:
    settings: PipelineSettings
    resources: dict[str, str]

    def ledger(self) -> list[dict[str, Any]]:
        """Every message's ending as the table records it: stored items and dead-letter markers."""
        table = boto3.resource("dynamodb").Table(self.resources["table_name"])
        page = table.scan(ConsistentRead=True)
        items = page["Items"]
        while "LastEvaluatedKey" in page:  # a scan page holds 1 MB
            page = table.scan(ConsistentRead=True, ExclusiveStartKey=page["LastEvaluatedKey"])
            items += page["Items"]
        return items

    def stored_items(self) -> list[dict[str, Any]]:
        return [item for item in self.ledger() if item["status"] == "stored"]

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every message in the DLQ (received once, kept invisible)."""
        sqs, messages = boto3.client("sqs"), []
        while batch := sqs.receive_message(
            QueueUrl=self.resources["dead_letter_queue_url"],
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=300,
        ).get("Messages", []):
            messages += batch
        return messages

    def ending(self, message_id: str) -> str | None:
        """How the table records a message's end: `stored`, `dead_lettered`, or None."""
        item = (
            boto3.resource("dynamodb")
            .Table(self.resources["table_name"])
            .get_item(Key={"record_id": message_id}, ConsistentRead=True)
            .get("Item")
        )
        return item["status"] if item else None


def clear_client_caches() -> None:
    """Clients are kept per process; each test's moto must get fresh ones."""
    clients.reset()


@pytest.fixture(scope="session")
def settings() -> PipelineSettings:
    return load_settings()


@pytest.fixture
def aws(settings: PipelineSettings) -> Iterator[LocalAws]:
    """Queue, DLQ and table as template.yaml declares them, in moto; function env pointed at them."""
    with mock_aws():
        aws_limits.install()  # SQS's real message limit, on the session moto just made
        resources = pipeline.create_resources(settings, table_name="processed-data-test", queue_name="input")
        clear_client_caches()
        with pipeline.environment(pipeline.function_environment(settings, resources)):
            yield LocalAws(settings, resources)
        clear_client_caches()


@pytest.fixture
def lambda_context() -> SimpleNamespace:
    return SimpleNamespace(
        function_name="test-function",
        memory_limit_in_mb=256,
        invoked_function_arn="arn:aws:lambda:{{ cookiecutter.aws_region }}:123456789012:function:test-function",
        aws_request_id="test-request",
    )
