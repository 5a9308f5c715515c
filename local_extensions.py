"""Jinja additions the template declares in cookiecutter.json's `_extensions` (cookiecutter imports them).

`template_dir()`: the template's own folder. Cookiecutter renders hooks from there, so a hook learns
where to read the template's shared code (the quota figures) even when cookiecutter was given a
relative path; `_repo_dir` is then relative to a folder the hook cannot know.
"""

from __future__ import annotations

import os

from jinja2 import Environment
from jinja2.ext import Extension


class TemplateDir(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["template_dir"] = os.getcwd  # called while the hook is rendered: the template folder
