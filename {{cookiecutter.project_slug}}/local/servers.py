"""Start helpers shared by the local servers (moto, DynamoDB Local): loopback ports and readiness."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(answers: Callable[[], object], process: subprocess.Popen, what: str, timeout: float) -> None:
    """Call `answers` until it stops raising; fail if the server process exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answers()
            return
        except Exception:  # not listening yet
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start on 127.0.0.1") from None
            time.sleep(0.1)
