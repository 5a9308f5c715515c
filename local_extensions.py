"""Jinja globals the template declares in cookiecutter.json's `_extensions` (cookiecutter imports them).

- `naming()` and `quotas()`: the generated runtime's `pipeline_runtime/naming.py` and `quotas.py`, the
  one copy of the naming rules, defaults, AWS figures and batch plan, so what the template renders
  follows the same rules as the hooks, the tests and the code;
- `template_dir()`: the template's own folder, which hooks read those files from (cookiecutter renders
  hooks there; `_repo_dir` may be relative to a folder the hook cannot know).

Everything is looked up when called, from the current folder: cruft renders two template versions in
one process and Python keeps the first one's copy of this module, so it must hold no version's facts.
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from pathlib import Path
from types import ModuleType

from jinja2 import Environment
from jinja2.ext import Extension

RUNTIME = Path("runtime", "pipeline_runtime")  # in the project template


@cache
def load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"template_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def runtime_module(name: str) -> ModuleType:
    """A module of the generated runtime in the template being rendered: from the project template's folder
    while project files render, from the template's root while hooks render."""
    here = Path.cwd()
    for root in [here, *(folder for folder in sorted(here.glob("*cookiecutter*")) if folder.is_dir())]:
        path = root / RUNTIME / f"{name}.py"
        if path.is_file():
            return load(str(path.resolve()))
    raise FileNotFoundError(f"{RUNTIME / name}.py is not under {here}: render from the template's folder")


class TemplateFacts(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["template_dir"] = os.getcwd
        environment.globals["naming"] = lambda: runtime_module("naming")
        environment.globals["quotas"] = lambda: runtime_module("quotas")
