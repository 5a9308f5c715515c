# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Lambda entry point of every step function (step_mode lambda_invoke), from the runtime layer.

STEP_NAME names the step; its code is `<STEP_NAME>_step.py` in the function's own folder (see steps.py
for its contract). Each orchestrator version invokes the step versions it was deployed with, so a request
always comes from this version's orchestrator, with one exception: during the deploy that upgrades a
project from 3.x, the 3.x orchestrator's executions still in flight invoke the new code unqualified. Their
requests have this version's form (`sources`, `role`, ...), answered here until v5.0.0 (CHANGELOG v4.0.0).
"""

from __future__ import annotations

import os
from functools import cache
from types import ModuleType
from typing import Any

from aws_lambda_powertools import Tracer

from pipeline_runtime.messages import StepReply, StepRequest
from pipeline_runtime.step_calls import run_call
from pipeline_runtime.step_modules import import_step
from pipeline_runtime.steps import Step, load_step

tracer = Tracer()  # off outside Lambda


def handle(event: StepRequest, context: Any, module: ModuleType, steps: dict[str, Step] | None = None) -> StepReply:
    """Answer one orchestrator request. `steps` gives the step function per role (local runs wrap them)."""
    step = (steps or {}).get(event["role"]) or load_step(module, event["role"])
    return run_call(event, step, context)


@cache
def deployed_step_module() -> ModuleType:
    """The step's code: `<STEP_NAME>_step.py` at the root of this function's package (LAMBDA_TASK_ROOT)."""
    return import_step(os.environ["STEP_NAME"], os.environ.get("LAMBDA_TASK_ROOT", "."))


@tracer.capture_lambda_handler(capture_response=False)  # joins the orchestrator's trace: records stay out of it
def handler(event: StepRequest, context: Any) -> StepReply:
    tracer.put_annotation("step", os.environ["STEP_NAME"])
    tracer.put_annotation("execution_id", event["execution_id"])
    return handle(event, context, deployed_step_module())
