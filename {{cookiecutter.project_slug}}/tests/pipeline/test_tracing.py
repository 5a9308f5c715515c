# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Tracing: each function's entry is wrapped by Powertools' Tracer and names what X-Ray should find it by.

X-Ray itself is off here (Powertools turns the Tracer off outside Lambda); template.yaml turns it on
(`Tracing: Active`, checked in tests/template/) and chained invokes carry the execution's trace.
"""

from __future__ import annotations

import contextlib
{% if cookiecutter.step_mode == 'durable_step' -%}
import importlib
{% endif -%}
import json
{% if cookiecutter.step_mode == 'durable_step' -%}
from types import SimpleNamespace
{% endif -%}
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
        cells = [cell.cell_contents for cell in entry.__closure__]
        settings = dict(zip(entry.__code__.co_freevars, cells, strict=True))
        assert settings["capture_response"] is False  # records never go into a trace


def test_an_execution_is_annotated_with_its_id_and_size(aws, annotations):
    with pipeline.make_runner() as runner:
        result = runner.run(input=sqs_event([sqs_record(REFERENCE_MESSAGE)]), execution_timeout=60)

    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert json.loads(result.result)["counts"]["stored"] == 1
    executions = {value for key, value in annotations if key == "execution_id"}
    assert len(executions) == 1 and ("records", 1) in annotations
{%- if cookiecutter.step_mode == 'lambda_invoke' %}


def test_a_step_function_is_annotated_with_its_step_and_execution(aws, annotations, monkeypatch, lambda_context):
    monkeypatch.setenv("STEP_NAME", "{{ rules().parse_steps(cookiecutter.step_names)[0] }}")
    step_function.deployed_step_module.cache_clear()
    request = {"step": "x", "role": "validate", "execution_id": "arn:execution", "sources": [], "select": "all"}

    with contextlib.suppress(Exception):  # an empty request may fail: the annotations come first
        step_function.handler(request, lambda_context)
    step_function.deployed_step_module.cache_clear()

    assert ("step", "{{ rules().parse_steps(cookiecutter.step_names)[0] }}") in annotations
    assert ("execution_id", "arn:execution") in annotations
{%- endif %}
{%- if cookiecutter.step_mode == 'durable_step' %}


def test_each_step_call_is_a_subsegment_named_and_annotated_by_its_step(aws, monkeypatch):
    inline_steps = importlib.import_module("inline_steps")
    opened: list[str] = []
    annotated: list[tuple[str, Any]] = []

    @contextlib.contextmanager
    def in_subsegment(name: str):
        opened.append(name)
        yield SimpleNamespace(put_annotation=lambda key, value: annotated.append((key, value)))

    monkeypatch.setattr(inline_steps.tracer.provider, "in_subsegment", in_subsegment)
    with pipeline.make_runner() as runner:
        result = runner.run(input=sqs_event([sqs_record(REFERENCE_MESSAGE)]), execution_timeout=60)

    assert result.status is InvocationStatus.SUCCEEDED, result.error
    steps = importlib.import_module("pipeline_config").STEPS
    assert [name for name in opened if name.startswith("## step ")] == [f"## step {step}" for step in steps]
    assert "## handler" in opened  # the orchestrator invocation's own, which they nest in
    assert [pair for pair in annotated if pair[0] == "step"] == [("step", step) for step in steps]
{%- endif %}
