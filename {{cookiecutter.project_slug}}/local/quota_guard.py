# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""AWS's durable-execution quotas, enforced on local runs (the SDK's test runner does not).

On every runner local.pipeline.make_runner builds: operations and payload bytes per execution are
counted as AWS counts them, every operation's checkpointed payload is held to 262,144 bytes and its
error to 32,768 (step and child-context results, chained-invoke input and result, callbacks), and
crossing a quota fails the execution as AWS does, with the service's own message (a refused
checkpoint, or a refused event). `LOCAL_QUOTA_GUARD=off` only counts, for diagnosis.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_durable_execution_sdk_python.exceptions import CheckpointError, DurableApiErrorCategory
from aws_durable_execution_sdk_python.lambda_service import (
    DurableExecutionInvocationOutput,
    ErrorObject,
    InvocationStatus,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

from local import internals
from pipeline_runtime.quotas import (
    MAX_ERROR_PAYLOAD_BYTES,
    MAX_OPERATION_PAYLOAD_BYTES,
    MAX_OPERATIONS,
    MAX_PERSISTED_BYTES,
    MAX_SYNC_PAYLOAD_BYTES,
)


def enforced_by_default() -> bool:
    return os.environ.get("LOCAL_QUOTA_GUARD", "on").lower() not in ("off", "0", "false", "no")


class RequestTooLargeError(Exception):
    """What Lambda answers a synchronous invoke whose event is over 6 MB (RequestEntityTooLargeException)."""


def quota_message(quota: str, figure: int, limit: int, unit: str) -> str:
    return (
        f"AWS quota exceeded: {quota} would be {figure:,} {unit}; AWS allows at most {limit:,} "
        "(a hard limit). Refused by the local quota guard, as AWS refuses it."
    )


def payload_too_large(kind: str, size: int) -> str | None:
    """The service's answer to a checkpointed payload over its limit ("STEP output payload size must be less than
    or equal to 262144 bytes." is quoted from the service; the other kinds follow its form), or None."""
    if size <= MAX_OPERATION_PAYLOAD_BYTES:
        return None
    operation, direction = kind.split(" ")
    return f"{operation} {direction} payload size must be less than or equal to {MAX_OPERATION_PAYLOAD_BYTES} bytes."


def error_too_large(size: int) -> str | None:
    """The testing runner's answer to an error object over its limit (the API model allows more: stricter kept)."""
    if size <= MAX_ERROR_PAYLOAD_BYTES:
        return None
    return f"Error object size must be less than {MAX_ERROR_PAYLOAD_BYTES} bytes."


@dataclass
class Usage:
    """What one execution has cost so far, as AWS counts it."""

    operations: int = 1  # the execution start
    persisted_bytes: int = 0
    largest_payload_bytes: int = 0  # of any one operation
    largest_by_kind: dict[str, int] = field(default_factory=dict)  # "STEP output", "CHAINED_INVOKE input", "error" ...
    input_bytes: int = 0
    result_bytes: int = 0
    violations: list[str] = field(default_factory=list)

    def saw(self, kind: str, size: int) -> None:
        self.largest_by_kind[kind] = max(self.largest_by_kind.get(kind, 0), size)
        if kind != "error":
            self.largest_payload_bytes = max(self.largest_payload_bytes, size)


def payload_kind(update: OperationUpdate) -> str:
    """What an update's payload is: a chained invoke checkpoints its input, everything else its output."""
    direction = "input" if update.operation_type is OperationType.CHAINED_INVOKE else "output"
    return f"{update.operation_type.value} {direction}"


def sizes(update: OperationUpdate) -> tuple[int, int]:
    """Bytes of an update's payload and of its error object (as JSON)."""
    payload = len(update.payload.encode()) if update.payload else 0
    error = len(json.dumps(update.error.to_dict()).encode()) if update.error is not None else 0
    return payload, error


class QuotaGuard:
    def __init__(self, enforce: bool | None = None) -> None:
        self.enforce = enforced_by_default() if enforce is None else enforce
        self.usage: dict[str, Usage] = {}
        self._lock = threading.Lock()

    def install(self, runner: DurableFunctionTestRunner) -> DurableFunctionTestRunner:
        """Charge the runner's checkpoints, chained-invoke completions and results (local/internals.py)."""

        def guarded_start(start: Callable[..., Any]) -> Callable[..., Any]:
            def started(start_input: Any) -> Any:
                size = len((start_input.input or "").encode())
                if size > MAX_SYNC_PAYLOAD_BYTES:
                    raise RequestTooLargeError(quota_message("the batch event", size, MAX_SYNC_PAYLOAD_BYTES, "bytes"))
                output = start(start_input)
                with self._lock:
                    self.usage[output.execution_arn] = Usage(persisted_bytes=size, input_bytes=size)
                return output

            return started

        def guarded_checkpoint(checkpoint: Callable[..., Any]) -> Callable[..., Any]:
            def checkpointed(checkpoint_token: str, updates: list[OperationUpdate], client_token: str | None) -> Any:
                arn = internals.execution_of_token(checkpoint_token)
                execution = internals.load_execution(runner, arn)
                if not internals.is_repeated_checkpoint(execution, checkpoint_token, client_token):
                    self._charge(arn, execution, updates)
                return checkpoint(checkpoint_token, updates, client_token)

            return checkpointed

        def guarded_invoke_completion(complete_invoke: Callable[..., Any]) -> Callable[..., Any]:
            def completed(parent_arn: str, operation_id: str, status: Any, result: Any, error: Any) -> None:
                execution = internals.load_execution(runner, parent_arn)
                recorded = not execution.is_complete and any(  # the runner drops a late or repeated completion
                    op.operation_id == operation_id and op.status is OperationStatus.STARTED
                    for op in execution.operations
                )
                if recorded:
                    size = len(result.encode()) if result else 0
                    error_size = len(json.dumps(error.to_dict()).encode()) if error else 0
                    problem = payload_too_large("CHAINED_INVOKE output", size) or error_too_large(error_size)
                    with self._lock:
                        usage = self.usage.setdefault(parent_arn, Usage())
                        usage.persisted_bytes += size + error_size
                        usage.saw("CHAINED_INVOKE output", size)
                        usage.saw("error", error_size)
                        if problem:
                            usage.violations.append(problem)
                    if problem and self.enforce:  # the invoke fails with the service's answer instead of its outcome
                        status, result, error = OperationStatus.FAILED, None, ErrorObject.from_message(problem)
                complete_invoke(parent_arn, operation_id, status, result, error)

            return completed

        def guarded_response(store_response: Callable[..., Any]) -> Callable[..., Any]:
            def stored(execution_arn: str, response: Any, execution: Any, invocation_seq: int | None = None) -> None:
                if response.status is InvocationStatus.SUCCEEDED and response.result is not None:
                    size = len(response.result.encode())
                    message = self._charge_result(execution_arn, size)
                    if message and self.enforce:
                        response = DurableExecutionInvocationOutput(
                            status=InvocationStatus.FAILED, error=ErrorObject.from_message(message)
                        )
                store_response(execution_arn, response, execution, invocation_seq)

            return stored

        internals.wrap_runner(
            runner,
            start_execution=guarded_start,
            process_checkpoint=guarded_checkpoint,
            chained_invoke_completion=guarded_invoke_completion,
            invocation_response=guarded_response,
        )
        return runner

    def _charge(self, arn: str, execution: Any, updates: list[OperationUpdate]) -> None:
        known = {operation.operation_id for operation in execution.operations}
        new_operations, written, result_bytes, problems, seen = 0, 0, None, [], []
        for update in updates:
            size, error_size = sizes(update)
            written += size + error_size
            if update.operation_type is OperationType.EXECUTION:  # a large result the SDK checkpoints itself
                result_bytes = size
                if size > MAX_SYNC_PAYLOAD_BYTES:
                    problems.append(quota_message("the execution's result", size, MAX_SYNC_PAYLOAD_BYTES, "bytes"))
            else:
                if update.operation_id not in known:
                    known.add(update.operation_id)
                    new_operations += 1
                if update.action is OperationAction.RETRY:  # each retry of a step is billed as an operation
                    new_operations += 1
                seen.append((payload_kind(update), size))
                problems += filter(None, [payload_too_large(payload_kind(update), size)])
            seen.append(("error", error_size))
            problems += filter(None, [error_too_large(error_size)])
        with self._lock:
            usage = self.usage.setdefault(arn, Usage())
            if usage.operations + new_operations > MAX_OPERATIONS:
                problems.append(
                    quota_message(
                        "durable operations in this execution",
                        usage.operations + new_operations,
                        MAX_OPERATIONS,
                        "operations",
                    )
                )
            if usage.persisted_bytes + written > MAX_PERSISTED_BYTES:
                problems.append(
                    quota_message(
                        "payload written by this execution",
                        usage.persisted_bytes + written,
                        MAX_PERSISTED_BYTES,
                        "bytes",
                    )
                )
            usage.violations += problems
            if problems and self.enforce:
                raise CheckpointError(
                    problems[0],
                    error_category=DurableApiErrorCategory.EXECUTION,
                    error={"Code": "InvalidParameterValueException", "Message": problems[0]},
                    response_metadata={"HTTPStatusCode": 400},
                )
            usage.operations += new_operations
            usage.persisted_bytes += written
            for kind, size in seen:
                usage.saw(kind, size)
            if result_bytes is not None:
                usage.result_bytes = result_bytes

    def _charge_result(self, arn: str, size: int) -> str | None:
        with self._lock:
            usage = self.usage.setdefault(arn, Usage())
            usage.result_bytes = size
            usage.persisted_bytes += size
            problems = []
            if size > MAX_SYNC_PAYLOAD_BYTES:
                problems.append(quota_message("the execution's result", size, MAX_SYNC_PAYLOAD_BYTES, "bytes"))
            if usage.persisted_bytes > MAX_PERSISTED_BYTES:
                problems.append(
                    quota_message(
                        "payload written by this execution", usage.persisted_bytes, MAX_PERSISTED_BYTES, "bytes"
                    )
                )
            usage.violations += problems
            return problems[0] if problems else None

    def total(self) -> Usage:
        """The largest figures over every execution so far (what a benchmark compares with the quotas)."""
        with self._lock:
            usages = list(self.usage.values())
        kinds = {kind for u in usages for kind in u.largest_by_kind}
        return Usage(
            operations=max((u.operations for u in usages), default=0),
            persisted_bytes=max((u.persisted_bytes for u in usages), default=0),
            largest_payload_bytes=max((u.largest_payload_bytes for u in usages), default=0),
            largest_by_kind={kind: max(u.largest_by_kind.get(kind, 0) for u in usages) for kind in sorted(kinds)},
            input_bytes=max((u.input_bytes for u in usages), default=0),
            result_bytes=max((u.result_bytes for u in usages), default=0),
            violations=[v for u in usages for v in u.violations],
        )
