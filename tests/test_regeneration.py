"""Coming back to a project: cruft update with new options keeps the user's code; bad values change nothing."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NAMING, TEMPLATE_DIR, isolated_config, load_hook
from samtranslator.yaml_helper import yaml_parse

BIN = Path(sys.executable).parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Template Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Template Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}
NOT_TEMPLATE = shutil.ignore_patterns(
    ".git", ".venv", ".venv-sam", ".demo", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"
)
PLACEHOLDER = load_hook("invocation").PLACEHOLDER
TRANSFORM = "functions/transform/transform_step.py"
USER_EDIT = ('"data_source": record["data_source"].upper(),', '"data_source": record["data_source"].strip().upper(),')

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def run(*command: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**os.environ, **GIT_ENV, "COOKIECUTTER_CONFIG": str(isolated_config(cwd.parent))},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check:
        assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def commit_all(repo: Path, message: str) -> None:
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-q", "-m", message, cwd=repo)


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """This template's files in a git repository of their own, as cruft expects."""
    repo = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, repo, ignore=NOT_TEMPLATE)
    run("git", "init", "-q", cwd=repo)
    commit_all(repo, "template")
    return repo


@pytest.fixture
def project(template_repo: Path, tmp_path: Path) -> Path:
    """A project made with `cruft create`, committed, with the user's own logic in the transform step."""
    run(BIN / "cruft", "create", "--no-input", "--output-dir", tmp_path / "out", template_repo, cwd=tmp_path)
    project = tmp_path / "out" / "durable-data-pipeline"
    run("git", "init", "-q", cwd=project)
    commit_all(project, "generated")
    transform = project / "functions" / "transform" / "transform_step.py"
    assert USER_EDIT[0] in transform.read_text()
    transform.write_text(transform.read_text().replace(*USER_EDIT))
    commit_all(project, "my transform logic")
    return project


def cruft_update(project: Path, variables: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(BIN / "cruft", "update", "-y", "--variables-to-update", json.dumps(variables), cwd=project, check=check)


def tracked_files(project: Path) -> dict[str, str]:
    names = run("git", "ls-files", cwd=project).stdout.split()
    return {name: (project / name).read_text(encoding="utf-8") for name in names}


def assert_clean_merge(project: Path) -> None:
    """Nothing unresolved, as the project's own check (tools/check_merge.py, what make runs first) finds it."""
    spec = importlib.util.spec_from_file_location("check_merge", project / "tools" / "check_merge.py")
    check_merge = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_merge)
    assert check_merge.unresolved(project) == []


def test_update_changes_options_and_keeps_user_code(project):
    edited = (project / "functions" / "transform" / "transform_step.py").read_text()

    updated = cruft_update(project, {"batch_size": "10", "step_names": "validate,enrich,transform,store"})

    assert "Next steps" not in updated.stdout + updated.stderr  # cruft renders twice, into temporary folders

    template = yaml_parse((project / "template.yaml").read_text())
    orchestrator = template["Resources"]["OrchestratorFunction"]["Properties"]
    assert template["Resources"]["InputQueueMapping"]["Properties"]["BatchSize"] == 10
    variable, function = NAMING.function_name_variable("enrich"), NAMING.logical_id("enrich")
    assert orchestrator["Environment"]["Variables"][variable] == {"Ref": f"{function}.Version"}
    assert template["Resources"][function]["Properties"]["CodeUri"] == "functions/enrich/"
    assert (project / "functions" / "enrich" / "enrich_step.py").is_file()
    assert (project / "tests" / "unit" / "test_enrich_step.py").is_file()
    config = (project / "functions" / "orchestrator" / "pipeline_config.py").read_text()
    assert '"validate",\n    "enrich",\n    "transform",\n    "store",' in config
    assert (project / "functions" / "transform" / "transform_step.py").read_text() == edited
    assert json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["batch_size"] == "10"
    assert_clean_merge(project)
    suite = run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", cwd=project, check=False)
    assert suite.returncode == 0, suite.stdout[-3000:]
    assert "test_enrich_step.py" in run(sys.executable, "-m", "pytest", "--collect-only", "-q", cwd=project).stdout

    commit_all(project, "update")
    cruft_update(project, {"step_names": "validate,transform,store"})

    assert not (project / "functions" / "enrich").exists()
    assert not (project / "tests" / "unit" / "test_enrich_step.py").exists()
    assert "Enrich" not in (project / "template.yaml").read_text()
    assert (project / "functions" / "transform" / "transform_step.py").read_text() == edited
    assert_clean_merge(project)


