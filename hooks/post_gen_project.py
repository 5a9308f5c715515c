"""Post-generation hook: lay out one function per step, prune, check what was rendered, record answers.

Runs inside the new project. Safe to run again (cruft and `cookiecutter -f` rerun hooks): no
network, no git, no installs, and it never overwrites a step's code that already exists.
A failed check here is a bug in the template, not in the answers: it says so and exits 1.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml  # cookiecutter's own dependency

BLUEPRINTS = Path(".blueprints")
PLACEHOLDER = "STEPNAME"
ANSWERS_FILE = ".cookiecutter.json"
RENDER_RULES_FILE = Path("tools", "render_rules.py")
CHECK_MERGE_FILE = Path("tools", "check_merge.py")
# Context keys that describe the machine the project was rendered on, not the project.
MACHINE_SPECIFIC_KEYS = {"_output_dir", "_repo_dir", "_checkout"}

# What each answer makes unnecessary: (condition on the answers, paths to remove). One list, on purpose.
REMOVE_WHEN: list[tuple[Callable[[dict[str, Any]], bool], list[str]]] = [
    (lambda answers: True, [str(BLUEPRINTS)]),  # consumed by lay_out_steps
    # Caches a render from a working copy of the template would carry along.
    (lambda answers: True, [".ruff_cache", ".pytest_cache", "runtime/pipeline_runtime/__pycache__"]),
    # One function per step: the orchestrator is packaged on its own and invokes the step functions.
    (
        lambda answers: answers["step_mode"] == "lambda_invoke",
        ["functions/durable_step_entry.py", "functions/requirements.txt", "functions/orchestrator/inline_steps.py"],
    ),
    # Steps run inside the orchestrator: no step functions to invoke.
    (
        lambda answers: answers["step_mode"] == "durable_step",
        [
            "functions/orchestrator/invoke_steps.py",
            "runtime/pipeline_runtime/step_function.py",
            "tests/pipeline/test_step_functions.py",
        ],
    ),
]


def project_module(project: Path, path: Path, name: str) -> ModuleType:
    """One of the project's own modules, the one copy of its rules."""
    spec = importlib.util.spec_from_file_location(name, project / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render_rules(project: Path) -> ModuleType:
    """What the project's options become: its step list and each step's role (tools/render_rules.py)."""
    return project_module(project, RENDER_RULES_FILE, "project_render_rules")


BLUEPRINT_FOR_ROLE = {"validate": "validation", "store": "storage"}


def blueprint_for(role: str, step: str, message_format: str = "json") -> str:
    """The validating and storing steps' blueprints (an s3_event pipeline's first step reads the object its event
    names); a middle step named `transform` gets the reference logic."""
    if role == "validate" and message_format == "s3_event":
        return "s3_object"
    if role in BLUEPRINT_FOR_ROLE:
        return BLUEPRINT_FOR_ROLE[role]
    return "transform" if step == "transform" else "passthrough"


def materialise_step(step: str, blueprint: Path, project: Path) -> list[Path]:
    """Copy a blueprint to functions/<step>/ and tests/unit/, naming it after the step."""
    targets = {
        blueprint / f"{PLACEHOLDER}_step.py": project / "functions" / step / f"{step}_step.py",
        blueprint / "requirements.txt": project / "functions" / step / "requirements.txt",
        blueprint / f"test_{PLACEHOLDER}_step.py": project / "tests" / "unit" / f"test_{step}_step.py",
    }
    kept = []
    for source, target in targets.items():
        if target.exists():  # user-owned code from an earlier generation: never overwrite it
            kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text(encoding="utf-8").replace(PLACEHOLDER, step), encoding="utf-8")
    return kept


def lay_out_steps(answers: dict[str, Any], project: Path) -> list[Path]:
    rules = render_rules(project)
    steps = rules.parse_steps(answers["step_names"])
    kept = []
    for step in steps:
        blueprint = blueprint_for(rules.role(step, steps), step, answers.get("message_format", "json"))
        kept += materialise_step(step, project / BLUEPRINTS / blueprint, project)
    return kept


def prune(answers: dict[str, Any], project: Path) -> None:
    for applies, paths in REMOVE_WHEN:
        if applies(answers):
            for relative in paths:
                path = project / relative
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()


SYNTAX_ONLY = (
    "note: template.yaml's syntax checked; its functions' code and handlers are checked by `make validate` "
    "(install aws-sam-translator beside cookiecutter to check them as the project renders)"
)


def read_template(text: str) -> dict[str, Any] | None:
    """template.yaml with its intrinsics (!Ref, !GetAtt ...), read by aws-sam-translator's loader, the one local/
    and tools/ use; None where cookiecutter's environment lacks it (the SAM CLI's has it): then only the YAML's
    syntax is checked here, and `make validate` checks the rest. yaml.YAMLError if it is not YAML."""
    try:
        from samtranslator.yaml_helper import yaml_parse
    except ImportError:
        yaml.compose(text, Loader=yaml.SafeLoader)  # every tag accepted: syntax only
        return None
    return yaml_parse(text)


