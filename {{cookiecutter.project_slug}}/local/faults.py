# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Faults injected around the real handlers by local runs and tests; production code has no test hooks.

Each decision is derived from the seed and what is being called, not from a shared random stream.
Step faults are keyed on each message's position in the send order (`message_keys`), so the same
seed fails the same steps of the same messages; crash points and batch composition still depend on
thread timing.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aws_durable_execution_sdk_python.exceptions import InvocationError

from local.pipeline import Handler
from pipeline_runtime import TransientStepError, current_message_id
from pipeline_runtime.steps import Step


@dataclass
class FaultPlan:
    seed: int = 0
    transient_failure_rate: float = 0.0
    crash_rate: float = 0.0
    message_keys: dict[str, Any] = field(default_factory=dict)  # SQS message id -> place in the send order
    keys_lock: Any = field(default_factory=threading.Lock)  # the sender's, while it records a request's keys
    injected: Counter[str] = field(default_factory=Counter)
    _calls: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _roll(self, key: str, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            self._calls[key] += 1
            call = self._calls[key]
        return random.Random(f"{self.seed}:{key}:{call}").random() < rate  # noqa: S311 - not cryptographic

    def _count(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1

    def wrap_step(self, step: str, function: Step) -> Step:
        def flaky(data: Any) -> Any:
            message = self.message_keys.get(current_message_id())
            if message is None:  # received before the sender recorded it: wait for the sender
                with self.keys_lock:
                    message = self.message_keys.get(current_message_id(), current_message_id())
            if self._roll(f"{step}:{message}", self.transient_failure_rate):
                self._count("transient_failures")
                raise TransientStepError(f"injected transient failure in {step}")
            return function(data)

        return flaky

    def wrap_orchestrator(self, handler: Handler) -> Handler:
        """A sandbox crash before or after the invocation's work: the durable runner re-invokes and replays."""

        def crashing(event: Any, context: Any) -> Any:
            key = f"orchestrator:{getattr(event, 'durable_execution_arn', '')}"
            if self._roll(f"{key}:before", self.crash_rate):
                self._count("crashes")
                raise InvocationError("injected sandbox crash before the invocation's work")
            result = handler(event, context)
            if self._roll(f"{key}:after", self.crash_rate):
                self._count("crashes")
                raise InvocationError("injected sandbox crash after the invocation's work")
            return result

        return crashing
