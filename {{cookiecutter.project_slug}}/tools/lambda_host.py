# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""One function of the build output, in an interpreter holding only what Lambda would give it.

Started by tools/check_build.py as `python3.X -I -S tools/lambda_host.py <spec.json>`, so nothing of
this machine's is importable: the path is the function's folder, its layers, the standard library
and the runtime's own boto3, in Lambda's order. It imports the handler from there, reports any module
that resolved where it should not (a standard-library name loaded from a package's folder, one
package shadowing a different version of itself), and each invocation's peak memory, which fails the
invocation past the function's MemorySize as Lambda does.

A step function serves invocations as JSON lines on stdin/stdout. The orchestrator runs one SQS batch
in the durable SDK's test runner (appended last to the path, so it cannot shadow the artifact), its
step functions each in a host of their own. Only the standard library is used before the path is set.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

STDLIB = list(sys.path)  # under -I -S: the standard library alone
RUNTIME_SDK = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"}  # Lambda's, overridable
MIB = 1024 * 1024


def memory_bytes(field: str) -> int:
    """VmRSS (now) or VmHWM (the peak since the last reset) of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # the kernel's way to restart VmHWM


def lambda_path(spec: dict[str, Any]) -> list[str]:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    layers = [
        path for layer in spec["layers"] for path in (f"{layer}/python/lib/{version}/site-packages", f"{layer}/python")
    ]
    return [spec["task_root"], *layers, *STDLIB, spec["runtime_sdk"]]


def versions_at(entry: str) -> dict[str, str]:
    """Top-level import name -> version of the distribution installed in one path entry."""
    found: dict[str, str] = {}
    for info in Path(entry).glob("*.dist-info"):
        version = info.name.removesuffix(".dist-info").rpartition("-")[2]
        tops = info / "top_level.txt"
        names = tops.read_text().split() if tops.is_file() else []
        if not names and (info / "RECORD").is_file():
            names = {row.split("/")[0].removesuffix(".py") for row in (info / "RECORD").read_text().splitlines()}
        for name in names:
            found.setdefault(name, version)
    return found


def resolution_problems(path: list[str]) -> list[str]:
    """Every loaded module that is not what its name promises, or is shadowing another version of itself."""
    stdlib_dirs = tuple(str(Path(entry).resolve()) for entry in STDLIB)
    problems = []
    for name, module in sorted(sys.modules.items()):
        file = getattr(module, "__file__", None)
        top = name.split(".")[0]
        if file and top in sys.stdlib_module_names and not str(Path(file).resolve()).startswith(stdlib_dirs):
            problems.append(f"standard-library module {name} was loaded from {file}")
    installed = {entry: versions_at(entry) for entry in path if Path(entry).is_dir()}
    for top in sorted({name.split(".")[0] for name in sys.modules} - RUNTIME_SDK):
        versions = {entry: found[top] for entry, found in installed.items() if top in found}
        if len(set(versions.values())) > 1:
            problems.append(f"{top} is installed in several versions, the first one wins: {versions}")
    return problems


class Context:
    """What Lambda hands a handler as its context."""

    def __init__(self, spec: dict[str, Any], request_id: str) -> None:
        self.function_name = spec["function_name"]
        self.memory_limit_in_mb = spec["memory_mb"]
        self.aws_request_id = request_id
        self.invoked_function_arn = f"arn:aws:lambda:{spec['region']}:123456789012:function:{spec['function_name']}"
        self.log_group_name = f"/aws/lambda/{spec['function_name']}"
        self.function_version = "$LATEST"
        self._deadline = time.monotonic() + spec["timeout_seconds"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class OutOfMemory(Exception):
    """What Lambda reports for an invocation past its MemorySize (errorType Runtime.OutOfMemory)."""


def measured(handler: Any, spec: dict[str, Any], peaks: list[int]) -> Any:
    """The handler, each invocation's peak memory recorded and held to the function's MemorySize."""
    limit = spec["memory_mb"] * MIB

    def invoke(event: Any, context: Any) -> Any:
        reset_peak()
        try:
            return handler(event, context)
        finally:
            peaks.append(memory_bytes("VmHWM"))
            if peaks[-1] > limit:
                raise OutOfMemory(f"Runtime exited with error: {peaks[-1] / MIB:.0f} MB used, MemorySize is "
                                  f"{spec['memory_mb']} MB")  # fmt: skip

    return invoke


def error_type(name: str) -> type[Exception]:
    """An exception class named as the function's error, so the runner records the same type Lambda would."""
    return type(name.rsplit(".", 1)[-1], (Exception,), {})