def test_bad_value_in_an_update_changes_nothing(project):
    before = tracked_files(project)

    result = cruft_update(project, {"batch_size": "ten", "table_name": "no spaces allowed"}, check=False)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "ERROR: cannot generate the project, 2 invalid option value(s):" in output
    assert "  - batch_size = 'ten': expected a whole number from 1 to 10000." in output
    assert "run cookiecutter again" not in output  # cruft's own way to try again, not cookiecutter's
    retry = next(line.strip() for line in output.splitlines() if line.strip().startswith("cruft update"))
    assert json.loads(shlex.split(retry)[-1]) == {"batch_size": PLACEHOLDER, "table_name": PLACEHOLDER}
    assert run("git", "status", "--porcelain", cwd=project).stdout == ""
    assert tracked_files(project) == before

    printed = shlex.split(retry)  # the command it printed, with the placeholders filled in
    run(BIN / "cruft", *printed[1:-1], json.dumps({"batch_size": "10", "table_name": "orders"}), "-y", cwd=project)

    assert json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["table_name"] == "orders"
    assert (project / TRANSFORM).read_text() == before[TRANSFORM]  # the user's logic, kept
    assert "BatchSize: 10" in (project / "template.yaml").read_text()


def test_plain_cookiecutter_regenerates_from_recorded_answers(project, template_repo):
    answers = project / ".cookiecutter.json"
    edited = (project / "functions" / "transform" / "transform_step.py").read_text()
    recorded = json.loads(answers.read_text())
    recorded["cookiecutter"]["batch_size"] = "8"
    answers.write_text(json.dumps(recorded))

    run(
        BIN / "cookiecutter", "--replay-file", answers, "--overwrite-if-exists", "--output-dir", project.parent,
        template_repo, cwd=project.parent,
    )  # fmt: skip

    assert "BatchSize: 8" in (project / "template.yaml").read_text()
    assert (project / "functions" / "transform" / "transform_step.py").read_text() == edited


def test_plain_cookiecutter_names_what_an_earlier_update_left_unresolved(project, template_repo):
    (project / "template.yaml.rej").write_text("@@ -1 +1 @@\n")  # left by an earlier update
    answers = project / ".cookiecutter.json"

    result = run(
        BIN / "cookiecutter", "--replay-file", answers, "--overwrite-if-exists", "--output-dir", project.parent,
        template_repo, cwd=project.parent,
    )  # fmt: skip

    [line] = [line for line in result.stderr.splitlines() if line.startswith("Unresolved merge")]
    assert "template.yaml.rej (a change that did not apply)" in line and line.endswith("then run make again.")


# Earlier releases of the template (cookiecutter.json, hooks, project folder), frozen as
# `git archive --format=tar.gz <tag> cookiecutter.json hooks '{{cookiecutter.project_slug}}'`:
# a release never changes, and CI's clone carries no tags to archive it from.
RELEASES = {
    "v1.0.0": Path(__file__).parent / "fixtures" / "template-v1.0.0.tar.gz",
    "v2.0.1": Path(__file__).parent / "fixtures" / "template-v2.0.1.tar.gz",
    "v3.1.0": Path(__file__).parent / "fixtures" / "template-v3.1.0.tar.gz",  # bb9d00a, the last 3.x commit
}


