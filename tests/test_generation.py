"""Render every supported combination and check that what comes out is well formed."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import DEFAULTS, NAMING, bake, combination_id, window_default
from cookiecutter.exceptions import FailedHookException
from samtranslator.yaml_helper import yaml_parse

# Every option value at least once, plus the risky pairs.
SUPPORTED_COMBINATIONS: list[dict[str, str]] = [
    {},
    {"step_names": "check,persist"},
    {"step_names": "validate,enrich,transform,store"},
    {"step_names": "ingest,clean,enrich,score,persist"},
    {"step_names": " validate , transform,, store "},
    {"batch_size": "1"},
    {"batch_size": "10000", "max_batching_window_seconds": "30", "record_concurrency": "500"},
    {  # the most steps and the largest batch: the smallest record_concurrency whose worst case fits
        "step_names": ",".join(f"step_{n}" for n in range(1, 21)),
        "batch_size": "10000",
        "max_batching_window_seconds": "300",
        "record_concurrency": "1667",
    },
    {
        "step_mode": "durable_step",
        "step_names": ",".join(f"step_{n}" for n in range(1, 21)),
        "batch_size": "10000",
        "max_batching_window_seconds": "300",
        "record_concurrency": "1",
    },
    {"batch_size": "10", "max_batching_window_seconds": "0", "record_concurrency": "3"},
    {"runtime": "python3.13", "architecture": "x86_64"},  # built and run exactly as declared (make check-build)
    {"runtime": "python3.14", "architecture": "x86_64"},
    {"runtime": "python3.13", "architecture": "arm64"},
    {"esm_max_concurrency": "2", "max_receive_count": "1", "memory_size_mb": "128"},  # Lambda's least
    {"esm_max_concurrency": "1000", "max_receive_count": "1000"},
    {"function_timeout_seconds": "900", "execution_timeout_seconds": "900", "retention_days": "90"},
    {"function_timeout_seconds": "10", "execution_timeout_seconds": "60", "retention_days": "1"},
    {"log_retention_days": "1", "alarm_email": "ops@example.com"},
    {"log_retention_days": "3653", "alarm_email": "a.b+alerts@sub.example.co.uk", "step_mode": "durable_step"},
    {"table_name": "Orders.v2_raw", "aws_region": "eu-west-1"},
    {"project_name": "Payments Pipeline", "project_slug": "payments"},
    {  # the longest name and step list: the stack description is cut at CloudFormation's 1,024 characters
        "project_name": "Ü" * 200,
        "project_slug": "longest",
        "step_names": ",".join(f"s{n:02d}_" + "x" * 36 for n in range(20)),
        "execution_timeout_seconds": "900",
    },
    {"step_mode": "durable_step", "step_names": ",".join(f"s{n:02d}_" + "y" * 36 for n in range(20))},
    {"step_mode": "durable_step", "memory_size_mb": "1024"},
    {
        "step_mode": "durable_step",
        "step_names": "check,persist",
        "batch_size": "100",
        "max_batching_window_seconds": "2",
    },
    {
        "step_mode": "durable_step",
        "step_names": "ingest,clean,enrich,score,persist",
        "runtime": "python3.13",
        "architecture": "x86_64",
    },
    {"queue_type": "fifo"},  # the batching window's default follows: 0
    {"message_format": "s3_event"},  # the stack creates <slug>-source-<env>-<account> and notifies the queue
    {"message_format": "s3_event", "source_bucket": "acme-raw-files", "step_mode": "durable_step"},
    {"message_format": "sns", "queue_type": "fifo"},
    {"message_format": "eventbridge", "step_mode": "durable_step", "queue_type": "fifo", "batch_size": "10"},
    {"queue_type": "fifo", "step_mode": "durable_step", "batch_size": "10", "content_based_deduplication": "true"},
    {  # a FIFO batch of one group: a wave per record, the backoff of 6 within the execution
        "queue_type": "fifo",
        "step_names": ",".join(f"step_{n}" for n in range(1, 21)),
        "batch_size": "6",
        "record_concurrency": "2",
        "execution_timeout_seconds": "900",
    },
]
IDS = [combination_id(answers) for answers in SUPPORTED_COMBINATIONS]
UNRENDERED = re.compile(r"(?<!\$)\{\{|\{%|%\}")  # GitHub's ${{ }} expressions are meant to survive


def answers_with_defaults(answers: dict[str, str]) -> dict[str, str]:
    merged = {  # a choice's default is its first value
        key: value[0] if isinstance(value, list) else value
        for key, value in DEFAULTS.items()
        if not key.startswith("_")
    }
    merged.update(answers)
    if "{{" in merged["max_batching_window_seconds"]:
        merged["max_batching_window_seconds"] = window_default(merged)
    return merged


def steps_of(answers: dict[str, str]) -> list[str]:
    return NAMING.parse_steps(answers_with_defaults(answers)["step_names"])


def text_files(project: Path) -> list[Path]:
    caches = {"__pycache__", ".ruff_cache", ".pytest_cache"}
    return [path for path in project.rglob("*") if path.is_file() and not caches & set(path.parts)]


@pytest.mark.parametrize("answers", SUPPORTED_COMBINATIONS, ids=IDS)
def test_no_template_syntax_survives(baked, answers):
    project = baked(answers)
    leftovers = [
        f"{path.relative_to(project)}:{number}: {line.strip()}"
        for path in text_files(project)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if UNRENDERED.search(line)
    ]
    assert leftovers == []
    assert not (project / ".blueprints").exists()


@pytest.mark.parametrize("answers", SUPPORTED_COMBINATIONS, ids=IDS)
def test_template_yaml_wires_one_function_per_step(baked, answers):
    template = yaml_parse((baked(answers) / "template.yaml").read_text())
    resources = template["Resources"]
    merged = answers_with_defaults(answers)
    functions = {
        props["Properties"]["CodeUri"].strip("/").split("/")[-1]: name
        for name, props in resources.items()
        if props["Type"] == "AWS::Serverless::Function"
    }
    if merged["step_mode"] == "lambda_invoke":
        assert list(functions) == [*steps_of(answers), "orchestrator"]
        for step, name in list(functions.items())[:-1]:  # the runtime layer's entry runs the user's handler
            assert resources[name]["Properties"]["Handler"] == "pipeline_runtime.step_function.handler"
            assert resources[name]["Properties"]["Environment"]["Variables"]["STEP_NAME"] == step
    else:  # one function holding the orchestrator and every step
        assert list(functions) == ["functions"]
        assert resources["OrchestratorFunction"]["Properties"]["Handler"] == "durable_step_entry.handler"
    orchestrator = resources["OrchestratorFunction"]["Properties"]
    event = resources["InputQueueMapping"]["Properties"]
    assert event["BatchSize"] == int(merged["batch_size"])
    source = resources.get("SourceBucket")
    assert (source is not None) == (merged["message_format"] == "s3_event")
    if source is not None:  # its new objects under incoming/ notify the input queue, which lets it
        [notify] = source["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
        assert notify["Queue"] == {"Fn::GetAtt": ["InputQueue", "Arn"]} and source["DependsOn"] == "InputQueueS3Policy"
        base = merged["source_bucket"] or answers.get("project_slug", "durable-data-pipeline") + "-source"
        assert source["Properties"]["BucketName"] == {"Fn::Sub": f"{base}-${{Environment}}-${{AWS::AccountId}}"}
    fifo = merged["queue_type"] == "fifo"
    if fifo:  # Lambda takes no batching window for a FIFO queue; the queues and their redrive are FIFO
        assert "MaximumBatchingWindowInSeconds" not in event
        assert resources["DeadLetterQueue"]["Properties"]["FifoQueue"] is True
        assert resources["InputQueue"]["Properties"]["ContentBasedDeduplication"] == (
            merged["content_based_deduplication"] == "true"
        )
    else:
        assert event["MaximumBatchingWindowInSeconds"] == int(merged["max_batching_window_seconds"])
    assert resources["InputQueue"]["Properties"].get("FifoQueue", False) is fifo
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert ("ScalingConfig" in event) == bool(merged["esm_max_concurrency"].strip())
    assert orchestrator["DurableConfig"]["ExecutionTimeout"] == int(merged["execution_timeout_seconds"])
    assert orchestrator["DurableConfig"]["RetentionPeriodInDays"] == int(merged["retention_days"])
    queue = resources["InputQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= int(merged["execution_timeout_seconds"])
    assert queue["RedrivePolicy"]["maxReceiveCount"] == int(merged["max_receive_count"])
    assert template["Globals"]["Function"]["Runtime"] == merged["runtime"]
    assert template["Globals"]["Function"]["MemorySize"] == int(merged["memory_size_mb"])
    assert template["Globals"]["Function"]["Architectures"] == [merged["architecture"]]
    expected_concurrency = merged["record_concurrency"].strip() or merged["batch_size"]
    assert orchestrator["Environment"]["Variables"]["RECORD_CONCURRENCY"] == str(int(expected_concurrency))
    assert resources["ProcessedDataTable"]["Properties"]["TableName"] == {
        "Fn::Sub": f"{merged['table_name']}-${{Environment}}"
    }
    assert len(template["Description"]) <= 1024  # CloudFormation's limit
    assert all(len(r["Properties"].get("Description", "")) <= 256 for r in resources.values() if r["Type"] == "AWS::Serverless::Function")
    assert template["Globals"]["Function"]["Tracing"] == "Active"
    groups = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    assert len(groups) == len(functions)  # one per function, none implicit
    assert {group["RetentionInDays"] for group in groups.values()} == {int(merged["log_retention_days"])}
    subscriptions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SNS::Subscription"]
    email = merged["alarm_email"].strip()
    assert subscriptions == ([{"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": email}] if email else [])
    alarms = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) == 9 and "Dashboard" in resources


@pytest.mark.parametrize("answers", SUPPORTED_COMBINATIONS, ids=IDS)
def test_every_step_has_code_and_a_test(baked, answers):
    project = baked(answers)
    mode = answers_with_defaults(answers)["step_mode"]
    assert (project / "functions" / "durable_step_entry.py").exists() == (mode == "durable_step")
    invoked = mode == "lambda_invoke"  # only the chosen mode's module and tests are rendered
    assert (project / "functions" / "orchestrator" / "invoke_steps.py").exists() == invoked
    assert (project / "functions" / "orchestrator" / "inline_steps.py").exists() == (not invoked)
    assert (project / "tests" / "pipeline" / "test_step_functions.py").exists() == invoked
    assert (project / "runtime" / "pipeline_runtime" / "step_calls.py").is_file()
    for step in steps_of(answers):
        assert sorted(path.name for path in (project / "functions" / step).iterdir()) == sorted(
            ["requirements.txt", f"{step}_step.py"]
        )
        assert (project / "tests" / "unit" / f"test_{step}_step.py").is_file()
    config = (project / "functions" / "orchestrator" / "pipeline_config.py").read_text()
    namespace: dict = {}
    sys.path.insert(0, str(project / "runtime"))  # the layer, as Lambda puts it on the path
    try:
        for name in [module for module in sys.modules if module.startswith("pipeline_runtime")]:
            del sys.modules[name]  # this project's copy, not another render's
        exec(compile(config, "pipeline_config.py", "exec"), namespace)
    finally:
        sys.path.remove(str(project / "runtime"))
    assert list(namespace["STEPS"]) == steps_of(answers)
    assert namespace["STEP_MODE"] == mode
    assert [namespace["role"](step) for step in steps_of(answers)] == [
        "validate",
        *["transform"] * (len(steps_of(answers)) - 2),
        "store",
    ]


@pytest.mark.parametrize("answers", SUPPORTED_COMBINATIONS, ids=IDS)
def test_config_files_parse(baked, answers):
    project = baked(answers)
    samconfig = tomllib.loads((project / "samconfig.toml").read_text())
    assert {"default", "dev", "prod"} <= set(samconfig)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == project.name == answers.get("project_slug", "durable-data-pipeline")
    for path in project.rglob("*.json"):
        json.loads(path.read_text())
    event = json.loads((project / "events" / "sqs-batch.json").read_text())
    assert json.loads(event["Records"][0]["body"]) == {"data_source": "test.csv", "processing_type": "standard"}


@pytest.mark.parametrize("answers", SUPPORTED_COMBINATIONS, ids=IDS)
def test_python_compiles_and_ruff_is_clean(baked, answers):
    project = baked(answers)
    for path in project.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    ruff = [sys.executable, "-m", "ruff"]
    check = subprocess.run(
        [*ruff, "check", "--no-cache", "."], cwd=project, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(
        [*ruff, "format", "--no-cache", "--check", "."], cwd=project, capture_output=True, text=True, check=False
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


# Combinations each valid on its own but refused together; the hooks must stop them.
UNSUPPORTED_COMBINATIONS: list[dict[str, str]] = [
    {"batch_size": "11", "max_batching_window_seconds": "0"},
    {"batch_size": "5", "record_concurrency": "6"},
    {"function_timeout_seconds": "900", "execution_timeout_seconds": "600"},
    {"step_names": "validate,store", "execution_timeout_seconds": "18", "function_timeout_seconds": "10"},
    {"step_names": "validate,a_1b,a1b,store"},
    # each wave of one record costs up to 22 operations: 10000 of them cross AWS's 3,000 per execution
    {"batch_size": "10000", "max_batching_window_seconds": "5", "record_concurrency": "1"},
    {"batch_size": "10000", "max_batching_window_seconds": "5", "record_concurrency": "344"},  # backoff > 900 s
    {"log_retention_days": "31"},  # CloudWatch Logs takes only its listed periods
    {"alarm_email": "ops@example.com; rm -rf /"},
    {"queue_type": "fifo", "batch_size": "11"},  # Lambda reads 10 at most from a FIFO queue
    {"queue_type": "fifo", "max_batching_window_seconds": "5"},  # and takes no batching window for one
    {"queue_type": "fifo", "step_names": ",".join(f"step_{n}" for n in range(1, 21)), "batch_size": "7"},
    {"queue_type": "fifo", "message_format": "s3_event"},  # S3 cannot notify a FIFO queue
    {"message_format": "s3_event", "memory_size_mb": "128"},  # an object's first step needs more
    {"message_format": "sns", "source_bucket": "acme"},  # only an S3 pipeline reads a bucket
    {"message_format": "s3_event", "source_bucket": "Acme.Files"},
    {"content_based_deduplication": "true"},  # a standard queue does not deduplicate
]


@pytest.mark.parametrize(
    "answers", UNSUPPORTED_COMBINATIONS, ids=[combination_id(answers) for answers in UNSUPPORTED_COMBINATIONS]
)
def test_unsupported_combination_is_refused(tmp_path, answers):
    with pytest.raises(FailedHookException):
        bake(tmp_path, **answers)
    assert not any(tmp_path.glob("*/template.yaml"))


TEMPLATE_HEADER = "Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/."


@pytest.mark.parametrize("answers", [{}, {"step_mode": "durable_step"}], ids=["lambda_invoke", "durable_step"])
def test_a_files_first_line_tells_who_owns_it(baked, answers):
    # Yours: each step's folder and its test; everything else a regeneration may rewrite (JSON has no comments).
    project = baked(answers)
    steps = steps_of(answers)
    yours = {f"functions/{step}" for step in steps} | {f"tests/unit/test_{step}_step.py" for step in steps}
    unmarked, marked_yours = [], []
    for path in text_files(project):
        relative = path.relative_to(project).as_posix()
        first_line = path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
        if any(relative == own or relative.startswith(f"{own}/") for own in yours):
            marked_yours += [relative] if TEMPLATE_HEADER in path.read_text(encoding="utf-8") else []
        elif path.suffix != ".json" and TEMPLATE_HEADER not in first_line:
            unmarked.append(relative)
    assert unmarked == [] and marked_yours == []


MAX_DEPLOYED_FUNCTION_LINES = 50  # what runs in Lambda reads in one screen a function


@pytest.mark.parametrize("answers", [{}, {"step_mode": "durable_step"}], ids=["lambda_invoke", "durable_step"])
def test_no_deployed_function_is_over_50_lines(baked, answers):
    project = baked(answers)
    deployed = [*(project / "functions").rglob("*.py"), *(project / "runtime").rglob("*.py")]
    long = [
        f"{path.relative_to(project)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in deployed
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_DEPLOYED_FUNCTION_LINES
    ]
    assert long == []
