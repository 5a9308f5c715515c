"""Run one step on many records with as few chained invokes as possible (step_mode "lambda_invoke").

Template-owned. Every `context.invoke` suspends the orchestrator until its result arrives, and each
result costs an orchestrator invocation (a replay). So a step is not invoked once per record: the
records travel as one group (`{"records": [...]}`, answered by `{"results": [...]}`, see
functions/<step>/<step>_entry.py), split only to keep each payload well under the 1 MiB limit of
a chained invoke, and the groups of one step are invoked concurrently.
Records whose step failed with a transient error are retried together, after a durable wait.
A step that answers REPLY_FULL for some records (their results would overflow its reply) gets
those again at once.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, InvokeError
from aws_durable_execution_sdk_python.config import CompletionConfig, Duration, MapConfig
from pipeline_config import STEP_RETRY
from step_results import StepResult, error_result, error_type, is_transient

# Chained-invoke input and output are capped at 1 MiB each, and an oversized input fails the whole
# execution rather than the invoke. Groups stay at half of it, so a step may double its records'
# size before its reply is full. A single record above this travels alone.
MAX_GROUP_PAYLOAD_BYTES = 512 * 1024
# What a step's entry point answers for records whose results did not fit in its reply: send again.
REPLY_FULL = "ReplyFull"


def step_function_name(step: str) -> str:
    """Function to invoke for a step: set by template.yaml, the bare step name when run locally."""
    return os.environ.get(f"{step.upper()}_FUNCTION_NAME", step)


def payload_groups(events: list[dict[str, Any]], limit: int = MAX_GROUP_PAYLOAD_BYTES) -> list[list[int]]:
    """Split events, in order, into groups whose `{"records": [...]}` payload stays within `limit` bytes.

    Returns the events' indexes. Deterministic, so a replay rebuilds the same groups.
    """
    envelope = len(b'{"records": []}')
    groups: list[list[int]] = []
    size = envelope
    for index, event in enumerate(events):
        event_size = len(json.dumps(event).encode()) + 2  # with its separator
        if not groups or (groups[-1] and size + event_size > limit):
            groups.append([])
            size = envelope
        groups[-1].append(index)
        size += event_size
    return groups


def invoke_group(ctx: DurableContext, step: str, events: list[dict[str, Any]], name: str) -> list[StepResult]:
    """One chained invoke for a group; a failure of the invoke itself is every record's failure."""
    try:
        reply = ctx.invoke(step_function_name(step), {"records": events}, name=name)
    except InvokeError as error:  # the target failed, timed out or was throttled; SDK errors must escape
        return [error_result(error)] * len(events)
    results = reply.get("results") if isinstance(reply, dict) else None
    if not isinstance(results, list) or len(results) != len(events):
        malformed = {"type": "MalformedStepReply", "message": f"{step} answered {len(events)} records with {reply!r}"}
        return [{"error": malformed}] * len(events)
    return results


def invoke_step(ctx: DurableContext, step: str, events: list[dict[str, Any]], name: str) -> list[StepResult]:
    """Invoke a step once per payload group, the groups concurrently; results in the events' order."""
    groups = payload_groups(events)
    if not groups:
        return []
    if len(groups) == 1:
        return invoke_group(ctx, step, events, name)
    batch = ctx.map(
        groups,
        lambda child, group, index, _all: invoke_group(
            child, step, [events[i] for i in group], f"{name}-group-{index}"
        ),
        name=name,
        config=MapConfig(completion_config=CompletionConfig.all_completed()),
    )
    results: list[StepResult] = [{}] * len(events)
    for item in batch.all:
        group = groups[item.index]
        group_results = item.result or [error_result(RuntimeError(f"group {item.index}: {item.error}"))] * len(group)
        for event_index, result in zip(group, group_results, strict=True):
            results[event_index] = result
    return results


def run_step(ctx: DurableContext, step: str, events: list[dict[str, Any]]) -> list[StepResult]:
    """Run a step on every event; one final result per event, in order.

    Records that failed with a transient error go again after a durable backoff, up to
    STEP_RETRY.max_attempts attempts each; records whose result did not fit in their group's reply
    (REPLY_FULL) go again at once. Every round makes progress, so the loop ends.
    """
    results: list[StepResult] = [{}] * len(events)
    failed_attempts = [0] * len(events)
    pending = list(range(len(events)))
    round_number = 0
    while pending:
        round_number += 1
        round_results = invoke_step(ctx, step, [events[i] for i in pending], f"{step}-invoke-{round_number}")
        resend, retry = [], []
        for event_index, result in zip(pending, round_results, strict=True):
            if error_type(result) == REPLY_FULL:
                resend.append(event_index)
            elif is_transient(result) and failed_attempts[event_index] + 1 < STEP_RETRY.max_attempts:
                failed_attempts[event_index] += 1
                retry.append(event_index)
            else:
                results[event_index] = result
        if retry:
            delay = STEP_RETRY.delay_before(max(failed_attempts[i] for i in retry) + 1)
            ctx.wait(Duration.from_seconds(delay), name=f"{step}-backoff-{round_number}")
        pending = sorted(resend + retry)
    return results
