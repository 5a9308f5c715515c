"""Each step function's entry point: a group of records in, one result per record out, in order."""

from __future__ import annotations

import importlib
import inspect
import json
from typing import Any

import pytest
from conftest import STEPS

ENTRIES = {step: importlib.import_module(f"{step}_entry") for step in STEPS}
VALIDATION_ENTRY = ENTRIES[STEPS[0]]


def echo(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    if event.get("fail"):
        raise ValueError(f"bad record {event['message_id']}")
    return {"record": event["message_id"], "size": event.get("size", 0), "pad": "x" * event.get("size", 0)}


def group(*records: dict[str, Any]) -> dict[str, Any]:
    return {"records": list(records)}


@pytest.mark.parametrize("step", STEPS)
def test_every_step_entry_runs_that_steps_handler(step):
    default = inspect.signature(ENTRIES[step].run_group).parameters["record_handler"].default
    assert default is importlib.import_module(f"{step}_step").handler
    assert ENTRIES[step].handler.__module__ == f"{step}_entry"


def test_real_validation_step_answers_each_record(lambda_context):
    reply = VALIDATION_ENTRY.handler(
        group(
            {"message_id": "m-1", "body": '{"data_source": "a.csv", "processing_type": "standard"}'},
            {"message_id": "m-2", "body": "not json"},
        ),
        lambda_context,
    )

    first, second = reply["results"]
    assert first["ok"]["valid"] is True
    assert second["ok"]["valid"] is False
    assert second["ok"]["errors"][0].startswith("body is not valid JSON")
    json.dumps(reply)  # what Lambda sends back must be JSON


def test_a_failing_record_is_reported_alone_and_the_rest_run(lambda_context):
    reply = VALIDATION_ENTRY.run_group(
        group({"message_id": "m-1"}, {"message_id": "m-2", "fail": True}, {"message_id": "m-3"}),
        lambda_context,
        record_handler=echo,
    )

    assert [result.get("ok", {}).get("record") for result in reply["results"]] == ["m-1", None, "m-3"]
    assert reply["results"][1] == {"error": {"type": "ValueError", "message": "bad record m-2"}}


def test_an_output_json_cannot_carry_is_that_records_error(lambda_context):
    def returns_a_set(event, _context):
        return {"tags": {"a", "b"}} if event["message_id"] == "m-2" else {"fine": True}

    reply = VALIDATION_ENTRY.run_group(
        group({"message_id": "m-1"}, {"message_id": "m-2"}), lambda_context, returns_a_set
    )

    assert reply["results"][0] == {"ok": {"fine": True}}
    assert reply["results"][1]["error"]["type"] == "TypeError"
    json.dumps(reply)


def test_results_past_the_reply_cap_are_sent_back_to_be_sent_again(lambda_context):
    third = VALIDATION_ENTRY.MAX_REPLY_BYTES // 3
    calls = []

    def counted(event, context):
        calls.append(event["message_id"])
        return echo(event, context)

    records = [{"message_id": f"m-{n}", "size": third} for n in range(1, 6)]
    reply = VALIDATION_ENTRY.run_group(group(*records), lambda_context, counted)

    kinds = [result.get("error", {}).get("type", "ok") for result in reply["results"]]
    assert kinds == ["ok", "ok", "ReplyFull", "ReplyFull", "ReplyFull"]
    assert calls == ["m-1", "m-2", "m-3"]  # m-3 ran but did not fit; m-4 and m-5 never ran
    assert len(json.dumps(reply)) <= VALIDATION_ENTRY.MAX_REPLY_BYTES


def test_a_single_result_over_the_cap_is_that_records_error_not_a_loop(lambda_context):
    records = [{"message_id": "m-1", "size": VALIDATION_ENTRY.MAX_REPLY_BYTES}, {"message_id": "m-2"}]

    reply = VALIDATION_ENTRY.run_group(group(*records), lambda_context, echo)

    assert reply["results"][0]["error"]["type"] == "StepResultTooLarge"
    assert reply["results"][1]["ok"]["record"] == "m-2"


def test_a_single_record_from_an_orchestrator_still_in_flight_gets_the_handlers_own_answer(lambda_context):
    # Executions started before an upgrade replay on their old orchestrator version, which sends one record.
    event = {"message_id": "m-1", "body": '{"data_source": "a.csv", "processing_type": "standard"}'}

    assert VALIDATION_ENTRY.handler(event, lambda_context) == importlib.import_module(f"{STEPS[0]}_step").handler(
        event, lambda_context
    )
