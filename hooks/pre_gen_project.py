"""Pre-generation hook: check every answer before anything is written.

Cookiecutter checks nothing but choice lists, so each rule here encodes the AWS limit that a
bad value would otherwise hit at deploy time (or, worse, silently at run time). All problems are
reported at once, one line each, then the hook exits 1 and cookiecutter writes nothing.

The answers arrive as JSON data (`tojson`), never pasted into Python source; the rules are plain
functions so tests import and check them one by one.
"""

from __future__ import annotations

import importlib.util
import json
import keyword
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

RESERVED_STEP_NAMES = {"orchestrator"}  # OrchestratorFunction and functions/orchestrator/ exist already
# In durable_step mode sam build installs the packages the functions import beside each step's folder: a step
# named like one would merge its folder into that package's. Their top-level import names:
SHIPPED_PACKAGES = {
    "annotated_types", "aws_durable_execution_sdk_python", "aws_lambda_powertools", "aws_xray_sdk", "boto3",
    "botocore", "dateutil", "jmespath", "pydantic", "pydantic_core", "s3transfer", "six", "typing_extensions",
    "typing_inspection", "urllib3", "wrapt",
}  # fmt: skip
MAX_STEPS = 20
MAX_STEP_NAME = 40
MAX_FREE_TEXT = 1000


RUNTIME = Path("runtime", "pipeline_runtime")  # in the project template: quotas.py, the one copy of the AWS figures
TEMPLATE_DIR: str | None = None  # set from cookiecutter when the hook runs; tests load the hook from the template


def template_root(template_dir: str | Path | None = None) -> Path:
    template_dir = template_dir or TEMPLATE_DIR
    return Path(template_dir) if template_dir else Path(__file__).resolve().parents[1]


def project_template(template_dir: str | Path | None = None) -> Path:
    """The project template: the folder whose name holds "cookiecutter", as cookiecutter finds it."""
    root = template_root(template_dir)
    return next(path for path in root.iterdir() if path.is_dir() and "cookiecutter" in path.name)


