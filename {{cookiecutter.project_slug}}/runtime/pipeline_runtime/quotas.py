# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""AWS quotas a deployed pipeline lives under, and the plan that keeps every batch inside them.

The only copy: the template's hooks load this file to check the options, the
orchestrator plans each batch with it, and local runs enforce the same figures. Sizes are bytes;
Lambda's "6 MB" payload limit is 6,291,456 bytes and "1 MB" payloads 1,048,576; the durable
"100 MB" is taken as 100,000,000, the stricter reading, so local runs never pass what AWS refuses.
"""

from __future__ import annotations

import math

MIB = 1024 * 1024

# What AWS enforces. Durable execution quotas are hard limits: they cannot be raised.
MAX_OPERATIONS = 3000  # durable operations per execution
MAX_PERSISTED_BYTES = 100_000_000  # payload written per execution, summed: "100 MB" read the stricter way
MAX_OPERATION_PAYLOAD_BYTES = MIB  # one step result, chained-invoke input or result, child context
MAX_SYNC_PAYLOAD_BYTES = 6 * MIB  # the ESM invokes synchronously: the batch event, and the return value
MAX_SQS_MESSAGE_BYTES = MIB  # body and message attributes together
MAX_BATCH_RECORDS = 10_000  # records in one SQS event source mapping batch
MAX_DYNAMODB_ITEM_BYTES = 400 * 1024  # attribute names and values together

# The plan. Records travel between steps inline, in the checkpointed payloads, while that stays
# small; otherwise through the payload bucket, the checkpoints holding only a reference.
INLINE_BUDGET_BYTES = 64 * MIB  # inline payload one execution may write, leaving room for the event and references
MAX_INLINE_PAYLOAD_BYTES = {  # the most one inline payload holds (the SDK sends a checkpoint in batches of 750 KiB)
    "lambda_invoke": 96 * 1024,  # a step's request may carry up to 2 x attempts of them
    "durable_step": 512 * 1024,  # only a step's result is checkpointed
}
REQUEST_BUDGET_BYTES = 640 * 1024  # one lambda_invoke request: under the SDK's 750 KiB checkpoint batch
MAX_RECORD_BYTES = 6 * MIB  # one record's data after a step (UTF-8 JSON); larger is dead-lettered as payload_too_large
STORED_ITEM_INLINE_BYTES = 350_000  # a stored item larger than this keeps its data in the bucket, the item a pointer
MAX_STEP_THREADS = 64  # records one step call runs at once, whatever record_concurrency says


def wave_count(step_mode: str, batch_size: int, record_concurrency: int) -> int:
    """Waves a batch runs in, one after another: in lambda_invoke mode one step invocation takes a wave."""
    if step_mode == "durable_step" or batch_size <= 0:
        return 1
    return math.ceil(batch_size / record_concurrency)


def operations_per_wave(step_count: int, attempts: int, several_waves: bool) -> int:
    """Worst case of one wave: its child context, staging and settling with every retry, and every step
    called `attempts` times with a durable wait between attempts."""
    return int(several_waves) + attempts + step_count * (2 * attempts - 1) + attempts


def worst_case_operations(
    step_mode: str, step_count: int, batch_size: int, record_concurrency: int, attempts: int
) -> int:
    """Durable operations of one batch when every call of every step fails transiently until its last attempt."""
    waves = wave_count(step_mode, batch_size, record_concurrency)
    return 1 + waves * operations_per_wave(step_count, attempts, waves > 1)


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
    """Largest inline payload for a batch planned this way; the checkpoints' inline bytes then stay within
    INLINE_BUDGET_BYTES. A lambda_invoke call writes its request (up to 2 x attempts payloads) and its reply."""
    payloads_per_call = 2 * attempts + 1 if step_mode == "lambda_invoke" else 1
    share = INLINE_BUDGET_BYTES // (max(1, waves) * step_count * attempts * payloads_per_call)
    cap = min(MAX_INLINE_PAYLOAD_BYTES[step_mode], share)
    if step_mode == "lambda_invoke":  # a request carries up to `attempts` sources and as many originals
        cap = min(cap, REQUEST_BUDGET_BYTES // (2 * attempts))
    return cap


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
