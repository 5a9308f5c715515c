"""Render the template the way users do, in isolation from the user's own cookiecutter config."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
DEFAULTS: dict[str, Any] = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
RUNTIME_DIR = TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "runtime" / "pipeline_runtime"
RENDER_RULES_FILE = TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "tools" / "render_rules.py"


def template_module(name: str, path: Path | None = None) -> ModuleType:
    """A module of the generated runtime (`quotas`, `naming`), or another file of the project template: the one
    copy of the facts it holds."""
    spec = importlib.util.spec_from_file_location(f"template_{name}", path or RUNTIME_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def template_quotas() -> ModuleType:
    return template_module("quotas")


def template_rules() -> ModuleType:
    """What the options become (names, the batch plan): the project's tools/render_rules.py."""
    return template_module("render_rules", RENDER_RULES_FILE)


NAMING = template_rules()


def load_hook(name: str) -> ModuleType:
    """A hook of this template as a module (its Jinja-only lines run only under cookiecutter)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TEMPLATE_DIR / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def isolated_config(tmp: Path) -> Path:
    """A cookiecutter user config whose replay and clone folders live in `tmp`."""
    config = tmp / "cookiecutter-config.yaml"
    config.write_text(f"cookiecutters_dir: '{tmp / 'cookiecutters'}'\nreplay_dir: '{tmp / 'replay'}'\n")
    return config


def bake(output_dir: Path, accept_hooks: bool = True, **answers: str) -> Path:
    """Render the template with --no-input and `answers`; returns the project folder."""
    output_dir.mkdir(parents=True, exist_ok=True)
    project = cookiecutter(
        str(TEMPLATE_DIR),
        no_input=True,
        extra_context=answers,
        output_dir=str(output_dir),
        config_file=str(isolated_config(output_dir)),
        accept_hooks=accept_hooks,
    )
    return Path(project)


def window_default(answers: dict[str, Any]) -> str:
    """max_batching_window_seconds' default as cookiecutter renders it: no window for a FIFO queue."""
    return "0" if answers.get("queue_type") == "fifo" else "10"


def replay(output_dir: Path, **answers: str) -> Path:
    """Render from a replay file, the path where answers reach the template untouched by Jinja."""
    context = {  # a choice's default is its first value; private lists stay lists
        key: value[0] if isinstance(value, list) and not key.startswith("_") else value
        for key, value in DEFAULTS.items()
    }
    context.update(answers)
    context.setdefault("max_batching_window_seconds", window_default(answers))
    if "{{" in context["max_batching_window_seconds"]:  # a replay holds rendered answers
        context["max_batching_window_seconds"] = window_default(answers)
    output_dir.mkdir(parents=True, exist_ok=True)
    replay_file = output_dir / "replay.json"
    replay_file.write_text(json.dumps({"cookiecutter": context}))
    project = cookiecutter(
        str(TEMPLATE_DIR),
        replay=str(replay_file),
        output_dir=str(output_dir),
        config_file=str(isolated_config(output_dir)),
    )
    return Path(project)


def run_cookiecutter_cli(output_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `cookiecutter` command line as a user would, capturing what it prints."""
    output_dir.mkdir(parents=True, exist_ok=True)
    config = isolated_config(output_dir.parent)
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output_dir), str(TEMPLATE_DIR), *args],
        # As from a shell in output_dir's parent, with the user's own config (the hooks see it too).
        env={**os.environ, "COOKIECUTTER_CONFIG": str(config), "PWD": str(output_dir.parent)},
        cwd=output_dir.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def combination_id(answers: dict[str, str]) -> str:
    """A readable test id: each answer, long ones cut with their length."""
    short = {key: value if len(value) <= 60 else f"{value[:24]}...({len(value)} chars)" for key, value in answers.items()}
    return "-".join(f"{key}:{value}" for key, value in short.items()) or "default"


@pytest.fixture(scope="session")
def baked(tmp_path_factory: pytest.TempPathFactory):
    """Render each combination once per session, however many tests look at it."""
    cache: dict[str, Path] = {}

    def render(answers: dict[str, str]) -> Path:
        key = json.dumps(answers, sort_keys=True)
        if key not in cache:
            cache[key] = bake(tmp_path_factory.mktemp("bake"), **answers)
        return cache[key]

    return render


def with_template_venv(project: Path) -> list[str]:
    """make arguments that run a generated project's targets on this virtualenv, which holds its pins:
    its install stamp (named by the requirements' checksum, as its Makefile names it) counts as made."""
    crc = subprocess.run(
        ["cksum"], stdin=(project / "requirements-dev.txt").open("rb"), capture_output=True, text=True, check=True
    ).stdout.split()[0]
    venv = Path(sys.executable).parent.parent
    return [f"VENV={venv}", "-o", f"{venv}/bin/.installed-{crc}"]

