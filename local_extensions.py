"""Jinja additions the template declares in cookiecutter.json's `_extensions` (cookiecutter imports them).

- `template_dir()`: the template's own folder. Cookiecutter renders hooks from there, so a hook learns
  where to read the template's shared code even when cookiecutter was given a relative path
  (`_repo_dir` is then relative to a folder the hook cannot know).
- `quotas()`, `record_concurrency(cookiecutter)` and the filters `steps`, `logical_id`,
  `function_name_variable`: the generated runtime's `pipeline_runtime/quotas.py` and `naming.py`, the
  one copy of the AWS figures, the batch plan and the naming rules, so what the template renders
  follows the same rules as the hooks, the tests and the code.

Both look at the current folder when called, not at this file: cruft renders two template versions
in one process, and Python keeps the first one's module.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

from jinja2 import Environment
from jinja2.ext import Extension

RUNTIME = Path("runtime", "pipeline_runtime")  # in the project template: the one copy of the shared facts


def runtime_module(name: str) -> ModuleType:
    """A module of the generated runtime, read from the template being rendered.

    While project files render, the current folder is the project template; while hooks render, the
    template's root.
    """
    here = Path.cwd()
    roots = [here] + [folder for folder in here.glob("*cookiecutter*") if folder.is_dir()]
    path = next(root / RUNTIME / f"{name}.py" for root in roots if (root / RUNTIME / f"{name}.py").is_file())
    spec = importlib.util.spec_from_file_location(f"template_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TemplateFacts(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["template_dir"] = os.getcwd
        environment.globals["quotas"] = lambda: runtime_module("quotas")
        environment.globals["record_concurrency"] = lambda answers: runtime_module("naming").record_concurrency(answers)
        environment.filters["steps"] = lambda step_names: runtime_module("naming").parse_steps(step_names)
        environment.filters["logical_id"] = lambda step: runtime_module("naming").logical_id(step)
        environment.filters["function_name_variable"] = lambda step: runtime_module("naming").function_name_variable(step)
