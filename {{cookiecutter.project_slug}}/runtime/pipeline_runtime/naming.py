# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""How the options name things: the step list, each step's function, its logical id and variable.

The only copy: the template's Jinja (through local_extensions.py), its hooks and
its tests read this file too, so a rule changed here changes everywhere.
"""

from __future__ import annotations

from typing import Any


def parse_steps(step_names: Any) -> list[str]:
    """`step_names` as steps in chain order: comma-separated, spaces around names and empty entries ignored."""
    return [name.strip() for name in str(step_names).split(",") if name.strip()]


def logical_id(step: str) -> str:
    """The CloudFormation logical id of a step's function: `enrich_data` -> `EnrichDataFunction`."""
    return "".join(part.capitalize() for part in step.split("_")) + "Function"


def function_name_variable(step: str) -> str:
    """The orchestrator's variable naming a step's function: `enrich_data` -> `ENRICH_DATA_FUNCTION_NAME`."""
    return f"{step.upper()}_FUNCTION_NAME"


def step_of_variable(variable: str) -> str | None:
    """The step a function-name variable names, or None for any other variable."""
    suffix = function_name_variable("")
    return variable.removesuffix(suffix).lower() if variable.endswith(suffix) and variable != suffix else None


ENVIRONMENTS = ("dev", "staging", "prod")  # the stack's Environment parameter, and samconfig.toml's environments


def function_logical_ids(steps: list[str], step_mode: str) -> list[str]:
    """Every Lambda function of the stack: one per step in lambda_invoke mode, and the orchestrator."""
    return [*(logical_id(step) for step in steps if step_mode == "lambda_invoke"), "OrchestratorFunction"]


def role(step: str, steps: list[str] | tuple[str, ...]) -> str:
    """What the chain asks of a step: the first validates, the last stores, the others transform."""
    return "validate" if step == steps[0] else "store" if step == steps[-1] else "transform"


def record_concurrency(answers: dict[str, Any]) -> int:
    """Records per wave: the option, or the batch size when it is empty."""
    return int(str(answers.get("record_concurrency", "")).strip() or answers["batch_size"])


def queue_visibility_timeout(execution_timeout: int, margin: int) -> int:
    """The input queue hides a batch for the whole durable execution, and a margin."""
    return execution_timeout + margin
