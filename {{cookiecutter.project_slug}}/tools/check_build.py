# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""`make check-build`: build the project with `sam build`, then run what it made as Lambda would.

`sam build` (no Docker: the runtime's Python must be on this machine), then every function imported
from the build output in a clean interpreter of its runtime, with only its folder, its layers, the
standard library and the runtime's own boto3 on the path (tools/lambda_host.py), and one SQS batch
run through the built orchestrator and the built step functions on moto's server: every record must
be stored. Fails on an import error, a module resolved where it should not be, an invocation past
the function's MemorySize, or a record not stored.

Where this machine cannot run the declared runtime or architecture (python3.14 missing, arm64 on
x86_64), the same template is built for a runtime and architecture it can run, and it says so: the
packaging is the same, the compiled wheels differ. The generated CI runs it on the declared ones.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "runtime")]

import boto3

from local import pipeline
from local.events import sqs_event, sqs_record
from local.servers import aws_endpoints
from local.template_values import load_settings, load_template
from pipeline_runtime.quotas import FUNCTION_BASELINE_BYTES

WORK = PROJECT_ROOT / "build" / "check-build"
# What stands in for Lambda's runtime, per Python version: the same for every project, so kept per user.
SHARED = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sam-check-build"
HOST = Path(__file__).resolve().parent / "lambda_host.py"
RUNTIMES = ("python3.14", "python3.13")  # the runtimes the template offers, newest first
ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
# Stands in for the boto3 the Lambda runtime provides (AWS updates it without notice): older than the
# project's own pin, so code needing a newer API than the runtime is sure to have fails here.
LAMBDA_RUNTIME_SDK = "boto3==1.40.4"
MIB = 1024 * 1024


@dataclass
class Target:
    runtime: str
    architecture: str
    python: Path
    substituted: list[str] = field(default_factory=list)  # what differs from the declared build, and why


def find_python(runtime: str) -> Path | None:
    """An interpreter for a Lambda runtime (`python3.13`) that runs: on PATH, else a pyenv version of it."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    pyenv = sorted(glob.glob(str(root / "versions" / f"{runtime.removeprefix('python')}*" / "bin" / runtime)))
    for candidate in [shutil.which(runtime), *reversed(pyenv)]:  # a pyenv shim on PATH may not run
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True, check=False).returncode == 0:
            return Path(candidate)
    return None


def build_target(runtime: str, architecture: str) -> Target:
    """The declared runtime and architecture where this machine runs them; else the nearest it can."""
    host = ARCHITECTURES.get(platform.machine().lower(), platform.machine())
    substituted = []
    python = find_python(runtime)
    if python is None:
        fallback = next(((other, path) for other in RUNTIMES if (path := find_python(other))), None)
        if fallback is None:
            raise SystemExit(f"check-build: no Python for {runtime} (or {', '.join(RUNTIMES)}) on this machine")
        substituted.append(f"{fallback[0]} instead of {runtime}: no {runtime} interpreter here")
        runtime, python = fallback
    if architecture != host:
        substituted.append(f"{host} instead of {architecture}: this machine cannot run {architecture} code")
        architecture = host
    return Target(runtime, architecture, python, substituted)


def retargeted(template: dict[str, Any], runtime: str, architecture: str) -> dict[str, Any]:
    """The template with every runtime and architecture setting replaced."""
    globals_ = template.get("Globals", {}).get("Function", {})
    for properties in [globals_, *(r.get("Properties", {}) for r in template["Resources"].values())]:
        if "Runtime" in properties:
            properties["Runtime"] = runtime
        if "Architectures" in properties:
            properties["Architectures"] = [architecture]
        if "CompatibleRuntimes" in properties:
            properties["CompatibleRuntimes"] = [runtime]
        if "CompatibleArchitectures" in properties:
            properties["CompatibleArchitectures"] = [architecture]
    for resource in template["Resources"].values():
        metadata = resource.get("Metadata", {})
        if "BuildMethod" in metadata and metadata["BuildMethod"].startswith("python"):
            metadata["BuildMethod"] = runtime
        if "BuildArchitecture" in metadata:
            metadata["BuildArchitecture"] = architecture
    return template


def sam_build(sam: str, target: Target, declared: tuple[str, str]) -> Path:
    """`sam build` of template.yaml (retargeted when it must be) into build/check-build/artifact."""
    template_file = PROJECT_ROOT / "template.yaml"
    if (target.runtime, target.architecture) != declared:
        template_file = WORK / "template.json"
        template_file.write_text(json.dumps(retargeted(load_template(), target.runtime, target.architecture)))
    with tempfile.TemporaryDirectory() as python_dir:  # sam build looks for the runtime's name on PATH
        (Path(python_dir) / target.runtime).symlink_to(target.python)
        command = [
            sam, "build", "--template-file", str(template_file), "--base-dir", str(PROJECT_ROOT),
            "--build-dir", str(WORK / "artifact"), "--cache-dir", str(WORK / "cache"), "--cached", "--parallel",
        ]  # fmt: skip
        env = {**os.environ, "PATH": f"{python_dir}{os.pathsep}{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
        with (WORK / "sam-build.log").open("w") as log:
            built = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if built.returncode != 0:
        raise SystemExit(f"check-build: sam build failed; see {(WORK / 'sam-build.log').relative_to(PROJECT_ROOT)}")
    return WORK / "artifact"


def installed(folder: Path, requirement: str, target: Target, no_deps: bool = False) -> Path:
    """`requirement` installed for the target's Python into a folder under `folder` (once: later calls reuse it)."""
    version = target.runtime.removeprefix("python")
    final = folder / f"{hashlib.sha256(requirement.encode()).hexdigest()[:12]}-py{version}"
    if final.is_dir():
        return final
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:  # renamed into place whole: safe beside another run
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-conflicts",
             "--target", scratch, "--python-version", version, "--only-binary=:all:",
             *(["--no-deps"] if no_deps else []), requirement],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"check-build: could not install {requirement}:\n{done.stdout}{done.stderr}")
        try:
            os.rename(scratch, final)
        except OSError:  # another run installed it first
            pass
    return final


