# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""AWS quotas a deployed pipeline lives under, and the plan that keeps every batch inside them.

The only copy: the template's hooks load this file to check the options, the orchestrator plans
each batch with it, and local runs enforce the same figures. Sizes are bytes. Where sources disagree
the stricter figure is planned for, and the comment says so. Sources, read 2026-12:

- durable executions: the Lambda quotas page, "Durable functions" (3,000 operations, 100 MB written);
- one operation's checkpoint: 262,144 bytes, the service's own answer to a larger step result
  ("STEP output payload size must be less than or equal to 262144 bytes.", quoted in the durable SDK's
  exceptions_test.py and its issue 342), the SDK's CHECKPOINT_SIZE_LIMIT_BYTES, and the .NET SDK's
  PR 2411; the Lambda API model's 1 MB for OperationUpdate.Payload is not what the service enforces;
- error objects: the SDK testing runner's MAX_ERROR_PAYLOAD_SIZE_BYTES, 32,768 (the API model allows
  1 MB for all error fields: the stricter is planned for);
- 6 MB synchronous payloads, SQS 1 MiB messages, DynamoDB's 400 KB items and 32 nesting levels and
  its numbers: the Lambda, SQS and DynamoDB quota pages. "6 MB" is taken as 6,291,456 bytes and the
  durable "100 MB" as 100,000,000, the stricter readings.
