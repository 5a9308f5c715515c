# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""step_mode durable_step: each step runs here as a checkpointed context.step, nothing suspends.

The steps' code is packaged with the orchestrator (functions/durable_step_entry.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, StepError
from aws_durable_execution_sdk_python.config import StepConfig
from aws_durable_execution_sdk_python.retries import RetryDecision
from aws_durable_execution_sdk_python.serdes import JsonSerDes
from aws_lambda_powertools import Tracer

from pipeline_config import STEPS, role
from pipeline_runtime.errors import describe
from pipeline_runtime.messages import StepReply, StepRequest
from pipeline_runtime.step_calls import failed_call, run_call
from pipeline_runtime.step_modules import import_step
from pipeline_runtime.steps import load_step

FUNCTIONS = Path(__file__).resolve().parent.parent  # functions/ here, the function's root when deployed
# Each step's function of one record (functions/<step>/<step>_step.py); local runs and tests wrap them here.
STEP_FUNCTIONS = {step: load_step(import_step(step, FUNCTIONS / step), role(step)) for step in STEPS}
# A call that fails as a whole is retried by the orchestrator with its records, like a failed invoke.
tracer = Tracer()  # the orchestrator's (Powertools shares one Tracer per process)
ONE_ATTEMPT = StepConfig(retry_strategy=lambda _error, _attempts: RetryDecision.no_retry(), serdes=JsonSerDes())


def traced_call(step: str, request: StepRequest, lambda_context: Any) -> StepReply:
    """One step's call as an X-Ray subsegment of the orchestrator's invocation (Tracer is off outside Lambda)."""
    with tracer.provider.in_subsegment(name=f"## step {step}") as subsegment:
        subsegment.put_annotation("step", step)
        return run_call(request, STEP_FUNCTIONS[step], lambda_context)


def call_step(ctx: DurableContext, step: str, request: StepRequest, name: str, record_count: int) -> StepReply:
    try:
        return ctx.step(lambda _: traced_call(step, request, ctx.lambda_context), name=name, config=ONE_ATTEMPT)
    except StepError as error:  # the call raised as a whole (the bucket unreachable); checkpoint errors escape
        return failed_call(step, request, describe(error), record_count)
