# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""What CloudFormation would deploy, checked offline: template.yaml translated by aws-sam-translator."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest

{% if cookiecutter.step_mode == 'lambda_invoke' -%}
from local import pipeline
{% endif -%}
from local.template_values import PROJECT_ROOT, TEMPLATE_PATH, load_template
from pipeline_runtime import quotas
{% if cookiecutter.step_mode == 'lambda_invoke' -%}
from pipeline_runtime.naming import function_name_variable
{% endif -%}
from tools import render_rules
from tools.sam_to_cfn import translate{% if cookiecutter.step_mode == 'lambda_invoke' %}, translate_document{% endif %}

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
    declared = load_template()["Resources"]["InputQueueMapping"]["Properties"]
    [mapping] = of_type(cfn, "AWS::Lambda::EventSourceMapping").values()
    alias = mapping["FunctionName"]["Ref"]
    assert cfn[alias]["Type"] == "AWS::Lambda::Alias"
    assert cfn[alias]["Properties"]["Name"] == "{{ 'pinned' if cookiecutter.step_mode == 'lambda_invoke' else 'live' }}"
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["InputQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    for setting in ("BatchSize", "MaximumBatchingWindowInSeconds", "ScalingConfig"):
        assert mapping.get(setting) == declared.get(setting), setting


def test_a_fifo_queue_has_a_fifo_dead_letter_queue_and_no_batching_window(cfn):
    queue, dead = cfn["InputQueue"]["Properties"], cfn["DeadLetterQueue"]["Properties"]
    [mapping] = of_type(cfn, "AWS::Lambda::EventSourceMapping").values()
    fifo = queue.get("FifoQueue", False)
    assert fifo is {{ 'True' if cookiecutter.queue_type == 'fifo' else 'False' }}
    assert dead.get("FifoQueue", False) is fifo  # SQS redrives a FIFO queue only to a FIFO queue
    if fifo:
        assert "MaximumBatchingWindowInSeconds" not in mapping
        assert 1 <= mapping["BatchSize"] <= quotas.MAX_FIFO_BATCH_RECORDS
        assert "QueueName" not in queue and "QueueName" not in dead  # CloudFormation names them <...>.fifo


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
    versions = {env[function_name_variable(step)]["Ref"] for step in pipeline.step_modules()}
    step_functions = {cfn[version]["Properties"]["FunctionName"]["Ref"] for version in versions}
{%- endif %}
    assert set(functions) == step_functions | {"OrchestratorFunction"}
    invokable = {
        (role, statement["Sid"], json.dumps(resource))
        for role, statement in inline_statements(cfn)
        if any(action.startswith("lambda:Invoke") for action in as_list(statement["Action"]))
        for resource in as_list(statement["Resource"])
    }
    # Any published version of exactly these functions: an execution in flight calls the versions it started with.
    # And, until v5.0.0, the functions unqualified: what a 3.x orchestrator's executions call during the upgrade.
    assert invokable == {
        ("OrchestratorFunctionRole", "InvokeOwnStepVersions", json.dumps({"Fn::Sub": "${" + name + ".Arn}:*"}))
        for name in step_functions
    } | {
        ("OrchestratorFunctionRole", "UnqualifiedUntilV5", json.dumps({"Fn::GetAtt": [name, "Arn"]}))
        for name in step_functions
    }


{%- if cookiecutter.step_mode == 'lambda_invoke' %}


def test_the_orchestrator_names_each_step_by_the_version_deployed_with_it(cfn):
    env = cfn["OrchestratorFunction"]["Properties"]["Environment"]["Variables"]
    for step in pipeline.step_modules():
        version = cfn[env[function_name_variable(step)]["Ref"]]  # a qualified ARN, never $LATEST
        assert version["Type"] == "AWS::Lambda::Version" and version["DeletionPolicy"] == "Retain", step


def pinned_versions(step_code: str, layer_code: str = "runtime") -> dict[str, str]:
    """What the alias the queue triggers would point at, and each step version, for these code locations."""
    sam = load_template()
    changed = render_rules.logical_id(list(pipeline.step_modules())[1])
    sam["Resources"][changed]["Properties"]["CodeUri"] = f"s3://placeholder/{step_code}"
    sam["Resources"]["PipelineRuntimeLayer"]["Properties"]["ContentUri"] = f"s3://placeholder/{layer_code}"
    resources = translate_document(sam)["Resources"]
    alias = resources["OrchestratorPinnedAlias"]["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
    return {"pinned": json.dumps(resources[alias]["Properties"]["Description"])} | {
        name: resource["Properties"]["FunctionName"]["Ref"] + name
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::Version" and name != alias
    }


def test_a_deploy_that_changes_a_step_or_the_layer_publishes_a_new_orchestrator_version():
    # SAM's AutoPublishAlias hashes the orchestrator before `<Step>.Version` resolves: alone, it would keep the
    # alias on an orchestrator version naming the old step versions. The pinned version is published again.
    before = pinned_versions("transform-v1")
    after_step, after_layer = pinned_versions("transform-v2"), pinned_versions("transform-v1", "runtime-v2")
    assert before["pinned"] != after_step["pinned"] and before["pinned"] != after_layer["pinned"]
    assert before != after_step and before != after_layer
{%- else %}


def test_the_orchestrator_publishes_a_version_when_its_code_configuration_or_layer_changes(cfn):
    orchestrator = load_template()["Resources"]["OrchestratorFunction"]["Properties"]
    assert orchestrator["AutoPublishAlias"] == "live" and orchestrator["AutoPublishAliasAllProperties"] is True
    assert load_template()["Resources"]["PipelineRuntimeLayer"]["Properties"]["PublishLambdaVersion"] is True
{%- endif %}


def test_durable_permissions_cover_only_the_orchestrators_own_executions(cfn):
    policy = cfn["OrchestratorDurableExecutionPolicy"]["Properties"]
    assert policy["RoleName"] == {"Ref": "OrchestratorFunctionRole"}
    [statement] = policy["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == ["lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"]
    assert statement["Resource"] == {"Fn::Sub": "${OrchestratorFunction.Arn}:*"}
    assert cfn["InputQueueMapping"]["DependsOn"] == "OrchestratorDurableExecutionPolicy"  # none starts before


def test_no_managed_policies_and_no_wildcard_outside_logs_and_xray(cfn):
    for name, role in of_type(cfn, "AWS::IAM::Role").items():
        assert not role.get("ManagedPolicyArns"), name  # each role lists what its function calls, nothing more
    for role, statement in inline_statements(cfn):
        actions = as_list(statement["Action"])
        assert all("*" not in action for action in actions), role
        if "*" in as_list(statement["Resource"]):
            assert all(action.startswith("xray:") for action in actions), (role, actions)


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
    store_function = cfn[env[function_name_variable(store)]["Ref"]]["Properties"]["FunctionName"]["Ref"]
    store_role = cfn[store_function]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert writers == {store_role, "OrchestratorFunctionRole"}
    store_actions = {
        action
        for role, statement in inline_statements(cfn)
        if role == store_role
        for action in as_list(statement["Action"])
    }
    assert {action for action in store_actions if action.startswith("dynamodb:")} == {"dynamodb:PutItem"}
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
    assert environments == list(render_rules.ENVIRONMENTS)
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


# Operating it: tracing, log retention, alarms, dashboard (README "When an alarm fires").


def test_every_function_traces_and_logs_to_its_own_group_with_a_retention(cfn):
    functions = of_type(cfn, "AWS::Lambda::Function")
    groups = of_type(cfn, "AWS::Logs::LogGroup")
    assert functions
    for name, function in functions.items():
        assert function["TracingConfig"] == {"Mode": "Active"}, name
        group = function["LoggingConfig"]["LogGroup"]["Ref"]
        assert group == f"{name}LogGroup" and group in groups, name
        assert groups[group]["RetentionInDays"] in quotas.LOG_RETENTION_DAYS, name
    assert len(groups) == len(functions)  # nothing kept forever by an implicit group
    retention = {group["RetentionInDays"] for group in groups.values()}
    answers = PROJECT_ROOT / ".cookiecutter.json"  # the options this project was made with, when kept
    expected = json.loads(answers.read_text())["cookiecutter"]["log_retention_days"] if answers.exists() else None
    assert retention == {int(expected)} if expected else len(retention) == 1  # the log_retention_days option
    for role, statement in inline_statements(cfn):
        if statement.get("Sid") == "SendTraces":
            assert sorted(statement["Action"]) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], role
    assert {role for role, statement in inline_statements(cfn) if statement.get("Sid") == "SendTraces"} == {
        function["Role"]["Fn::GetAtt"][0] for function in functions.values()
    }


def expected_alarms(settings) -> dict[tuple[str, str], dict[str, Any]]:
    """Each alarm by what it watches, with the threshold the options and AWS's quotas give it."""
    backlog = render_rules.backlog_age_alarm_seconds(
        settings.max_batching_window_seconds, settings.visibility_timeout_seconds, settings.max_receive_count
    )
    orchestrator = [{"Name": "FunctionName", "Value": {"Ref": "OrchestratorFunction"}}]
    return {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): {
            "Threshold": 0, "Statistic": "Maximum",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}],
        },
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"): {
            "Threshold": backlog, "Statistic": "Maximum",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["InputQueue", "QueueName"]}}],
        },
        ("AWS/Lambda", "DurableExecutionFailed"): {"Threshold": 0, "Statistic": "Sum", "Dimensions": orchestrator},
        ("AWS/Lambda", "DurableExecutionTimedOut"): {"Threshold": 0, "Statistic": "Sum", "Dimensions": orchestrator},
        ("AWS/Lambda", "DurableExecutionOperations"): {
            "Threshold": render_rules.near_quota(quotas.MAX_OPERATIONS),
            "Statistic": "Maximum",
            "Dimensions": orchestrator,
        },
        ("AWS/Lambda", "DurableExecutionStorageWrittenBytes"): {
            "Threshold": render_rules.near_quota(quotas.MAX_PERSISTED_BYTES), "Statistic": "Maximum",
            "Dimensions": orchestrator,
        },
        ("AWS/Lambda", "ApproximateRunningDurableExecutionsUtilization"): {  # the account's, all functions
            "Threshold": int(render_rules.NEAR_QUOTA_FRACTION * 100), "Statistic": "Maximum", "Dimensions": None,
            "EvaluationPeriods": 3,
        },
        ("AWS/Lambda", "Throttles"): {
            "Threshold": 0, "Statistic": "Sum", "Dimensions": orchestrator, "EvaluationPeriods": 5,
            "DatapointsToAlarm": 3,
        },
        ("AWS/Lambda", "Errors"): {
            "Threshold": 0, "Statistic": "Sum", "Dimensions": orchestrator, "EvaluationPeriods": 5,
            "DatapointsToAlarm": 3,
        },
    }  # fmt: skip


