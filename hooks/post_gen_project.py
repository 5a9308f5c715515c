"""Post-generation hook: lay out one function per step, then check what was rendered.

Runs inside the new project. Safe to run again (cruft and `cookiecutter -f` rerun hooks): no
network, no git, no installs, and it never overwrites a step's code that already exists.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

BLUEPRINTS = Path(".blueprints")
PLACEHOLDER = "STEPNAME"


def parse_steps(step_names: str) -> list[str]:
    return [name.strip() for name in str(step_names).split(",") if name.strip()]


def blueprint_for(position: int, count: int, step: str) -> str:
    """First step validates, last stores; a middle step named `transform` gets the reference logic."""
    if position == 0:
        return "validation"
    if position == count - 1:
        return "storage"
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


def lay_out_steps(context: dict, project: Path) -> list[Path]:
    steps = parse_steps(context["step_names"])
    kept = []
    for position, step in enumerate(steps):
        kept += materialise_step(step, project / BLUEPRINTS / blueprint_for(position, len(steps), step), project)
    shutil.rmtree(project / BLUEPRINTS)
    return kept


def main(context: dict) -> int:
    project = Path.cwd()
    kept = lay_out_steps(context, project)
    for path in kept:
        print(f"kept existing {path.relative_to(project)}")
    print(f"\nCreated {project.name}. Next steps:")
    print(f"  cd {project.name}")
    print("  make test                # unit tests, offline, in their own virtualenv")
    print("  sam build && sam deploy --guided")
    return 0


if __name__ == "__main__":
    # The answers arrive as JSON data, never pasted into Python source.
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}""")))
