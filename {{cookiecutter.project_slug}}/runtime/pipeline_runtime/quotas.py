# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""AWS quotas a deployed pipeline lives under, and what a running batch measures against them.

The only copy of every AWS figure: the orchestrator and the steps size their payloads, memory and time
with it, local runs enforce the same figures, and tools/render_rules.py plans the options' batches with
it (the template's hooks check the options with that plan). Sizes are bytes. Where sources disagree
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
  durable "100 MB" as 100,000,000, the stricter readings;
- FIFO batches: Lambda's "Using Lambda with Amazon SQS" parameters page (BatchSize 1-10, no
  MaximumBatchingWindowInSeconds for FIFO queues); FIFO ids: the SQS API reference; S3 cannot notify a
  FIFO queue (the S3 event notification destinations page), so s3_event takes a standard queue;
- SNS messages and EventBridge events: 256 KiB each (the SNS and EventBridge quota pages; "256 KB" of
  PutEvents taken as 262,144 bytes, which the other readings do not exceed).
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
MAX_FIFO_BATCH_RECORDS = 10  # ... from a FIFO queue, which also takes no batching window (Lambda's SQS ESM page)
MAX_SNS_MESSAGE_BYTES = 262_144  # an SNS message: 256 KiB (SNS quotas page), so an sns record is smaller
MAX_EVENTBRIDGE_EVENT_BYTES = 262_144  # a PutEvents entry: 256 KB, taken as KiB (EventBridge quotas page)
MAX_DEDUPLICATION_ID_CHARS = 128  # a FIFO message's MessageDeduplicationId and MessageGroupId (SQS API reference)
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
# s3_event: the most of one object the first step holds at once (the blueprint reads no more). Its records share
# the function's memory as if each held that much of the densest JSON; a step streaming larger objects in parts
# holds less, never more.
HELD_OBJECT_BYTES = MIB


# Time. Lambda ends an invocation at its Timeout like a crash, whatever its records were doing: a step
# call answers before that with what finished, and starts no record in the last stretch.
REPLY_RESERVE_FRACTION = 0.1  # of the time left when a call starts, kept to pack and send its reply
REPLY_RESERVE_SECONDS = (1.0, 5.0)  # ... within these bounds (a quarter of the time at most, for short Timeouts)
# Records start only while twice the reserve is left.


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


def densest_working_set(size: int) -> int:
    """record_working_set of `size` bytes of the densest JSON (empty objects), for a text not read yet."""
    return record_working_set("[" + ",".join(["{}"] * max(0, (size - 2) // 3)) + "]") if size > 0 else 0


def batch_reserve_bytes(body_bytes: int, records: int) -> int:
    """What a durable_step orchestrator holds for its batch while its steps run: the event as Lambda parsed it and
    the staged bodies."""
    return EVENT_RESERVE_FACTOR * body_bytes + EVENT_RESERVE_PER_RECORD * records


def records_budget_bytes(memory_mb: int, reserved_bytes: int = 0) -> int:
    """Bytes the records in flight in one step call share: MemorySize less the baseline, the texts held and
    `reserved_bytes` (durable_step: the batch). A record whose working set alone exceeds it is payload_too_large."""
    return memory_mb * MIB - FUNCTION_BASELINE_BYTES - HELD_RESERVE_BYTES - reserved_bytes


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


# Render-time figures AWS sets: read by tools/render_rules.py, kept here with the other AWS figures' sources.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)  # fmt: skip  # the values CloudWatch Logs accepts (PutRetentionPolicy)
SQS_AGE_METRIC_RECEIVES = 3  # ApproximateAgeOfOldestMessage stops counting a message received this often