def pinned(package: str) -> str:
    """The project's own pin of `package`, from requirements-dev.txt."""
    for line in (PROJECT_ROOT / "requirements-dev.txt").read_text().splitlines():
        if line.split("==")[0].strip() == package:
            return line.split("#")[0].strip()
    raise SystemExit(f"check-build: {package} is not pinned in requirements-dev.txt")


def environment(
    function: dict[str, Any], globals_: dict[str, Any], resources: dict[str, str], functions: set[str]
) -> dict[str, str]:
    """The function's environment as CloudFormation would resolve it, with local resources."""
    names = {
        "ProcessedDataTable": resources["table_name"],
        "DeadLetterQueue": resources["dead_letter_queue_url"],
        "InputQueue": resources["queue_url"],
        "PayloadBucket": resources["bucket"],
        "Environment": "local",
    }
    variables = {**globals_.get("Environment", {}).get("Variables", {})}
    variables |= function.get("Environment", {}).get("Variables", {})
    resolved = {}
    for name, value in variables.items():
        if isinstance(value, dict):
            ref = value["Ref"].removesuffix(".Version")  # a step's published version: registered under its logical id
            value = ref if ref in functions else names[ref]
        resolved[name] = str(value)
    return resolved


def function_specs(
    artifact: Path, target: Target, resources: dict[str, str], runtime_sdk: Path, region: str
) -> dict[str, dict[str, Any]]:
    """What each host needs: the function's folder, layers, handler, environment, memory and timeout."""
    built = load_template(artifact / "template.yaml")
    globals_ = built.get("Globals", {}).get("Function", {})
    functions = {k for k, v in built["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    specs = {}
    for logical_id in sorted(functions):
        properties = built["Resources"][logical_id]["Properties"]
        layers = properties.get("Layers", globals_.get("Layers", []))
        layer_folders = [built["Resources"][layer["Ref"]]["Properties"]["ContentUri"] for layer in layers]
        specs[logical_id] = {
            "function_name": logical_id,
            "task_root": str((artifact / properties["CodeUri"]).resolve()),
            "layers": [str((artifact / folder).resolve()) for folder in layer_folders],
            "runtime_sdk": str(runtime_sdk),
            "handler": properties["Handler"],
            "memory_mb": int(properties.get("MemorySize", globals_.get("MemorySize", 128))),
            "timeout_seconds": int(properties.get("Timeout", globals_.get("Timeout", 3))),
            "region": region,
            "environment": {
                **environment(properties, globals_, resources, functions),
                "AWS_LAMBDA_FUNCTION_NAME": logical_id,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties.get("MemorySize", globals_.get("MemorySize"))),
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{target.runtime}",
                "LAMBDA_TASK_ROOT": str((artifact / properties["CodeUri"]).resolve()),
                "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
            },
        }
    return specs


def reference_body() -> str:
    return json.loads((PROJECT_ROOT / "events" / "sqs-batch.json").read_text())["Records"][0]["body"]


def run_batch(target: Target, specs: dict[str, dict[str, Any]], body: str, count: int) -> dict[str, Any]:
    """The built orchestrator's host, given one SQS batch of `count` messages; its report."""
    orchestrator = specs.pop("OrchestratorFunction")
    step_files = {}
    for logical_id, spec in specs.items():
        (WORK / f"{logical_id}.json").write_text(json.dumps(spec))
        step_files[logical_id] = str(WORK / f"{logical_id}.json")
    settings = load_settings()
    records = [sqs_record(body, message_id=f"check-build-{n}") for n in range(count)]
    runner_folder = installed(SHARED / "test-runner", pinned("aws-durable-execution-sdk-python-testing"), target, True)
    orchestrator |= {
        "event": sqs_event(records),
        "steps": step_files,
        "test_runner": str(runner_folder),
        "execution_timeout_seconds": settings.execution_timeout_seconds,
        "wait_seconds": min(settings.execution_timeout_seconds, 300),
    }
    (WORK / "OrchestratorFunction.json").write_text(json.dumps(orchestrator))
    with (WORK / "functions.log").open("w") as log:
        host = subprocess.run(
            [str(target.python), "-I", "-S", str(HOST), str(WORK / "OrchestratorFunction.json")],
            stdout=subprocess.PIPE, stderr=log, text=True, timeout=orchestrator["wait_seconds"] + 60, check=False,
        )  # fmt: skip
    lines = host.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"imported": False, "error": f"the host exited ({host.returncode})"}