"""

from __future__ import annotations

import math
import sys

MIB = 1024 * 1024

# What AWS enforces. Durable execution quotas are hard limits: they cannot be raised.
MAX_OPERATIONS = 3000  # durable operations per execution
MAX_PERSISTED_BYTES = 100_000_000  # payload written per execution, summed: "100 MB" read the stricter way
MAX_OPERATION_PAYLOAD_BYTES = 262_144  # one step or child-context result, chained-invoke input or result, callback
MAX_ERROR_PAYLOAD_BYTES = 32_768  # one operation's error object, as JSON
MAX_SYNC_PAYLOAD_BYTES = 6 * MIB  # the ESM invokes synchronously: the batch event, and the return value
MAX_SQS_MESSAGE_BYTES = MIB  # body and message attributes together
MAX_BATCH_RECORDS = 10_000  # records in one SQS event source mapping batch
MAX_DYNAMODB_ITEM_BYTES = 400 * 1024  # attribute names and values together
MAX_DYNAMODB_NESTING = 32  # levels of maps and lists inside an item's attribute
MAX_DYNAMODB_NUMBER_DIGITS = 38  # significant digits of a number
DYNAMODB_NUMBER_RANGE = (1e-130, 9.9999999999999999999999999999999999999e125)  # magnitudes of a non-zero number

# The plan. Records travel between steps inline, in the checkpointed payloads, while that stays
# small; otherwise through the payload bucket, the checkpoints holding only a reference.
PLANNED_OPERATION_PAYLOAD_BYTES = 224 * 1024  # the most one operation is planned to hold: 32 KiB under the limit
INLINE_BUDGET_BYTES = 64 * MIB  # inline payload one execution may write, leaving room for the event and references
ENVELOPE_BYTES = 2 * 1024  # a request's or reply's own fields around its payloads
REQUEST_PAYLOADS = 2  # a lambda_invoke request carries up to this many payloads per attempt: sources and originals
MAX_RECORD_BYTES = 6 * MIB  # one record's data after a step (UTF-8 JSON); larger is dead-lettered as payload_too_large
STORED_ITEM_INLINE_BYTES = 350_000  # a stored item larger than this keeps its data in the bucket, the item a pointer
MAX_STEP_THREADS = 64  # records one step call runs at once, whatever record_concurrency says


# Time. Lambda ends an invocation at its Timeout like a crash, whatever its records were doing: a step
# call answers before that with what finished, and starts no record in the last stretch.
REPLY_RESERVE_FRACTION = 0.1  # of the time left when a call starts, kept to pack and send its reply
REPLY_RESERVE_SECONDS = (1.0, 5.0)  # ... within these bounds (a quarter of the time at most, for short Timeouts)
# Records start only while twice the reserve is left.
ISOLATED_CALLS_PER_STEP = 1  # per wave: a record that ran out of time beside others goes once alone


def reply_reserve_seconds(seconds_left: float) -> float:
    """Time a step call keeps for its reply out of the `seconds_left` of its invocation."""
    low, high = REPLY_RESERVE_SECONDS
    return min(high, max(min(low, seconds_left / 4), seconds_left * REPLY_RESERVE_FRACTION))


# Memory. A function's MemorySize bounds its whole process; past it Lambda ends the invocation like a crash.
# What the template holds in a step call, and how the records in flight share the rest:
FUNCTION_BASELINE_BYTES = 80 * MIB  # before any record: interpreter, Lambda's runtime client, boto3, Powertools,
# the durable SDK, pydantic (make check-build measures what the build imports: under 60 MB on python3.13)
HELD_TEXT_BYTES = 8 * MIB  # record texts a step call keeps for its reply; past this each goes to the bucket alone
HELD_RESERVE_BYTES = 3 * HELD_TEXT_BYTES  # a call's inputs, the originals it stores with, and its outputs, as text
WORKING_SET_FACTOR = 2  # a record in a step: its input parsed and the step's output (a copy at most)
ESTIMATE_MARGIN = 1.25  # over the measured worst case of parsed_bytes_bound (tests/pipeline/test_memory.py)
EVENT_RESERVE_FACTOR = 4  # durable_step: the batch event parsed by Lambda and the staged copy of its bodies
EVENT_RESERVE_PER_RECORD = 2048  # ... and each record's dict of attributes
MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10_240  # what Lambda allows


def parsed_bytes_bound(text: str) -> int:
    """At most the bytes `json.loads(text)` allocates, from a count of its structure (no parse): every container,
    scalar, key and slot at the largest size CPython gives it, the characters at the text's own width. Braces,
    commas and colons inside strings are counted too, which only raises it."""
    empty = text.count("{}") + text.count("[]")
    opened = text.count("{") + text.count("[")
    values = text.count(",") + (opened - empty) + 1
    scalars = max(0, values - opened)
    exact = (
        sys.getsizeof(text) + 184 * (opened - empty) + 72 * empty + 80 * scalars + 80 * text.count(":") + 16 * values
    )
    return math.ceil(exact * ESTIMATE_MARGIN)


def record_working_set(text: str, original: str | None = None) -> int:
    """Bytes one record may take in a step: its text parsed and the step's copy, the original it is stored with
    (the last step), and the encodings of what it returns."""
    parsed = WORKING_SET_FACTOR * parsed_bytes_bound(text) + (parsed_bytes_bound(original) if original else 0)
    return parsed + 2 * (len(text) + len(original or ""))


def empty_objects_working_set(body_bytes: int = MAX_SQS_MESSAGE_BYTES) -> int:
    """The last step's working set for a body of `body_bytes` of empty objects (`[{},{},...]`), about the
    densest JSON there is: what the README quotes to size memory_size_mb."""
    text = "[" + ",".join(["{}"] * ((body_bytes - 2) // 3)) + "]"
    return record_working_set(text, text)


def batch_reserve_bytes(body_bytes: int, records: int) -> int:
    """What a durable_step orchestrator holds for its batch while its steps run: the event as Lambda parsed it and
    the staged bodies."""
    return EVENT_RESERVE_FACTOR * body_bytes + EVENT_RESERVE_PER_RECORD * records


def records_budget_bytes(memory_mb: int, reserved_bytes: int = 0) -> int:
    """Bytes the records in flight in one step call share: MemorySize less the baseline, the texts held and
    `reserved_bytes` (durable_step: the batch). A record whose working set alone exceeds it is payload_too_large."""
    return memory_mb * MIB - FUNCTION_BASELINE_BYTES - HELD_RESERVE_BYTES - reserved_bytes


def smallest_memory_mb(step_mode: str, batch_size: int) -> int:
    """The least MemorySize these options run in: a batch at its largest (6 MB of event in durable_step) still
    leaves room for a record of SQS's largest body, 1 MiB of plain text."""
    reserved = batch_reserve_bytes(MAX_SYNC_PAYLOAD_BYTES, batch_size) if step_mode == "durable_step" else 0
    largest_plain_body = '"' + "x" * (MAX_SQS_MESSAGE_BYTES - 2) + '"'
    needed = FUNCTION_BASELINE_BYTES + HELD_RESERVE_BYTES + reserved + record_working_set(largest_plain_body)
    return max(MIN_MEMORY_MB, math.ceil(needed / MIB))


def wave_count(step_mode: str, batch_size: int, record_concurrency: int) -> int:
    """Waves a batch runs in, one after another: in lambda_invoke mode one step invocation takes a wave."""
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
    step_mode: str, step_count: int, batch_size: int, record_concurrency: int, attempts: int, isolating: bool = True
) -> int:
    """Durable operations of one batch when every call of every step fails transiently until its last attempt
    (and, `isolating`, also runs out of time once)."""
    waves = wave_count(step_mode, batch_size, record_concurrency)
    return 1 + waves * operations_per_wave(step_count, attempts, waves > 1, isolating)


def operations_when_nothing_fails(
    step_mode: str, step_count: int, batch_size: int, record_concurrency: int, by_reference: bool
) -> int:
    """The execution start, then per wave: its child context (several waves), staging (by reference) and
    one call per step."""
    waves = wave_count(step_mode, batch_size, record_concurrency)
    return 1 + waves * (int(waves > 1) + int(by_reference) + step_count)


def invocations_when_nothing_fails(
    step_mode: str, step_count: int, batch_size: int, record_concurrency: int
) -> tuple[int, int]:
    """Orchestrator and step-function invocations of a batch: in lambda_invoke mode each step call invokes
    its function once and resumes the orchestrator once; in durable_step mode nothing suspends."""
    if step_mode != "lambda_invoke":
        return 1, 0
    calls = wave_count(step_mode, batch_size, record_concurrency) * step_count
    return 1 + calls, calls


