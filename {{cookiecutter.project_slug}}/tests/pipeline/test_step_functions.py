# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Each step function's Lambda entry point (step_mode lambda_invoke): the runtime layer's handler."""

from __future__ import annotations

import json
from types import ModuleType

from conftest import STEP_MODULES, STEPS

from local.pipeline import FUNCTIONS
from pipeline_runtime import step_function

VALIDATION = STEP_MODULES[STEPS[0]]
VALID_BODY = '{"data_source": "a.csv", "processing_type": "standard"}'


def test_the_deployed_handler_runs_the_step_named_by_step_name(monkeypatch, lambda_context):
    monkeypatch.setenv("STEP_NAME", STEPS[0])
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(FUNCTIONS / STEPS[0]))  # the step function's own folder
    step_function.deployed_step_module.cache_clear()
    request = {
        "step": STEPS[0],
        "role": "validate",
        "execution_id": "exec-1",
        "sources": [{"records": [{"id": "m-1", "status": "ok", "data": VALID_BODY}]}],
        "select": "ok",
        "originals": [],
        "output_key": "in-flight/test/validate-1.json",
        "inline_limit": 64 * 1024,
        "threads": 1,
    }

    reply = step_function.handler(request, lambda_context)

    [record] = reply["output"]["records"]
    assert record["status"] == "ok" and record["data"] == json.loads(VALID_BODY)


def test_a_group_from_a_v2_orchestrator_still_in_flight_gets_its_old_answer(lambda_context):
    group = {"records": [{"message_id": "m-1", "body": VALID_BODY}, {"message_id": "m-2", "body": "not json"}]}

    reply = step_function.handle(group, lambda_context, VALIDATION)

    first, second = reply["results"]
    assert first["ok"] == {"valid": True, "errors": [], "record": json.loads(VALID_BODY)}
    assert second["ok"]["valid"] is False and second["ok"]["errors"][0].startswith("body is not valid JSON")


def test_a_v2_group_overflowing_its_reply_is_answered_reply_full(lambda_context):
    third = step_function.V2_MAX_REPLY_BYTES // 3
    padded = ModuleType("padded_step")
    padded.handler = lambda event, _context: {"pad": "x" * third}  # a v2-form step

    reply = step_function.handle({"records": [{"message_id": f"m-{n}"} for n in range(5)]}, lambda_context, padded)

    kinds = [result.get("error", {}).get("type", "ok") for result in reply["results"]]
    assert kinds == ["ok", "ok", "ReplyFull", "ReplyFull", "ReplyFull"]


def test_a_single_record_from_a_v1_orchestrator_gets_the_v1_answer(lambda_context):
    event = {"message_id": "m-1", "body": VALID_BODY}

    assert step_function.handle(event, lambda_context, VALIDATION) == {
        "valid": True,
        "errors": [],
        "record": json.loads(VALID_BODY),
    }
