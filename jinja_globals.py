"""Jinja globals the template declares in cookiecutter.json's `_extensions` (cookiecutter imports them).

- `rules()`: the project's `tools/render_rules.py`, the one copy of what the options become (names, the
  batch plan, alarm thresholds), and `quotas()`: the runtime's `pipeline_runtime/quotas.py`, the AWS
  figures, so what the template renders follows the same rules as the hooks, the tests and the code;
- `costs()`: the project's `tools/costs.py`, the dated price list and the bill of a batch;
- `template_dir()`: the template's own folder, which hooks read those files from (cookiecutter renders
  hooks there; `_repo_dir` may be relative to a folder the hook cannot know).

Everything is looked up when called, from the current folder: cruft renders two template versions in
one process and Python keeps the first one's copy of this module, so it must hold no version's facts.
For the same reason a version that adds a global needs a module name of its own: 3.x named this module
`local_extensions` and had no `rules()`, so `cruft update` from 3.x would render 4.x with the 3.x copy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from jinja2 import Environment
from jinja2.ext import Extension

RUNTIME = Path("runtime", "pipeline_runtime")  # in the project template


@cache
def load(path: str) -> ModuleType:
    name = f"template_{Path(path).stem}_{hashlib.sha1(path.encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up while the class is made
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def project_module(relative: str) -> ModuleType:
    """A module of the project template (for example `tools/costs.py`) in the template being rendered: from
    the project template's folder while project files render, from the template's root while hooks render."""
    here = Path.cwd()
    for root in [
        here,
        *(folder for folder in sorted(here.glob("*cookiecutter*")) if folder.is_dir()),
    ]:
        if (root / relative).is_file():
            return load(str((root / relative).resolve()))
    raise FileNotFoundError(
        f"{relative} is not under {here}: render from the template's folder"
    )


def runtime_module(name: str) -> ModuleType:
    """A module of the generated runtime (`naming`, `quotas`)."""
    return project_module(f"{RUNTIME}/{name}.py")


class TemplateFacts(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["template_dir"] = os.getcwd
        environment.globals["rules"] = lambda: project_module("tools/render_rules.py")
        environment.globals["quotas"] = lambda: runtime_module("quotas")
        environment.globals["costs"] = lambda: project_module("tools/costs.py")