def test_alarms_watch_what_fails_and_the_quotas_and_notify_the_topic(cfn, settings):
    alarms = {(a["Namespace"], a["MetricName"]): a for a in of_type(cfn, "AWS::CloudWatch::Alarm").values()}
    expected = expected_alarms(settings)

    assert set(alarms) == set(expected)
    for watched, wanted in expected.items():
        alarm = alarms[watched]
        wanted = {"Period": 60, "EvaluationPeriods": 1, "DatapointsToAlarm": None, **wanted}
        assert {key: alarm.get(key) for key in wanted} == wanted, watched
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}], watched
        assert len(alarm["AlarmDescription"]) > 80, watched  # says what it means and what to do
        assert alarm["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"), watched
    assert cfn["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    for subscription in of_type(cfn, "AWS::SNS::Subscription").values():  # alarm_email, when given
        assert subscription["Protocol"] == "email" and subscription["TopicArn"] == {"Ref": "AlarmTopic"}


def test_the_dashboard_shows_outcomes_durable_metrics_and_both_queues(cfn):
    [dashboard] = of_type(cfn, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(dashboard["DashboardBody"]["Fn::Sub"])
    metrics = [metric for widget in body["widgets"] for metric in widget["properties"]["metrics"]]
    shown = {tuple(metric[:2]) for metric in metrics}
    dimensions = {value for metric in metrics for value in metric if isinstance(value, str)}

    namespace = load_template()["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    for outcome in ("RecordsStored", "RecordsRejected", "RecordsDeadLettered", "RecordsFailed"):
        assert (namespace, outcome) in shown
    durable = ("Failed", "TimedOut", "Operations", "StorageWrittenBytes")
    for metric in [*(f"DurableExecution{name}" for name in durable), "ApproximateRunningDurableExecutionsUtilization"]:
        assert ("AWS/Lambda", metric) in shown
    assert ("AWS/SQS", "ApproximateAgeOfOldestMessage") in shown
    assert {"${InputQueue.QueueName}", "${DeadLetterQueue.QueueName}", "${OrchestratorFunction}"} <= dimensions


def test_every_function_has_the_memory_its_batch_and_one_record_need(cfn):
    functions = of_type(cfn, "AWS::Lambda::Function")
    [mapping] = of_type(cfn, "AWS::Lambda::EventSourceMapping").values()
    smallest = render_rules.smallest_memory_mb("{{ cookiecutter.step_mode }}", mapping["BatchSize"], {{ 'True' if cookiecutter.message_format == 's3_event' else 'False' }})
    assert functions and all(
        smallest <= function["MemorySize"] <= quotas.MAX_MEMORY_MB for function in functions.values()
    ), {name: function["MemorySize"] for name, function in functions.items()}
