"""The hooks: each validation rule at its boundaries, the command line a user sees, injection safety."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
from aws_durable_execution_sdk_python.config import Duration, JitterStrategy
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy
from conftest import DEFAULTS, TEMPLATE_DIR, bake, load_hook, replay, run_cookiecutter_cli
from cookiecutter.exceptions import CookiecutterException, FailedHookException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import TemplateError
from samtranslator.yaml_helper import yaml_parse


pre_gen = load_hook("pre_gen_project")
post_gen = load_hook("post_gen_project")
invocation = load_hook("invocation")  # which tool renders, and how to run it again: shared by both hooks

VALID = {
    **{key: value[0] if isinstance(value, list) else value for key, value in DEFAULTS.items()},
    "project_slug": "durable-data-pipeline",
    "max_batching_window_seconds": "10",  # its default is Jinja: 0 for a FIFO queue, else 10
}


def problems_for(**overrides):
    return pre_gen.validate({**VALID, **overrides})


def options_in(problems) -> list[str]:
    return [problem.option for problem in problems]


def test_defaults_are_valid():
    assert problems_for() == []


# (option, valid values at and inside the boundaries, invalid values just outside, text the message must hold)
BOUNDARIES = [
    ("batch_size", ["1", "10", 10, " 7 "], ["0", "10001", "ten", "1e3", "-1", "", "1.0", True], "from 1 to 10000"),
    ("max_batching_window_seconds", ["0", "300"], ["301", "-1", "x"], "from 0 to 300"),
    ("max_receive_count", ["1", "1000"], ["0", "1001"], "from 1 to 1000"),
    ("esm_max_concurrency", ["", " ", "2", "1000"], ["1", "1001", "many"], "from 2 to 1000"),
    ("record_concurrency", ["", "1", "5"], ["0", "6", "all"], "from 1 to 5"),
    ("function_timeout_seconds", ["1", "60"], ["0", "901"], "from 1 to 900"),
    ("memory_size_mb", ["128", "256", " 1769 ", "10240"], ["127", "10241", "256MB", "", "0.5"], "from 128 to 10240"),
    ("execution_timeout_seconds", ["61", "900"], ["0", "901", "3600"], "from 1 to 900"),
    ("retention_days", ["1", "90"], ["0", "91"], "from 1 to 90"),
    ("log_retention_days", ["1", "30", "3653", " 7 "], ["0", "2", "31", "3654", "", "forever", "-1"], "one of 1, 3, 5"),
    (
        "alarm_email",
        ["", "  ", "ops@example.com", "a.b+alerts@sub.example.co.uk"],
        ["ops", "ops@example", "a b@example.com", "ops@example.com, dev@example.com", '"x"@example.com', "a" * 250 + "@x.io"],
        "one email address",
    ),
    ("table_name", ["a", "Orders.v2_raw-x", "t" * 247], ["my table", "t" * 248, "tab/le", "", "ünïcode"], "1-247"),
    (
        "project_slug",
        ["ab", "my-pipeline-2", "p" * 120],
        ["a", "My-Pipeline", "-x", "x-", "a--b", "a_b", "p" * 121],
        "2-120",
    ),
    ("project_name", ["X", "Ünïcode 'quoted' \"name\""], ["", "   ", "n" * 201], "non-blank"),
    ("runtime", ["python3.13", "python3.14"], ["python3.12", "python2.7", ""], "python3.14, python3.13"),
    ("architecture", ["arm64", "x86_64"], ["amd64", ""], "arm64, x86_64"),
    ("step_mode", ["lambda_invoke", "durable_step"], ["step", ""], "lambda_invoke, durable_step"),
    ("queue_type", ["standard"], ["FIFO", "fifo.", ""], "standard, fifo"),
    ("message_format", ["json", "sns", "eventbridge", "s3_event"], ["xml", "S3_EVENT", ""], "json, s3_event, sns"),
    ("aws_region", ["us-east-1", "eu-central-2", "us-gov-west-1"], ["useast1", "US-EAST-1", ""], "region code"),
    ("author_name", ["", "O'Brien"], ["a" * 1001], "at most 1000"),
]


@pytest.mark.parametrize(("option", "valid", "invalid", "text"), BOUNDARIES, ids=[b[0] for b in BOUNDARIES])
def test_rule_boundaries(option, valid, invalid, text):
    for value in valid:
        assert problems_for(**{option: value}) == [], (option, value)
    for value in invalid:
        problems = problems_for(**{option: value})
        assert options_in(problems) == [option], (option, value, problems)
        message = str(problems[0])
        assert message.startswith(f"{option} = {value!r}: expected ")
        assert text in message and "Why: " in message


def test_batch_above_ten_needs_a_batching_window():
    assert problems_for(batch_size="10", max_batching_window_seconds="0") == []
    [problem] = problems_for(batch_size="11", max_batching_window_seconds="0")
    assert problem.option == "max_batching_window_seconds"
    assert "at least 1 when batch_size is above 10" in str(problem)
    assert problems_for(batch_size="10000", max_batching_window_seconds="1", record_concurrency="") == []


@pytest.mark.parametrize(
    ("step_names", "fragment"),
    [
        ("store", "2 to 20 comma-separated names"),
        (",".join(f"s{i}" for i in range(21)), "2 to 20 comma-separated names"),
        ("validate,Transform,store", "lower-case identifier"),
        ("validate,trans-form,store", "lower-case identifier"),
        ("validate,transform_,store", "lower-case identifier"),
        ("validate,a__b,store", "lower-case identifier"),
        ("validate," + "x" * 41 + ",store", "at most 40 characters"),
        ("validate,class,store", "not a Python keyword"),
        ("validate,orchestrator,store", "'orchestrator'"),
        ("validate,store,store", "each step named once"),
        ("validate,pydantic,store", "not a package the functions ship with"),
        ("boto3,store", "not a package the functions ship with"),
        ("validate,a_1b,a1b,store", "resource A1bFunction"),
    ],
)
def test_step_name_rules(step_names, fragment):
    problems = problems_for(step_names=step_names)
    assert problems and set(options_in(problems)) == {"step_names"}
    assert any(fragment in str(problem) for problem in problems), problems


@pytest.mark.parametrize(("step_mode", "batch_size", "window"), [("lambda_invoke", "10000", "1"), ("durable_step", "1", "0"),
                                                              ("durable_step", "10000", "1")])
def test_memory_must_hold_the_largest_batch_and_one_record_beside_the_function(step_mode, batch_size, window):
    smallest = RULES.smallest_memory_mb(step_mode, int(batch_size))
    answers = {"step_mode": step_mode, "batch_size": batch_size, "max_batching_window_seconds": window,
               "record_concurrency": "" if step_mode == "durable_step" or batch_size == "1" else "500"}  # fmt: skip
    assert problems_for(**answers, memory_size_mb=str(smallest)) == []
    if smallest > QUOTAS.MIN_MEMORY_MB:
        [problem] = problems_for(**answers, memory_size_mb=str(smallest - 1))
        assert problem.option == "memory_size_mb"
        assert f"at least {smallest} for step_mode {step_mode} with batch_size {batch_size}" in str(problem)
    assert smallest == (153 if (step_mode, batch_size) == ("durable_step", "10000") else 133 if step_mode == "durable_step"
                        else 128)  # fmt: skip


def test_step_names_tolerate_spaces_and_empty_entries():
    assert pre_gen.parse_steps(" validate , transform,, store ,") == ["validate", "transform", "store"]
    assert problems_for(step_names=" validate , transform,, store ") == []


def test_function_timeout_cannot_exceed_execution_timeout():
    [problem] = problems_for(function_timeout_seconds="120", execution_timeout_seconds="100")
    assert problem.option == "function_timeout_seconds" and "at most execution_timeout_seconds (100)" in str(problem)


QUOTAS, RULES = pre_gen.load_quotas(TEMPLATE_DIR), pre_gen.load_rules(TEMPLATE_DIR)


def test_retry_waits_are_the_durable_sdks_own():
    retry = DEFAULTS["_step_retry"]
    strategy = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=retry["max_attempts"],
            initial_delay=Duration.from_seconds(retry["initial_delay_seconds"]),
            backoff_rate=retry["backoff_rate"],
            max_delay=Duration.from_seconds(retry["max_delay_seconds"]),
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    sdk = [strategy(RuntimeError("transient"), made).delay_seconds for made in range(1, retry["max_attempts"])]
    assert pre_gen.retry_delays(retry, QUOTAS) == sdk == [2, 4]
    odd = {"max_attempts": 6, "initial_delay_seconds": 3, "backoff_rate": 1.5, "max_delay_seconds": 7}
    odd_strategy = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=6,
            initial_delay=Duration.from_seconds(3),
            backoff_rate=1.5,
            max_delay=Duration.from_seconds(7),
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    assert pre_gen.retry_delays(odd, QUOTAS) == [odd_strategy(RuntimeError(), made).delay_seconds for made in range(1, 6)]


def test_retry_backoff_must_fit_in_the_execution_timeout():
    worst = (3 + 2) * (2 + 4)  # every step, staging and settling wait 2 s then 4 s
    assert problems_for(execution_timeout_seconds=str(worst + 1), function_timeout_seconds="1") == []
    [problem] = problems_for(execution_timeout_seconds=str(worst), function_timeout_seconds="1")
    assert problem.option == "execution_timeout_seconds" and f"more than {worst}" in str(problem)


def test_waves_whose_backoff_no_timeout_can_hold_ask_for_a_larger_record_concurrency():
    many_waves = {"batch_size": "10000", "max_batching_window_seconds": "5"}
    assert problems_for(**many_waves, record_concurrency="345") == []  # 29 waves x 30 s = 870 s
    [problem] = problems_for(**many_waves, record_concurrency="344")  # 30 waves: 900 s
    assert problem.option == "record_concurrency" and "at least 345 with batch_size 10000" in str(problem)


@pytest.mark.parametrize("steps", [2, 3, 20])
def test_operations_rule_names_the_smallest_record_concurrency_that_fits(steps):
    # Checked on its own: with the template's retry settings the backoff rule binds first.
    answers = {**VALID, "step_names": ",".join(f"s{n}" for n in range(steps)), "batch_size": "10000"}
    smallest = RULES.smallest_fitting_record_concurrency("lambda_invoke", steps, 10000, 3)
    assert pre_gen.check_operations({**answers, "record_concurrency": str(smallest)}) == []
    [problem] = pre_gen.check_operations({**answers, "record_concurrency": str(smallest - 1)})
    assert problem.option == "record_concurrency"
    assert f"at least {smallest} with batch_size 10000 and {steps} steps" in str(problem)
    assert "AWS allows 3,000 (a hard limit)" in str(problem)
    assert pre_gen.check_operations({**answers, "record_concurrency": "1", "step_mode": "durable_step"}) == []


def test_worst_case_operations_formula():
    # start + per wave: child context (several waves) + staging and settling (3 attempts)
    # + 3 steps x (3 calls + 2 waits + one isolated call and its wait)
    assert RULES.worst_case_operations("lambda_invoke", 3, 5, 5, 3) == 1 + (3 + 21 + 3)
    assert RULES.worst_case_operations("lambda_invoke", 3, 5, 5, 3, isolating=False) == 1 + (3 + 15 + 3)
    assert RULES.worst_case_operations("lambda_invoke", 3, 10, 5, 3) == 1 + 2 * (1 + 3 + 21 + 3)
    assert RULES.worst_case_operations("durable_step", 20, 10000, 1, 3) == 1 + (3 + 140 + 3) <= 3000
    assert RULES.operations_when_nothing_fails("lambda_invoke", 3, 100, 100, by_reference=False) == 3 + 1
    assert RULES.largest_fitting_batch("durable_step", 20, 1, 3) == 10000
    largest = RULES.largest_fitting_batch("lambda_invoke", 3, 10, 3)
    assert RULES.worst_case_operations("lambda_invoke", 3, largest, 10, 3) <= 3000
    assert RULES.worst_case_operations("lambda_invoke", 3, largest + 10, 10, 3) > 3000


def test_every_problem_is_reported_at_once():
    problems = problems_for(batch_size="ten", table_name="my table", runtime="python2.7", retention_days="0")
    assert options_in(problems) == ["table_name", "batch_size", "retention_days", "runtime"]
    report = pre_gen.report(problems)
    assert report.splitlines()[0] == "ERROR: cannot generate the project, 4 invalid option value(s):"
    assert report.splitlines()[-1].startswith("Nothing was written.")


def test_validator_never_crashes_on_odd_types():
    odd = {key: None for key in VALID} | {"_step_retry": VALID["_step_retry"]}
    assert len(pre_gen.validate(odd)) >= 10
    assert pre_gen.main({}) == 1  # every option missing: a report, not a traceback


FIFO = {"queue_type": "fifo", "max_batching_window_seconds": "0"}


def test_a_fifo_queue_takes_what_lambda_allows_a_fifo_event_source():
    assert problems_for(**FIFO) == []
    assert problems_for(**FIFO, batch_size="10", content_based_deduplication="true") == []
    assert problems_for(**FIFO, batch_size="1", step_mode="durable_step") == []
    assert options_in(problems_for(queue_type="fifo", batch_size="11", max_batching_window_seconds="1")) == [
        "batch_size",
        "max_batching_window_seconds",
    ]
    assert str(problems_for(**FIFO, batch_size="11")[0]) == (
        "batch_size = '11': expected 1-10 with queue_type fifo. Why: Lambda takes at most 10 records per batch "
        "from a FIFO queue."
    )
    assert str(problems_for(queue_type="fifo", max_batching_window_seconds="10")[0]) == (
        "max_batching_window_seconds = '10': expected 0 with queue_type fifo. Why: Lambda takes no batching "
        "window for a FIFO queue."
    )


def test_content_based_deduplication_is_a_fifo_queues_choice():
    assert problems_for(**FIFO, content_based_deduplication="true") == []
    for bad in ("yes", ""):
        assert options_in(problems_for(**FIFO, content_based_deduplication=bad)) == ["content_based_deduplication"]
    [problem] = problems_for(content_based_deduplication="true")
    assert str(problem) == (
        "content_based_deduplication = 'true': expected false unless queue_type is fifo. "
        "Why: only a FIFO queue deduplicates messages."
    )
    for bad in ("yes", ""):  # on a standard queue too, one error for one bad value: the choices'
        [problem] = problems_for(content_based_deduplication=bad)
        assert f"content_based_deduplication = '{bad}': expected one of false, true" in str(problem)


def test_a_fifo_batch_too_long_for_the_execution_names_the_batch_size():
    twenty = ",".join(f"step_{n}" for n in range(1, 21))
    [problem] = problems_for(**FIFO, step_names=twenty, batch_size="10", execution_timeout_seconds="900")
    assert problem.option == "batch_size"
    assert "at most 6 with queue_type fifo and 20 steps" in str(problem)  # 22 x 6 s of backoff per wave
    assert problems_for(**FIFO, step_names=twenty, batch_size="6", execution_timeout_seconds="900") == []


def test_an_s3_event_pipeline_names_a_bucket_s3_takes_and_a_standard_queue():
    s3 = {"message_format": "s3_event"}
    assert problems_for(**s3) == []  # the default: <project_slug>-source
    assert problems_for(**s3, source_bucket="acme-raw-files") == []
    for bad in ("Acme", "a.b", "-ab", "ab-", "ab", "x" * 43):
        [problem] = problems_for(**s3, source_bucket=bad)
        assert str(problem).startswith(f"source_bucket = {bad!r}: expected empty (<project_slug>-source) or 3-42 ")
    [problem] = problems_for(**s3, project_slug="p" * 40)  # the default would pass S3's 63 characters
    assert problem.option == "source_bucket" and "the default, <project_slug>-source, is longer" in str(problem)
    [problem] = problems_for(source_bucket="acme")
    assert str(problem) == (
        "source_bucket = 'acme': expected empty unless message_format reads objects from S3. "
        "Why: only an S3 event pipeline reads a bucket."
    )
    [problem] = problems_for(**s3, **FIFO)
    assert str(problem) == (
        "message_format = 's3_event': expected one of json, sns, eventbridge with queue_type fifo (or queue_type "
        "standard). Why: S3 event notifications cannot be sent to a FIFO queue."
    )
    [problem] = problems_for(**s3, memory_size_mb="128")
    assert problem.option == "memory_size_mb" and "at least 182" in str(problem)


def test_a_fifo_batch_of_one_group_is_planned_a_wave_per_record():
    rules = load_hook("pre_gen_project").load_rules()
    assert rules.wave_count("durable_step", 10, 10, fifo_queue=True) == 10
    assert rules.wave_count("lambda_invoke", 10, 5, fifo_queue=True) == 10
    assert rules.worst_case_operations("durable_step", 3, 10, 10, 3, fifo_queue=True) == 1 + 10 * (1 + 3 + 21 + 3)
    assert rules.worst_case_backoff_seconds("durable_step", 3, 10, 10, [2, 4], fifo_queue=True) == 10 * 5 * 6
    # 20 steps, 10 records of one group: every wave retried to the end still fits AWS's 3,000 operations
    assert rules.worst_case_operations("lambda_invoke", 20, 10, 1, 3, fifo_queue=True) <= 3000


# --- the command line, as a user sees it -----------------------------------------------------

# (option given, value, other answers, the option the report must name)
BAD_VALUES = [
    ("batch_size", "50", {"max_batching_window_seconds": "0"}, "max_batching_window_seconds"),
    ("table_name", "my table", {}, "table_name"),
    ("execution_timeout_seconds", "3600", {}, "execution_timeout_seconds"),
    ("step_names", "validate", {}, "step_names"),
    ("batch_size", "ten", {}, "batch_size"),
    ("batch_size", "1e3", {}, "batch_size"),
    ("max_receive_count", "-1", {}, "max_receive_count"),
    ("retention_days", "", {}, "retention_days"),
    ("esm_max_concurrency", "1", {}, "esm_max_concurrency"),
    ("project_slug", "Bad Slug", {}, "project_slug"),
    ("batch_size", "20", {"queue_type": "fifo"}, "batch_size"),
]


@pytest.mark.parametrize(
    ("option", "value", "others", "reported"), BAD_VALUES, ids=[f"{o}={v!r}" for o, v, _, _ in BAD_VALUES]
)
def test_cli_rejects_bad_value_and_writes_nothing(tmp_path, option, value, others, reported):
    output = tmp_path / "out"
    args = [f"{key}={val}" for key, val in others.items()] + [f"{option}={value}"]

    result = run_cookiecutter_cli(output, *args)

    assert result.returncode != 0
    assert result.stderr.splitlines()[0].startswith("ERROR: cannot generate the project, 1 invalid option value(s):")
    hook_lines = result.stderr.split("Nothing was written.")[0]
    assert f"  - {reported} = " in hook_lines
    assert "Traceback" not in hook_lines  # cookiecutter's own traceback only comes after our message
    assert list(output.iterdir()) == []


def test_cli_reports_several_bad_values_in_one_run(tmp_path):
    result = run_cookiecutter_cli(tmp_path / "out", "batch_size=0", "table_name=a b", "retention_days=365")

    report = result.stderr.split("Nothing was written.")[0]
    assert "3 invalid option value(s)" in report
    assert all(f"  - {name} = " in report for name in ("batch_size", "table_name", "retention_days"))


def test_cli_unknown_choice_is_cookiecutters_own_error(tmp_path):
    result = run_cookiecutter_cli(tmp_path / "out", "runtime=python2.7")

    assert result.returncode != 0
    assert "python2.7 provided for choice variable runtime" in result.stderr


def printed_command(stderr: str, tool: str) -> list[str]:
    line = next(line.strip() for line in stderr.splitlines() if line.strip().startswith(f"{tool} "))
    return shlex.split(line)


def test_cli_error_says_where_the_answers_are_saved_and_how_to_rerun_with_them(tmp_path):
    """After 20 prompts, a bad value costs one edit: the replay file's path and the exact command to reuse it."""
    output = tmp_path / "out"
    result = run_cookiecutter_cli(output, "step_names=ingest,persist", "batch_size=50", "max_batching_window_seconds=0")

    assert result.returncode != 0 and list(output.iterdir()) == []
    message = result.stderr.split("ERROR: Stopping generation")[0]
    replay_file = tmp_path / "replay" / f"{TEMPLATE_DIR.name}.json"
    assert f"cookiecutter saved them in {replay_file}: correct max_batching_window_seconds there" in message
    rerun = printed_command(message, "cookiecutter --replay-file")
    assert rerun[1:] == ["--replay-file", str(replay_file), "--output-dir", "out", str(TEMPLATE_DIR)]

    answers = json.loads(replay_file.read_text())
    answers["cookiecutter"]["max_batching_window_seconds"] = "5"  # the one correction
    replay_file.write_text(json.dumps(answers))
    again = subprocess.run(
        [sys.executable, "-m", *rerun], cwd=tmp_path, capture_output=True, text=True, check=False
    )  # as printed, from the folder it was typed in

    assert again.returncode == 0, again.stderr[-2000:]
    kept = json.loads((output / "durable-data-pipeline" / ".cookiecutter.json").read_text())["cookiecutter"]
    assert (kept["step_names"], kept["batch_size"], kept["max_batching_window_seconds"]) == ("ingest,persist", "50", "5")


