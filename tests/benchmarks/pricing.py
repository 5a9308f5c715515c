"""`make bench`'s bill: each measured batch priced per million messages, a chart, the cost targets.

Prices and the bill come from the generated project's tools/costs.py (one dated table), applied to
what each execution used as AWS meters it: durable operations and payload bytes counted by the local
quota guard, Lambda requests and durations measured per invocation, S3 requests counted, SQS
requests and DynamoDB write units from the messages' and stored items' sizes.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from conftest import TEMPLATE_DIR
from samtranslator.yaml_helper import yaml_parse

COSTS_FILE = TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "tools" / "costs.py"
ITEMS = [
    "durable operations",
    "durable data written",
    "durable data retained",
    "Lambda requests",
    "Lambda compute",
    "SQS requests",
    "DynamoDB writes",
    "S3 requests",
]
SERIES = ["lambda_invoke", "durable_step", "sequential reference", "plain Lambda (floor)"]


def costs_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("template_costs", COSTS_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


COSTS = costs_module()


def function_settings(project: Path) -> dict[str, Any]:
    """Memory, architecture and retention of the rendered project, as template.yaml sets them."""
    template = yaml_parse((project / "template.yaml").read_text())
    function = template["Globals"]["Function"]
    orchestrator = template["Resources"]["OrchestratorFunction"]["Properties"]
    return {
        "memory_mb": int(function.get("MemorySize", 128)),
        "architecture": function["Architectures"][0],
        "retention_days": int(orchestrator["DurableConfig"]["RetentionPeriodInDays"]),
    }


def usage_of(row: dict[str, Any]) -> Any:
    return COSTS.BatchUsage(
        records=row["records"],
        durable_operations=row["durable_operations"],
        payload_bytes_written=row["payload_bytes_written"],
        lambda_requests=row["orchestrator_invocations"] + row["step_function_invocations"],
        lambda_milliseconds=row["lambda_milliseconds"],
        sqs_requests=COSTS.sqs_requests(row["body_sizes"]),
        dynamodb_write_units=COSTS.dynamodb_write_units(row["item_sizes"]),
        s3_puts=row["s3_puts"],
        s3_gets=row["s3_gets"],
    )


def priced(rows: list[dict[str, Any]], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """Each row with its bill per million messages, by item and in total."""
    result = []
    for row in rows:
        bill = COSTS.per_million_messages(usage_of(row), **settings)
        result.append({**row, "per_million": bill, "per_million_total": sum(bill.values())})
    return result


def money(value: float) -> str:
    return f"{value:,.2f}" if value >= 0.995 else f"{value:.3f}" if value >= 0.0095 else f"{value:.4f}"


def table(rows: list[dict[str, Any]]) -> str:
    columns = ["mode", "batch", "total $ per million", *ITEMS]
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for row in rows:
        if "fails" in row:
            lines.append(f"| {row['orchestrator']} | {row['records']:,} | fails in AWS: {row['fails']} |" + " |" * len(ITEMS))
            continue
        cells = [row["orchestrator"], f"{row['records']:,}", f"**{money(row['per_million_total'])}**"]
        cells += [money(row["per_million"][item]) for item in ITEMS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def chart(rows: list[dict[str, Any]], path: Path, subtitle: str) -> None:
    """Cost per million messages against batch size, one line per series, log scales; an SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    for series, style in zip(SERIES, ["o-", "s-", "^--", "d:"], strict=True):
        points = sorted((row["records"], row["per_million_total"]) for row in rows if row["orchestrator"] == series)
        if points:
            axes.plot([size for size, _ in points], [cost for _, cost in points], style, label=series)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("records per batch")
    axes.set_ylabel("US$ per million messages")
    axes.set_title(f"What a million messages cost\n{subtitle}", fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="svg", metadata={"Date": None})
    plt.close(figure)


def targets(rows: list[dict[str, Any]], steps: int) -> dict[str, bool]:
    by = {(row["orchestrator"], row["records"]): row for row in rows if "fails" not in row}
    reference = by[("sequential reference", 100)]["per_million_total"]
    modes = ["lambda_invoke", "durable_step"]
    return {
        f"at 100 records, {mode} costs at most a tenth of the sequential reference per million messages": (
            by[(mode, 100)]["per_million_total"] <= reference / 10
        )
        for mode in modes
    } | {
        f"durable operations per batch within steps + 3 ({steps + 3}) in both modes when nothing fails": all(
            row["durable_operations"] <= steps + 3 for row in rows if row["orchestrator"] in modes
        )
    }
