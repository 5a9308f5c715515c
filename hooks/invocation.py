"""Which tool is rendering this template, and how to run it again with the answers already given.

Shared by both hooks, which load it from the template's folder (cookiecutter runs each hook from a copy
elsewhere): the pre-generation hook prints the rerun command after a refused answer, the post-generation
hook tells an update's render from a new project. Plain functions, tested one by one.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tempfile
from pathlib import Path
from typing import Any

# How the answers can be given again without the prompts, per tool that runs this template.
PLACEHOLDER = "<a value accepted above>"


def answers_given(answers: dict, problems: list[Any], template_dir: str | Path) -> dict[str, str]:
    """The answers that differ from cookiecutter.json's defaults, each invalid one as a placeholder to fill in."""
    defaults = json.loads((Path(template_dir) / "cookiecutter.json").read_text(encoding="utf-8"))
    invalid = {problem.option for problem in problems}
    given = {}
    for name, default in defaults.items():
        if name.startswith("_") or name not in answers:
            continue
        default = default[0] if isinstance(default, list) else default
        derived = isinstance(default, str) and "{" * 2 in default  # project_slug: from the name unless typed
        if name in invalid or (not derived and str(answers[name]) != str(default)):
            given[name] = PLACEHOLDER if name in invalid else str(answers[name])
    return given


def saved_answers_file(answers: dict, replay_dir: str | Path | None) -> Path | None:
    """cookiecutter's replay file for this template, if it holds exactly these answers (it is written before
    the hooks run); None under tools that write none, or a config that keeps it elsewhere."""
    if not replay_dir or not answers.get("_repo_dir"):
        return None
    path = Path(replay_dir).expanduser() / f"{Path(str(answers['_repo_dir'])).resolve().name}.json"
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))["cookiecutter"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    same = all(saved.get(name) == value for name, value in answers.items() if not name.startswith("_"))
    return path if same else None


def output_flag(output_dir: Path | None, shell_dir: Path | None) -> str:
    """`--output-dir DIR` as typed from the shell's folder; empty when the project goes there."""
    if output_dir is None or (shell_dir is not None and output_dir.resolve() == shell_dir.resolve()):
        return ""
    where = str(output_dir)
    if shell_dir is not None and output_dir.resolve().is_relative_to(shell_dir.resolve()):
        where = os.path.relpath(output_dir.resolve(), shell_dir.resolve())
    return f" --output-dir {shlex.quote(where)}"


def rerun_instructions(
    answers: dict,
    problems: list[Any],
    tool: str,
    replay_file: Path | None,
    template_dir: str | Path,
    output_dir: Path | None = None,
    shell_dir: Path | None = None,
) -> list[str]:
    """What to run to try again with the answers already given: the tool's own way of passing them, to the
    same output folder and template version."""
    given = answers_given(answers, problems, template_dir)
    template = shlex.quote(str(answers.get("_template") or template_dir))
    fix = [problem.option for problem in problems]
    output = output_flag(output_dir, shell_dir)
    checkout = f" --checkout {shlex.quote(str(answers['_checkout']))}" if answers.get("_checkout") else ""
    if tool == "cruft update":
        variables = json.dumps({name: PLACEHOLDER for name in dict.fromkeys(fix)})
        return [
            "Nothing was changed. Your other answers are kept in .cruft.json; run the update again with",
            f"  cruft update --variables-to-update {shlex.quote(variables)}",
            "cruft then shows this same error again as a traceback; nothing else went wrong.",
        ]
    if tool == "cruft create":
        return [
            "Nothing was written. Run it again with your answers, filling in each placeholder:",
            f"  cruft create {template}{output} --no-input --extra-context {shlex.quote(json.dumps(given))}",
            "cruft then shows this same error again as a traceback; nothing else went wrong.",
        ]
    if tool == "sam init":  # the SAM CLI installer brings no cookiecutter command: its own way only
        return [
            "Nothing was written. Run it again with the answers you changed, filling in each placeholder:",
            f"  sam init --location {template}{output} --no-input --extra-context {shlex.quote(json.dumps(given))}",
        ]
    lines = ["Nothing was written. Your answers are not lost."]
    if replay_file is not None:
        lines += [
            f"cookiecutter saved them in {replay_file}: correct {', '.join(dict.fromkeys(fix))} there, then",
            f"  cookiecutter --replay-file {shlex.quote(str(replay_file))}{output}{checkout} {template}",
            "or pass the ones you changed, filling in each placeholder:",
        ]
    else:
        lines.append("Pass the ones you changed, filling in each placeholder:")
    pairs = " ".join(shlex.quote(f"{name}={value}") for name, value in given.items())
    lines.append(f"  cookiecutter --no-input{output}{checkout} {template} {pairs}".rstrip())
    return lines


# cruft update renders the old and new versions into fresh tempfile.mkdtemp() folders: tmp + 8 characters.
CRUFT_UPDATE_FOLDER = re.compile(r"tmp[a-z0-9_]{8}")


def running_tool(answers: dict, project_dir: Path, parent_command: list[str]) -> str:
    """Which tool renders: cruft adds `_commit` and updates in temporary folders; sam init is a cookiecutter run."""
    if "_commit" in answers:
        folder = project_dir.resolve().parent
        in_update_folder = folder.parent == Path(tempfile.gettempdir()).resolve() and CRUFT_UPDATE_FOLDER.fullmatch(
            folder.name
        )
        return "cruft update" if in_update_folder else "cruft create"
    if any(Path(part).name in ("sam", "samcli", "sam.exe") for part in parent_command[:3]):
        return "sam init"
    return "cookiecutter"


def parent_command() -> list[str]:
    """The command line of the process that runs this hook (Linux's /proc; empty elsewhere)."""
    try:
        return Path(f"/proc/{os.getppid()}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def replay_dir() -> str | None:
    """cookiecutter's replay folder from the user's config (COOKIECUTTER_CONFIG or ~/.cookiecutterrc)."""
    try:
        from cookiecutter.config import (
            get_user_config,  # the hook runs on the interpreter that runs cookiecutter
        )
    except ImportError:
        return None
    try:
        return get_user_config()["replay_dir"]
    except Exception:  # an unreadable config only costs the hint  # noqa: BLE001
        return None
