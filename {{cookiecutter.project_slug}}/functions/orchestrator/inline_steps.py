# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""step_mode durable_step: each step runs here as a checkpointed context.step, nothing suspends.

The steps' code is packaged with the orchestrator (functions/durable_step_entry.py).
"""

from __future__ import annotations

import importlib
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, StepError
from aws_durable_execution_sdk_python.config import StepConfig
from aws_durable_execution_sdk_python.retries import RetryDecision
from aws_durable_execution_sdk_python.serdes import JsonSerDes

from pipeline_config import STEPS, role
from pipeline_runtime.errors import describe
from pipeline_runtime.step_calls import failed_call, run_call
from pipeline_runtime.steps import load_step

# Each step's function of one record (functions/<step>/<step>_step.py); local runs and tests wrap them here.
STEP_FUNCTIONS = {step: load_step(importlib.import_module(f"{step}_step"), role(step)) for step in STEPS}
# A call that fails as a whole is retried by the orchestrator with its records, like a failed invoke.
ONE_ATTEMPT = StepConfig(retry_strategy=lambda _error, _attempts: RetryDecision.no_retry(), serdes=JsonSerDes())


def wave_size(records: list[dict[str, Any]]) -> int:
    """One wave: each step is a single context.step for the whole batch."""
    return max(1, len(records))


def call_step(ctx: DurableContext, step: str, request: dict[str, Any], name: str, selected: int) -> dict[str, Any]:
    function = STEP_FUNCTIONS[step]
    try:
        return ctx.step(lambda _: run_call(request, function, ctx.lambda_context), name=name, config=ONE_ATTEMPT)
    except StepError as error:  # the call raised as a whole (the bucket unreachable); checkpoint errors escape
        return failed_call(step, request, describe(error), selected)
