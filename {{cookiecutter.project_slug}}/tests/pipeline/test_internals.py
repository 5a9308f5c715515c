# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Other libraries' private parts are reached from local/internals.py alone, and still there in the pinned versions."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from aws_durable_execution_sdk_python import state as durable_state
from aws_durable_execution_sdk_python_testing.checkpoint.processor import CheckpointProcessor
from aws_durable_execution_sdk_python_testing.executor import Executor

from local import internals, pipeline
from local.template_values import PROJECT_ROOT

ADAPTER = PROJECT_ROOT / "local" / "internals.py"
OWN_CODE = ("functions", "runtime", "local", "tools")
STANDARD_LIBRARY = {"sys._getframe"}  # documented in the sys module: not another library's internals


def test_the_pinned_libraries_offer_what_the_adapter_relies_on():
    with pipeline.make_runner() as runner:
        assert internals.problems(runner) == []


def test_a_part_gone_is_named_with_the_adapter(monkeypatch):
    monkeypatch.delattr(Executor, "_apply_chained_invoke_completion")

    assert internals.problems() == ["local/internals.py relies on Executor._apply_chained_invoke_completion is gone"]


def test_a_changed_signature_is_named_with_the_adapter(monkeypatch):
    monkeypatch.setattr(CheckpointProcessor, "process_checkpoint", lambda self, token, updates: None)

    [problem] = internals.problems()
    assert problem.startswith("local/internals.py relies on CheckpointProcessor.process_checkpoint now takes")


def test_a_value_no_longer_read_is_named_with_the_adapter(monkeypatch):
    upgraded = "_STOP_SIGNAL_POLL_SECONDS = 0.1\n"  # still defined, read nowhere
    monkeypatch.setattr(inspect, "getsource", lambda module: upgraded if module is durable_state else "")
    monkeypatch.setattr(internals, "RELIED_ON", [(durable_state, "_STOP_SIGNAL_POLL_SECONDS", None)])

    [problem] = internals.problems()
    assert problem.startswith("local/internals.py relies on") and problem.endswith("SECONDS is no longer read")


def private_reaches(path: Path) -> list[str]:
    """`owner._name` where owner is not self or cls: a private attribute of something else."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        if ast.unparse(node) not in STANDARD_LIBRARY:
            found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_other_module_reaches_into_private_parts():
    modules = [path for folder in OWN_CODE for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))]
    assert ADAPTER in modules

    reaches = [line for path in modules if path != ADAPTER for line in private_reaches(path)]

    assert reaches == []
    assert private_reaches(ADAPTER)  # the scan sees what the adapter does
