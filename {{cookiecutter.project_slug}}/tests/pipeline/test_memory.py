# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Memory is a quota too: step work is bounded whatever the bodies, and local runs fail an invocation past
its MemorySize as Lambda does (local/memory_meter.py measures every one)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
import tracemalloc
from typing import Any

import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from conftest import REFERENCE_MESSAGE, STEPS

from local import pipeline
from local.events import sqs_event, sqs_record
from local.formats import LARGEST_RECORD_BYTES
from local.memory_meter import MemoryMeter
from local.template_values import PROJECT_ROOT
from pipeline_config import STEP_MODE
from pipeline_runtime import quotas
from pipeline_runtime.memory import MemoryBudget
from pipeline_runtime.quotas import MIB, parsed_bytes_bound

FORMS = [  # one JSON value each, repeated into ~1 MiB: the shapes that take the most memory per byte
    "{}", "[]", '{"":0}', '{"":{}}', '{"":{"":{}}}', "[[]]", "[[[1]]]", '{"":[]}', "[{}]", '{"":null}', "0", "0.5",
    "12345678901234567890", '"abcde"', '"😀"', '"中文字"', '"\\u00e9\\u00e9"', '{"a":1,"b":2,"c":3,"d":4,"e":5}',
    '{ "a" : [ 1 , 2 ] }',
]  # fmt: skip


def allocated_by_parse(text: str) -> int:
    tracemalloc.start()
    try:
        value = json.loads(text)
        peak = tracemalloc.get_traced_memory()[1]
        del value
    finally:
        tracemalloc.stop()
    return peak


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 6 else 5)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randrange(-(10**12), 10**12)
    if kind == 2:
        return rng.random() * 10 ** rng.randrange(-20, 20)
    if kind in (3, 4):
        return "".join(rng.choice('ab😀中é"\\\n') for _ in range(rng.randrange(8)))
    if kind in (5, 6):
        return {f"k{rng.randrange(1000)}": random_value(rng, depth + 1) for _ in range(rng.randrange(6))}
    return [random_value(rng, depth + 1) for _ in range(rng.randrange(6))]


