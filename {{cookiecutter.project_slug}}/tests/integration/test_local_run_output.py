# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""What `make local` shows a person: the summary, the per-step breakdown, one message's trace, the log
fields, the progress line, and a one-line error for a missing messages file."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import pytest

from local import pipeline
from local.journal import Journal, find_message, trace_lines
from local.messages import Sender
from local.report import short_execution_id
from local.run import Progress
from local.template_values import PROJECT_ROOT, load_settings

pytestmark = pytest.mark.integration
STEPS = list(pipeline.step_modules())
OUTPUT_DIR = Path(tempfile.mkdtemp(prefix="local-output-"))  # this module's own: other tests run make local too
LOG_FILE = OUTPUT_DIR / "pipeline.log"


def make_local(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local.run", *args], env={**os.environ, "LOCAL_OUTPUT_DIR": str(OUTPUT_DIR)},
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def default_run() -> subprocess.CompletedProcess[str]:
    """One `make local` of the default messages, tracing the fourth (the invalid one); its log stays behind."""
    result = make_local("--trace", "4")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_summary_breakdown_and_trace_of_the_invalid_message(default_run):
    result = default_run
    out = result.stdout
    assert "4 messages sent: 3 stored, 1 dead-lettered, 0 lost, 0 duplicated, in " in out
    assert "Dead-lettered: 1 validation_failed" in out
    executions = next(line for line in out.splitlines() if line.startswith("Executions: "))
    assert "injected: none" in executions and "{" not in executions and " 1 batches" not in executions
    table = out.split("Per step (each call on a record):\n")[1].splitlines()
    assert table[0].split() == ["step", "calls", "passed", "rejected", "retried", "failed"]
    assert [row.split()[0] for row in table[1 : 1 + len(STEPS)]] == STEPS
    assert table[1].split()[1:] == ["4", "3", "1", "0", "0"]  # the first step: 4 in, 1 rejected
    trace = out.split("\nMessage ")[1].splitlines()
    assert trace[0].endswith("(#4 of 4 sent)")
    assert "sent: " in trace[1] and '"processing_type": 42' in trace[1]
    assert "in batch-" in trace[2] and "(delivery 1, " in trace[2]
    assert f"{STEPS[0]}: rejected in " in trace[3]
    assert "data_source: String should have at least 1 character" in trace[3]
    assert trace[-1].strip() == "(end)  ended: dead-letter queue (validation_failed)"
    assert not any(f"{step}:" in line for line in trace for step in STEPS[1:])  # it went no further

    again = make_local("trace", "1")  # make trace ID=1: the last run's first message, stored
    assert again.returncode == 0, again.stderr
    assert [f"{step}: ok in" in again.stdout for step in STEPS] == [True] * len(STEPS)
    assert "ended: stored in DynamoDB at " in again.stdout


def test_log_lines_name_their_function_step_service_and_execution(default_run):
    lines = [json.loads(line) for line in LOG_FILE.read_text().splitlines() if line.startswith('{"level"')]
    step_functions = load_settings().step_function_names  # step -> its function's name in template.yaml

    in_invocations = [line for line in lines if "execution_id" in line or "step" in line]
    assert in_invocations  # (a line logged while loading the code, before any invocation, names none)
    assert {line["service"] for line in lines} == {PROJECT_ROOT.name}
    for line in in_invocations:
        expected = step_functions.get(line.get("step"), "OrchestratorFunction")
        assert line["function_name"] == expected, line
        assert line["execution_id"] and line["function_request_id"], line


def test_a_missing_messages_file_is_one_line():
    result = make_local("--messages", "missing.jsonl")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "make local: missing.jsonl: no such file (MESSAGES is a file of one message body per line)"
    )


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal_and_silence_elsewhere():
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        with Progress(stream, total=1000, ended=lambda: 250, sent=lambda: 400, interval=0.01) as progress:
            progress._stop.wait(0.1)

    assert "250/1,000 messages ended, 400 sent, " in terminal.getvalue() and "messages/s" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\033[K")  # cleared for the summary
    assert pipe.getvalue() == ""


def test_execution_ids_shortened_to_the_part_that_differs():
    local = "09355613-1ce5-4bae-9bfc-75f8c186ec86/inv-12345678-1234-1234-1234-123456789012"
    deployed = (
        "arn:aws:lambda:eu-west-1:123456789012:durable-execution:pipe-Orchestrator:batch-1:"
        "ce67da72-3701-4f83-9174-f4189d27b0a5"
    )
    assert short_execution_id(local) == "09355613-1ce5…"
    assert short_execution_id(deployed) == "ce67da72-3701…"


def test_trace_finds_a_message_by_position_id_or_prefix():
    journal = Journal()
    for message_id in ("aaaa-1", "aaab-2", "b-3"):
        journal.add(message_id, "sent", body="{}")

    assert find_message(journal.events, "2") == find_message(journal.events, "#2") == "aaab-2"
    assert find_message(journal.events, "b") == "b-3"
    with pytest.raises(LookupError, match="matches 2 messages"):
        find_message(journal.events, "aaa")
    with pytest.raises(LookupError, match="numbered #1 to #3"):
        find_message(journal.events, "#9")


def test_a_message_is_traced_as_sent_before_its_delivery(aws):
    # Under load the queue hands a message to the mapping before the send call returns: the trace must still
    # show it sent first (it once showed the delivery above the sending, and make local's trace test failed).
    journal = Journal()
    sqs = boto3.client("sqs")

    class DeliversDuringTheSend:
        def send_message_batch(self, **request):
            response = sqs.send_message_batch(**request)
            for entry in response["Successful"]:
                journal.add(entry["MessageId"], "received", execution="batch-1", delivery=1, records=1)
            return response

        def __getattr__(self, name):
            return getattr(sqs, name)

    sender = Sender(DeliversDuringTheSend(), aws.resources["queue_url"], ["{}"], lambda: 0, journal=journal).start()
    while sender.sending():
        time.sleep(0.01)
    [message_id] = sender.stop()

    assert [line.split("  ")[-1].split(":")[0] for line in trace_lines(journal.events, message_id)[1:]] == [
        "sent",
        "in batch-1 (delivery 1, 1 record)",
    ]
