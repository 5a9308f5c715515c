# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""What CloudFormation would deploy, checked offline: template.yaml translated by aws-sam-translator."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

{% if cookiecutter.step_mode == 'lambda_invoke' -%}
from local import pipeline
{% endif -%}
from local.template_values import PROJECT_ROOT, TEMPLATE_PATH, load_template
{% if cookiecutter.step_mode == 'lambda_invoke' -%}
from pipeline_runtime.naming import ENVIRONMENTS, function_name_variable
{% else -%}
from pipeline_runtime.naming import ENVIRONMENTS
{% endif -%}
from tools.sam_to_cfn import translate

SQS_DURABLE_EXECUTION_LIMIT_SECONDS = 900  # an SQS event source mapping waits for the whole execution


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return translate(TEMPLATE_PATH)["Resources"]


def of_type(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource["Properties"] for name, resource in cfn.items() if resource["Type"] == kind}


def inline_statements(cfn: dict[str, Any]):
    for role, properties in of_type(cfn, "AWS::IAM::Role").items():
        for policy in properties.get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield role, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_event_source_mapping_targets_the_orchestrator_alias_with_batch_settings(cfn):
    sam_event = load_template()["Resources"]["OrchestratorFunction"]["Properties"]["Events"]["InputQueueEvent"]
    [mapping] = of_type(cfn, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["FunctionName"] == {"Ref": "OrchestratorFunctionAliaslive"}
    assert cfn["OrchestratorFunctionAliaslive"]["Type"] == "AWS::Lambda::Alias"
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["InputQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == sam_event["Properties"]["BatchSize"]
    assert mapping["MaximumBatchingWindowInSeconds"] == sam_event["Properties"]["MaximumBatchingWindowInSeconds"]
    assert mapping.get("ScalingConfig") == sam_event["Properties"].get("ScalingConfig")


def test_durable_execution_fits_the_sqs_limit(cfn):
    orchestrator = cfn["OrchestratorFunction"]["Properties"]
    durable = orchestrator["DurableConfig"]
    assert 1 <= durable["ExecutionTimeout"] <= SQS_DURABLE_EXECUTION_LIMIT_SECONDS
    assert 1 <= durable["RetentionPeriodInDays"] <= 90
    assert orchestrator["Timeout"] <= durable["ExecutionTimeout"]


def test_queue_visibility_covers_the_whole_execution(cfn):
    execution = cfn["OrchestratorFunction"]["Properties"]["DurableConfig"]["ExecutionTimeout"]
    assert cfn["InputQueue"]["Properties"]["VisibilityTimeout"] >= execution


def test_redrive_policy_carries_max_receive_count(cfn):
    orchestrator_env = cfn["OrchestratorFunction"]["Properties"]["Environment"]["Variables"]
    redrive = cfn["InputQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert redrive["maxReceiveCount"] == int(orchestrator_env["MAX_RECEIVE_COUNT"])


def test_orchestrator_may_invoke_exactly_its_own_steps(cfn):
    functions = of_type(cfn, "AWS::Lambda::Function")
{%- if cookiecutter.step_mode == 'durable_step' %}
    step_functions = set()  # the steps run inside the orchestrator: nothing to invoke
{%- else %}
    env = functions["OrchestratorFunction"]["Environment"]["Variables"]
    step_functions = {env[function_name_variable(step)]["Ref"] for step in pipeline.step_modules()}
{%- endif %}
    assert set(functions) == step_functions | {"OrchestratorFunction"}
    invokable = {
        (role, resource["Fn::GetAtt"][0])
        for role, statement in inline_statements(cfn)
        if any(action.startswith("lambda:Invoke") for action in as_list(statement["Action"]))
        for resource in as_list(statement["Resource"])
    }
    assert invokable == {("OrchestratorFunctionRole", name) for name in step_functions}


def test_durable_permissions_come_from_the_managed_policy(cfn):
    role = cfn["OrchestratorFunctionRole"]["Properties"]
    assert any(arn.endswith("/AWSLambdaBasicDurableExecutionRolePolicy") for arn in role["ManagedPolicyArns"])
    actions = {action.lower() for _, statement in inline_statements(cfn) for action in as_list(statement["Action"])}
    assert not {a for a in actions if "durableexecution" in a}  # SAM adds them; the plural spelling is not an action


def test_no_inline_wildcard_actions_or_resources(cfn):
    for role, statement in inline_statements(cfn):
        assert "*" not in as_list(statement["Action"]), role
        assert all(not action.endswith(":*") for action in as_list(statement["Action"])), role
        assert "*" not in as_list(statement["Resource"]), role


def test_table_writes_are_limited_to_the_table(cfn):
    writers = set()
    for role, statement in inline_statements(cfn):
        actions = as_list(statement["Action"])
        if any(action.startswith("dynamodb:") for action in actions):
            writers.add(role)
            assert all(action.startswith("dynamodb:") for action in actions), role
            assert "ProcessedDataTable" in str(statement["Resource"]), role
{%- if cookiecutter.step_mode == 'lambda_invoke' %}
    store = list(pipeline.step_modules())[-1]  # the storing step's own role, and the orchestrator's markers
    env = cfn["OrchestratorFunction"]["Properties"]["Environment"]["Variables"]
    store_role = cfn[env[function_name_variable(store)]["Ref"]]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert writers == {store_role, "OrchestratorFunctionRole"}
{%- else %}
    assert writers == {"OrchestratorFunctionRole"}
{%- endif %}


def test_queues_and_table_are_encrypted_and_recoverable(cfn):
    for queue in of_type(cfn, "AWS::SQS::Queue").values():
        assert queue["SqsManagedSseEnabled"] is True
    table = cfn["ProcessedDataTable"]["Properties"]
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert cfn["DeadLetterQueue"]["Properties"]["MessageRetentionPeriod"] == 1209600


SECRET_NAME = re.compile(r"secret|password|passwd|token|api_?key|private_?key", re.IGNORECASE)
SECRET_VALUE = re.compile(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----")


def test_no_plaintext_secrets(cfn):
    for name, function in of_type(cfn, "AWS::Lambda::Function").items():
        for key, value in function.get("Environment", {}).get("Variables", {}).items():
            assert not (SECRET_NAME.search(key) and isinstance(value, str)), f"{name}: {key} holds a literal"
    assert not SECRET_VALUE.search(TEMPLATE_PATH.read_text())


def test_every_environment_deploys_from_samconfig():
    """`make deploy ENV=<any allowed Environment>` finds its stack name, region and parameter in samconfig.toml."""
    samconfig = tomllib.loads((PROJECT_ROOT / "samconfig.toml").read_text())
    environments = load_template()["Parameters"]["Environment"]["AllowedValues"]
    assert environments == list(ENVIRONMENTS)
    region = samconfig["default"]["global"]["parameters"]["region"]
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["name"]
    for environment in ["default", *environments]:
        named = environment if environment != "default" else "dev"
        assert samconfig[environment]["global"]["parameters"] == {
            "stack_name": f"{project}-{named}",
            "region": region,
        }, environment
        deploy = samconfig[environment]["deploy"]["parameters"]
        assert deploy["parameter_overrides"] == f"Environment={named}"
        assert deploy["capabilities"] == "CAPABILITY_IAM" and deploy["resolve_s3"] is True
