# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""AWS's durable-execution quotas, enforced on local runs (the SDK's test runner does not).

On every runner local.pipeline.make_runner builds: operations and payload bytes per execution are
counted as AWS counts them, and crossing a quota fails the execution as AWS does (a refused
checkpoint, or a refused event). `LOCAL_QUOTA_GUARD=off` only counts, for diagnosis.
"""

from __future__ import annotations

import json
import os
import threading
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
from aws_durable_execution_sdk_python_testing.checkpoint.core import CheckpointCore
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner
from aws_durable_execution_sdk_python_testing.token import CheckpointToken

from pipeline_runtime.quotas import (
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


@dataclass
class Usage:
    """What one execution has cost so far, as AWS counts it."""

    operations: int = 1  # the execution start
    persisted_bytes: int = 0
    largest_payload_bytes: int = 0
    input_bytes: int = 0
    result_bytes: int = 0
    violations: list[str] = field(default_factory=list)


def payload_bytes(update: OperationUpdate) -> int:
    size = len(update.payload.encode()) if update.payload else 0
    if update.error is not None:
        size += len(json.dumps(update.error.to_dict()).encode())
    return size


class QuotaGuard:
    def __init__(self, enforce: bool | None = None) -> None:
        self.enforce = enforced_by_default() if enforce is None else enforce
        self.usage: dict[str, Usage] = {}
        self._lock = threading.Lock()

    def install(self, runner: DurableFunctionTestRunner) -> DurableFunctionTestRunner:
        # Private runner parts: the testing package offers no hook for what the service enforces.
        executor, processor, store = runner._executor, runner._checkpoint_processor, runner._store
        start, checkpoint = executor.start_execution, processor.process_checkpoint
        complete_invoke, store_response = (
            executor._apply_chained_invoke_completion,
            executor._validate_invocation_response_and_store,
        )

        def guarded_start(start_input: Any) -> Any:
            size = len((start_input.input or "").encode())
            if size > MAX_SYNC_PAYLOAD_BYTES:
                raise RequestTooLargeError(quota_message("the batch event", size, MAX_SYNC_PAYLOAD_BYTES, "bytes"))
            output = start(start_input)
            with self._lock:
                self.usage[output.execution_arn] = Usage(persisted_bytes=size, input_bytes=size)
            return output

        def guarded_checkpoint(checkpoint_token: str, updates: list[OperationUpdate], client_token: str | None) -> Any:
            arn = CheckpointToken.from_str(checkpoint_token).execution_arn
            execution = store.load(arn)
            if CheckpointCore.match_cached(execution, checkpoint_token, client_token) is None:
                self._charge(arn, execution, updates)
            return checkpoint(checkpoint_token, updates, client_token)

        def guarded_invoke_completion(parent_arn: str, operation_id: str, status: Any, result: Any, error: Any) -> None:
            execution = store.load(parent_arn)
            recorded = not execution.is_complete and any(  # the runner drops a late or repeated completion
                op.operation_id == operation_id and op.status is OperationStatus.STARTED for op in execution.operations
            )
            if recorded:
                size = (len(result.encode()) if result else 0) + (
                    len(json.dumps(error.to_dict()).encode()) if error else 0
                )
                with self._lock:
                    usage = self.usage.setdefault(parent_arn, Usage())
                    usage.persisted_bytes += size
                    usage.largest_payload_bytes = max(usage.largest_payload_bytes, size)
            complete_invoke(parent_arn, operation_id, status, result, error)

        def guarded_response(
            execution_arn: str, response: Any, execution: Any, invocation_seq: int | None = None
        ) -> None:
            if response.status is InvocationStatus.SUCCEEDED and response.result is not None:
                size = len(response.result.encode())
                message = self._charge_result(execution_arn, size)
                if message and self.enforce:
                    response = DurableExecutionInvocationOutput(
                        status=InvocationStatus.FAILED, error=ErrorObject.from_message(message)
                    )
            store_response(execution_arn, response, execution, invocation_seq)

        executor.start_execution = guarded_start
        processor.process_checkpoint = guarded_checkpoint
        executor._apply_chained_invoke_completion = guarded_invoke_completion
        executor._validate_invocation_response_and_store = guarded_response
        return runner

    def _charge(self, arn: str, execution: Any, updates: list[OperationUpdate]) -> None:
        known = {operation.operation_id for operation in execution.operations}
        new_operations, written, result_bytes, problems = 0, 0, None, []
        for update in updates:
            size = payload_bytes(update)
            written += size
            if update.operation_type is OperationType.EXECUTION:  # a large result the SDK checkpoints itself
                result_bytes = size
                limit = MAX_SYNC_PAYLOAD_BYTES
            else:
                limit = MAX_OPERATION_PAYLOAD_BYTES
                if update.operation_id not in known:
                    known.add(update.operation_id)
                    new_operations += 1
                if update.action is OperationAction.RETRY:  # each retry of a step is billed as an operation
                    new_operations += 1
            if size > limit:
                what = f"the payload of {update.operation_type.value} operation '{update.name or update.operation_id}'"
                problems.append(quota_message(what, size, limit, "bytes"))
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
            usage.largest_payload_bytes = max([usage.largest_payload_bytes, *(payload_bytes(u) for u in updates)])
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
        return Usage(
            operations=max((u.operations for u in usages), default=0),
            persisted_bytes=max((u.persisted_bytes for u in usages), default=0),
            largest_payload_bytes=max((u.largest_payload_bytes for u in usages), default=0),
            input_bytes=max((u.input_bytes for u in usages), default=0),
            result_bytes=max((u.result_bytes for u in usages), default=0),
            violations=[v for u in usages for v in u.violations],
        )
