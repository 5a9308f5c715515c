# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""What the options become when the project is rendered: names, the batch plan, alarm thresholds. Never deployed.

The only copy: the template's Jinja (through jinja_globals.py), its hooks, tools/costs.py and the tests read
this file; the runtime layer carries only what runs in Lambda (pipeline_runtime/naming.py names what deployed
code names too, pipeline_runtime/quotas.py holds every AWS figure with its source). It is read by path while the
template renders, so it loads those two beside itself rather than from the import path.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from pathlib import Path
from types import ModuleType
from typing import Any

RUNTIME = Path(__file__).resolve().parents[1] / "runtime" / "pipeline_runtime"


def runtime_module(name: str) -> ModuleType:
    """`pipeline_runtime.<name>` beside this file: the imported package when it is that one (tests, tools), else
    loaded by path (the template's hooks and Jinja, where cruft may hold two template versions in one process)."""
    path = RUNTIME / f"{name}.py"
    try:
        spec = importlib.util.find_spec(f"pipeline_runtime.{name}")
    except ModuleNotFoundError:
        spec = None
    if spec is not None and spec.origin and Path(spec.origin).resolve() == path:
        return importlib.import_module(f"pipeline_runtime.{name}")
    spec = importlib.util.spec_from_file_location(f"render_rules_{name}_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


naming, quotas = runtime_module("naming"), runtime_module("quotas")
role, function_name_variable = naming.role, naming.function_name_variable  # as deployed code names them

# Names


def parse_steps(step_names: Any) -> list[str]:
    """`step_names` as steps in chain order: comma-separated, spaces around names and empty entries ignored."""
    return [name.strip() for name in str(step_names).split(",") if name.strip()]


def logical_id(step: str) -> str:
    """The CloudFormation logical id of a step's function: `enrich_data` -> `EnrichDataFunction`."""
    return "".join(part.capitalize() for part in step.split("_")) + "Function"


def step_of_variable(variable: str) -> str | None:
    """The step a function-name variable names, or None for any other variable."""
    suffix = function_name_variable("")
    return variable.removesuffix(suffix).lower() if variable.endswith(suffix) and variable != suffix else None


ENVIRONMENTS = ("dev", "staging", "prod")  # the stack's Environment parameter, and samconfig.toml's environments


def function_logical_ids(steps: list[str], step_mode: str) -> list[str]:
    """Every Lambda function of the stack: one per step in lambda_invoke mode, and the orchestrator."""
    return [*(logical_id(step) for step in steps if step_mode == "lambda_invoke"), "OrchestratorFunction"]


def record_concurrency(answers: dict[str, Any]) -> int:
    """Records per wave: the option, or the batch size when it is empty."""
    return int(str(answers.get("record_concurrency", "")).strip() or answers["batch_size"])


def is_fifo(answers: dict[str, Any]) -> bool:
    """The input queue is a FIFO queue: records of one message group in order, Lambda's FIFO batch limits."""
    return answers.get("queue_type") == "fifo"


def reads_objects(answers: dict[str, Any]) -> bool:
    """The queue carries S3 event notifications: the stack creates the bucket, the first step reads its objects."""
    return answers.get("message_format") == "s3_event"


def queue_visibility_timeout(execution_timeout: int, margin: int) -> int:
    """The input queue hides a batch for the whole durable execution, and a margin."""
    return execution_timeout + margin


# The batch plan: every batch these options allow stays inside the quotas

ISOLATED_CALLS_PER_STEP = 1  # per wave: a record that ran out of time beside others goes once alone (orchestrator.py)


def empty_objects_working_set(body_bytes: int = quotas.MAX_SQS_MESSAGE_BYTES) -> int:
    """The last step's working set for a body of `body_bytes` of empty objects (`[{},{},...]`), about the
    densest JSON there is: what the README quotes to size memory_size_mb."""
    text = "[" + ",".join(["{}"] * ((body_bytes - 2) // 3)) + "]"
    return quotas.record_working_set(text, text)


def smallest_memory_mb(step_mode: str, batch_size: int, reads_objects: bool = False) -> int:
    """The least MemorySize these options run in: a batch at its largest (6 MB of event in durable_step) still
    leaves room for a record of SQS's largest body, 1 MiB of plain text, or (`reads_objects`) for the first
    step holding quotas.HELD_OBJECT_BYTES of an S3 object, as the runtime reserves it."""
    reserved = (
        quotas.batch_reserve_bytes(quotas.MAX_SYNC_PAYLOAD_BYTES, batch_size) if step_mode == "durable_step" else 0
    )
    largest_plain_body = '"' + "x" * (quotas.MAX_SQS_MESSAGE_BYTES - 2) + '"'
    record = quotas.record_working_set(largest_plain_body)
    if reads_objects:
        record = max(record, quotas.densest_working_set(quotas.HELD_OBJECT_BYTES) + 64 * 1024)  # and its event
    needed = quotas.FUNCTION_BASELINE_BYTES + quotas.HELD_RESERVE_BYTES + reserved + record
    return max(quotas.MIN_MEMORY_MB, math.ceil(needed / quotas.MIB))


def wave_count(step_mode: str, batch_size: int, record_concurrency: int, fifo_queue: bool = False) -> int:
    """Waves a batch runs in, one after another: in lambda_invoke mode one step invocation takes a wave. From a
    FIFO queue a wave holds one record per message group, so a batch of one group takes a wave per record."""
    if fifo_queue and batch_size > 0:
        return batch_size
    if step_mode == "durable_step" or batch_size <= 0:
        return 1
    return math.ceil(batch_size / record_concurrency)


def operations_per_wave(step_count: int, attempts: int, several_waves: bool, isolating: bool = True) -> int:
    """Worst case of one wave: its child context, staging and settling with every retry, and every step
    called `attempts` times with a durable wait between attempts, plus (`isolating`) its isolated call and
    the wait that gives it an invocation of its own."""
    isolation = 2 * ISOLATED_CALLS_PER_STEP if isolating else 0
    return int(several_waves) + attempts + step_count * (2 * attempts - 1 + isolation) + attempts


def worst_case_operations(
    step_mode: str,
    step_count: int,
    batch_size: int,
    record_concurrency: int,
    attempts: int,
    isolating: bool = True,
    fifo_queue: bool = False,
) -> int:
    """Durable operations of one batch when every call of every step fails transiently until its last attempt
    (and, `isolating`, also runs out of time once)."""
    waves = wave_count(step_mode, batch_size, record_concurrency, fifo_queue)
    return 1 + waves * operations_per_wave(step_count, attempts, waves > 1, isolating)


def operations_when_nothing_fails(
    step_mode: str,
    step_count: int,
    batch_size: int,
    record_concurrency: int,
    by_reference: bool,
    fifo_queue: bool = False,
) -> int:
    """The execution start, then per wave: its child context (several waves), staging (by reference) and
    one call per step. FIFO: a batch of one message group, the most waves."""
    waves = wave_count(step_mode, batch_size, record_concurrency, fifo_queue)
    return 1 + waves * (int(waves > 1) + int(by_reference) + step_count)


def invocations_when_nothing_fails(
    step_mode: str, step_count: int, batch_size: int, record_concurrency: int, fifo_queue: bool = False
) -> tuple[int, int]:
    """Orchestrator and step-function invocations of a batch: in lambda_invoke mode each step call invokes
    its function once and resumes the orchestrator once; in durable_step mode nothing suspends."""
    if step_mode != "lambda_invoke":
        return 1, 0
    calls = wave_count(step_mode, batch_size, record_concurrency, fifo_queue) * step_count
    return 1 + calls, calls


def retry_delays(
    max_attempts: int, initial_delay_seconds: float, backoff_rate: float, max_delay_seconds: float
) -> list[int]:
    """Seconds waited before attempts 2..max_attempts: the durable SDK's exponential strategy without jitter."""
    return [
        max(1, math.ceil(min(initial_delay_seconds * backoff_rate ** (made - 1), max_delay_seconds)))
        for made in range(1, max_attempts)
    ]


def worst_case_backoff_seconds(
    step_mode: str,
    step_count: int,
    batch_size: int,
    record_concurrency: int,
    delays: list[int],
    fifo_queue: bool = False,
) -> int:
    """Seconds a batch can spend waiting between retries: per wave, every step plus staging and settling."""
    return wave_count(step_mode, batch_size, record_concurrency, fifo_queue) * (step_count + 2) * sum(delays)


def largest_fitting_batch(
    step_mode: str,
    step_count: int,
    record_concurrency: int,
    attempts: int,
    delays: list[int] | None = None,
    execution_timeout: int | None = None,
) -> int:
    """The largest batch_size whose worst case stays within quotas.MAX_OPERATIONS and, given the retry `delays`,
    whose worst-case backoff stays under `execution_timeout` (at most quotas.MAX_BATCH_RECORDS; 0 if none fits)."""
    if step_mode == "durable_step":
        waves_allowed = 1
    else:
        waves_allowed = (quotas.MAX_OPERATIONS - 1) // operations_per_wave(step_count, attempts, several_waves=True)
        if (
            worst_case_operations(step_mode, step_count, record_concurrency, record_concurrency, attempts)
            <= quotas.MAX_OPERATIONS
        ):
            waves_allowed = max(1, waves_allowed)
    if delays and execution_timeout:
        per_wave = (step_count + 2) * sum(delays)
        waves_allowed = min(waves_allowed, (execution_timeout - 1) // per_wave if per_wave else waves_allowed)
    if waves_allowed < 1 or worst_case_operations(step_mode, step_count, 1, 1, attempts) > quotas.MAX_OPERATIONS:
        return 0
    if step_mode == "durable_step":
        return quotas.MAX_BATCH_RECORDS
    return min(quotas.MAX_BATCH_RECORDS, waves_allowed * record_concurrency)


def smallest_fitting_record_concurrency(step_mode: str, step_count: int, batch_size: int, attempts: int) -> int | None:
    """The smallest record_concurrency whose worst case stays within quotas.MAX_OPERATIONS, or None if none does."""
    low, high = 1, max(1, batch_size)
    if worst_case_operations(step_mode, step_count, batch_size, high, attempts) > quotas.MAX_OPERATIONS:
        return None
    while low < high:  # the worst case only shrinks as record_concurrency grows
        middle = (low + high) // 2
        if worst_case_operations(step_mode, step_count, batch_size, middle, attempts) <= quotas.MAX_OPERATIONS:
            high = middle
        else:
            low = middle + 1
    return low


# What the stack's alarms watch (template.yaml; README "When an alarm fires").
NEAR_QUOTA_FRACTION = 0.8  # an execution crossing this share of a per-execution quota raises an alarm


def near_quota(limit: int) -> int:
    """The alarm threshold for a per-execution quota."""
    return int(limit * NEAR_QUOTA_FRACTION)


def backlog_age_alarm_seconds(max_batching_window: int, visibility_timeout: int, max_receive_count: int) -> int:
    """The oldest a message gets, as SQS's age metric counts it, while the pipeline keeps up: gathered into a
    batch, then each delivery taking its whole visibility timeout; the metric skips a message once it has
    been received 3 times, so later deliveries do not raise it."""
    return max_batching_window + min(max_receive_count, quotas.SQS_AGE_METRIC_RECEIVES) * visibility_timeout
