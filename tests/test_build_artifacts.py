"""What `sam build` makes is what AWS runs: every supported combination built, imported and run.

Each project's own `make check-build`: sam build without Docker, each function imported from the
build output in a clean interpreter of its runtime (only its folder, its layers, the standard
library and the runtime's boto3), one SQS batch through the built orchestrator and step functions,
every record stored. python3.14 and arm64 cannot run on this machine: those combinations are built
for python3.13/x86_64, and the report says so. Each test worker builds its combinations one after
another in the same folder, so `sam build --cached` (the projects' own setting) reuses what did not
change, as it does for a user rebuilding after a `cruft update`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import bake, with_template_venv
from test_deployment import PYTHON_313, sam_cli
from test_generation import IDS, SUPPORTED_COMBINATIONS, answers_with_defaults, steps_of

pytestmark = [
    pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed"),
    pytest.mark.skipif(not PYTHON_313.exists(), reason=f"no Python 3.13 interpreter at {PYTHON_313} for sam build"),
]


def check_build(project: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    make_args = f"ARGS=--json {' '.join(args)}"
    result = subprocess.run(
        ["make", "--no-print-directory", "check-build", *with_template_venv(project), f"SAM={sam_cli()}", make_args],
        cwd=project, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    start = result.stdout.find("{")
    report = json.loads(result.stdout[start:]) if start >= 0 else {}
    return result, report


@pytest.fixture(scope="session")
def build_site(tmp_path_factory) -> Path:
    """This worker's folder where each combination is built in turn."""
    return tmp_path_factory.mktemp("build-site") / "project"


def in_build_site(site: Path, rendered: Path) -> Path:
    """`rendered` copied over the site's project, its build output and SAM's cache kept."""
    if site.exists():
        for child in site.iterdir():
            if child.name not in ("build", ".aws-sam"):  # SAM keeps its cache and dependencies here
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    shutil.copytree(rendered, site, dirs_exist_ok=True)
    return site


@pytest.mark.parametrize("answers", SUPPORTED_COMBINATIONS, ids=IDS)
def test_the_built_functions_run_one_batch(tmp_path, build_site, answers):
    project = in_build_site(build_site, bake(tmp_path, **answers))
    merged = answers_with_defaults(answers)

    result, report = check_build(project)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert report["problems"] == []
    assert report["stored"] == report["records"] == min(int(merged["batch_size"]), 5)
    declared = (merged["runtime"], merged["architecture"])
    assert (report["declared"]["runtime"], report["declared"]["architecture"]) == declared
    expected = (("python3.13" if declared[0] == "python3.14" else declared[0]), "x86_64")
    assert (report["built"]["runtime"], report["built"]["architecture"]) == expected
    assert len(report["substituted"]) == (declared[0] != expected[0]) + (declared[1] != expected[1])
    functions = set(report["memory_mb"])
    if merged["step_mode"] == "lambda_invoke":
        assert len(functions) == len(steps_of(answers)) + 1
    else:
        assert functions == {"OrchestratorFunction"}
    for usage in report["memory_mb"].values():
        assert 0 < usage["baseline"] <= usage["peak"] <= usage["limit"]
    artifact = project / "build" / "check-build" / "artifact"
    layer = next(artifact.glob("PipelineRuntimeLayer*"))
    assert (layer / "python" / "pipeline_runtime" / "step_modules.py").is_file()
    assert not (artifact / "OrchestratorFunction" / "pipeline_runtime").exists()  # shared through the layer


HELPERS = {  # the same module name in two steps, each marking the record its own way
    0: 'def mark(record: dict) -> dict:\n    return {**record, "marked_by_first_step": True}\n',
    1: 'def mark(record: dict) -> dict:\n    return {**record, "marked_by_second_step": True}\n',
}
WRAPPED = """

from .helpers import mark  # the step's own helpers.py, imported relatively

_unmarked = process


def process(record):
    return mark(_unmarked(record))
"""


@pytest.fixture(scope="module", params=["lambda_invoke", "durable_step"])
def exact_build(request, tmp_path_factory) -> Path:
    """A project built exactly as declared here (python3.13, x86_64), whose first two steps each have a helpers.py."""
    project = bake(tmp_path_factory.mktemp(request.param), step_mode=request.param, runtime="python3.13",
                   architecture="x86_64")  # fmt: skip
    steps = steps_of({})
    for position, helper in HELPERS.items():
        folder = project / "functions" / steps[position]
        (folder / "helpers.py").write_text(helper)
        code = folder / f"{steps[position]}_step.py"
        code.write_text(code.read_text() + WRAPPED)
    return project


def test_two_steps_each_with_their_own_helpers_module(exact_build):
    result, report = check_build(exact_build)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert report["stored"] == report["records"] > 0
    stored = report["sample"]["transformed_data"]
    assert stored["marked_by_first_step"] is True and stored["marked_by_second_step"] is True


def test_five_bodies_parsing_to_25_times_their_size_stay_within_memory_in_the_built_functions(exact_build, tmp_path):
    head = '{"data_source": "objects.csv", "processing_type": "standard", "x": ['
    body = head + ",".join(["{}"] * ((1024 * 1024 - 4096 - len(head) - 2) // 3)) + "]}"  # ~1 MiB -> ~25 MB parsed
    (tmp_path / "body.json").write_text(body)

    result, report = check_build(exact_build, "--body-file", str(tmp_path / "body.json"))

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert report["records"] == report["stored"] == 5 and report["problems"] == []
    for function, usage in report["memory_mb"].items():  # real processes: what Lambda would count
        print(f"{function}: {usage['baseline']} MB after import, peak {usage['peak']} MB of {usage['limit']} MB")
        assert usage["peak"] <= usage["limit"]
