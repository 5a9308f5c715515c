# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Run and test the pipeline on this machine: no AWS account, no Docker.

Importing it puts the code on the path the way Lambda does: the runtime layer, and each
function's folder as its own package root.
"""

import sys
from pathlib import Path

_PROJECT_ROOT = Path(__file__).resolve().parents[1]
for _folder in [_PROJECT_ROOT / "runtime", *sorted((_PROJECT_ROOT / "functions").iterdir())]:
    if _folder.is_dir() and str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))
