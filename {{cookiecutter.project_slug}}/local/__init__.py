# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Run and test the pipeline on this machine: no AWS account, no Docker.

Importing it puts the code on the path the way Lambda does: the runtime layer, and each
function's folder as its own package root.
"""

import os
import sys
from pathlib import Path

# As template.yaml's Globals give every function: their loggers read it when created.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "{{ cookiecutter.project_slug }}")

_PROJECT_ROOT = Path(__file__).resolve().parents[1]
for _folder in [_PROJECT_ROOT / "runtime", *sorted((_PROJECT_ROOT / "functions").iterdir())]:
    if _folder.is_dir() and str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))
