# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""The local servers: moto's (SQS, DynamoDB, S3) in its own process, where boto3 finds it; ports and readiness."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import boto3

from local import aws_limits


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(answers: Callable[[], object], process: subprocess.Popen, what: str, timeout: float) -> None:
    """Call `answers` until it stops raising; fail if the server process exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answers()
            return
        except Exception:  # not listening yet
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start on 127.0.0.1") from None
            time.sleep(0.1)


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
def aws_endpoints(sqs: str | None = None, dynamodb: str | None = None, s3: str | None = None) -> Iterator[str]:
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
        given = sqs and dynamodb and s3
        moto_url = "" if given else stack.enter_context(moto_server())
        os.environ["AWS_ENDPOINT_URL_SQS"] = sqs or moto_url
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb or moto_url
        os.environ["AWS_ENDPOINT_URL_S3"] = s3 or moto_url
        aws_limits.install()
        yield f"moto server on {moto_url}" if moto_url else "the given endpoints"


def stand_in_stack(name: str, resources: dict[str, str]) -> None:
    """A CloudFormation stack on moto's server with the template's outputs, naming the local resources: what
    make smoke, make dlq and make redrive read from a deployed stack."""
    outputs = {
        "InputQueueUrl": resources["queue_url"],
        "DeadLetterQueueUrl": resources["dead_letter_queue_url"],
        "ProcessedDataTableName": resources["table_name"],
        **({"SourceBucketName": resources["source_bucket"]} if "source_bucket" in resources else {}),
    }
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},  # a stack needs one resource
        "Outputs": {output: {"Value": value} for output, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
