# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""step_mode lambda_invoke: each step is its own Lambda function, called with context.invoke.

Every invoke suspends the orchestrator until the step function answers, and each
answer costs an orchestrator invocation (a replay), so a wave's records share one invoke per step.
"""

from __future__ import annotations

import os

from aws_durable_execution_sdk_python import DurableContext, InvokeError

from pipeline_runtime.errors import describe
from pipeline_runtime.messages import StepReply, StepRequest
from pipeline_runtime.naming import function_name_variable
from pipeline_runtime.step_calls import failed_call, well_formed


def step_function_name(step: str) -> str:
    """Function to invoke for a step: set by template.yaml, the bare step name when run locally."""
    return os.environ.get(function_name_variable(step), step)


def call_step(ctx: DurableContext, step: str, request: StepRequest, name: str, record_count: int) -> StepReply:
    """The step function's reply; a failed or malformed invoke fails each of the call's `record_count` records."""
    try:
        reply = ctx.invoke(step_function_name(step), request, name=name)
    except InvokeError as error:  # the target failed, timed out or was throttled; SDK errors must escape
        return failed_call(step, request, describe(error), record_count)
    checked = well_formed(reply)
    if checked is None:
        return failed_call(step, request, {"type": "MalformedStepReply", "message": str(reply)[:200]}, record_count)
    return checked
