# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Each function's role grants exactly the AWS actions its code calls, and what Lambda calls with it for it.

The calls are recorded (local/aws_calls.py) while one batch takes every path through the pipeline: stored,
rejected at the door, failed in a step on its last delivery, and a record too large for a checkpoint and for
an item, which travels through the payload bucket. The roles are read from template.yaml as CloudFormation
gets it (aws-sam-translator).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from conftest import REFERENCE_MESSAGE, STEPS

from local import pipeline
from local.events import sqs_event, sqs_record
from local.template_values import TEMPLATE_PATH
from pipeline_runtime import current_message_id
from tools.sam_to_cfn import translate

# What Lambda itself calls with a function's role, from AWS's documentation, not from the function's code.
FOR_EVERY_FUNCTION = {
    "logs:CreateLogStream",  # its log group exists (template.yaml): Lambda creates streams and writes to them
    "logs:PutLogEvents",
    "xray:PutTraceSegments",  # Tracing: Active (lambda/latest/dg/services-xray.html)
    "xray:PutTelemetryRecords",
}
FOR_THE_ORCHESTRATOR = {
    # The SQS event source mapping polls with the function's role (lambda/latest/dg/with-sqs.html).
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    # The durable SDK checkpoints and reads its execution's state (lambda/latest/dg/durable-security.html).
    "lambda:CheckpointDurableExecution",
    "lambda:GetDurableExecutionState",
}
FAILS_IN_A_STEP = "fails-in-a-step"
FAILS_FROM_THE_BUCKET = "too-large-for-a-checkpoint-and-fails"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def granted(cfn: dict[str, Any]) -> dict[str, set[str]]:
    """Each function's logical id -> the actions its role allows (inline policies and attached role policies)."""
    statements: dict[str, list[dict[str, Any]]] = {}
    for name, resource in cfn.items():
        if resource["Type"] == "AWS::IAM::Role":
            assert not resource["Properties"].get("ManagedPolicyArns"), name
            policies = resource["Properties"].get("Policies", [])
            statements[name] = [st for policy in policies for st in policy["PolicyDocument"]["Statement"]]
    for resource in cfn.values():
        if resource["Type"] in ("AWS::IAM::RolePolicy", "AWS::IAM::Policy"):
            properties = resource["Properties"]
            for role in [properties["RoleName"]] if "RoleName" in properties else properties["Roles"]:
                statements[role["Ref"]] += properties["PolicyDocument"]["Statement"]
    actions = {}
    for name, resource in cfn.items():
        if resource["Type"] == "AWS::Lambda::Function":
            role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
            allowed = [statement for statement in statements[role] if statement["Effect"] == "Allow"]
            actions[name] = {action for statement in allowed for action in as_list(statement["Action"])}
    return actions


@pytest.fixture
def called(aws, settings) -> dict[str, set[str]]:
    """Each function -> the actions its code called while one batch took every path."""

    def fail_one(step: str, function: Any) -> Any:
        def wrapped(data: Any) -> Any:
            if step == STEPS[-2] and current_message_id() in (FAILS_IN_A_STEP, FAILS_FROM_THE_BUCKET):
                raise ValueError("a bug in this step, met on the last delivery")
            return function(data)

        return wrapped

    large = json.dumps({"data_source": "big.csv", "processing_type": "standard", "padding": "x" * 300_000})
    records = [
        sqs_record(REFERENCE_MESSAGE, message_id="stored"),
        sqs_record("not json", message_id="rejected-at-the-door"),
        sqs_record(REFERENCE_MESSAGE, message_id=FAILS_IN_A_STEP, receive_count=settings.max_receive_count),
        sqs_record(large, message_id="through-the-payload-bucket", pad_to=len(large)),  # an S3 event: its body too
        # staged in the bucket whatever the waves: settling reads it back to dead-letter it
        sqs_record(
            large, message_id=FAILS_FROM_THE_BUCKET, receive_count=settings.max_receive_count, pad_to=len(large)
        ),
    ]
    with pipeline.make_runner(wrap_step=fail_one) as runner:
        runner.aws_calls.install()
        runner.aws_calls.recording = True
        result = runner.run(input=sqs_event(records), execution_timeout=120)
        runner.aws_calls.recording = False
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert json.loads(result.result)["batchItemFailures"] == []
    assert {message: aws.ending(message) for message in ("stored", "through-the-payload-bucket")} == dict.fromkeys(
        ("stored", "through-the-payload-bucket"), "stored"
    )
    assert {aws.ending(message) for message in (FAILS_IN_A_STEP, FAILS_FROM_THE_BUCKET, "rejected-at-the-door")} == {
        "dead_lettered"
    }
    assert not runner.aws_calls.unattributed, runner.aws_calls.unattributed
    return dict(runner.aws_calls.actions)


def test_each_role_grants_exactly_what_its_function_calls(called):
    roles = granted(translate(TEMPLATE_PATH)["Resources"])
    assert set(called) <= set(roles)
    for function, actions in roles.items():
        needed = called.get(function, set()) | FOR_EVERY_FUNCTION
        if function == "OrchestratorFunction":
            needed |= FOR_THE_ORCHESTRATOR
        assert actions - needed == set(), f"{function} is granted actions its code never calls"
        assert needed - actions == set(), f"{function} calls actions its role does not grant"
