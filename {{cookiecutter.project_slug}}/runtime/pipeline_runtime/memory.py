# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""A step call's memory, shared by its records: each waits its turn for room, none takes more than there is.

The figures are in quotas.py ("Memory"); the function's MemorySize comes from the Lambda context.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pipeline_runtime.quotas import HELD_TEXT_BYTES

DEFAULT_MEMORY_MB = 128  # Lambda's default MemorySize, if nothing says otherwise


def memory_mb(context: Any) -> int:
    """The function's MemorySize: the Lambda context's, else the runtime's variable (local runs set it)."""
    value = getattr(context, "memory_limit_in_mb", None) or os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    return int(value) if value else DEFAULT_MEMORY_MB


class NoRoomInTime(Exception):
    """The record's turn did not come before the call had to stop starting records."""


class MemoryBudget:
    """Bytes the records in flight share, handed out first come, first served (a large record is not starved)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total
        self._turns: deque[object] = deque()
        self._changed = threading.Condition()

    def fits(self, size: int) -> bool:
        return size <= self.total

    @contextmanager
    def holding(self, size: int, until: float | None = None) -> Iterator[None]:
        """Wait until `size` bytes are free and it is this caller's turn; give them back afterwards.
        NoRoomInTime if that has not happened by `until` (time.monotonic())."""
        turn = object()
        with self._changed:
            self._turns.append(turn)
            timeout = None if until is None else max(0.0, until - time.monotonic())
            if not self._changed.wait_for(lambda: self._turns[0] is turn and self.free >= size, timeout):
                self._turns.remove(turn)
                self._changed.notify_all()
                raise NoRoomInTime
            self._turns.popleft()
            self.free -= size
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self.free += size
                self._changed.notify_all()


class HeldTexts:
    """Record texts a call keeps for its reply, up to HELD_TEXT_BYTES; past that each goes to the bucket alone."""

    def __init__(self, limit: int = HELD_TEXT_BYTES) -> None:
        self.limit = limit
        self.bytes = 0
        self._lock = threading.Lock()

    def keep(self, size: int) -> bool:
        with self._lock:
            if self.bytes + size > self.limit:
                return False
            self.bytes += size
            return True
