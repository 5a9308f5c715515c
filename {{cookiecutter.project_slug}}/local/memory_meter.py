# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Each function invocation's peak memory in local runs, failed past the function's MemorySize as Lambda does.

Every function runs in this one process, where Lambda gives each its own sandbox. The measure is the
process's resident memory: an invocation's peak above what the process held when it began, plus the
function's own footprint before any record (quotas.FUNCTION_BASELINE_BYTES, which make check-build holds
against what the built functions import). An invocation that ran alone is measured exactly (the kernel's
high-water mark, restarted for it) and, past MemorySize, fails as Lambda's out-of-memory does: the
orchestrator's like a crash (the durable runner invokes it again), a step function's with an OutOfMemory
error. An execution's invocations follow one another in Lambda, but here a chained invoke's target
starts while its orchestrator's invocation winds down: so each invocation first waits (up to
`wait_alone` seconds) for the others of its own execution to end. Tests, which run one execution at a
time, and `make local --concurrent-batches 1` thus measure every invocation alone, exactly. Invocations that
still overlap (several executions at once) share one process's memory, so each is charged all of it
(sampled every few milliseconds): such a figure past MemorySize cannot be pinned on one of them and is
reported, not failed. Where /proc is missing (not Linux) nothing is measured.
`LOCAL_MEMORY_METER=off` only measures, for diagnosis.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_durable_execution_sdk_python.exceptions import InvocationError

from pipeline_runtime.quotas import FUNCTION_BASELINE_BYTES, MIB

Handler = Callable[[Any, Any], Any]
STATUS, CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")
SAMPLE_SECONDS = 0.004


class OutOfMemory(Exception):
    """What Lambda reports for an invocation past its MemorySize (Runtime.OutOfMemory)."""


def enforced_by_default() -> bool:
    return os.environ.get("LOCAL_MEMORY_METER", "on").lower() not in ("off", "0", "false", "no")


def resident(field: str = "VmRSS") -> int:
    """VmRSS (now) or VmHWM (the peak since the last restart) of this process, in bytes."""
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


@dataclass
class Invocation:
    execution: str  # the durable execution it belongs to
    start: int  # resident bytes when it began
    most: int  # the most resident bytes seen while it ran
    alone: bool  # no other invocation ran at any moment of it


def execution_of(event: Any) -> str:
    """The durable execution an invocation belongs to: the orchestrator's input names it, so does a step's request."""
    arn = getattr(event, "durable_execution_arn", None)
    if arn is None and isinstance(event, dict):
        arn = event.get("execution_id")
    return str(arn)


class MemoryMeter:
    def __init__(self, memory_mb: int, enforce: bool | None = None, wait_alone: float = 10) -> None:
        self.limit = memory_mb * MIB
        self.wait_alone = wait_alone
        self.enforce = enforced_by_default() if enforce is None else enforce
        self.available = STATUS.exists() and CLEAR_REFS.exists()
        self.peaks: dict[str, int] = {}  # function -> its largest invocation measured alone, baseline included
        self.shared_peaks: dict[str, int] = {}  # ... and of those that overlapped others (each charged them all)
        self.invocations: dict[str, int] = {}
        self.violations: list[str] = []  # invocations failed past MemorySize
        self.unattributed: list[str] = []  # overlapping invocations whose shared memory passed it
        self._running: set[int] = set()
        self._keys = itertools.count()
        self._measuring: dict[int, Invocation] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._least = resident() if self.available else 0
        if self.available:
            threading.Thread(target=self._sample, name="memory-meter", daemon=True).start()

    def wrap(self, function: str, handler: Handler, orchestrator: bool = False) -> Handler:
        """`handler` measured, each invocation failed past MemorySize when it ran alone."""
        if not self.available:
            return handler

        def measured(event: Any, context: Any) -> Any:
            key = self._begin(execution_of(event))
            try:
                return handler(event, context)
            finally:
                self._end(key, function, orchestrator)

        return measured

    def _begin(self, execution: str) -> int:
        with self._lock:
            if self.wait_alone:  # for this execution's other invocations: in Lambda they would be over
                self._wake.wait_for(lambda: not self._running_in(execution), timeout=self.wait_alone)
            if not self._running:  # alone: what earlier invocations freed goes back first, the peak restarts
                self._release_free_memory()
                CLEAR_REFS.write_text("5")
            now = resident()
            key = next(self._keys)
            for other in self._measuring.values():
                other.alone = False
            self._measuring[key] = Invocation(execution, now, now, alone=not self._running)
            self._running.add(key)
            self._wake.notify()
            return key

    def wait_idle(self, execution: str, timeout: float) -> bool:
        """Wait until no invocation of `execution` runs; False if `timeout` passed first (or nothing is tracked)."""
        if not self.available:
            return False
        with self._lock:
            return self._wake.wait_for(lambda: not self._running_in(execution), timeout=timeout)

    def _running_in(self, execution: str) -> bool:
        return any(invocation.execution == execution for invocation in self._measuring.values())

    def _end(self, key: int, function: str, orchestrator: bool) -> None:
        with self._lock:
            invocation = self._measuring.pop(key)
            self._running.discard(key)
            self._wake.notify_all()
            most = resident("VmHWM") if invocation.alone else max(invocation.most, resident())
        self._record(
            function, FUNCTION_BASELINE_BYTES + max(0, most - invocation.start), invocation.alone, orchestrator
        )

    def _sample(self) -> None:
        while True:
            with self._lock:
                self._wake.wait_for(lambda: bool(self._running), timeout=1)
                now = resident()
                for invocation in self._measuring.values():
                    invocation.most = max(invocation.most, now)
            time.sleep(SAMPLE_SECONDS)

    def _release_free_memory(self) -> None:
        """Hand freed heap back to the system (glibc) once the process holds notably more than its least, so what an
        earlier invocation freed is not reused unseen by the next."""
        now = resident()
        if now - self._least > 16 * MIB:
            try:
                ctypes.CDLL(None).malloc_trim(0)
            except (AttributeError, OSError):  # not glibc
                pass
            now = resident()
        self._least = min(self._least, now)

    def _record(self, function: str, peak: int, alone: bool, orchestrator: bool) -> None:
        with self._lock:
            peaks = self.peaks if alone else self.shared_peaks
            peaks[function] = max(peaks.get(function, 0), peak)
            self.invocations[function] = self.invocations.get(function, 0) + 1
        if peak <= self.limit:
            return
        message = (
            f"Runtime.OutOfMemory: {function} used {peak / MIB:.0f} MB, its MemorySize is {self.limit // MIB} MB "
            "(measured by the local memory meter, as Lambda would end it)"
        )
        if not alone:
            self.unattributed.append(f"{message}; other invocations ran beside it, so part of that may be theirs")
            return
        self.violations.append(message)
        if self.enforce:
            raise InvocationError(message) if orchestrator else OutOfMemory(message)

    def peak_mb(self) -> dict[str, float]:
        return {function: round(peak / MIB, 1) for function, peak in sorted(self.peaks.items())}