def test_cli_error_gives_the_changed_answers_as_one_command(tmp_path):
    output = tmp_path / "out"
    result = run_cookiecutter_cli(output, "step_names=ingest,persist", "batch_size=0")

    command = printed_command(result.stderr, "cookiecutter --no-input")
    assert command[2:] == [
        "--output-dir", "out", str(TEMPLATE_DIR), "step_names=ingest,persist", f"batch_size={invocation.PLACEHOLDER}"
    ]  # fmt: skip
    filled = [part.replace(invocation.PLACEHOLDER, "20") for part in command[1:]] + ["max_batching_window_seconds=1"]
    again = subprocess.run(
        [sys.executable, "-m", "cookiecutter", *filled], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert (output / "durable-data-pipeline" / "template.yaml").is_file()


@pytest.mark.parametrize(
    ("answers", "folder", "parent", "tool"),
    [
        ({}, "out/project", ["/usr/bin/python3", "/usr/local/bin/cookiecutter", "."], "cookiecutter"),
        ({}, "out/project", ["/opt/sam/bin/python", "/opt/sam/bin/sam", "init", "--location", "."], "sam init"),
        ({"_commit": "abc"}, "out/project", [], "cruft create"),
        ({"_commit": "abc"}, "TMP/tmpab12cd_9/project", [], "cruft update"),
    ],
    ids=["cookiecutter", "sam-init", "cruft-create", "cruft-update"],
)
def test_the_tool_that_renders_is_recognised(tmp_path, answers, folder, parent, tool):
    where = Path(tempfile.gettempdir(), *folder.split("/")[1:]) if folder.startswith("TMP/") else tmp_path / folder
    assert invocation.running_tool(answers, where, parent) == tool


def test_rerun_instructions_per_tool(tmp_path):
    answers = {**VALID, "_template": "gh:team/durable-template", "batch_size": "0", "step_names": "a,b"}
    problems = problems_for(batch_size="0", step_names="a,b")
    assert options_in(problems) == ["batch_size"]
    where = {"template_dir": TEMPLATE_DIR, "output_dir": tmp_path / "out", "shell_dir": tmp_path}  # with -o out

    update = "\n".join(invocation.rerun_instructions(answers, problems, "cruft update", None, **where))
    create = "\n".join(invocation.rerun_instructions(answers, problems, "cruft create", None, **where))
    sam = "\n".join(invocation.rerun_instructions(answers, problems, "sam init", None, **where))
    pinned = {**answers, "_checkout": "v3.0.0"}
    cookiecutter = "\n".join(invocation.rerun_instructions(pinned, problems, "cookiecutter", Path("/r/t.json"), **where))

    assert f"""cruft update --variables-to-update '{{"batch_size": "{invocation.PLACEHOLDER}"}}'""" in update
    assert "cruft create gh:team/durable-template --output-dir out --no-input --extra-context" in create
    assert "sam init --location gh:team/durable-template --output-dir out --no-input --extra-context" in sam
    assert "cookiecutter" not in sam  # the SAM CLI installer brings none
    extra = json.loads(shlex.split(sam.splitlines()[-1])[-1])
    assert extra == {"step_names": "a,b", "batch_size": invocation.PLACEHOLDER}  # only what differs from the defaults
    assert "cookiecutter --replay-file /r/t.json --output-dir out --checkout v3.0.0 gh:team/durable-template" in cookiecutter
    assert "cookiecutter --no-input --output-dir out --checkout v3.0.0 gh:team/durable-template step_names=a,b" in cookiecutter


@pytest.mark.parametrize(
    ("folder", "update"), [("work", False), ("tmpab12cd_9", True), ("tmpshort", False)], ids=["work", "mkdtemp", "short"]
)
def test_both_hooks_tell_cruft_update_from_create_alike(folder, update):
    project = Path(tempfile.gettempdir(), folder, "project")
    cruft = {"_commit": "abc"}
    assert (invocation.running_tool(cruft, project, []) == "cruft update") is update
    assert post_gen.rendered_by_cruft_update(cruft, project) is update
    assert post_gen.rendered_by_cruft_update({}, project) is False  # not cruft at all


def test_the_tool_detection_has_one_copy():
    hooks = {path.name: path.read_text() for path in (TEMPLATE_DIR / "hooks").glob("*.py")}
    assert [name for name, text in hooks.items() if "CRUFT_UPDATE_FOLDER = " in text] == ["invocation.py"]
    assert [name for name, text in hooks.items() if "/proc/" in text] == ["invocation.py"]
    assert all("invocation.py" in hooks[name] for name in ("pre_gen_project.py", "post_gen_project.py"))


def test_a_replay_file_with_other_answers_is_not_offered(tmp_path):
    answers = {**VALID, "_repo_dir": str(tmp_path / "template"), "batch_size": "0"}
    saved = tmp_path / "replay" / "template.json"
    saved.parent.mkdir()
    saved.write_text(json.dumps({"cookiecutter": {**answers, "batch_size": "7"}}))
    assert invocation.saved_answers_file(answers, tmp_path / "replay") is None
    saved.write_text(json.dumps({"cookiecutter": answers}))
    assert invocation.saved_answers_file(answers, tmp_path / "replay") == saved


# --- free text is data, never code -------------------------------------------------------------

PAYLOADS = {
    "project_name": 'It\'s "quoted" \\ back\\slash {{ 7*7 }} {% raw %} ünïcode ✓',
    "description": "line one\nline two: {{ cookiecutter.table_name }} '''\"\"\" ${AWS::Region} # not a comment",
    "author_name": "\"); __import__('pathlib').Path('PWNED').write_text('x'); (\"",
}


def test_free_text_renders_as_data(tmp_path, monkeypatch):
    # Through a replay file: cookiecutter renders --no-input overrides as Jinja itself (see README),
    # so this is the path where only the template decides what happens to an answer.
    monkeypatch.chdir(tmp_path)  # where an executed payload would write PWNED
    project = replay(tmp_path / "out", project_slug="free-text", **PAYLOADS)

    assert not (tmp_path / "PWNED").exists() and not (project / "PWNED").exists()
    readme = (project / "README.md").read_text()
    assert "{{ 7*7 }}" in readme and "49" not in readme.split("\n")[0]
    tomllib.loads((project / "pyproject.toml").read_text())
    template = yaml_parse((project / "template.yaml").read_text())
    assert template["Description"].split(": SQS")[0] == PAYLOADS["project_name"]
    answers = json.loads((project / ".cookiecutter.json").read_text())["cookiecutter"]
    assert {key: answers[key] for key in PAYLOADS} == PAYLOADS
    for path in project.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")


def test_hook_answers_are_never_evaluated(tmp_path):
    marker = tmp_path / "EXECUTED"
    payload = f"'''\"\"\"); open({str(marker)!r}, 'w'); (\"\"\"'''"

    bake(tmp_path / "out", project_slug="inert", project_name=payload, description=payload)

    assert not marker.exists()


# --- post-generation ---------------------------------------------------------------------------


def test_answers_are_recorded_without_machine_paths(tmp_path):
    project = bake(tmp_path / "out", batch_size="7")

    recorded = json.loads((project / ".cookiecutter.json").read_text())["cookiecutter"]
    assert recorded["batch_size"] == "7"
    assert not {"_output_dir", "_repo_dir", "_checkout", "_template"} & set(recorded)
    assert str(tmp_path) not in (project / ".cookiecutter.json").read_text()


def test_next_steps_name_the_folder_as_typed_and_what_sam_build_needs(tmp_path):
    result = run_cookiecutter_cli(tmp_path / "out", "runtime=python3.13")

    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Next steps:") == 1
    assert "\n  cd out/durable-data-pipeline\n" in result.stdout  # relative to where cookiecutter was run
    sam_build = next(line for line in result.stdout.splitlines() if line.strip().startswith("sam build"))
    assert "python3.13" in sam_build
    assert ("found on PATH" if shutil.which("python3.13") else "sam build --use-container") in sam_build


def test_build_hint_says_what_is_missing_and_the_fallback(monkeypatch):
    monkeypatch.setattr(post_gen.shutil, "which", lambda name: None)
    assert post_gen.build_hint("python3.14") == (
        "needs python3.14 on PATH (not found here), or `sam build --use-container` (Docker)"
    )
    monkeypatch.setattr(post_gen.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert post_gen.build_hint("python3.14") == "builds with the python3.14 found on PATH"


def test_next_steps_use_an_absolute_path_outside_the_shells_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PWD", str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere").mkdir()
    assert post_gen.where_to_cd(tmp_path / "out" / "p") == str(tmp_path / "out" / "p")
    monkeypatch.setenv("PWD", str(tmp_path))
    assert post_gen.where_to_cd(tmp_path / "out" / "p") == "out/p"


def test_post_hook_finds_a_missing_handler(tmp_path):
    project = bake(tmp_path / "out")
    assert post_gen.check_rendered(project) == []

    (project / "runtime" / "pipeline_runtime" / "step_function.py").unlink()
    (project / "events" / "sqs-batch.json").write_text("{broken")

    problems = post_gen.check_rendered(project)
    missing = "handler module pipeline_runtime/step_function.py is in none of functions/store/, runtime/"
    assert any(p.startswith(f"StoreFunction: {missing}") for p in problems)
    assert any("events/sqs-batch.json is not valid JSON" in p for p in problems)

    (project / "template.yaml").write_text("Resources: [unclosed")
    assert post_gen.check_rendered(project)[0].startswith("template.yaml is not valid YAML")


def test_without_the_sam_translator_the_post_hook_checks_the_yaml_syntax_only(tmp_path, monkeypatch, capsys):
    project = bake(tmp_path / "out")
    monkeypatch.setitem(sys.modules, "samtranslator.yaml_helper", None)  # as under a bare cookiecutter install
    (project / "runtime" / "pipeline_runtime" / "step_function.py").unlink()

    assert post_gen.read_template((project / "template.yaml").read_text()) is None
    assert post_gen.check_rendered(project) == []  # the handler is make validate's to find then
    assert capsys.readouterr().err.strip() == post_gen.SYNTAX_ONLY  # said, not skipped silently

    (project / "template.yaml").write_text("Resources: !Ref [unclosed")
    assert post_gen.check_rendered(project)[0].startswith("template.yaml is not valid YAML")


def test_post_hook_is_safe_to_rerun_and_keeps_user_code(tmp_path, monkeypatch):
    project = bake(tmp_path / "out")
    step_file = project / "functions" / "transform" / "transform_step.py"
    step_file.write_text(step_file.read_text() + "\n# my logic\n")
    step_test = project / "tests" / "unit" / "test_transform_step.py"
    step_test.write_text(step_test.read_text() + "\n# my test\n")
    (project / "functions" / "enrich").mkdir()  # a step added by hand: the hook leaves it alone
    raw = bake(tmp_path / "raw", accept_hooks=False)  # what a second run renders before its hook
    shutil.copytree(raw / ".blueprints", project / ".blueprints")
    monkeypatch.chdir(project)

    assert post_gen.main(json.loads((project / ".cookiecutter.json").read_text())["cookiecutter"]) == 0

    assert step_file.read_text().endswith("# my logic\n")
    assert step_test.read_text().endswith("# my test\n")
    assert (project / "functions" / "enrich").is_dir()
    assert not (project / ".blueprints").exists()
    assert not (project / "functions" / "orchestrator" / "inline_steps.py").exists()  # the other mode's module


# --- property: whatever the strings, a clean error or a parsable project -----------------------

OPTIONS = [key for key in DEFAULTS if not key.startswith("_") and not isinstance(DEFAULTS[key], list)]


# Characters a terminal or a JSON file can carry (no lone surrogates). The slug also excludes "/" and
# NUL: cookiecutter turns it into a folder path before any hook can look at it.
TYPABLE = st.characters(blacklist_categories=("Cs",))
SLUG_TYPABLE = st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00")


@st.composite
def option_and_value(draw):
    option = draw(st.sampled_from(OPTIONS))
    return option, draw(st.text(SLUG_TYPABLE if option == "project_slug" else TYPABLE, max_size=40))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=option_and_value())
def test_any_string_gives_a_clean_error_or_a_parsable_project(tmp_path_factory, case):
    option, value = case
    output = tmp_path_factory.mktemp("prop")
    answers = {option: value} if option == "project_slug" else {option: value, "project_slug": "prop"}
    try:
        project = bake(output, **answers)
    except FailedHookException:  # our hook's report
        assert not any(output.glob("*/template.yaml"))
        assert pre_gen.validate({**VALID, **answers}) != []
        return
    except (CookiecutterException, TemplateError):  # cookiecutter's own, before any hook (see README)
        assert not any(output.glob("*/template.yaml"))
        return
    assert pre_gen.validate({**VALID, **answers}) == []
    yaml_parse((project / "template.yaml").read_text())
    tomllib.loads((project / "pyproject.toml").read_text())
