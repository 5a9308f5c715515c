# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Each step's code imported as a package of its own: `functions/<step>/` as `functions.<step>`.

A step's folder is never put on the import path, so nothing in it (or installed beside it by `sam
build`) can shadow the standard library or another package, and two steps may each have their own
`helpers.py`: a step imports its own modules relatively (`from .helpers import clean`). The same in
both step modes: the folder is the function's root (lambda_invoke) or one folder of the
orchestrator's (durable_step).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

PACKAGE = "functions"


def _package(name: str, path: list[str]) -> ModuleType:
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    return module


def import_step(step: str, folder: str | Path) -> ModuleType:
    """`<step>_step.py` of `folder`, imported as `functions.<step>.<step>_step`."""
    if PACKAGE not in sys.modules:
        _package(PACKAGE, [])
    package = f"{PACKAGE}.{step}"
    if package not in sys.modules:
        setattr(sys.modules[PACKAGE], step, _package(package, [str(Path(folder).resolve())]))
    return importlib.import_module(f"{package}.{step}_step")
