# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""The bill of a batch (tools/costs.py): each item metered the way AWS meters it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools import costs, render_rules

README = Path(__file__).resolve().parents[2] / "README.md"


def test_prices_are_dated_and_sourced() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", costs.PRICES_DATE)
    assert "aws.amazon.com/lambda/pricing" in costs.PRICES_SOURCE


def test_sqs_bills_each_request_per_64_kb_chunk() -> None:
    # ten 1 KB messages: ten sends, one receive, one delete
    assert costs.sqs_requests([1024] * 10) == 12
    # a 100 KB message is two chunks to send and two to receive
    assert costs.sqs_requests([100 * 1024]) == 2 + 2 + 1
    # eleven messages: two receives and two deletes
    assert costs.sqs_requests([10] * 11) == 11 + 2 + 2


def test_dynamodb_bills_a_write_unit_per_started_kb() -> None:
    assert costs.dynamodb_write_units([1, 1024, 1025, 400 * 1024]) == 1 + 1 + 2 + 400


def test_the_bill_prices_each_item() -> None:
    usage = costs.BatchUsage(
        records=1,
        durable_operations=1_000_000,
        payload_bytes_written=costs.GB,
        lambda_requests=1_000_000,
        lambda_milliseconds=1000,
        sqs_requests=1_000_000,
        dynamodb_write_units=1_000_000,
        s3_puts=1000,
        s3_gets=1000,
    )
    bill = costs.bill(usage, memory_mb=1024, architecture="x86_64", retention_days=30)
    assert bill == pytest.approx(
        {
            "durable operations": 8.00,
            "durable data written": 0.25,
            "durable data retained": 0.15,  # one GB kept a month
            "Lambda requests": 0.20,
            "Lambda compute": 0.0000166667,  # one GB-second
            "SQS requests": 0.40,
            "DynamoDB writes": 0.625,
            "S3 requests": 0.005 + 0.0004,
        }
    )
    assert costs.bill(usage, 1024, "arm64", 30)["Lambda compute"] == pytest.approx(0.0000133334)


def test_per_million_messages_scales_a_batch_to_a_million_records() -> None:
    usage = costs.BatchUsage(records=100, durable_operations=4)
    assert costs.per_million_messages(usage, 256, "arm64", 7)["durable operations"] == pytest.approx(4 * 8.00 / 100)


@pytest.mark.parametrize("step_mode", ["lambda_invoke", "durable_step"])
def test_a_batch_in_one_wave_costs_steps_plus_one_operations(step_mode: str) -> None:
    plan = (step_mode, 3, 100, 100)
    usage = costs.estimate(
        step_mode, 3, 100, render_rules.operations_when_nothing_fails(*plan, by_reference=False),
        render_rules.invocations_when_nothing_fails(*plan),
    )  # fmt: skip
    assert usage.durable_operations == 3 + 1
    assert usage.lambda_requests == (2 * 3 + 1 if step_mode == "lambda_invoke" else 1)
    # the event, then each step's records: sent and returned (lambda_invoke) or returned (durable_step)
    per_call = 2 if step_mode == "lambda_invoke" else 1
    assert usage.payload_bytes_written == 100 * (1024 + 500) + 3 * per_call * 100 * (1024 + 100)


def test_waves_add_their_calls_and_resumes() -> None:
    assert render_rules.invocations_when_nothing_fails("lambda_invoke", 3, 100, 30) == (1 + 4 * 3, 4 * 3)
    assert render_rules.invocations_when_nothing_fails("durable_step", 3, 100, 30) == (1, 0)


def test_the_readme_shows_what_make_costs_prints(capsys: pytest.CaptureFixture[str]) -> None:
    makefile = (README.parent / "Makefile").read_text()
    command = re.search(r"-m tools\.costs (.*?) \$\(ARGS\)", makefile.replace("\\\n", " "), re.S)
    assert command, "the Makefile's costs target"
    costs.main(command.group(1).split())
    printed = capsys.readouterr().out
    table = printed.split("\n\n")[0]
    assert table.startswith("| item |")
    assert table in README.read_text(encoding="utf-8")