def inline_payload_cap(step_mode: str, step_count: int, waves: int, attempts: int) -> int:
    """Largest inline payload for a batch planned this way. Every operation then stays within
    PLANNED_OPERATION_PAYLOAD_BYTES: a durable_step call's result holds one payload; a lambda_invoke
    request holds up to REQUEST_PAYLOADS x attempts (its reply one). The checkpoints' inline bytes stay
    within INLINE_BUDGET_BYTES: a lambda_invoke call writes its request and its reply."""
    room = PLANNED_OPERATION_PAYLOAD_BYTES - ENVELOPE_BYTES
    per_operation = room // (REQUEST_PAYLOADS * attempts) if step_mode == "lambda_invoke" else room
    payloads_per_call = REQUEST_PAYLOADS * attempts + 1 if step_mode == "lambda_invoke" else 1
    share = INLINE_BUDGET_BYTES // (max(1, waves) * step_count * attempts * payloads_per_call)
    return min(per_operation, share)


def retry_delays(
    max_attempts: int, initial_delay_seconds: float, backoff_rate: float, max_delay_seconds: float
) -> list[int]:
    """Seconds waited before attempts 2..max_attempts: the durable SDK's exponential strategy without jitter."""
    return [
        max(1, math.ceil(min(initial_delay_seconds * backoff_rate ** (made - 1), max_delay_seconds)))
        for made in range(1, max_attempts)
    ]


def worst_case_backoff_seconds(
    step_mode: str, step_count: int, batch_size: int, record_concurrency: int, delays: list[int]
) -> int:
    """Seconds a batch can spend waiting between retries: per wave, every step plus staging and settling."""
    return wave_count(step_mode, batch_size, record_concurrency) * (step_count + 2) * sum(delays)


def largest_fitting_batch(
    step_mode: str,
    step_count: int,
    record_concurrency: int,
    attempts: int,
    delays: list[int] | None = None,
    execution_timeout: int | None = None,
) -> int:
    """The largest batch_size whose worst case stays within MAX_OPERATIONS and, given the retry `delays`,
    whose worst-case backoff stays under `execution_timeout` (at most MAX_BATCH_RECORDS; 0 if none fits)."""
    if step_mode == "durable_step":
        waves_allowed = 1
    else:
        waves_allowed = (MAX_OPERATIONS - 1) // operations_per_wave(step_count, attempts, several_waves=True)
        if (
            worst_case_operations(step_mode, step_count, record_concurrency, record_concurrency, attempts)
            <= MAX_OPERATIONS
        ):
            waves_allowed = max(1, waves_allowed)
    if delays and execution_timeout:
        per_wave = (step_count + 2) * sum(delays)
        waves_allowed = min(waves_allowed, (execution_timeout - 1) // per_wave if per_wave else waves_allowed)
    if waves_allowed < 1 or worst_case_operations(step_mode, step_count, 1, 1, attempts) > MAX_OPERATIONS:
        return 0
    if step_mode == "durable_step":
        return MAX_BATCH_RECORDS
    return min(MAX_BATCH_RECORDS, waves_allowed * record_concurrency)


def smallest_fitting_record_concurrency(step_mode: str, step_count: int, batch_size: int, attempts: int) -> int | None:
    """The smallest record_concurrency whose worst case stays within MAX_OPERATIONS, or None if none does."""
    low, high = 1, max(1, batch_size)
    if worst_case_operations(step_mode, step_count, batch_size, high, attempts) > MAX_OPERATIONS:
        return None
    while low < high:  # the worst case only shrinks as record_concurrency grows
        middle = (low + high) // 2
        if worst_case_operations(step_mode, step_count, batch_size, middle, attempts) <= MAX_OPERATIONS:
            high = middle
        else:
            low = middle + 1
    return low


# What the stack's alarms watch (template.yaml; README "When an alarm fires").
NEAR_QUOTA_FRACTION = 0.8  # an execution crossing this share of a per-execution quota raises an alarm
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)  # fmt: skip  # the values CloudWatch Logs accepts (PutRetentionPolicy)


def near_quota(limit: int) -> int:
    """The alarm threshold for a per-execution quota."""
    return int(limit * NEAR_QUOTA_FRACTION)


SQS_AGE_METRIC_RECEIVES = 3  # ApproximateAgeOfOldestMessage stops counting a message received this often


def backlog_age_alarm_seconds(max_batching_window: int, visibility_timeout: int, max_receive_count: int) -> int:
    """The oldest a message gets, as SQS's age metric counts it, while the pipeline keeps up: gathered into a
    batch, then each delivery taking its whole visibility timeout; the metric skips a message once it has
    been received 3 times, so later deliveries do not raise it."""
    return max_batching_window + min(max_receive_count, SQS_AGE_METRIC_RECEIVES) * visibility_timeout
