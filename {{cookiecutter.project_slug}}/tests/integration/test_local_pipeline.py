# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Nothing lost: the whole pipeline on local servers, with injected failures and crashes.

Every message sent must end exactly once: stored in DynamoDB, or in the dead-letter queue with
its reason (invalid ones with their validation errors, others only after exhausting retries).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from local import pipeline
from local.formats import LARGEST_RECORD_BYTES, as_sent
from local.messages import FIFO_GROUPS
from local.template_values import PROJECT_ROOT

pytestmark = pytest.mark.integration
MESSAGES = int(os.environ.get("LOCAL_PIPELINE_MESSAGES", "200"))  # the template's own tests raise this
SEED = int(os.environ.get("LOCAL_PIPELINE_SEED", "7"))


def run_local(*args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "local.run", "--json", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    try:
        summary = json.loads(result.stdout)["summary"]
    except (ValueError, KeyError):
        summary = None
    assert result.returncode == 0, f"summary: {summary}\n{result.stderr[-3000:]}" if summary else result.stderr[-3000:]
    return json.loads(result.stdout)


def settings_fifo() -> bool:
    from local.template_values import load_settings

    return load_settings().fifo


def is_valid(body: str) -> bool:
    try:
        record = json.loads(body)
    except ValueError:
        return False
    return isinstance(record, dict) and all(
        isinstance(record.get(field), str) and record[field] for field in ("data_source", "processing_type")
    )


@pytest.mark.parametrize("crash_rate", ["0.1", "0.5"], ids=["crash-rate-0.1", "crash-rate-0.5"])
def test_every_message_ends_exactly_once_under_failures_and_crashes(tmp_path: Path, crash_rate: str):
    output = run_local(
        "--count", str(MESSAGES), "--transient-failure-rate", "0.2", "--crash-rate", crash_rate,
        "--seed", str(SEED), "--dump", str(tmp_path),
    )  # fmt: skip

    sent = {row["message_id"]: row["body"] for row in output["sent"]}
    content = {row["message_id"]: row["content"] for row in output["sent"]}  # the record each body carries
    stored = [json.loads(line) for line in (tmp_path / "stored.jsonl").read_text().splitlines()]
    dead = [json.loads(line) for line in (tmp_path / "dead_letter.jsonl").read_text().splitlines()]
    endings = Counter([item["record_id"] for item in stored] + [row["message_id"] for row in dead])
    assert len(sent) == MESSAGES
    assert [mid for mid in sent if endings[mid] == 0] == []  # zero lost
    # Zero duplicated: none stored twice, none both stored and dead-lettered (a message leaves the queue as it ends)
    assert [mid for mid, count in endings.items() if count > 1] == []
    assert set(endings) == set(sent)
    invalid = {mid for mid, text in content.items() if not is_valid(text)}
    assert invalid, "the generated messages include invalid ones"
    summary = output["summary"]
    for row in dead:
        assert row["body"] == sent[row["message_id"]]
        if row["reason"].startswith("redrive"):
            # An execution that failed as a whole on the last delivery: SQS's redrive policy is the backstop.
            assert summary["failed_executions"] + summary["timed_out_executions"] > 0, row
        elif row["message_id"] in invalid:  # by the schema, or at the door (not JSON)
            assert row["reason"] in ("validation_failed", "invalid_body") and row["detail"], row
        else:  # a valid message dead-lettered only after every retry, with the last error
            assert row["reason"] == "step_failed" and "TransientStepError" in row["detail"], row
    for item in stored:
        assert item["record_id"] not in invalid
        assert json.loads(content[item["record_id"]]) == as_sent(item["original_data"])
    # FIFO: no record stored before an earlier record of its message group (moto's FIFO queue, several groups)
    assert summary["out_of_order"] == []
    groups = Counter(row.get("group") for row in output["sent"])
    assert len(groups) == (FIFO_GROUPS if settings_fifo() else 1)
    assert summary["injected"]["crashes"] > 0
    assert summary["injected"]["transient_failures"] > 0
    stages = summary["stages"]  # every call of a step on a record, by how it ended
    assert list(stages) == list(pipeline.step_modules())
    assert sum(counts["transient"] for counts in stages.values()) == summary["injected"]["transient_failures"]
    first, last = stages[next(iter(stages))], stages[list(stages)[-1]]
    assert first["rejected"] >= sum(row["reason"] in ("validation_failed", "invalid_body") for row in dead)
    assert last["ok"] >= len(stored)


def test_reference_message_and_invalid_one_by_default():
    output = run_local()

    [reference] = [item for item in output["stored"] if item["original_data"]["data_source"] == "test.csv"]
    assert reference["execution_id"] and reference["stored_at"]
    expected = "TEST.CSV" if "transform" in pipeline.step_modules() else "test.csv"
    assert reference["transformed_data"]["data_source"] == expected
    [rejected] = output["dead_letter"]
    assert rejected["reason"] == "validation_failed"
    assert {error.split(":")[0] for error in rejected["detail"]} == {"data_source", "processing_type"}


def test_messages_up_to_sqs_maximum_in_any_script_are_all_stored(tmp_path: Path):
    room = LARGEST_RECORD_BYTES - 576  # the record's other fields; 1,048,000 bytes of notes for a JSON body
    notes = {"ascii": "a" * room, "cjk": "中" * (room // 3), "emoji": "😀" * (room // 4)}
    bodies = [
        json.dumps({"data_source": f"{name}.csv", "processing_type": "standard", "notes": text}, ensure_ascii=False)
        for name, text in notes.items()
    ]
    messages = tmp_path / "large.jsonl"
    messages.write_text("\n".join([*bodies, '{"data_source": "small.csv", "processing_type": "standard"}']) + "\n")

    output = run_local("--messages", str(messages))

    summary = output["summary"]
    assert (summary["sent"], summary["stored"], summary["dead_lettered"]) == (4, 4, 0)
    assert summary["failed_executions"] == summary["timed_out_executions"] == summary["redeliveries"] == 0
    stored = {item["original_data"]["data_source"]: item for item in output["stored"]}
    assert {name: stored[f"{name}.csv"]["original_data"]["notes"] == text for name, text in notes.items()} == {
        "ascii": True,
        "cjk": True,
        "emoji": True,
    }
    assert summary["most_operations"] <= 3000 and summary["most_payload_bytes_written"] <= 100 * 1024 * 1024
