# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Each step function's Lambda entry point (step_mode lambda_invoke): the runtime layer's handler."""

from __future__ import annotations

import functools
import importlib
import json
from typing import Any

import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from conftest import STEP_MODULES, STEPS

from local import pipeline
from local.events import sqs_event, sqs_record
from local.formats import as_sent, carried_body
from local.pipeline import FUNCTIONS
from pipeline_runtime import TransientStepError, current_message_id, step_function
from pipeline_runtime.naming import function_name_variable
from pipeline_runtime.steps import load_step
from tools.render_rules import logical_id

ORCHESTRATOR = pipeline.orchestrator_module()

VALIDATION = STEP_MODULES[STEPS[0]]
VALID_BODY = '{"data_source": "a.csv", "processing_type": "standard"}'


def test_the_deployed_handler_answers_a_request_of_this_version_and_of_3x(aws, monkeypatch, lambda_context):
    # A 3.x orchestrator's executions in flight during the upgrade deploy send this form to the new code.
    monkeypatch.setenv("STEP_NAME", STEPS[0])
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(FUNCTIONS / STEPS[0]))  # the step function's own folder
    step_function.deployed_step_module.cache_clear()
    request = {
        "step": STEPS[0],
        "role": "validate",
        "execution_id": "exec-1",
        "sources": [{"records": [{"id": "m-1", "status": "ok", "data": carried_body(VALID_BODY)}]}],
        "select": "ok",
        "originals": [],
        "output_key": "in-flight/test/validate-1.json",
        "inline_limit": 64 * 1024,
        "threads": 1,
    }

    reply = step_function.handler(request, lambda_context)

    [record] = reply["output"]["records"]
    assert record["status"] == "ok"
    assert as_sent(record["data"]) == json.loads(VALID_BODY)


# Pinned versions: each orchestrator version invokes the step versions it was deployed with (template.yaml names
# them by qualified ARN), and a durable execution stays on the orchestrator version it started with. Here a deploy
# lands while an execution waits to retry a step: the retry must reach the step code the execution started with.
class Deployments:
    """Step versions as Lambda holds them, and the environment each orchestrator version was deployed with."""

    def __init__(self, runner: Any, qualified: bool):
        self.runner, self.qualified = runner, qualified
        self.calls: list[tuple[str, int, str]] = []  # (step, version, message id)
        self.live: dict[str, str] = {}  # the environment of the orchestrator version the queue triggers
        self.bound: dict[str, dict[str, str]] = {}  # execution -> the environment of the version it started on
        self.version = 0

    def deploy(self) -> None:
        self.version += 1
        version, role = self.version, importlib.import_module("pipeline_config").role
        for step, module in STEP_MODULES.items():
            process = load_step(module, role(step))

            def called(data: Any, step: str = step, process: Any = process) -> Any:
                self.calls.append((step, version, current_message_id()))
                if step == STEPS[1] and self.version == 1:  # the first version's transform meets a throttle...
                    self.deploy()  # ...while the next version is deployed
                    raise TransientStepError("throttled while a deploy lands")
                return process(data)

            handler = functools.partial(step_function.handle, module=module, steps={role(step): called})
            self.runner.register_function(f"{logical_id(step)}:{version}", handler)  # a published version
            self.runner.register_function(logical_id(step), handler)  # $LATEST, which an unqualified name reaches
        qualifier = f":{version}" if self.qualified else ""
        self.live = {function_name_variable(step): f"{logical_id(step)}{qualifier}" for step in STEPS}

    def orchestrator(self, event: Any, context: Any) -> Any:
        environment = self.bound.setdefault(event.durable_execution_arn, dict(self.live))  # the runner passes an object
        with pipeline.environment(environment):
            return ORCHESTRATOR.handler(event, context)


@pytest.mark.parametrize("qualified", [True, False], ids=["pinned", "unqualified-as-before-v4"])
def test_an_execution_replayed_after_a_deploy_reaches_the_step_code_it_started_with(aws, qualified):
    holder: list[Deployments] = []
    with pipeline.make_runner(orchestrator=lambda event, context: holder[0].orchestrator(event, context)) as runner:
        deployments = Deployments(runner, qualified)
        holder.append(deployments)
        deployments.deploy()
        for message_id in ("started-before", "started-after"):  # the second starts once the deploy has landed
            event = sqs_event([sqs_record(VALID_BODY, message_id=message_id)])
            result = runner.run(input=event, execution_timeout=60)
            assert result.status is InvocationStatus.SUCCEEDED, result.error
            assert json.loads(result.result)["batchItemFailures"] == []

    retried = [
        version for step, version, message in deployments.calls if (step, message) == (STEPS[1], "started-before")
    ]
    started_after = {version for _step, version, message in deployments.calls if message == "started-after"}
    assert retried == ([1, 1] if qualified else [1, 2])  # unqualified, the retry ran code the execution never knew
    assert started_after == {2}
    assert {aws.ending(message) for message in ("started-before", "started-after")} == {"stored"}