def check_rendered(project: Path) -> list[str]:
    """Template bugs in the output: unparsable files, functions whose code or handler is missing (where the
    aws-sam-translator can read template.yaml here: see read_template)."""
    problems = []
    try:
        template = read_template((project / "template.yaml").read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        return [f"template.yaml is not valid YAML: {error}"]
    if template is None:
        print(SYNTAX_ONLY, file=sys.stderr)
        template = {}
    resources = template.get("Resources", {})
    layers = {  # a function's handler may live in a layer of this template (Lambda puts it on the path)
        name: resource["Properties"]["ContentUri"]
        for name, resource in resources.items()
        if resource.get("Type") == "AWS::Serverless::LayerVersion"
    }
    global_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        module, _, function = properties["Handler"].rpartition(".")
        roots = [properties["CodeUri"]] + [
            layers[layer["Ref"]]
            for layer in [*global_layers, *properties.get("Layers", [])]
            if isinstance(layer, dict) and layer.get("Ref") in layers
        ]
        relative = f"{module.replace('.', '/')}.py"
        source = next((project / root / relative for root in roots if (project / root / relative).is_file()), None)
        if source is None:
            places = ", ".join(str(root) for root in roots)
            problems.append(f"{name}: handler module {relative} is in none of {places}")
        elif not re.search(
            rf"^(def {re.escape(function)}\(|from \S+ import .*\b{re.escape(function)}\b)",
            source.read_text(encoding="utf-8"),
            re.MULTILINE,
        ):
            problems.append(f"{name}: {source.relative_to(project)} neither defines nor imports {function}()")
    for path in project.rglob("*.json"):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            problems.append(f"{path.relative_to(project)} is not valid JSON: {error}")
    try:
        import tomllib  # Python 3.11+; cookiecutter itself still runs on 3.10
    except ImportError:
        tomllib = None
    for path in project.rglob("*.toml") if tomllib else []:
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            problems.append(f"{path.relative_to(project)} is not valid TOML: {error}")
    return problems


def record_answers(context: dict[str, Any], project: Path) -> None:
    """Write the answers as a replay file, without paths that only mean something on this machine."""
    answers = {key: value for key, value in context.items() if key not in MACHINE_SPECIFIC_KEYS}
    if not re.match(r"^(gh:|gl:|bb:|https?://|git@|git\+)", str(answers.get("_template", ""))):
        answers.pop("_template", None)  # a local checkout's path
    (project / ANSWERS_FILE).write_text(json.dumps({"cookiecutter": answers}, indent=2, sort_keys=True) + "\n")


def main(context: dict[str, Any]) -> int:
    project = Path.cwd()
    try:
        kept = lay_out_steps(context, project)
        prune(context, project)
        problems = check_rendered(project)
    except Exception as error:  # a template bug must still end in a readable message
        kept, problems = [], [f"post-generation step failed: {error!r}"]
    if problems:
        print("ERROR: the template rendered a broken project (a template bug; please report it):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    record_answers(context, project)
    for path in kept:
        print(f"kept your existing {path.relative_to(project)}")
    if rendered_by_cruft_update(context, project):
        print(UPDATE_MESSAGE)
        return 0
    check_merge = project_module(project, CHECK_MERGE_FILE, "project_check_merge")
    unresolved = check_merge.unresolved(project)  # regenerated over an earlier update's leftovers
    if unresolved:
        print(check_merge.message(unresolved), file=sys.stderr)
    print(next_steps(context, project))
    return 0


# Printed by the update's render, before cruft merges it into the project: cruft then reports success
# even where git left conflict markers.
UPDATE_MESSAGE = (
    "After cruft applies this update, run `make check-merge` (make test runs it first): where you and the "
    "template changed the same lines, git leaves <<<<<<< markers in the file, and a change that did not apply "
    "is left in a .rej file; each is named with what to do."
)


TEMPLATE_DIR: str | None = None  # set when cookiecutter runs this hook: the template's folder


def invocation() -> ModuleType:
    """Which tool is rendering (hooks/invocation.py, the one copy the pre-generation hook shares)."""
    template = Path(TEMPLATE_DIR) if TEMPLATE_DIR else Path(__file__).resolve().parents[1]
    return project_module(template, Path("hooks", "invocation.py"), "template_invocation")


def rendered_by_cruft_update(context: dict[str, Any], project: Path) -> bool:
    return invocation().running_tool(context, project, []) == "cruft update"


def where_to_cd(project: Path) -> str:
    """The project's path as the user typed from: relative to the shell's folder when inside it."""
    shell_folder = os.environ.get("PWD", "")
    if shell_folder and Path(shell_folder).is_dir():
        relative = os.path.relpath(project, Path(shell_folder).resolve())
        if not relative.startswith(".."):
            return relative
    return str(project)


def build_hint(runtime: str) -> str:
    """What `sam build` needs for this runtime, found on this machine or not, and the fallback."""
    if shutil.which(runtime):
        return f"builds with the {runtime} found on PATH"
    return f"needs {runtime} on PATH (not found here), or `sam build --use-container` (Docker)"


def next_steps(context: dict[str, Any], project: Path) -> str:
    steps = render_rules(project).parse_steps(context["step_names"])
    return "\n".join(
        [
            f"\nProject {project.name} is ready: {' -> '.join(steps)}, {context['step_mode']} mode. Next steps:",
            f"  cd {where_to_cd(project)}",
            "  make test             # unit and integration tests, offline, in their own virtualenv",
            "  make local            # the whole pipeline on local SQS, DynamoDB and S3 servers",
            "  make validate         # template.yaml translated and linted offline, deployment rules checked",
            f"  sam build             # {build_hint(context['runtime'])}",
            "  make deploy           # sam deploy to the dev stack (samconfig.toml); ENV=staging or ENV=prod",
            "  make smoke            # after deploy: one good and one bad message through the deployed stack",
        ]
    )

if __name__ == "__main__":
    # The answers arrive as JSON data, never pasted into Python source.
    TEMPLATE_DIR = json.loads(r"""{{ {"path": template_dir()} | tojson }}""")["path"]
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}""")))
