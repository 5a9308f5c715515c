# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""The pipeline's settings, read from template.yaml so local runs never keep a second copy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse  # understands !Ref, !GetAtt, !Sub ...

from tools.render_rules import step_of_variable

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


@dataclass(frozen=True)
class PipelineSettings:
    batch_size: int
    max_batching_window_seconds: int
    visibility_timeout_seconds: int
    max_receive_count: int
    dead_letter_retention_seconds: int
    execution_timeout_seconds: int
    record_concurrency: int
    table_key_schema: list[dict[str, str]]
    table_attribute_definitions: list[dict[str, str]]
    step_function_names: dict[str, str]  # step -> logical id of its function
    memory_mb: int  # every function's MemorySize (Globals)
    function_timeout_seconds: int  # every function's Timeout (Globals)
    fifo: bool = False  # the queues are FIFO queues
    content_based_deduplication: bool = False  # the FIFO input queue deduplicates by the body's SHA-256
    source_bucket: bool = False  # the stack creates a bucket whose new objects notify the queue (s3_event)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return yaml_parse(path.read_text(encoding="utf-8"))


def load_settings(path: Path = TEMPLATE_PATH) -> PipelineSettings:
    template = load_template(path)
    resources = template["Resources"]
    queue = resources["InputQueue"]["Properties"]
    table = resources["ProcessedDataTable"]["Properties"]
    orchestrator = resources["OrchestratorFunction"]["Properties"]
    event = resources["InputQueueMapping"]["Properties"]
    env = orchestrator["Environment"]["Variables"]
    steps = {  # step -> its function's logical id (template.yaml names the version deployed with the orchestrator)
        step: value["Ref"].removesuffix(".Version") for name, value in env.items() if (step := step_of_variable(name))
    }
    return PipelineSettings(
        batch_size=int(event["BatchSize"]),
        max_batching_window_seconds=int(event.get("MaximumBatchingWindowInSeconds", 0)),
        visibility_timeout_seconds=int(queue["VisibilityTimeout"]),
        max_receive_count=int(queue["RedrivePolicy"]["maxReceiveCount"]),
        dead_letter_retention_seconds=int(resources["DeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]),
        execution_timeout_seconds=int(orchestrator["DurableConfig"]["ExecutionTimeout"]),
        record_concurrency=int(env["RECORD_CONCURRENCY"]),
        table_key_schema=table["KeySchema"],
        table_attribute_definitions=table["AttributeDefinitions"],
        step_function_names=steps,
        memory_mb=int(template["Globals"]["Function"]["MemorySize"]),
        function_timeout_seconds=int(template["Globals"]["Function"]["Timeout"]),
        fifo=bool(queue.get("FifoQueue", False)),
        content_based_deduplication=bool(queue.get("ContentBasedDeduplication", False)),
        source_bucket="SourceBucket" in resources,
    )
