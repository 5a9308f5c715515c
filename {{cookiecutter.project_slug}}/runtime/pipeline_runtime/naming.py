# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""How deployed code names things: a step's function variable, and what the chain asks of a step.

The only copy: tools/render_rules.py (the names the template renders) reads this file too, so a rule
changed here changes everywhere.
"""

from __future__ import annotations


def function_name_variable(step: str) -> str:
    """The orchestrator's variable naming a step's function: `enrich_data` -> `ENRICH_DATA_FUNCTION_NAME`."""
    return f"{step.upper()}_FUNCTION_NAME"


def role(step: str, steps: list[str] | tuple[str, ...]) -> str:
    """What the chain asks of a step: the first validates, the last stores, the others transform."""
    return "validate" if step == steps[0] else "store" if step == steps[-1] else "transform"
