# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Lambda entry point in durable_step mode, where the orchestrator and every step share one package.

Each folder under functions/ is a package root of its own (as it is for its own function in
lambda_invoke mode), so put each on the import path; imports then read the same in both modes.
"""

import sys
from pathlib import Path

sys.path[:0] = [str(folder) for folder in sorted(Path(__file__).parent.iterdir()) if folder.is_dir()]

from orchestrator import handler  # noqa: E402

__all__ = ["handler"]