class StepFunction:
    """A step function in its own host process, invoked one request at a time, as one Lambda sandbox is."""

    def __init__(self, spec_file: str, log: Any) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", __file__, spec_file], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=log, text=True, encoding="utf-8",
        )  # fmt: skip
        self.lock = threading.Lock()
        self.ready = json.loads(self.process.stdout.readline() or '{"problems": ["the host exited"]}')

    def invoke(self, event: Any, context: Any) -> Any:
        with self.lock:
            self.process.stdin.write(json.dumps({"event": event, "request_id": str(uuid.uuid4())}) + "\n")
            self.process.stdin.flush()
            answer = json.loads(self.process.stdout.readline() or '{"error": {"type": "HostExited", "message": ""}}')
        if "error" in answer:
            raise error_type(answer["error"]["type"])(answer["error"]["message"])
        return answer["result"]

    def report(self) -> dict[str, Any]:
        self.process.stdin.close()
        return json.loads(self.process.stdout.readline() or "{}") | {"start": self.ready}


def serve(spec: dict[str, Any], handler: Any, answer: Any) -> None:
    """A step function: one invocation per line on stdin, until stdin closes."""
    peaks: list[int] = []
    invoke = measured(handler, spec, peaks)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply: dict[str, Any] = {"result": invoke(request["event"], Context(spec, request["request_id"]))}
            json.dumps(reply)  # Lambda serialises the result; so must we, here
        except Exception as error:
            traceback.print_exc()
            reply = {"error": {"type": type(error).__name__, "message": str(error)}}
        answer(reply)
    answer({"peak_bytes": max(peaks, default=0), "invocations": len(peaks)})


def run_batch(spec: dict[str, Any], handler: Any) -> dict[str, Any]:
    """The orchestrator: one SQS batch through it in the durable SDK's test runner, steps in their hosts."""
    sys.path.append(spec["test_runner"])  # last: it cannot shadow anything the function ships
    from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

    log = sys.stderr
    steps = {name: StepFunction(step_file, log) for name, step_file in spec["steps"].items()}
    peaks: list[int] = []
    orchestrator = measured(handler, spec, peaks)
    runner = DurableFunctionTestRunner(handler=orchestrator, poll_interval=0.01, region=spec["region"])
    for name, step in steps.items():
        runner.register_function(name, step.invoke)
    try:
        timeout, name = spec["execution_timeout_seconds"], spec["function_name"]
        arn = runner.run_async(input=spec["event"], execution_timeout=timeout, function_name=name)
        result = runner.wait_for_result(arn, timeout=spec["wait_seconds"])
    finally:
        runner.close()
    return {
        "status": result.status.value,
        "result": json.loads(result.result) if result.result else None,
        "error": str(result.error) if result.error else None,
        "peak_bytes": max(peaks, default=0),
        "invocations": len(peaks),
        "steps": {name: step.report() for name, step in steps.items()},
    }


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")  # replies; whatever the function prints goes to stderr
    os.dup2(2, 1)

    def answer(message: dict[str, Any]) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    sys.path[:] = lambda_path(spec)
    os.environ.update(spec["environment"])
    os.chdir(spec["task_root"])  # Lambda's working directory is the function's root
    module_name, _, function_name = spec["handler"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except BaseException as error:  # answered before anything else runs: a shadowed module may break even that
        answer({"imported": False, "error": f"{type(error).__name__}: {error}", "problems": []})
        traceback.print_exc()
        return 1
    start = {"imported": True, "baseline_bytes": memory_bytes("VmRSS"), "problems": resolution_problems(sys.path)}
    if "event" not in spec:
        answer(start)
        serve(spec, handler, answer)
        return 0
    answer(start | {"batch": run_batch(spec, handler), "problems": resolution_problems(lambda_path(spec))})
    return 0


if __name__ == "__main__":
    sys.exit(main())
