# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Lambda entry point in durable_step mode, where the orchestrator and every step share one function.

`sam build` installs every requirement into this folder, beside the orchestrator's and each step's
folder, so none of those folders goes ahead of anything on the import path: the orchestrator's is
appended last (its modules import each other as they do in their own function in lambda_invoke mode),
and each step is imported as a package of its own (pipeline_runtime.step_modules).
"""

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent / "orchestrator"))

from orchestrator import handler

__all__ = ["handler"]
