# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""tools/check_merge.py: what a template update left unresolved is named before anything runs."""

from __future__ import annotations

import subprocess
import sys

from local.template_values import PROJECT_ROOT
from tools import check_merge

CONFLICT = "\n".join(
    [
        "def process(record):",
        "<" * 7 + " ours",
        "    return record",
        "=" * 7,
        "    return dict(record)",
        ">" * 7 + " theirs",
        "",
    ]
)


def test_this_project_has_nothing_unresolved():
    assert check_merge.unresolved(PROJECT_ROOT) == []


def test_conflict_markers_and_rej_files_are_named_in_one_line_with_what_to_do(tmp_path):
    (tmp_path / "functions" / "transform").mkdir(parents=True)
    (tmp_path / "functions" / "transform" / "transform_step.py").write_text(CONFLICT)
    (tmp_path / "template.yaml.rej").write_text("@@ -1 +1 @@\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "vendored.py").write_text(CONFLICT)  # not the project's: never scanned
    (tmp_path / "notes.md").write_text("a divider\n=======\nis not a conflict\n")

    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "tools" / "check_merge.py"), str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert result.returncode == 1 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "functions/transform/transform_step.py (conflict markers)" in line
    assert "template.yaml.rej (a change that did not apply)" in line
    assert "vendored" not in line and "notes.md" not in line
    assert line.endswith("then run make again.")
