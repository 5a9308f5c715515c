# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Every reach into another library's private parts, in one place: the only module in local/ that makes one.

Written against aws-durable-execution-sdk-python 3.0.0, aws-durable-execution-sdk-python-testing 1.4.0
and boto3 1.44.8 (requirements-dev.txt). Their public APIs offer no hook for what local runs need: the
service's quotas enforced on the runner's checkpoints and invoke completions, an execution stopped past
its deadline, a crashed invocation re-run at once, every AWS call seen. `problems()` lists what an upgrade
took away; tests/pipeline/test_internals.py fails naming this module when it finds anything.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import boto3
from aws_durable_execution_sdk_python import state as durable_state
from aws_durable_execution_sdk_python_testing.checkpoint.core import CheckpointCore
from aws_durable_execution_sdk_python_testing.checkpoint.processor import CheckpointProcessor
from aws_durable_execution_sdk_python_testing.executor import Executor
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner
from aws_durable_execution_sdk_python_testing.token import CheckpointToken

Wrap = Callable[[Callable[..., Any]], Callable[..., Any]]  # the original callable -> its replacement

# What this module relies on: (owner, attribute, the parameters it is called with; None for a value).
RELIED_ON: list[tuple[Any, str, tuple[str, ...] | None]] = [
    (durable_state, "_STOP_SIGNAL_POLL_SECONDS", None),
    (boto3, "_get_default_session", ()),
    (Executor, "RETRY_BACKOFF_SECONDS", None),
    (Executor, "start_execution", ("input",)),
    (Executor, "stop_execution", ("execution_arn", "error")),
    (Executor, "_apply_chained_invoke_completion", ("parent_arn", "operation_id", "status", "result", "error")),
    (Executor, "_validate_invocation_response_and_store", ("execution_arn", "response", "execution", "invocation_seq")),
    (CheckpointProcessor, "process_checkpoint", ("checkpoint_token", "updates", "client_token")),
    (CheckpointCore, "match_cached", ("execution", "checkpoint_token", "client_token")),
    (CheckpointToken, "from_str", ("token",)),
]
RUNNER_PARTS = ("_executor", "_checkpoint_processor", "_store")  # set by DurableFunctionTestRunner.__init__


def problems(runner: DurableFunctionTestRunner | None = None) -> list[str]:
    """What this module relies on and the installed libraries no longer offer, one line each."""
    found = []
    for owner, name, parameters in RELIED_ON:
        where = f"{getattr(owner, '__name__', owner)}.{name}"
        if not hasattr(owner, name):
            found.append(f"{where} is gone")
            continue
        if parameters is not None:
            signature = inspect.signature(getattr(owner, name))
            names = tuple(p for p in signature.parameters if p not in ("self", "cls"))
            if names[: len(parameters)] != parameters:
                found.append(f"{where} now takes {names}, not {parameters}")
        elif inspect.getsource(inspect.getmodule(owner)).count(name) < 2:  # a value set here: still read there?
            found.append(f"{where} is no longer read")
    for part in RUNNER_PARTS if runner is not None else ():
        if not hasattr(runner, part):
            found.append(f"DurableFunctionTestRunner.{part} is gone")
    return [f"local/internals.py relies on {line}" for line in found]


def boto3_session_events() -> Any:
    """The event system of boto3's default session (the one moto's mock_aws makes), to observe every call."""
    return boto3._get_default_session().events


def set_stop_signal_poll_seconds(seconds: float) -> None:
    """How often an invocation's checkpoint thread looks for its stop signal (the SDK's 0.1 s)."""
    durable_state._STOP_SIGNAL_POLL_SECONDS = seconds


def reinvoke_at_once_after_a_crash(runner: DurableFunctionTestRunner) -> None:
    runner._executor.RETRY_BACKOFF_SECONDS = 0  # the runner's default: 5 s


def stop_execution(runner: DurableFunctionTestRunner, execution_arn: str) -> None:
    runner._executor.stop_execution(execution_arn)


def load_execution(runner: DurableFunctionTestRunner, execution_arn: str) -> Any:
    return runner._store.load(execution_arn)


def execution_of_token(checkpoint_token: str) -> str:
    return CheckpointToken.from_str(checkpoint_token).execution_arn


def is_repeated_checkpoint(execution: Any, checkpoint_token: str, client_token: str | None) -> bool:
    """A checkpoint call the runner answers from its cache: it writes nothing new."""
    return CheckpointCore.match_cached(execution, checkpoint_token, client_token) is not None


def wrap_runner(
    runner: DurableFunctionTestRunner,
    *,
    start_execution: Wrap,
    process_checkpoint: Wrap,
    chained_invoke_completion: Wrap,
    invocation_response: Wrap,
) -> None:
    """Replace four of the runner's calls by wrappers of them: where the service enforces its quotas."""
    executor, processor = runner._executor, runner._checkpoint_processor
    executor.start_execution = start_execution(executor.start_execution)
    processor.process_checkpoint = process_checkpoint(processor.process_checkpoint)
    executor._apply_chained_invoke_completion = chained_invoke_completion(executor._apply_chained_invoke_completion)
    executor._validate_invocation_response_and_store = invocation_response(
        executor._validate_invocation_response_and_store
    )
