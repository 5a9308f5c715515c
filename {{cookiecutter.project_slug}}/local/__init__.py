# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Run and test the pipeline on this machine: no AWS account, no Docker.

Importing it puts the code on the path the way Lambda does: the runtime layer ahead, the
orchestrator's folder after everything installed (as durable_step_entry.py does); steps are imported
as packages of their own (pipeline_runtime.step_modules). Each step folder is appended too, only so
that tests written as `import <step>_step` keep working.
"""

import os
import sys
from pathlib import Path

# As template.yaml's Globals give every function: their loggers read it when created.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "{{ cookiecutter.project_slug }}")

_PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(_PROJECT_ROOT / "runtime") not in sys.path:
    sys.path.insert(0, str(_PROJECT_ROOT / "runtime"))
_FUNCTIONS = _PROJECT_ROOT / "functions"
for _folder in [_FUNCTIONS / "orchestrator", *sorted(_FUNCTIONS.iterdir())]:
    if _folder.is_dir() and str(_folder) not in sys.path:
        sys.path.append(str(_folder))