@pytest.fixture
def template_history(tmp_path: Path) -> Path:
    """A template repository holding the earlier releases, tagged, then this working tree on top."""
    repo = tmp_path / "template-history"
    repo.mkdir()
    run("git", "init", "-q", cwd=repo)
    for tag, archive in [*RELEASES.items(), ("current", None)]:
        for path in repo.iterdir():
            if path.name != ".git":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        if archive:
            shutil.unpack_archive(archive, repo)
        else:
            shutil.copytree(TEMPLATE_DIR, repo, ignore=NOT_TEMPLATE, dirs_exist_ok=True)
        commit_all(repo, tag)
        run("git", "tag", tag, cwd=repo)
    return repo


def create_at(release: str, template_history: Path, tmp_path: Path, **options: str) -> Path:
    """A project made with `cruft create` at an earlier release, committed, with the user's transform logic."""
    run(
        BIN / "cruft", "create", "--no-input", "--checkout", release, "--output-dir", tmp_path / "out",
        "--extra-context", json.dumps(options), template_history, cwd=tmp_path,
    )  # fmt: skip
    project = tmp_path / "out" / "durable-data-pipeline"
    run("git", "init", "-q", cwd=project)
    commit_all(project, f"generated with {release}")
    transform = project / "functions" / "transform" / "transform_step.py"
    transform.write_text(transform.read_text().replace(*USER_EDIT))
    commit_all(project, "my transform logic")
    return project


def run_suite(project: Path) -> subprocess.CompletedProcess[str]:
    """The upgraded project's unit and pipeline tests: its own code, and the template's with it. (The integration
    tests drive make local and the smoke test, the same in every project: test_generated_suites runs them.)"""
    selection = "not integration and not dynamodb_local"
    suite = run(
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rw", "-m", selection, cwd=project, check=False
    )
    assert suite.returncode == 0, suite.stdout[-3000:]
    return suite


UPGRADES = {
    "v1.0.0": ("v1.0.0", {}),
    "v2.0.1": ("v2.0.1", {}),
    "v2.0.1-durable-step": ("v2.0.1", {"step_mode": "durable_step"}),
}


@pytest.mark.parametrize(("release", "options"), UPGRADES.values(), ids=UPGRADES.keys())
def test_upgrade_keeps_the_users_logic_and_moves_steps_to_the_process_contract(
    template_history, tmp_path, release, options
):
    # v1.0.0 invoked each step function per record at <step>_step.handler, v2.0.1 at a per-step
    # <step>_entry.py; now every step function's handler is the runtime layer's, and a step is
    # process(record). The step files the user did not change take the new form from cruft's
    # three-way merge; the transform they edited takes it around their edit.
    project = create_at(release, template_history, tmp_path, **options)

    run(BIN / "cruft", "update", "-y", cwd=project)

    template = yaml_parse((project / "template.yaml").read_text())
    for step in ("validate", "transform", "store"):
        if not options:  # lambda_invoke: one function per step, its handler the runtime layer's
            function = template["Resources"][NAMING.logical_id(step)]["Properties"]
            assert function["Handler"] == "pipeline_runtime.step_function.handler"
            assert function["Environment"]["Variables"]["STEP_NAME"] == step
        assert "def process(" in (project / "functions" / step / f"{step}_step.py").read_text()
    assert USER_EDIT[1] in (project / "functions" / "transform" / "transform_step.py").read_text()
    assert not list(project.glob("functions/*/*_entry.py"))  # v2.0.1's per-step copies are gone
    assert_clean_merge(project)
    suite = run_suite(project)
    assert "DeprecationWarning" not in suite.stdout


def test_a_v3_project_updated_to_a_fifo_queue_is_told_what_the_queue_needs_first(template_history, tmp_path):
    project = create_at("v3.1.0", template_history, tmp_path)

    refused = run(
        BIN / "cruft", "update", "-y", "--variables-to-update", json.dumps({"queue_type": "fifo"}), cwd=project,
        check=False,
    )  # fmt: skip

    # The project's recorded window (10) stays: Lambda takes none from a FIFO queue, so the hook says what to pass
    assert "max_batching_window_seconds = '10': expected 0 with queue_type fifo" in refused.stdout + refused.stderr
    assert "FifoQueue" not in (project / "template.yaml").read_text()


