"""`make bench`: what one SQS batch costs the orchestrator, template vs the reference pattern, in one run.

Renders the default project in both step modes, measures each orchestrator in the durable SDK's
test runner at 10, 100 and 1000 records (REPEAT runs each: the worst invocation count is what the
targets see) and the sequential reference pattern at 10 and 100, plus render time and the
generated suite's run time. Then the quota matrix: each mode at 100 B, 10 KB and 200 KB bodies,
10, 100 and 1000 records and the largest batch the event source mapping allows, with the durable
operations and payload bytes each execution wrote as the local quota guard counted them (checked
against the execution's own history). Prints tables and JSON, writes docs/benchmarks.md and
docs/benchmarks.json, and exits 1 if a target is missed.
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
import pricing  # noqa: E402
from conftest import DEFAULTS, TEMPLATE_DIR, bake, template_quotas, template_rules  # noqa: E402

QUOTAS, RULES = template_quotas(), template_rules()

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
    ("durable_operations", "durable ops"),
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


QUOTA_COLUMNS = [
    ("orchestrator", "mode"),
    ("body_bytes", "body bytes"),
    ("records", "records"),
    ("event_bytes", "event bytes (6 MB)"),
    ("durable_operations", "durable ops (3,000)"),
    ("payload_bytes_written", "payload written (100 MB)"),
    ("largest_payload_bytes", "largest payload (262,144)"),
    ("result_bytes", "result bytes (6 MB)"),
    ("wall_seconds", "wall s"),
]


# The largest checkpointed payload of each operation type, against 262,144 bytes (errors: 32,768).
PAYLOAD_KINDS = ["STEP output", "CONTEXT output", "CHAINED_INVOKE input", "CHAINED_INVOKE output", "error"]


def kind_limit(kind: str) -> int:
    return QUOTAS.MAX_ERROR_PAYLOAD_BYTES if kind == "error" else QUOTAS.MAX_OPERATION_PAYLOAD_BYTES


def payloads_within_limits(row: dict) -> bool:
    return all(size <= kind_limit(kind) for kind, size in row["largest_by_kind"].items())


def within_quotas(row: dict) -> bool:
    return (
        row["event_bytes"] <= QUOTAS.MAX_SYNC_PAYLOAD_BYTES
        and row["durable_operations"] <= QUOTAS.MAX_OPERATIONS
        and row["payload_bytes_written"] <= QUOTAS.MAX_PERSISTED_BYTES
        and row["largest_payload_bytes"] <= QUOTAS.MAX_OPERATION_PAYLOAD_BYTES
        and payloads_within_limits(row)
        and row["result_bytes"] <= QUOTAS.MAX_SYNC_PAYLOAD_BYTES
    )


def payload_kind_table(rows: list[dict]) -> str:
    """One row per execution, one column per operation type: its largest payload, against its limit."""
    titles = [f"{kind} ({kind_limit(kind):,})" for kind in PAYLOAD_KINDS]
    lines = ["| mode | body bytes | records | " + " | ".join(titles) + " |", "|" + " --- |" * (3 + len(titles))]
    for row in rows:
        cells = [f"{row['largest_by_kind'][kind]:,}" if kind in row["largest_by_kind"] else "-" for kind in PAYLOAD_KINDS]
        lines.append(f"| {row['orchestrator']} | {row['body_bytes']:,} | {row['records']:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def quota_cell(key: str, row: dict) -> str:
    value = row[key]
    if key == "records" and row.get("largest_allowed"):
        return f"{value:,} (largest)"
    return f"{value:,}" if isinstance(value, int) else str(value)


def smallest_accepted_record_concurrency(batch_size: int, steps: int = 3) -> int:
    """The smallest record_concurrency the hooks accept for this batch: operations and backoff both fit."""
    retry = DEFAULTS["_step_retry"]
    delays = RULES.retry_delays(
        retry["max_attempts"], retry["initial_delay_seconds"], retry["backoff_rate"], retry["max_delay_seconds"]
    )
    timeout = int(DEFAULTS["execution_timeout_seconds"])
    return next(
        concurrency
        for concurrency in range(1, batch_size + 1)
        if RULES.worst_case_operations("lambda_invoke", steps, batch_size, concurrency, retry["max_attempts"])
        <= QUOTAS.MAX_OPERATIONS
        and RULES.worst_case_backoff_seconds("lambda_invoke", steps, batch_size, concurrency, delays) < timeout
    )


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


def table(rows: list[dict], columns: list[tuple[str, str]] = COLUMNS, show=lambda key, row: cell(row[key])) -> str:
    lines = ["| " + " | ".join(title for _, title in columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(show(key, row) for key, _ in columns) + " |" for row in rows]
    return "\n".join(lines)


def summarised(value):
    """The report for benchmarks.json: per-record size lists (priced above) become count, total and max."""
    if isinstance(value, dict):
        return {
            key: {"count": len(item), "total": sum(item), "max": max(item, default=0)}
            if isinstance(key, str) and key.endswith("_sizes") and isinstance(item, list)
            else summarised(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [summarised(item) for item in value]
    return value


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
        floor_rows = measure(invoke_project, "--sizes", "--floor", *map(str, SIZES))
        settings = pricing.function_settings(invoke_project)
        quota_rows = measure(invoke_project, "--quota-matrix") + measure(step_project, "--quota-matrix")
        many_waves = smallest_accepted_record_concurrency(QUOTAS.MAX_BATCH_RECORDS)
        worst_rows = measure(invoke_project, "--worst-case", str(QUOTAS.MAX_BATCH_RECORDS), str(many_waves))
        worst_rows += measure(step_project, "--worst-case", str(QUOTAS.MAX_BATCH_RECORDS))

    steps = rows[0]["steps"]
    reference_at_1000 = {  # not run: it would take minutes, and fail in AWS
        "orchestrator": "sequential reference",
        "records": 1000,
        "fails": f"{1 + 1000 * steps:,} durable operations (1 + records x steps, as measured at 10 and 100)",
    }
    priced = pricing.priced([row for row in rows if row["orchestrator"] in pricing.SERIES] + floor_rows, settings)
    priced += [reference_at_1000]
    subtitle = (
        f"{steps} steps, {settings['memory_mb']} MB {settings['architecture']}, US East prices of "
        f"{pricing.COSTS.PRICES_DATE}; measured by make bench"
    )
    pricing.chart([row for row in priced if "fails" not in row], DOCS / "cost-per-million.svg", subtitle)
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
        "every quota-matrix execution within every durable-execution quota": all(map(within_quotas, quota_rows)),
        "every operation type's largest payload within 262,144 bytes (errors 32,768), in every execution": all(
            map(payloads_within_limits, quota_rows + worst_rows + rows)
        ),
        "worst case measured (no record out of time) equals the hooks' formula, within 3,000 operations": all(
            row["durable_operations"] == RULES.worst_case_operations(
                row["orchestrator"], row["steps"], row["records"], row["record_concurrency"], 3, isolating=False
            ) <= RULES.worst_case_operations(
                row["orchestrator"], row["steps"], row["records"], row["record_concurrency"], 3
            ) <= QUOTAS.MAX_OPERATIONS and within_quotas(row)
            for row in worst_rows
        ),
        **pricing.targets(priced, steps),
        "operations and Lambda requests measured equal the generated README's formulas (quotas.py)": all(
            row["durable_operations"] in {
                RULES.operations_when_nothing_fails(mode, steps, row["records"], row["record_concurrency"], staged)
                for staged in (False, True)
            }
            and row["orchestrator_invocations"] + row["step_function_invocations"] == sum(
                RULES.invocations_when_nothing_fails(mode, steps, row["records"], row["record_concurrency"])
            )
            for mode in ("lambda_invoke", "durable_step") for row in rows if row["orchestrator"] == mode
        ),
        "the largest batch of every body size ran in both modes": all(
            any(row["largest_allowed"] and row["body_bytes"] >= body and row["orchestrator"] == mode
                for row in quota_rows)
            for body in (100, 10 * 1024, 200 * 1024) for mode in ("lambda_invoke", "durable_step")
        ),
    }  # fmt: skip
    largest_fit = {
        mode: RULES.largest_fitting_batch(mode, steps, QUOTAS.MAX_BATCH_RECORDS, 3)
        for mode in ("lambda_invoke", "durable_step")
    }
    worst = {
        mode: RULES.worst_case_operations(mode, steps, QUOTAS.MAX_BATCH_RECORDS, QUOTAS.MAX_BATCH_RECORDS, 3)
        for mode in ("lambda_invoke", "durable_step")
    }
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "render_seconds_median": round(statistics.median(render_times), 3),
        "generated_suite_seconds": round(suite_seconds, 1),
        "generated_suite_result": suite.stdout.strip().splitlines()[-1],
        "results": rows,
        "ratios_template_over_baseline": ratios,
        "prices": {"date": pricing.COSTS.PRICES_DATE, "source": pricing.COSTS.PRICES_SOURCE, **pricing.COSTS.PRICES},
        "function_settings": settings,
        "cost_per_million_messages": [
            {key: row[key] for key in ("orchestrator", "records", "per_million_total", "per_million", "fails") if key in row}
            for row in priced
        ],
        "quota_matrix": quota_rows,
        "worst_case_measured": worst_rows,
        "largest_batch_that_fits": largest_fit,
        "worst_case_operations_at_10000": worst,
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
and each result costs one orchestrator invocation (a replay). In `lambda_invoke` mode a wave's
records travel together: each step function is invoked once for all of them, so a batch costs one
invocation per step plus one, whatever its size. Records too large to travel inline go through the
payload bucket, so the count does not grow with the data either (the last row). "chained invokes"
are those Lambda invocations of step functions; "step executions" are the step handler's runs, one
per record per step; "durable ops" are the durable operations each execution started, as AWS
counts and bills them. `durable_step` mode runs the steps in the orchestrator: one invocation, no
chained invoke. The reference pays an invocation and an operation per step per record.

The last row pads each message to {LARGE_BODY_BYTES} bytes: 2 MB of records is staged in the payload
bucket once, and every step reads and writes its wave there; the checkpoints hold references.

{ratio_lines}

## What a million messages cost

Estimates for US East (N. Virginia) at the prices of {pricing.COSTS.PRICES_DATE} ({pricing.COSTS.PRICES_SOURCE});
the table lives in the generated project's `tools/costs.py`. Each batch above is priced from what it
used as AWS meters it: durable operations and payload bytes written as the local quota guard counted
them (retained {settings["retention_days"]} days), Lambda requests and each invocation's measured duration at
{settings["memory_mb"]} MB {settings["architecture"]}, S3 requests counted; SQS requests (a send per message, a receive
and a delete per 10) and DynamoDB write units (per KB of each stored item) from the sizes. "plain
Lambda (floor)" is what a user would run without durable functions: one function per batch,
Powertools' batch processor calling the same steps, no checkpoints, so a crash redoes the batch.
Durations are this machine's; Lambda's differ, and the per-invocation wait of the durable SDK
(about 100 ms) is part of them.

![Cost per million messages against batch size](cost-per-million.svg)

{pricing.table(priced)}

## Against AWS's durable-execution quotas

Each execution below ran under the local quota guard (the generated project's `local/quota_guard.py`),
which fails an execution where AWS would; its figures are what AWS counts and bills per execution,
and the operation counts equal those in the execution's own history. Default options ({steps} steps,
`record_concurrency` = batch size, so one wave); "(largest)" is the largest batch the event source
mapping can send with that body size: 10,000 records or 6 MB of event.

{table(quota_rows, QUOTA_COLUMNS, quota_cell)}

One durable operation's checkpoint holds at most 262,144 bytes (the service's answer to more: "STEP
output payload size must be less than or equal to 262144 bytes."), its error object 32,768. The
largest payload each operation type checkpointed, per execution above:

{payload_kind_table(quota_rows)}

Bodies beyond the inline limit ({QUOTAS.inline_payload_cap("lambda_invoke", steps, 1, 3) // 1024} KiB per
payload in `lambda_invoke`, whose request carries up to six of them; {QUOTAS.inline_payload_cap("durable_step", steps, 1, 3) // 1024}
KiB in `durable_step`; less when the 64 MB inline budget is shared by more waves and steps) travel through
the payload bucket: the checkpoints then hold a reference, so operations and bytes no longer grow with
the data, and no operation is planned above {QUOTAS.PLANNED_OPERATION_PAYLOAD_BYTES // 1024} KiB.

Largest batch that fits, with these options: `lambda_invoke` {largest_fit["lambda_invoke"]:,} records,
`durable_step` {largest_fit["durable_step"]:,} (the event source mapping's maximum).

The worst case, measured: the largest batch of 100 B messages with every record failing
transiently at every step until its last attempt, staging and settling failing until theirs, and one
record per wave failing for good at the last step (so every wave settles). The durable operations
counted equal the hooks' formula without its isolated calls, 1 + W × ([W > 1] + A + S × (2A − 1) + A), in
every row (the hooks plan for 2S more per wave: for a record that runs out of time, one call alone and
the wait before it, per step); with
`record_concurrency` {many_waves}, the smallest the hooks accept for 10,000 records, a batch runs in
{-(-10000 // many_waves)} waves.

{table(worst_rows, [("orchestrator", "mode"), ("records", "records"), ("record_concurrency", "record_concurrency"),
                    *QUOTA_COLUMNS[3:]], quota_cell)}

Rendering the default project: {report["render_seconds_median"]} s (median of 5).
The generated project's suite: {report["generated_suite_seconds"]} s ({report["generated_suite_result"]}).

Targets:

{target_lines}
"""
    DOCS.mkdir(exist_ok=True)
    (DOCS / "benchmarks.md").write_text(markdown)
    (DOCS / "benchmarks.json").write_text(json.dumps(summarised(report), indent=2) + "\n")
    print(markdown)
    print(f"Written: {DOCS / 'benchmarks.md'}, {DOCS / 'benchmarks.json'}, {DOCS / 'cost-per-million.svg'}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
