# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Which AWS API actions each function's code calls, recorded in local runs, to hold each role to them.

Every function runs in this one process; `wrap` marks an invocation with its function's logical id, which
the record threads of a step call inherit (pipeline_runtime.step_calls runs them in a copy of the caller's
context). Each boto3 call through the default session is then charged to that function as its IAM action
(`sqs:SendMessage`). The durable SDK runs the orchestrator's branches on threads of its own, without the
mark: a call made there is charged to the function whose code folder its stack runs through
(`code_folders`), or, when the project has one function (durable_step), to it. A chained invoke, made by
the durable service with the orchestrator's role, is charged to the orchestrator as `lambda:InvokeFunction`
when the invoked step function starts.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local import internals

Handler = Callable[[Any, Any], Any]
RUNNING_FUNCTION: contextvars.ContextVar[str | None] = contextvars.ContextVar("local_running_function", default=None)


class AwsCalls:
    def __init__(self, code_folders: dict[str, Path] | None = None, sole_function: str | None = None) -> None:
        self.actions: defaultdict[str, set[str]] = defaultdict(set)  # function -> IAM actions its code called
        self.unattributed: set[str] = set()  # called while recording, outside any function
        self.code_folders = code_folders or {}  # function -> the folder of its code, for unmarked threads
        self.sole_function = sole_function
        self.recording = False
        self._lock = threading.Lock()

    def install(self) -> None:
        """Record calls made through boto3's default session (after moto's mock_aws made it, as aws_limits)."""
        events = internals.boto3_session_events()
        events.register("before-call", self._called, unique_id="local-aws-calls")

    def _called(self, model: Any, **_kwargs: Any) -> None:
        if not self.recording:
            return
        action = f"{model.service_model.signing_name}:{model.name}"
        function = RUNNING_FUNCTION.get() or self.sole_function or self._function_on_stack()
        with self._lock:
            (self.actions[function] if function else self.unattributed).add(action)

    def _function_on_stack(self) -> str | None:
        frame = sys._getframe(2)
        while frame is not None:
            for function, folder in self.code_folders.items():
                if Path(frame.f_code.co_filename).is_relative_to(folder):
                    return function
            frame = frame.f_back
        return None

    def charge(self, function: str, action: str) -> None:
        with self._lock:
            self.actions[function].add(action)

    def wrap(self, function: str, handler: Handler, invoked_by: str | None = None) -> Handler:
        """`handler` run as `function`; `invoked_by` the function whose role invokes it (a chained invoke)."""

        def marked(event: Any, context: Any) -> Any:
            if invoked_by and self.recording:
                self.charge(invoked_by, "lambda:InvokeFunction")
            token = RUNNING_FUNCTION.set(function)
            try:
                return handler(event, context)
            finally:
                RUNNING_FUNCTION.reset(token)

        return marked
