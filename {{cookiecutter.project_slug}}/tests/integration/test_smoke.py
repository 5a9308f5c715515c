# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""`make smoke` against a stack on local servers: the code a deployed stack meets, only the endpoints differ.

moto's server holds the queue, DLQ and table as template.yaml declares them, and a stack whose outputs
name them; the local event source mapping runs the orchestrator on what arrives while tools/smoke.py
runs as `make smoke` runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import boto3
import pytest

from local import pipeline
from local.esm import EventSourceMapping
from local.servers import moto_server, stand_in_stack
from local.template_values import PROJECT_ROOT
from pipeline_runtime import clients

pytestmark = pytest.mark.integration
STACK = "smoke-test-stack"


def run_smoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "tools/smoke.py", "--stack", STACK, "--region", os.environ["AWS_DEFAULT_REGION"], *args],
        cwd=PROJECT_ROOT, env=env or dict(os.environ), capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


@pytest.fixture
def local_servers() -> Iterator[str]:
    """moto's server; every boto3 client of this process and of the smoke's process pointed at it."""
    with moto_server() as url, pipeline.environment({"AWS_ENDPOINT_URL": url}):
        clients.reset()
        yield url
        clients.reset()


def test_smoke_passes_and_cleans_up_against_the_local_stack(local_servers, settings):
    resources = pipeline.create_resources(settings, table_name="smoke-table", queue_name="smoke-input")
    stand_in_stack(STACK, resources)
    smoke_done = threading.Event()
    with (
        pipeline.environment(pipeline.function_environment(settings, resources)),
        pipeline.make_runner() as runner,
    ):
        esm = EventSourceMapping(runner, settings, resources["queue_url"])
        poller = threading.Thread(
            target=esm.drain, args=(150,), kwargs={"more_coming": lambda: not smoke_done.is_set()}
        )
        poller.start()
        try:
            result = run_smoke("--timeout", "90")
        finally:
            smoke_done.set()
            poller.join(timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"Stack {STACK}: queue {resources['queue_url']}, table smoke-table" in out
    assert "  stored after " in out and "  dead-lettered after " in out and "validation_failed" in out
    assert out.rstrip().endswith("make smoke: passed")
    table = boto3.client("dynamodb").scan(TableName="smoke-table", ConsistentRead=True)["Items"]
    assert table == []  # the item and the marker it made, removed
    left = boto3.client("sqs").receive_message(QueueUrl=resources["dead_letter_queue_url"], WaitTimeSeconds=0)
    assert left.get("Messages", []) == []


def test_smoke_fails_clearly_when_nothing_processes_the_queue(local_servers, settings):
    resources = pipeline.create_resources(settings, table_name="idle-table", queue_name="idle-input")
    stand_in_stack(STACK, resources)

    result = run_smoke("--timeout", "1")

    assert result.returncode == 1
    assert "FAILED: the reference message" in result.stdout
    assert "was not stored in idle-table within 1 s" in result.stdout
    assert result.stdout.count("left in place: ") == 2  # nothing deleted that had not landed
    assert "FAILED: the invalid message" in result.stdout


def test_smoke_names_a_missing_stack(local_servers):
    result = run_smoke("--timeout", "3")

    assert result.returncode == 1
    assert result.stderr.startswith("make smoke: FAILED, ") and STACK in result.stderr


def test_smoke_is_skipped_without_credentials(tmp_path):
    no_credentials = {
        **{key: value for key, value in os.environ.items() if not key.startswith("AWS_")},
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }

    result = run_smoke(env=no_credentials)

    assert result.returncode == 0
    assert result.stdout.strip() == (
        "make smoke: SKIPPED, no AWS credentials configured (aws configure, or AWS_PROFILE); nothing was sent"
    )