def test_the_parse_estimate_bounds_what_json_allocates_for_the_worst_shapes():
    for unit in FORMS:  # 256 KiB of each: what a shape costs per byte does not depend on the size
        text = "[" + ",".join([unit] * (256 * 1024 // (len(unit) + 1))) + "]"
        assert allocated_by_parse(text) <= parsed_bytes_bound(text), unit


def test_the_parse_estimate_bounds_what_json_allocates_for_random_documents():
    for seed in range(12):
        rng = random.Random(seed)  # noqa: S311 - test data
        text = json.dumps([random_value(rng) for _ in range(1500)], ensure_ascii=rng.random() < 0.5)
        assert allocated_by_parse(text) <= parsed_bytes_bound(text), seed


def test_records_wait_their_turn_first_come_first_served_and_never_exceed_the_budget():
    budget, in_use, most, order = MemoryBudget(100), [0], [0], []
    lock = threading.Lock()

    def record(name: str, size: int) -> None:
        with budget.holding(size):
            with lock:
                in_use[0] += size
                most[0] = max(most[0], in_use[0])
                order.append(name)
            time.sleep(0.02)
            with lock:
                in_use[0] -= size

    threads = [threading.Thread(target=record, args=(f"r{n}", size)) for n, size in enumerate([60, 90, 10, 40])]
    for thread in threads:
        thread.start()
        time.sleep(0.005)  # arrive in order
    for thread in threads:
        thread.join(timeout=5)
    assert most[0] <= 100 and order == ["r0", "r1", "r2", "r3"]  # r2 does not overtake the larger r1
    assert not budget.fits(101)


def body_of_empty_objects(size: int = LARGEST_RECORD_BYTES - 4096) -> str:
    """A valid record of about `size` bytes (by default the largest this message format carries, SQS's 1 MiB
    or an SNS message's or EventBridge event's 256 KiB) that parses to ~25 times that: a list of empty objects."""
    head = '{"data_source": "objects.csv", "processing_type": "standard", "x": ['
    return head + ",".join(["{}"] * ((size - len(head) - 2) // 3)) + "]}"


def run(records: list[dict[str, Any]], meter: MemoryMeter | None = None, wrap_step=None) -> dict[str, Any]:
    with pipeline.make_runner(memory_meter=meter, wrap_step=wrap_step) as runner:
        result = runner.run(input=sqs_event(records), execution_timeout=300)
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    return json.loads(result.result)


@pytest.mark.integration
def test_five_bodies_that_parse_to_25_times_their_size_are_stored_within_the_memory(tmp_path, settings):
    # make local, moto's server in its own process: what is measured is the functions' own memory.
    messages = tmp_path / "five.jsonl"
    messages.write_text("".join(body_of_empty_objects() + "\n" for _ in range(5)))

    result = subprocess.run(
        [sys.executable, "-m", "local.run", "--messages", str(messages), "--concurrent-batches", "1", "--json"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)["summary"]
    assert summary["stored"] == 5 and summary["dead_lettered"] == 0 and summary["out_of_memory"] == []
    assert 0 < max(summary["peak_memory_mb"].values()) <= settings.memory_mb


def test_a_body_too_large_for_the_memory_alone_is_dead_lettered_at_once_and_the_rest_stored(aws, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", str(quotas.MIN_MEMORY_MB))  # 128 MB: 24 MB for records
    content = body_of_empty_objects()
    heavy = sqs_record(content, receive_count=1)
    light = [sqs_record(REFERENCE_MESSAGE) for _ in range(3)]
    # The last step holds it twice (its data and the original it is stored with): more than the records' memory
    assert quotas.record_working_set(content, content) > quotas.records_budget_bytes(quotas.MIN_MEMORY_MB)

    output = run([light[0], heavy, *light[1:]], MemoryMeter(quotas.MIN_MEMORY_MB, enforce=False))

    assert output["batchItemFailures"] == [] and output["counts"]["stored"] == 3
    [dead] = aws.dead_letters()
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert attributes["failure_reason"] == "payload_too_large"
    assert json.loads(attributes["failure_detail"])["of"] == "memory"


def allocating(megabytes: int):
    """A step wrapper that holds `megabytes` while the first step works on a record, the first time only."""
    done = threading.Event()

    def wrap_step(step, function):
        def hungry(data):
            if step != STEPS[0] or done.is_set():
                return function(data)
            done.set()
            ballast = bytearray(megabytes * MIB)
            ballast[::4096] = b"x" * len(ballast[::4096])  # touched: resident, not just reserved
            output = function(data)
            del ballast
            return output

        return hungry

    return wrap_step


def test_an_invocation_past_its_memory_size_fails_as_lambda_ends_it(aws, settings, monkeypatch):
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "3")  # not its last delivery: a failed record goes back to SQS
    meter = MemoryMeter(settings.memory_mb, enforce=True)
    record = sqs_record(REFERENCE_MESSAGE)

    output = run([record], meter, allocating(settings.memory_mb))  # the step's ballast alone fills MemorySize

    assert any("Runtime.OutOfMemory" in violation for violation in meter.violations)
    if STEP_MODE == "lambda_invoke":  # the step function's invocation failed: its records go back to SQS
        assert output["batchItemFailures"] == [{"itemIdentifier": record["messageId"]}]
    else:  # the orchestrator's invocation ended like a crash: the durable service invoked it again, and it went on
        assert output["counts"]["stored"] == 1


def test_an_invocation_just_within_its_memory_size_passes_and_is_measured(aws, settings):
    meter = MemoryMeter(settings.memory_mb, enforce=True)
    ballast = settings.memory_mb - quotas.FUNCTION_BASELINE_BYTES // MIB - 32  # 32 MB for the rest of its work

    output = run([sqs_record(REFERENCE_MESSAGE)], meter, allocating(ballast))

    assert output["counts"]["stored"] == 1 and meter.violations == []
    assert max(meter.peaks.values()) >= quotas.FUNCTION_BASELINE_BYTES + 0.95 * ballast * MIB  # resident, as a rule
