# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Stop before anything runs if an update left a merge unresolved: git's conflict markers, or `.rej` files.

`cruft update` merges the template's changes into your files with git: where both changed the same lines,
git leaves `<<<<<<<`/`=======`/`>>>>>>>` markers in the file (and cruft still reports success); where a
change does not apply at all, the rejected hunk lands in a `<file>.rej` beside it. Either way the project
would fail later with a SyntaxError or a silent mix. `make test` (and every make target that runs the
project) calls this first; it prints one line naming every such file and exits 1.

    python3 tools/check_merge.py [folder]
"""

from __future__ import annotations

import sys
from pathlib import Path

SKIPPED_FOLDERS = {".git", ".venv", ".venv-sam", ".aws-sam", "build", "node_modules", "local-output", "__pycache__"}
MARKERS = ("<<<<<<< ", ">>>>>>> ")  # git's conflict markers open and close a conflict; "=======" divides it


def project_files(root: Path):
    for path in sorted(root.iterdir()):
        if path.is_dir():
            if path.name not in SKIPPED_FOLDERS and not path.name.endswith(".egg-info"):
                yield from project_files(path)
        elif path.is_file():
            yield path


def has_conflict_markers(path: Path) -> bool:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (UnicodeDecodeError, OSError):  # binary or unreadable: git writes no markers there
        return False
    opened = any(line.startswith(MARKERS[0]) for line in lines)
    return opened and any(line.startswith(MARKERS[1]) for line in lines)


def unresolved(root: Path) -> list[str]:
    """Each file an update left unresolved, relative to `root`, with what is wrong with it."""
    found = []
    for path in project_files(root):
        name = path.relative_to(root).as_posix()
        if path.suffix == ".rej":
            found.append(f"{name} (a change that did not apply)")
        elif has_conflict_markers(path):
            found.append(f"{name} (conflict markers)")
    return found


def message(found: list[str]) -> str:
    return (
        f"Unresolved merge from a template update: {'; '.join(found)}. Resolve each conflict (keep your code, "
        "take the template's lines around it), remove the <<<<<<< ======= >>>>>>> lines, apply or delete each "
        ".rej file, then run make again."
    )


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[1]
    found = unresolved(root)
    if found:
        print(message(found), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