@cache
def load_template_module(relative: str, template_dir: str | Path | None = None) -> ModuleType:
    """A module of the template, read from its folder (this hook runs from a rendered copy elsewhere)."""
    path = template_root(template_dir) / relative
    spec = importlib.util.spec_from_file_location(f"template_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_project_module(relative: str, template_dir: str | Path | None = None) -> ModuleType:
    """A module of the project template (`tools/render_rules.py`, `runtime/pipeline_runtime/quotas.py`)."""
    folder = project_template(template_dir).relative_to(template_root(template_dir))
    return load_template_module(str(folder / relative), template_dir)


def load_quotas(template_dir: str | Path | None = None) -> ModuleType:
    """The AWS figures the generated runtime uses."""
    return load_project_module(f"{RUNTIME}/quotas.py", template_dir)


def load_rules(template_dir: str | Path | None = None) -> ModuleType:
    """What the options become: names and the batch plan (the project's tools/render_rules.py)."""
    return load_project_module("tools/render_rules.py", template_dir)


@cache
def choices(template_dir: str | Path | None = None) -> dict[str, tuple[str, ...]]:
    """Each choice option and its values, from cookiecutter.json: the list cookiecutter offers."""
    options = json.loads((template_root(template_dir) / "cookiecutter.json").read_text(encoding="utf-8"))
    return {name: tuple(values) for name, values in options.items() if isinstance(values, list) and not name.startswith("_")}


@dataclass(frozen=True)
class Problem:
    option: str
    value: Any
    accepted: str
    why: str

    def __str__(self) -> str:
        return f"{self.option} = {self.value!r}: expected {self.accepted}. Why: {self.why}."


def longest_environment_suffix() -> int:
    """The longest `-<environment>` the stack and table names get."""
    return max(len(f"-{environment}") for environment in load_rules().ENVIRONMENTS)


def parse_steps(step_names: Any) -> list[str]:
    return load_rules().parse_steps(step_names)


def logical_id(step: str) -> str:
    return load_rules().logical_id(step)


def parse_whole_number(value: Any) -> int | None:
    """'10' or 10 -> 10; anything else ('ten', '1e3', '-1', '', '1.0', True) -> None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if re.fullmatch(r"[0-9]{1,9}", text) else None


def check_range(answers: dict, option: str, low: int, high: int, why: str) -> tuple[int | None, list[Problem]]:
    value = answers.get(option, "")
    number = parse_whole_number(value)
    if number is None or not low <= number <= high:
        return None, [Problem(option, value, f"a whole number from {low} to {high}", why)]
    return number, []


def check_project_name(answers: dict) -> list[Problem]:
    value = answers.get("project_name", "")
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        return [
            Problem("project_name", value, "non-blank text of at most 200 characters", "it titles the README and stack")
        ]
    return []


def check_project_slug(answers: dict) -> list[Problem]:
    value = answers.get("project_slug", "")
    longest = 128 - longest_environment_suffix()
    if (
        not isinstance(value, str)
        or not re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", value)
        or "--" in value
        or len(value) > longest
    ):
        return [
            Problem(
                "project_slug",
                value,
                f"2-{longest} characters: lower-case letters, digits and single hyphens, starting with a letter "
                "and not ending with a hyphen",
                "it names the folder, the Python package and the CloudFormation stack '<slug>-<environment>', "
                "which CloudFormation limits to [a-zA-Z][-a-zA-Z0-9]* and 128 characters",
            )
        ]
    return []


def check_free_text(answers: dict) -> list[Problem]:
    problems = []
    for option in ("description", "author_name"):
        value = answers.get(option, "")
        if not isinstance(value, str) or len(value) > MAX_FREE_TEXT:
            problems.append(
                Problem(option, value, f"text of at most {MAX_FREE_TEXT} characters", "it is written into docs")
            )
    return problems


def check_table_name(answers: dict) -> list[Problem]:
    value = answers.get("table_name", "")
    longest = 255 - longest_environment_suffix()
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", value) or len(value) > longest:
        return [
            Problem(
                "table_name",
                value,
                f"1-{longest} characters of A-Z a-z 0-9 _ . -",
                f"the deployed name is '<table_name>-<environment>' (up to {longest_environment_suffix()} more "
                "characters) and DynamoDB allows 3-255 characters of [A-Za-z0-9_.-]",
            )
        ]
    return []


def check_step_names(answers: dict) -> list[Problem]:
    raw = answers.get("step_names", "")
    steps = parse_steps(raw)
    problems = []
    if not 2 <= len(steps) <= MAX_STEPS:
        problems.append(
            Problem(
                "step_names",
                raw,
                f"2 to {MAX_STEPS} comma-separated names",
                "the first step validates and the last stores, and the orchestrator's environment "
                "(4 KB in Lambda) carries one function name per step",
            )
        )
    for step in steps:
        if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", step) or len(step) > MAX_STEP_NAME:
            problems.append(
                Problem(
                    "step_names",
                    step,
                    f"a lower-case identifier of at most {MAX_STEP_NAME} characters (letters, digits, single "
                    "underscores between them)",
                    "it names a Python module, a folder, an environment variable and a CloudFormation logical id",
                )
            )
        elif keyword.iskeyword(step) or step in RESERVED_STEP_NAMES:
            problems.append(
                Problem("step_names", step, "a name that is not a Python keyword or 'orchestrator'", "it would clash")
            )
        elif step in SHIPPED_PACKAGES:
            problems.append(
                Problem(
                    "step_names",
                    step,
                    "a name that is not a package the functions ship with (" + ", ".join(sorted(SHIPPED_PACKAGES)) + ")",
                    "sam build installs that package into the same folder as the step's code",
                )
            )
    for step in sorted({s for s in steps if steps.count(s) > 1}):
        problems.append(Problem("step_names", step, "each step named once", "one function per step"))
    ids: dict[str, str] = {}
    for step in dict.fromkeys(steps):
        other = ids.setdefault(logical_id(step), step)
        if other != step:
            problems.append(
                Problem(
                    "step_names",
                    f"{other}, {step}",
                    "names that differ in more than underscores",
                    f"both become the CloudFormation resource {logical_id(step)}",
                )
            )
    return problems


def check_choices(answers: dict) -> list[Problem]:
    problems = []
    for option, accepted in choices().items():
        value = answers.get(option, "")
        if value not in accepted:
            problems.append(
                Problem(option, value, f"one of {', '.join(accepted)}", "the choices this template supports")
            )
    return problems


def check_region(answers: dict) -> list[Problem]:
    value = answers.get("aws_region", "")
    if not isinstance(value, str) or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}", value):
        return [
            Problem(
                "aws_region", value, "an AWS region code such as us-east-1 or eu-west-1", "samconfig.toml deploys there"
            )
        ]
    return []


EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def check_monitoring(answers: dict) -> list[Problem]:
    """Where the alarms go and how long logs stay: values CloudWatch Logs and SNS accept."""
    problems = []
    days = parse_whole_number(answers.get("log_retention_days", ""))
    accepted = load_quotas().LOG_RETENTION_DAYS
    if days not in accepted:
        problems.append(
            Problem(
                "log_retention_days",
                answers.get("log_retention_days", ""),
                f"one of {', '.join(map(str, accepted))}",
                "CloudWatch Logs accepts only these retention periods",
            )
        )
    email = answers.get("alarm_email", "")
    address = email.strip() if isinstance(email, str) else None
    if address is None or (address and (len(address) > 254 or not EMAIL.fullmatch(address))):
        problems.append(
            Problem(
                "alarm_email",
                email,
                "empty, or one email address such as ops@example.com",
                "the alarm topic sends it a subscription to confirm",
            )
        )
    return problems


def check_batching(answers: dict) -> list[Problem]:
    batch, problems = check_range(
        answers,
        "batch_size",
        1,
        load_quotas().MAX_BATCH_RECORDS,
        f"Lambda's SQS event source mapping takes 1-{load_quotas().MAX_BATCH_RECORDS} records per batch",
    )
    window, more = check_range(
        answers, "max_batching_window_seconds", 0, 300, "Lambda's batching window is 0-300 seconds"
    )
    problems += more
    fifo = load_rules().is_fifo(answers)  # check_queue_type: at most 10, and no window at all
    if batch is not None and window is not None and batch > 10 and window < 1 and not fifo:
        problems.append(
            Problem(
                "max_batching_window_seconds",
                answers["max_batching_window_seconds"],
                f"at least 1 when batch_size is above 10 (batch_size is {batch})",
                "Lambda rejects an SQS event source mapping with more than 10 records per batch and no batching window",
            )
        )
    problems += check_range(
        answers, "max_receive_count", 1, 1000, "SQS redrive policies take a maxReceiveCount of 1-1000"
    )[1]
    if str(answers.get("esm_max_concurrency", "")).strip():
        problems += check_range(
            answers,
            "esm_max_concurrency",
            2,
            1000,
            "the event source mapping's MaximumConcurrency is 2-1000, or leave it empty for no limit",
        )[1]
    if str(answers.get("record_concurrency", "")).strip():
        high = batch if batch is not None else load_quotas().MAX_BATCH_RECORDS
        problems += check_range(
            answers,
            "record_concurrency",
            1,
            high,
            "records of one batch in flight at once (and the most one step invocation handles): at least 1,"
            " and more than the batch size does nothing",
        )[1]
    return problems


def check_queue_type(answers: dict) -> list[Problem]:
    """What Lambda's event source mapping allows a FIFO queue, and the formats a FIFO queue can receive."""
    if not load_rules().is_fifo(answers):
        unset, *others = choices()["content_based_deduplication"]
        if answers.get("content_based_deduplication", unset) in others:  # a value not offered is the choices' error
            accepted = f"{unset} unless queue_type is fifo"
            why = "only a FIFO queue deduplicates messages"
            return [Problem("content_based_deduplication", answers["content_based_deduplication"], accepted, why)]
        return []
    quotas, problems = load_quotas(), []
    batch = parse_whole_number(answers.get("batch_size", ""))
    if batch is not None and batch > quotas.MAX_FIFO_BATCH_RECORDS:
        problems.append(
            Problem(
                "batch_size",
                answers["batch_size"],
                f"1-{quotas.MAX_FIFO_BATCH_RECORDS} with queue_type fifo",
                f"Lambda takes at most {quotas.MAX_FIFO_BATCH_RECORDS} records per batch from a FIFO queue",
            )
        )
    if parse_whole_number(answers.get("max_batching_window_seconds", "")) not in (0, None):
        problems.append(
            Problem(
                "max_batching_window_seconds",
                answers["max_batching_window_seconds"],
                "0 with queue_type fifo",
                "Lambda takes no batching window for a FIFO queue",
            )
        )
    if load_rules().reads_objects(answers):
        problems.append(
            Problem(
                "message_format",
                answers["message_format"],
                f"one of {', '.join(value for value in choices()['message_format'] if value != answers['message_format'])} "
                "with queue_type fifo (or queue_type standard)",
                "S3 event notifications cannot be sent to a FIFO queue",
            )
        )
    return problems


def check_source_bucket(answers: dict) -> list[Problem]:
    """The bucket an s3_event pipeline reads: a name S3 takes once '-<environment>-<account id>' is added."""
    value = answers.get("source_bucket", "")
    if not load_rules().reads_objects(answers):
        if value:
            accepted = "empty unless message_format reads objects from S3"
            return [Problem("source_bucket", value, accepted, "only an S3 event pipeline reads a bucket")]
        return []
    longest = 63 - longest_environment_suffix() - len("-123456789012")
    if value == "" and isinstance(answers.get("project_slug"), str):  # the default: <project_slug>-source
        if len(answers["project_slug"] + "-source") > longest:
            accepted = f"a name of 3-{longest} characters (the default, <project_slug>-source, is longer)"
            return [Problem("source_bucket", value, accepted, "S3 bucket names are at most 63 characters")]
        return []
    well_formed = isinstance(value, str) and bool(re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", value))
    if not isinstance(value, str) or not (well_formed and 3 <= len(value) <= longest):
        return [
            Problem(
                "source_bucket",
                value,
                f"empty (<project_slug>-source) or 3-{longest} characters of a-z 0-9 -, starting and ending with a "
                "letter or digit",
                "the stack creates '<source_bucket>-<environment>-<account id>' and S3 bucket names are 3-63 "
                "characters of a-z 0-9 . -; dots are left out, as they break TLS to virtual-hosted bucket names",
            )
        ]
    return []


def retry_delays(retry: dict, _quotas: ModuleType | None = None) -> list[int]:
    """Seconds waited before each retry of a step, as the durable SDK's strategy computes them."""
    return load_rules().retry_delays(
        int(retry["max_attempts"]), retry["initial_delay_seconds"], retry["backoff_rate"], retry["max_delay_seconds"]
    )


def batch_plan(answers: dict) -> dict[str, Any] | None:
    """Mode, steps, batch size, record concurrency and attempts, once each is valid; None otherwise."""
    steps = parse_steps(answers.get("step_names", ""))
    batch = parse_whole_number(answers.get("batch_size", ""))
    given = str(answers.get("record_concurrency", "")).strip()
    concurrency = parse_whole_number(given) if given else batch
    if concurrency is not None and batch is not None:  # valid both: as the template will read them
        concurrency = load_rules().record_concurrency({**answers, "batch_size": batch})
    retry = answers.get("_step_retry")
    if not (steps and batch and concurrency and 1 <= concurrency <= batch and isinstance(retry, dict)):
        return None
    if answers.get("step_mode") not in choices()["step_mode"]:
        return None
    return {
        "step_mode": answers["step_mode"],
        "step_count": len(steps),
        "batch_size": batch,
        "record_concurrency": concurrency,
        "attempts": int(retry["max_attempts"]),
        "fifo_queue": load_rules().is_fifo(answers),
    }


def check_operations(answers: dict) -> list[Problem]:
    """No batch the options allow may need more durable operations than AWS allows one execution."""
    plan = batch_plan(answers)
    if plan is None:
        return []
    quotas = load_quotas()
    worst = load_rules().worst_case_operations(**plan)
    if worst <= quotas.MAX_OPERATIONS:
        return []
    smallest = load_rules().smallest_fitting_record_concurrency(
        plan["step_mode"], plan["step_count"], plan["batch_size"], plan["attempts"]
    )
    execution_timeout = parse_whole_number(answers.get("execution_timeout_seconds", ""))
    largest = load_rules().largest_fitting_batch(  # fitting the backoff rule too, so the advice is whole
        plan["step_mode"],
        plan["step_count"],
        plan["record_concurrency"],
        plan["attempts"],
        retry_delays(answers["_step_retry"], quotas),
        execution_timeout if execution_timeout and execution_timeout <= 900 else None,
    )
    waves = load_rules().wave_count(plan["step_mode"], plan["batch_size"], plan["record_concurrency"], plan["fifo_queue"])
    return [
        Problem(
            "record_concurrency",
            answers.get("record_concurrency", ""),
            f"at least {smallest} with batch_size {plan['batch_size']} and {plan['step_count']} steps "
            f"(or keep it and set batch_size to at most {largest})",
            f"a batch runs in {waves} waves of record_concurrency records, each up to "
            f"{load_rules().operations_per_wave(plan['step_count'], plan['attempts'], waves > 1)} durable operations when "
            f"every step retries, so up to {worst:,} per execution; AWS allows {quotas.MAX_OPERATIONS:,} "
            "(a hard limit)",
        )
    ]


def check_memory(answers: dict) -> list[Problem]:
    """Every function's MemorySize, within Lambda's range and large enough for the batch these options allow."""
    quotas = load_quotas()
    memory, problems = check_range(
        answers, "memory_size_mb", quotas.MIN_MEMORY_MB, quotas.MAX_MEMORY_MB, "Lambda's MemorySize range in MB"
    )
    plan = batch_plan(answers)
    if memory is None or plan is None:
        return problems
    reads_objects = load_rules().reads_objects(answers)
    smallest = load_rules().smallest_memory_mb(plan["step_mode"], plan["batch_size"], reads_objects)
    if memory < smallest:
        problems.append(
            Problem(
                "memory_size_mb",
                answers["memory_size_mb"],
                f"at least {smallest} for step_mode {plan['step_mode']} with batch_size {plan['batch_size']}",
                f"a function holds its own code ({quotas.FUNCTION_BASELINE_BYTES // quotas.MIB} MB), the texts of the "
                f"records it works on ({quotas.HELD_RESERVE_BYTES // quotas.MIB} MB), in durable_step mode the batch "
                "(up to 6 MB of event), and must still fit a record of SQS's largest body; Lambda ends an invocation "
                "past its MemorySize",
            )
        )
    return problems


def check_timeouts(answers: dict) -> list[Problem]:
    function_timeout, problems = check_range(
        answers, "function_timeout_seconds", 1, 900, "a Lambda invocation runs at most 900 seconds"
    )
    execution_timeout, more = check_range(
        answers,
        "execution_timeout_seconds",
        1,
        900,
        "an SQS event source mapping invokes a durable function synchronously and the whole execution "
        "must finish within 15 minutes",
    )
    problems += more
    problems += check_range(answers, "retention_days", 1, 90, "DurableConfig.RetentionPeriodInDays is 1-90")[1]
    if execution_timeout is None:
        return problems
    if function_timeout is not None and function_timeout > execution_timeout:
        problems.append(
            Problem(
                "function_timeout_seconds",
                answers["function_timeout_seconds"],
                f"at most execution_timeout_seconds ({execution_timeout})",
                "no invocation can outlive the durable execution it belongs to",
            )
        )
    margin = int(answers.get("_visibility_margin_seconds", 60))
    visibility = load_rules().queue_visibility_timeout(execution_timeout, margin)
    if not execution_timeout <= visibility <= 43200:
        problems.append(
            Problem(
                "execution_timeout_seconds",
                answers["execution_timeout_seconds"],
                "a value whose derived queue visibility timeout is 0-43200 seconds and covers the execution",
                "SQS would redeliver a batch that is still being processed",
            )
        )
    plan = batch_plan(answers)
    if plan is not None:
        # Worst case: in every wave, every step, the staging and the settling use all their retries.
        quotas = load_quotas()
        delays = retry_delays(answers["_step_retry"], quotas)
        worst = load_rules().worst_case_backoff_seconds(
            plan["step_mode"], plan["step_count"], plan["batch_size"], plan["record_concurrency"], delays, plan["fifo_queue"]
        )
        if worst >= execution_timeout:
            waves = load_rules().wave_count(
                plan["step_mode"], plan["batch_size"], plan["record_concurrency"], plan["fifo_queue"]
            )
            why = (
                f"a batch's retries can wait {worst} s in backoff ({plan['attempts']} attempts per step, waits of "
                f"{', '.join(map(str, delays))} s, in each of its {waves} wave(s)), which must fit inside the execution"
            )
            if worst < 900:
                accepted = f"more than {worst} for {plan['step_count']} steps in {waves} wave(s)"
                problems.append(Problem("execution_timeout_seconds", answers["execution_timeout_seconds"], accepted, why))
            else:  # no execution timeout can hold it: fewer waves can
                per_wave = worst // waves
                most_waves = max(1, (execution_timeout - 1) // per_wave)
                if plan["fifo_queue"]:  # a wave per record of one message group, whatever record_concurrency is
                    accepted = f"at most {most_waves} with queue_type fifo and {plan['step_count']} steps"
                    problems.append(Problem("batch_size", answers["batch_size"], accepted, why))
                    return problems
                smallest = -(-plan["batch_size"] // most_waves)
                accepted = f"at least {smallest} with batch_size {plan['batch_size']} ({most_waves} waves at most)"
                problems.append(Problem("record_concurrency", answers.get("record_concurrency", ""), accepted, why))
    return problems


RULES: tuple[Callable[[dict], list[Problem]], ...] = (
    check_project_name,
    check_project_slug,
    check_free_text,
    check_table_name,
    check_step_names,
    check_batching,
    check_queue_type,
    check_source_bucket,
    check_operations,
    check_timeouts,
    check_memory,
    check_monitoring,
    check_choices,
    check_region,
)


def validate(answers: dict) -> list[Problem]:
    """Every problem with the answers, in option order; empty when they are all valid."""
    return [problem for rule in RULES for problem in rule(answers)]


def report(problems: list[Problem], rerun: list[str] | None = None) -> str:
    lines = [f"ERROR: cannot generate the project, {len(problems)} invalid option value(s):"]
    lines += [f"  - {problem}" for problem in problems]
    lines += rerun if rerun is not None else ["Nothing was written. Fix the values above and generate again."]
    return "\n".join(lines)


def invocation() -> ModuleType:
    """Which tool is rendering, and how to run it again (hooks/invocation.py, shared with the post hook)."""
    return load_template_module("hooks/invocation.py")


def main(answers: dict) -> int:
    try:
        problems = validate(answers)
    except Exception as error:  # a bug here must still end in a readable message
        print(f"ERROR: the template's option check failed unexpectedly ({error!r}); please report it.", file=sys.stderr)
        return 1
    if problems:
        how = invocation()
        tool = how.running_tool(answers, Path.cwd(), how.parent_command())
        replay_file = how.saved_answers_file(answers, how.replay_dir()) if tool == "cookiecutter" else None
        shell = Path(os.environ["PWD"]) if os.environ.get("PWD") else None  # the folder the user typed in
        rerun = how.rerun_instructions(
            answers, problems, tool, replay_file, template_root(), output_dir=Path.cwd().parent, shell_dir=shell
        )
        print(report(problems, rerun), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    TEMPLATE_DIR = json.loads(r"""{{ {"path": template_dir()} | tojson }}""")["path"]
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}""")))
