# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""One step call, as the runtime answers it: each selected record through the step, the reply packed;
and the step contract, `process(record)`, beside the v2 `handler(event, context)` it still runs."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from conftest import STEP_MODULES, STEPS

from local.formats import carried_body
from pipeline_runtime import RecordRejected, TransientStepError, current_message_id, payloads, quotas
from pipeline_runtime.step_calls import failed_call, run_call, well_formed
from pipeline_runtime.steps import load_step


def request(records: list[dict[str, Any]], role: str = "transform", inline_limit: int = 64 * 1024, **more) -> dict:
    return {
        "step": "transform",
        "role": role,
        "execution_id": "exec-1",
        "sources": [{"records": records}],
        "select": "ok",
        "originals": [],
        "output_key": "in-flight/test/transform-1.json",
        "inline_limit": inline_limit,
        "threads": 4,
        **more,
    }


def staged(*ids: str, data: Any = None) -> list[dict[str, Any]]:
    return [{"id": message_id, "status": "ok", "data": data or {"n": message_id}} for message_id in ids]


def echo(record: dict[str, Any]) -> dict[str, Any]:
    if record.get("fail"):
        raise ValueError(f"bad record {current_message_id()}")
    return {**record, "seen": True}


def test_each_selected_record_runs_and_answers_in_order(lambda_context):
    records = [*staged("m-1", "m-2", "m-3"), {"id": "m-4", "status": "rejected"}]

    reply = run_call(request(records), echo, lambda_context)

    assert well_formed(reply) == reply
    assert [record["id"] for record in reply["output"]["records"]] == ["m-1", "m-2", "m-3"]
    assert all(record["data"]["seen"] for record in reply["output"]["records"])
    assert reply["counts"]["ok"] == 3
    json.dumps(reply)  # what Lambda sends back must be JSON


def test_a_failing_record_is_reported_alone(lambda_context):
    records = [*staged("m-1"), {"id": "m-2", "status": "ok", "data": {"fail": True}}, *staged("m-3")]

    reply = run_call(request(records), echo, lambda_context)

    statuses = {record["id"]: record["status"] for record in reply["output"]["records"]}
    assert statuses == {"m-1": "ok", "m-2": "failed", "m-3": "ok"}
    [failed] = [record for record in reply["output"]["records"] if record["id"] == "m-2"]
    assert failed["error"] == {"type": "ValueError", "message": "bad record m-2"}


def test_a_transient_failure_keeps_its_data_for_the_next_attempt(lambda_context):
    def throttled(_record):
        raise TransientStepError("throttled")

    reply = run_call(request(staged("m-1")), throttled, lambda_context)

    [record] = reply["output"]["records"]
    assert record["status"] == "transient" and record["data"] == {"n": "m-1"}
    again = run_call({**request([]), "sources": [reply["output"]], "select": "transient"}, echo, lambda_context)
    assert again["output"]["records"][0]["status"] == "ok"


def test_a_rejected_record_carries_every_error(lambda_context):
    def rejecting(_record):
        raise RecordRejected(["a: missing", "b: too short"])

    reply = run_call(request(staged("m-1")), rejecting, lambda_context)

    [record] = reply["output"]["records"]
    assert record["status"] == "rejected" and record["errors"] == ["a: missing", "b: too short"]


def test_the_validating_step_gets_the_body_parsed_and_a_schema_error_rejects(aws, lambda_context):
    validate = load_step(STEP_MODULES[STEPS[0]], "validate")
    bodies = ['{"data_source": "a.csv", "processing_type": "standard"}', "[1, 2]", "not json", "{}"]
    records = [{"id": f"m-{n}", "status": "ok", "data": carried_body(body)} for n, body in enumerate(bodies)]

    reply = run_call(request(records, role="validate"), validate, lambda_context)

    first, listed, broken, empty = reply["output"]["records"]
    assert first["status"] == "ok" and first["data"]["data_source"] == "a.csv"
    assert listed["errors"] == ["body must be a JSON object, got list"]
    assert broken["errors"][0].startswith("body is not valid JSON")
    assert empty["status"] == "rejected" and {error.split(":")[0] for error in empty["errors"]} == {
        "data_source",
        "processing_type",
    }


