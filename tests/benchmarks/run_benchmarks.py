"""`make bench`: what one SQS batch costs the orchestrator, template vs the reference pattern, in one run.

Renders the default project in both step modes, measures each orchestrator in the durable SDK's
test runner at 10, 100 and 1000 records (REPEAT runs each: the worst invocation count is what the
targets see) and the sequential reference pattern at 10 and 100, plus render time and the
generated suite's run time. Prints a table and JSON, writes docs/benchmarks.md
and docs/benchmarks.json, and exits 1 if a target is missed.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from conftest import TEMPLATE_DIR, bake  # noqa: E402

DOCS = TEMPLATE_DIR / "docs"
SIZES = [10, 100, 1000]
BASELINE_SIZES = [10, 100]
REPEAT = 3
LARGE_BODY_BYTES = 2048  # 1000 of them overflow one chained-invoke payload: the groups split
COLUMNS = [
    ("orchestrator", "orchestrator"),
    ("records", "records"),
    ("body_bytes", "body bytes"),
    ("orchestrator_invocations_per_run", "invocations per run"),
    ("chained_invokes", "chained invokes"),
    ("step_executions", "step executions"),
    ("checkpointed_operations", "checkpointed ops"),
    ("wall_seconds", "wall s"),
]


def measure(project: Path, *args: str) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-W", "ignore", str(HERE / "measure_orchestration.py"), *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"measuring {project} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.splitlines()[-1])["results"]


def machine() -> str:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in line
            ),
            platform.processor() or "unknown CPU",
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def cell(value: object) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(row[key]) for key, _ in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        render_times = []
        for attempt in range(5):
            started = time.perf_counter()
            bake(work / f"render-{attempt}")
            render_times.append(time.perf_counter() - started)
        invoke_project = bake(work / "lambda-invoke")
        step_project = bake(work / "durable-step", step_mode="durable_step")
        started = time.perf_counter()
        suite = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
            cwd=invoke_project, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        suite_seconds = time.perf_counter() - started
        if suite.returncode != 0:
            raise SystemExit(f"the generated suite failed:\n{suite.stdout[-3000:]}")
        sizes = ["--sizes", *map(str, SIZES), "--repeat", str(REPEAT)]
        rows = measure(invoke_project, *sizes, "--baseline", *map(str, BASELINE_SIZES))
        rows += measure(step_project, *sizes)
        large = measure(
            invoke_project, "--sizes", "1000", "--repeat", str(REPEAT), "--body-bytes", str(LARGE_BODY_BYTES)
        )

    steps = rows[0]["steps"]
    for row in large:  # informative, not a target: the targets are about the batch size
        row["orchestrator"] = "lambda_invoke, large bodies"
    rows += large
    by = {(row["orchestrator"], row["records"]): row for row in rows}
    ratios = {
        size: {
            "invocations": round(by[("lambda_invoke", size)]["orchestrator_invocations"]
                                 / by[("sequential reference", size)]["orchestrator_invocations"], 3),
            "wall": round(by[("lambda_invoke", size)]["wall_seconds"] / by[("sequential reference", size)]["wall_seconds"], 3),
        }
        for size in BASELINE_SIZES
    }  # fmt: skip
    targets = {
        f"lambda_invoke invocations <= steps + 2 ({steps + 2}) at every size, in every run": all(
            by[("lambda_invoke", size)]["orchestrator_invocations"] <= steps + 2 for size in SIZES
        ),
        "wall time at 100 records at least 5x lower than the baseline's": ratios[100]["wall"] <= 0.2,
        "durable_step: one invocation and no chained invoke per batch": all(
            by[("durable_step", size)]["orchestrator_invocations"] == 1 and by[("durable_step", size)]["chained_invokes"] == 0
            for size in SIZES
        ),
    }  # fmt: skip
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "render_seconds_median": round(statistics.median(render_times), 3),
        "generated_suite_seconds": round(suite_seconds, 1),
        "generated_suite_result": suite.stdout.strip().splitlines()[-1],
        "results": rows,
        "ratios_template_over_baseline": ratios,
        "targets": targets,
    }
    ratio_lines = "\n".join(
        f"- {size} records: invocations x{ratios[size]['invocations']}, wall time x{ratios[size]['wall']} "
        f"(template / sequential reference)"
        for size in BASELINE_SIZES
    )
    target_lines = "\n".join(f"- [{'x' if met else ' '}] {name}" for name, met in targets.items())
    markdown = f"""# Benchmarks

Latest `make bench` run: {report["date"]} on {report["machine"]}.

One SQS batch through the orchestrator in the durable SDK's test runner (its own timing), default
options ({steps} steps), `record_concurrency` at least the batch size; DynamoDB and SQS are moto's
in-process fakes. "sequential reference" is the pattern this template replaces: records one after
another, each step a chained invoke. The template's rows ran {REPEAT} times each: invocations are
listed per run, wall time is the median.

{table(rows)}

How the counts come about. Every chained invoke suspends the orchestrator until its result is in,
and each wave of results costs one orchestrator invocation (a replay). In `lambda_invoke` mode the
records in flight travel together: each step function is invoked once for all of them (split only
to keep a payload under half of the 1 MiB chained-invoke limit), so a batch costs one invocation per
step plus one, whatever its size, and the count no longer depends on timing (as long as a step's
records fit in one payload, see the last row). "chained invokes" are those Lambda invocations of
step functions; "step executions" are the step handler's runs, one per record per step. `durable_step` mode runs the steps in the orchestrator: one invocation, no
chained invoke. The reference pays an invocation per step per record.

The last row pads each message to {LARGE_BODY_BYTES} bytes: a step's 1000 records no longer fit in
one payload, so each step is invoked once per group, the groups concurrently. Their results come
back at different moments, and each moment may cost an invocation, so the count can exceed
steps + 1; it stays far below one per record.

{ratio_lines}

Rendering the default project: {report["render_seconds_median"]} s (median of 5).
The generated project's suite: {report["generated_suite_seconds"]} s ({report["generated_suite_result"]}).

Targets:

{target_lines}
"""
    DOCS.mkdir(exist_ok=True)
    (DOCS / "benchmarks.md").write_text(markdown)
    (DOCS / "benchmarks.json").write_text(json.dumps(report, indent=2) + "\n")
    print(markdown)
    print(json.dumps(report, indent=2))
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
