"""The generated projects' local pipeline: `make local`, the 1000-message no-loss run, DynamoDB Local."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEMPLATE_DIR, bake, with_template_venv

NON_DEFAULT = {
    "step_names": "check,enrich,persist",
    "batch_size": "20",
    "max_batching_window_seconds": "1",
    "step_mode": "durable_step",
}

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(project: Path, *targets: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *targets, *with_template_venv(project)],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.parametrize("answers", [{}, NON_DEFAULT], ids=["default", "durable-step-check-enrich-persist-batch-20"])
def test_make_local_shows_where_every_message_landed(tmp_path, answers):
    project = bake(tmp_path, **answers)

    result = make(project, "local")

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    expected = "TEST.CSV" if answers == {} else "test.csv"  # only a step named `transform` upper-cases
    stored_row = next(line for line in result.stdout.splitlines() if " test.csv " in line)
    assert expected in stored_row
    assert "validation_failed" in result.stdout and "data_source: String should have at least 1 character" in result.stdout
    assert "4 messages sent: 3 stored, 1 dead-lettered, 0 lost, 0 duplicated" in result.stdout
    assert "Per step (each call on a record):" in result.stdout and "Executions: 1 batch, " in result.stdout


def test_thousand_messages_none_lost(tmp_path):
    project = bake(tmp_path)

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/integration/test_local_pipeline.py", "-k",
         "every_message"],
        cwd=project, env={**os.environ, "LOCAL_PIPELINE_MESSAGES": "1000"}, capture_output=True, text=True,
        timeout=900, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout  # at crash rates 0.1 and 0.5


def test_store_against_real_dynamodb_local(tmp_path):
    missing = [tool for tool in ("java", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"DynamoDB Local needs Java and npm; missing here: {', '.join(missing)}")
    project = bake(tmp_path)

    result = make(project, "test-dynamodb-local")

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout and "skipped" not in result.stdout


def make_variable(folder: Path, name: str, *args: str) -> str:
    """A variable's value as make computes it in `folder`'s Makefile."""
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", f"show-variable: ; @echo $({name})", "show-variable", *args],
        cwd=folder, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def test_make_demo_reuses_the_template_virtualenv(tmp_path):
    """The template's install marks the generated project's pins as installed, under the name the project's
    Makefile looks for, so `make demo` (which runs the project with VENV=the template's) installs nothing."""
    project = bake(tmp_path)
    venv = tmp_path / "venv"
    stamp = make_variable(TEMPLATE_DIR, "PROJECT_INSTALLED", f"VENV={venv}")
    assert stamp == make_variable(project, "INSTALLED", f"VENV={venv}")
    (venv / "bin").mkdir(parents=True)
    Path(stamp).touch()

    up_to_date = subprocess.run(["make", "-q", "install", f"VENV={venv}"], cwd=project, check=False)

    assert up_to_date.returncode == 0, "make install would reinstall an up-to-date virtualenv"


def test_make_help_names_the_runtime_and_every_environment(tmp_path):
    project = bake(tmp_path, runtime="python3.13")

    help_text = subprocess.run(["make", "help"], cwd=project, capture_output=True, text=True, check=True).stdout

    assert "$(" not in help_text
    assert "python3.13 on PATH" in help_text
    assert "dev, staging, prod" in help_text
