# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Each function's Timeout from template.yaml, as Lambda applies it.

The runner ends an invocation that runs past it (its `invocation_timeout`, the same figure), and the
Lambda context a handler gets tells the time left, as Lambda's does: the step runtime answers before
it runs out (pipeline_runtime/step_calls.py). The runner's own test context always says 15 minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any, Any], Any]


class TimedContext:
    """The runner's Lambda context, with the time left until this invocation's Timeout."""

    def __init__(self, context: Any, deadline: float) -> None:
        self._context = context
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def with_timeout(handler: Handler, seconds: float) -> Handler:
    """`handler`, each invocation told it has `seconds` from its start."""

    def timed(event: Any, context: Any) -> Any:
        return handler(event, TimedContext(context, time.monotonic() + seconds))

    return timed
