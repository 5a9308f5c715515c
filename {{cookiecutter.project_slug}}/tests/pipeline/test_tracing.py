# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Tracing: each function's entry is wrapped by Powertools' Tracer and names what X-Ray should find it by.

X-Ray itself is off here (Powertools turns the Tracer off outside Lambda); template.yaml turns it on
(`Tracing: Active`, checked in tests/template/) and chained invokes carry the execution's trace.
"""

from __future__ import annotations

{% if cookiecutter.step_mode == 'lambda_invoke' -%}
import contextlib
{% endif -%}
import json
from typing import Any

import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from conftest import REFERENCE_MESSAGE

from local import pipeline
from local.events import sqs_event, sqs_record
{% if cookiecutter.step_mode == 'lambda_invoke' -%}
from pipeline_runtime import step_function
{% endif %}
ORCHESTRATOR = pipeline.orchestrator_module()


@pytest.fixture
def annotations(monkeypatch) -> list[tuple[str, Any]]:
    recorded: list[tuple[str, Any]] = []
    tracers = [ORCHESTRATOR.tracer{% if cookiecutter.step_mode == 'lambda_invoke' %}, step_function.tracer{% endif %}]
    for tracer in tracers:
        monkeypatch.setattr(tracer, "put_annotation", lambda key, value: recorded.append((key, value)))
    return recorded


def test_entry_points_are_traced_without_their_payloads():
    entries = [ORCHESTRATOR.handler{% if cookiecutter.step_mode == 'lambda_invoke' %}, step_function.handler{% endif %}]
    for entry in entries:
        assert entry.__code__.co_filename.endswith("aws_lambda_powertools/tracing/tracer.py")  # outermost


def test_an_execution_is_annotated_with_its_id_and_size(aws, annotations):
    with pipeline.make_runner() as runner:
        result = runner.run(input=sqs_event([sqs_record(REFERENCE_MESSAGE)]), execution_timeout=60)

    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert json.loads(result.result)["counts"]["stored"] == 1
    executions = {value for key, value in annotations if key == "execution_id"}
    assert len(executions) == 1 and ("records", 1) in annotations
{%- if cookiecutter.step_mode == 'lambda_invoke' %}


def test_a_step_function_is_annotated_with_its_step_and_execution(aws, annotations, monkeypatch, lambda_context):
    monkeypatch.setenv("STEP_NAME", "{{ naming().parse_steps(cookiecutter.step_names)[0] }}")
    step_function.deployed_step_module.cache_clear()
    request = {"step": "x", "role": "validate", "execution_id": "arn:execution", "sources": [], "select": "all"}

    with contextlib.suppress(Exception):  # an empty request may fail: the annotations come first
        step_function.handler(request, lambda_context)
    step_function.deployed_step_module.cache_clear()

    assert ("step", "{{ naming().parse_steps(cookiecutter.step_names)[0] }}") in annotations
    assert ("execution_id", "arn:execution") in annotations
{%- endif %}