V3_UPDATES = {
    "fifo": ({}, {"queue_type": "fifo", "max_batching_window_seconds": "0"}),
    "fifo-durable-step": ({"step_mode": "durable_step"}, {"queue_type": "fifo", "max_batching_window_seconds": "0"}),
    "s3-event": ({}, {"message_format": "s3_event"}),
    "sns-durable-step": ({"step_mode": "durable_step"}, {"message_format": "sns"}),
}


@pytest.mark.parametrize(("options", "update"), V3_UPDATES.values(), ids=V3_UPDATES.keys())
def test_a_v3_project_updated_to_a_new_queue_or_format_keeps_the_users_logic(template_history, tmp_path, options, update):
    project = create_at("v3.1.0", template_history, tmp_path, **options)

    run(BIN / "cruft", "update", "-y", "--variables-to-update", json.dumps(update), cwd=project)

    resources = yaml_parse((project / "template.yaml").read_text())["Resources"]
    assert resources["InputQueue"]["Properties"].get("FifoQueue", False) is ("queue_type" in update)
    assert ("SourceBucket" in resources) is (update.get("message_format") == "s3_event")
    assert USER_EDIT[1] in (project / "functions" / "transform" / "transform_step.py").read_text()
    config = (project / "functions" / "orchestrator" / "pipeline_config.py").read_text()
    assert f'QUEUE_TYPE = "{update.get("queue_type", "standard")}"' in config
    formats = (project / "runtime" / "pipeline_runtime" / "message_formats.py").read_text()
    assert f'MESSAGE_FORMAT = "{update.get("message_format", "json")}"' in formats
    if update.get("message_format") == "s3_event":  # the validate step the user never edited reads objects now
        assert "def read_object(" in (project / "functions" / "validate" / "validate_step.py").read_text()
    assert_clean_merge(project)
    run_suite(project)


def test_a_v2_step_kept_as_it_was_is_refused_naming_what_to_write(template_history, tmp_path):
    # A step the user rewrote wholesale, and told cruft to leave alone, keeps v2's handler form, removed in v4.0.0.
    project = create_at("v2.0.1", template_history, tmp_path)
    cruft_state = json.loads((project / ".cruft.json").read_text())
    mine = ["functions/transform/transform_step.py", "tests/unit/test_transform_step.py"]
    (project / ".cruft.json").write_text(json.dumps({**cruft_state, "skip": mine}, indent=2))
    commit_all(project, "keep my transform as it is")

    run(BIN / "cruft", "update", "-y", cwd=project)

    assert "def handler(" in (project / "functions" / "transform" / "transform_step.py").read_text()
    selection = "not integration and not dynamodb_local"
    suite = run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", selection, cwd=project, check=False)
    assert suite.returncode != 0
    assert "transform_step defines handler(event, context), the v2 step form removed in v4.0.0" in suite.stdout


def test_an_update_that_leaves_conflict_markers_is_stopped_before_any_test_runs(template_history, tmp_path):
    # The user's own code appended next to the v2 handler the template replaces: git's three-way merge cannot
    # place both, leaves its markers in the step file, and cruft still reports success.
    project = create_at("v2.0.1", template_history, tmp_path)
    transform = project / "functions" / "transform" / "transform_step.py"
    transform.write_text(transform.read_text() + "\n\ndef audit(record):\n    return {**record, 'audited': True}\n")
    commit_all(project, "my audit helper")

    updated = run(BIN / "cruft", "update", "-y", cwd=project)

    assert "<" * 7 in transform.read_text()  # what git's merge left
    assert "run `make check-merge`" in updated.stdout + updated.stderr  # the update's own render says what to do
    stopped = run("make", "test", cwd=project, check=False)
    assert stopped.returncode != 0
    [line] = [line for line in stopped.stderr.splitlines() if line.startswith("Unresolved merge")]
    assert "functions/transform/transform_step.py (conflict markers)" in line
    assert not (project / ".venv").exists()  # stopped before installing or running anything