def test_an_answer_the_chain_cannot_carry_ends_that_record_alone(lambda_context):
    module = ModuleType("odd_step")
    module.process = lambda record: "not a record" if record["n"] == "m-1" else {"tags": {"a"}}

    reply = run_call(request(staged("m-1", "m-2", "m-3")), load_step(module, "transform"), lambda_context)

    first, second, third = reply["output"]["records"]
    assert first["status"] == "failed" and first["error"]["type"] == "MalformedStepOutput"
    assert second["status"] == "rejected" and second["reason"] == "unstorable_record"  # no retry makes a set JSON
    assert second["errors"] == ["record.tags: a set, which JSON cannot carry"]
    assert third["status"] == "rejected"


def test_a_record_grown_past_the_limit_is_too_large_not_failed(lambda_context):
    def bloat(_record):
        return {"blob": "b" * quotas.MAX_RECORD_BYTES}

    reply = run_call(request(staged("m-1")), bloat, lambda_context)

    [record] = reply["output"]["records"]
    assert record["status"] == "too_large" and record["bytes"] > quotas.MAX_RECORD_BYTES
    assert reply["counts"]["too_large"] == 1


def test_a_reply_over_the_inline_limit_travels_through_the_bucket(aws, lambda_context):
    records = staged("m-1", "m-2", data={"pad": "p" * 2000})

    reply = run_call(request(records, inline_limit=1000), echo, lambda_context)

    assert set(reply["output"]) == {"kind", "ref", "count"} and reply["output"]["kind"] == "bucket"
    assert reply["output"]["count"] == 2
    assert len(json.dumps(reply)) < 1000
    assert [record["id"] for record in payloads.load(reply["output"])] == ["m-1", "m-2"]


def test_a_failed_call_fails_every_record_it_selected_and_keeps_transient_data():
    call = request(staged("m-1", "m-2"))

    reply = failed_call("transform", call, {"type": "TooManyRequestsException", "message": "throttled"}, 2)

    assert reply["counts"]["transient"] == 2
    loaded = payloads.load(reply["output"])
    assert [(record["id"], record["status"], record["data"]) for record in loaded] == [
        ("m-1", "transient", {"n": "m-1"}),
        ("m-2", "transient", {"n": "m-2"}),
    ]
    permanent = failed_call("transform", call, {"type": "AccessDenied", "message": "no"}, 2)
    assert {record["status"] for record in payloads.load(permanent["output"])} == {"failed"}
    assert all("data" not in record for record in payloads.load(permanent["output"]))


def test_the_storing_step_stores_what_it_returns_with_the_validated_original(aws, lambda_context):
    store = load_step(STEP_MODULES[STEPS[-1]], "store")
    originals = [{"records": staged("m-1", data={"original": True})}]
    call = {**request(staged("m-1"), role="store", originals=originals), "step": STEPS[-1]}

    reply = run_call(call, store, lambda_context)
    again = run_call(call, store, lambda_context)

    assert reply["counts"]["ok"] == 1 and reply["counts"]["duplicates"] == 0
    assert again["counts"]["duplicates"] == 1
    [item] = aws.stored_items()
    assert item["original_data"] == {"original": True} and item["execution_id"] == "exec-1"


def test_a_v2_step_is_refused_naming_the_module_and_what_to_write(lambda_context):
    legacy = ModuleType("legacy_transform_step")
    legacy.handler = lambda event, _context: {"record": event["record"]}  # v2's form, removed in v4.0.0

    with pytest.raises(TypeError, match=r"legacy_transform_step defines handler\(event, context\).*process\(record\)"):
        load_step(legacy, "transform")
