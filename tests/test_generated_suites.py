"""Run generated projects' own test suites: the default one exactly as a new user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import bake

# Non-default combinations whose suites run in this environment (it holds the same pins).
SUITE_COMBINATIONS = {
    "five-steps-batch-1-eventbridge": {
        "step_names": "ingest,clean,enrich,score,persist",
        "batch_size": "1",
        "message_format": "eventbridge",
    },
    "durable-step-mode": {"step_mode": "durable_step", "step_names": "validate,enrich,transform,store"},
    "two-steps-py313-x86-big-batch": {
        "step_names": "check,persist",
        "runtime": "python3.13",
        "architecture": "x86_64",
        "batch_size": "100",
        "max_batching_window_seconds": "5",
        "record_concurrency": "4",
        "max_receive_count": "1",
    },
    "fifo-lambda-invoke": {"queue_type": "fifo"},
    "s3-event": {"message_format": "s3_event"},
    "s3-event-durable-step": {"message_format": "s3_event", "step_mode": "durable_step"},
    "sns-durable-step": {"message_format": "sns", "step_mode": "durable_step"},
    "fifo-sns": {"queue_type": "fifo", "message_format": "sns"},
    "fifo-eventbridge-durable-step": {
        "queue_type": "fifo",
        "message_format": "eventbridge",
        "step_mode": "durable_step",
        "batch_size": "10",
    },
    "fifo-durable-step-deduplicated": {
        "queue_type": "fifo",
        "step_mode": "durable_step",
        "batch_size": "10",
        "content_based_deduplication": "true",
    },
}


def clean_env() -> dict[str, str]:
    """The environment of a user's shell: not this test run's virtualenv."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "PYTEST"))}
    venv_bin = os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep) if part != venv_bin)
    return env


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_default_project_make_test_in_fresh_folder(tmp_path):
    project = bake(tmp_path / "fresh")

    result = subprocess.run(
        ["make", "test"], cwd=project, env=clean_env(), capture_output=True, text=True, timeout=900, check=False
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert " passed" in result.stdout
    assert (project / ".venv" / "bin" / "python").exists()


@pytest.mark.parametrize("answers", SUITE_COMBINATIONS.values(), ids=SUITE_COMBINATIONS.keys())
def test_generated_suite_passes(tmp_path, answers):
    project = bake(tmp_path, **answers)

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert " passed" in result.stdout


# The largest batches the options allow (10,000 records, 6 MB of event), with the most steps: each
# generated suite's quota tests run at its own batch size, so these show the plan holds at the limit.
LARGEST_BATCHES = {
    "lambda-invoke-20-steps-10000-records": {
        "step_names": ",".join(f"step_{n}" for n in range(1, 21)),
        "batch_size": "10000",
        "max_batching_window_seconds": "300",
        "record_concurrency": "1667",
    },
    "durable-step-20-steps-10000-records": {
        "step_mode": "durable_step",
        "step_names": ",".join(f"step_{n}" for n in range(1, 21)),
        "batch_size": "10000",
        "max_batching_window_seconds": "300",
    },
}


@pytest.mark.parametrize("answers", LARGEST_BATCHES.values(), ids=LARGEST_BATCHES.keys())
def test_the_largest_batch_fits_every_quota(tmp_path, answers):
    project = bake(tmp_path, **answers)

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/pipeline/test_quotas.py",
         "-k", "largest_batch or worst_case"],
        cwd=project, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