def problems_of(report: dict[str, Any], count: int, stored: dict[str, Any], dead: int) -> list[str]:
    problems = [f"OrchestratorFunction: {p}" for p in report.get("problems", [])]
    if not report.get("imported"):
        return [f"OrchestratorFunction could not be imported: {report.get('error')}", *problems]
    batch = report["batch"]
    for name, step in batch["steps"].items():
        start = step.get("start", {})
        if not start.get("imported"):
            problems.append(f"{name} could not be imported: {start.get('error')}")
        problems += [f"{name}: {p}" for p in start.get("problems", [])]
    if batch["status"] != "SUCCEEDED":
        problems.append(f"the execution {batch['status'].lower()}: {batch['error']}")
    elif batch["result"]["batchItemFailures"]:
        problems.append(f"records handed back to SQS: {batch['result']['batchItemFailures']}")
    if len(stored) != count or dead:
        problems.append(f"{len(stored)} of {count} records stored, {dead} dead-lettered (every one must be stored)")
    return problems


def memory_rows(report: dict[str, Any], specs: dict[str, Any]) -> list[tuple[str, float, float, int]]:
    """(function, baseline MB, peak MB, MemorySize MB) per function that ran."""
    batch = report.get("batch", {})
    rows = [("OrchestratorFunction", report.get("baseline_bytes", 0), batch.get("peak_bytes", 0),
             specs["OrchestratorFunction"]["memory_mb"])]  # fmt: skip
    for name, step in batch.get("steps", {}).items():
        rows.append((name, step.get("start", {}).get("baseline_bytes", 0), step.get("peak_bytes", 0),
                     specs[name]["memory_mb"]))  # fmt: skip
    return [(name, base / MIB, peak / MIB, memory) for name, base, peak, memory in rows if base]  # imported ones


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make check-build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sam", default="sam", help="the SAM CLI to build with")
    parser.add_argument("--body", help="the message every record carries (default: the one in events/sqs-batch.json)")
    parser.add_argument("--body-file", type=Path, help="read that message from this file instead")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    started = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)
    template = load_template()
    globals_ = template["Globals"]["Function"]
    declared = (globals_["Runtime"], globals_["Architectures"][0])
    target = build_target(*declared)
    for note in target.substituted:
        print(f"check-build: building for {note}", file=sys.stderr)
    artifact = sam_build(args.sam, target, declared)
    runtime_sdk = installed(SHARED / "lambda-runtime", LAMBDA_RUNTIME_SDK, target)
    settings = load_settings()
    count = min(settings.batch_size, 5)
    with aws_endpoints():
        resources = pipeline.create_resources(settings, "check-build", queue_name="input")
        endpoint = os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
        specs = function_specs(artifact, target, resources, runtime_sdk, boto3.session.Session().region_name)
        for spec in specs.values():  # the hosts reach moto's server with the same fake credentials
            spec["environment"] |= {
                key: os.environ[key] for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
            } | {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": os.environ["AWS_DEFAULT_REGION"]}
        body = args.body_file.read_text() if args.body_file else args.body or reference_body()
        with pipeline.environment({"LOCAL_SOURCE_BUCKET": resources.get("source_bucket", "")}):  # s3_event objects
            report = run_batch(target, dict(specs), body, count)
        stored, dead = pipeline_endings(resources)
    problems = problems_of(report, count, stored, dead)
    rows = memory_rows(report, specs)
    baseline_mb = FUNCTION_BASELINE_BYTES / MIB
    for name, base, peak, memory in rows:
        if peak > memory:
            problems.append(f"{name} peaked at {peak:.0f} MB, over its MemorySize of {memory} MB")
        if base > baseline_mb:  # the runtime plans each function's records around this figure
            problems.append(f"{name} holds {base:.0f} MB once imported, over the {baseline_mb:.0f} MB the plan allows")
    summary = {
        "declared": {"runtime": declared[0], "architecture": declared[1]},
        "built": {"runtime": target.runtime, "architecture": target.architecture},
        "substituted": target.substituted,
        "records": count,
        "stored": len(stored),
        "sample": json.loads(json.dumps(next(iter(stored.values()), None), default=str)),  # what landed, for a look
        "memory_mb": {
            name: {"baseline": round(base, 1), "peak": round(peak, 1), "limit": memory}
            for name, base, peak, memory in rows
        },
        "problems": problems,
        "seconds": round(time.monotonic() - started, 1),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"Built for {target.runtime}/{target.architecture}; {len(stored)} of {count} records stored through the "
              f"built functions ({summary['seconds']} s)")  # fmt: skip
        print(f"  {'function':<28} {'after import':>13} {'peak':>8} {'MemorySize':>11}")
        for name, base, peak, memory in rows:
            print(f"  {name:<28} {base:>10.0f} MB {peak:>5.0f} MB {memory:>8} MB")
        for problem in problems:
            print(f"FAILED: {problem}", file=sys.stderr)
        print(f"Logs: {(WORK / 'functions.log').relative_to(PROJECT_ROOT)}", file=sys.stderr)
    return 1 if problems else 0


def pipeline_endings(resources: dict[str, str]) -> tuple[dict[str, Any], int]:
    """The items stored in the table by message id, and how many messages wait in the DLQ."""
    table = boto3.resource("dynamodb").Table(resources["table_name"])
    items = table.scan(ConsistentRead=True)["Items"]
    stored = {item["record_id"]: item for item in items if item["status"] == "stored"}
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=resources["dead_letter_queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return stored, int(attributes["ApproximateNumberOfMessages"])


if __name__ == "__main__":
    sys.exit(main())
