"""Jinja additions the template declares in cookiecutter.json's `_extensions` (cookiecutter imports them).

- `template_dir()`: the template's own folder. Cookiecutter renders hooks from there, so a hook learns
  where to read the template's shared code even when cookiecutter was given a relative path
  (`_repo_dir` is then relative to a folder the hook cannot know).
- `quotas()`: the generated runtime's `pipeline_runtime/quotas.py`, the one copy of the AWS figures
  and the batch plan, so rendered files (the README) quote the same numbers the code enforces.

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

QUOTAS_FILE = Path("runtime", "pipeline_runtime", "quotas.py")


def quotas() -> ModuleType:
    """While project files render, the current folder is the project template; while hooks render, the template."""
    here = Path.cwd()
    candidates = [here / QUOTAS_FILE] + [folder / QUOTAS_FILE for folder in here.glob("*cookiecutter*") if folder.is_dir()]
    path = next(candidate for candidate in candidates if candidate.is_file())
    spec = importlib.util.spec_from_file_location("template_quotas", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TemplateFacts(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["template_dir"] = os.getcwd
        environment.globals["quotas"] = quotas
