"""Would every rendered project deploy? Offline SAM translation + cfn-lint, the generated CI, sam build."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import bake, combination_id, with_template_venv
from test_generation import SUPPORTED_COMBINATIONS

TOP = Path(__file__).resolve().parents[1]
SAM_CLI = "aws-sam-cli==1.170.0"  # its own virtualenv: it pins an older boto3 than the durable SDK needs
PYTHON_313 = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions" / "3.13.0" / "bin" / "python3.13"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_validate(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "validate", *with_template_venv(project)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    "answers", SUPPORTED_COMBINATIONS, ids=[combination_id(answers) for answers in SUPPORTED_COMBINATIONS]
)
def test_make_validate_passes(baked, answers):
    project = baked(answers)

    result = make_validate(project)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"^\d+ passed in ", result.stdout, re.MULTILINE), result.stdout[-500:]  # none skipped or xfailed


@pytest.mark.parametrize(
    ("before", "after", "finding"),
    [
        ("    Runtime: python3.14", "    Runtime: python3.99", "E3030 'python3.99' is not one of"),
        (
            "Action: lambda:InvokeFunction",
            "Action: [lambda:InvokeFunction, lambda:CheckpointDurableExecutions]",
            "W3037 'checkpointdurableexecutions' is not one of",
        ),
        ("        ExecutionTimeout: 900", "        ExecutionTimeout: 0", "E3034 0 is less than the minimum of 1"),
    ],
    ids=["unknown-runtime", "misspelt-durable-action", "execution-timeout-0"],
)
def test_make_validate_catches_a_broken_template(tmp_path, before, after, finding):
    project = bake(tmp_path)
    template = project / "template.yaml"
    assert before in template.read_text()
    template.write_text(template.read_text().replace(before, after))

    result = make_validate(project)

    assert result.returncode != 0
    assert finding in result.stdout


def test_generated_ci_runs_every_check_with_pinned_actions(baked):
    workflow_file = baked({}) / ".github" / "workflows" / "ci.yml"
    workflow = yaml.safe_load(workflow_file.read_text())

    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["test"]["steps"]
    commands = [step.get("run") for step in steps]
    assert commands[-4:] == ["make install", "make lint", "make validate", "make test"]
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    assert "${{ github.ref }}" in workflow_file.read_text()  # GitHub expressions survive rendering
    check_build = workflow["jobs"]["check-build"]
    assert check_build["needs"] == "target" and check_build["steps"][-1]["run"] == "make check-build"
    assert check_build["steps"][1]["with"]["python-version"] == "${{ needs.target.outputs.python }}"


WORKFLOW_LINTERS = {name: shutil.which(name, path=str(Path(sys.executable).parent)) for name in ("actionlint", "zizmor")}


@pytest.mark.skipif(
    not all(WORKFLOW_LINTERS.values()), reason="actionlint or zizmor has no wheel for this platform (CI runs it: Linux)"
)
@pytest.mark.parametrize("answers", [{}, {"step_mode": "durable_step"}], ids=["lambda_invoke", "durable_step"])
def test_generated_workflows_pass_actionlint_and_zizmor(baked, answers):
    project = baked(answers)
    workflows = sorted(str(path) for path in (project / ".github" / "workflows").glob("*.yml"))
    assert [Path(path).name for path in workflows] == ["ci.yml", "deploy.yml", "release.yml"]

    actionlint = subprocess.run([WORKFLOW_LINTERS["actionlint"], *workflows], capture_output=True, text=True, check=False)
    zizmor = subprocess.run(
        [WORKFLOW_LINTERS["zizmor"], "--offline", "--persona", "pedantic", "--no-progress", str(project)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert actionlint.returncode == 0, actionlint.stdout + actionlint.stderr
    assert zizmor.returncode == 0 and "No findings to report" in zizmor.stdout + zizmor.stderr, zizmor.stdout


@pytest.mark.parametrize(
    ("answers", "python", "runner"),
    [({}, "3.14", "ubuntu-24.04-arm"), ({"runtime": "python3.13", "architecture": "x86_64"}, "3.13", "ubuntu-latest")],
    ids=["python3.14-arm64", "python3.13-x86_64"],
)
def test_generated_ci_builds_on_the_declared_runtime_and_architecture(baked, answers, python, runner):
    project = baked(answers)
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    [read] = [step for step in workflow["jobs"]["target"]["steps"] if step.get("id") == "read"]
    output = project / "github-output"

    env = {**os.environ, "GITHUB_OUTPUT": str(output)}
    subprocess.run(["bash", "-euo", "pipefail", "-c", read["run"]], cwd=project, env=env, check=True)

    assert output.read_text().splitlines() == [f"python={python}", f"runner={runner}"]


def sam_cli() -> Path:
    """aws-sam-cli in a virtualenv of its own, kept in .venv-sam between runs."""
    sam_venv = TOP / ".venv-sam"
    sam = sam_venv / "bin" / "sam"
    if not sam.exists():
        subprocess.run([sys.executable, "-m", "venv", str(sam_venv)], check=True)
        subprocess.run(
            [sam_venv / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", SAM_CLI],
            check=True,
            timeout=600,
        )
    return sam


def sam_build(project, tmp_path) -> Path:
    python_dir = tmp_path / "python313-on-path"
    python_dir.mkdir()
    (python_dir / "python3.13").symlink_to(PYTHON_313)
    env = {
        **os.environ,
        "PATH": f"{python_dir}{os.pathsep}{os.environ['PATH']}",
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "us-east-1",
    }

    result = subprocess.run(
        [str(sam_cli()), "build", "--parallel"], cwd=project, env=env, capture_output=True, text=True, timeout=900,
        check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Build Succeeded" in result.stdout + result.stderr
    return project / ".aws-sam" / "build"


@pytest.mark.skipif(not PYTHON_313.exists(), reason=f"no Python 3.13 interpreter at {PYTHON_313} for sam build")
def test_sam_build_of_durable_step_mode_takes_every_steps_requirements_for_arm64(tmp_path):
    built = sam_build(bake(tmp_path, runtime="python3.13", step_mode="durable_step"), tmp_path)

    orchestrator = built / "OrchestratorFunction"
    assert (orchestrator / "durable_step_entry.py").exists() and (orchestrator / "transform" / "transform_step.py").exists()
    [core] = (orchestrator / "pydantic_core").glob("_pydantic_core*.so")  # from validate/requirements.txt
    assert "aarch64" in core.name  # built for Lambda's arm64 on this x86_64 machine
    layer = next(built.glob("PipelineRuntimeLayer*"))
    assert not (layer / "python" / "pipeline_runtime" / "step_function.py").exists()  # lambda_invoke's only


def sam_init(output: Path, extra_context: dict[str, str]) -> subprocess.CompletedProcess[str]:
    output.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [str(sam_cli()), "init", "--location", str(TOP), "--no-input", "--output-dir", str(output),
         "--extra-context", json.dumps(extra_context)],
        cwd=output, env={**os.environ, "SAM_CLI_TELEMETRY": "0", "PWD": str(output)},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_sam_init_location_renders_with_the_hooks(tmp_path):
    result = sam_init(tmp_path / "out", {"project_name": "Via SAM", "step_names": "check,enrich,persist"})

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    project = tmp_path / "out" / "via-sam"
    assert (project / "functions" / "enrich" / "enrich_step.py").is_file()  # the post hook laid out each step
    assert (project / "tests" / "unit" / "test_persist_step.py").is_file()
    assert not (project / ".blueprints").exists()
    answers = json.loads((project / ".cookiecutter.json").read_text())["cookiecutter"]  # and recorded the answers
    assert answers["step_names"] == "check,enrich,persist" and "_output_dir" not in answers
    assert "Next steps:" in result.stdout and "cd via-sam" in result.stdout


def test_sam_init_with_a_bad_value_writes_nothing_and_says_how_to_rerun(tmp_path):
    result = sam_init(tmp_path / "out", {"batch_size": "0"})

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "  - batch_size = '0': expected a whole number from 1 to 10000." in output
    rerun = next(line.strip() for line in output.splitlines() if line.strip().startswith("sam init --location"))
    assert json.loads(shlex.split(rerun)[-1]) == {"batch_size": "<a value accepted above>"}
    assert list((tmp_path / "out").iterdir()) == []
