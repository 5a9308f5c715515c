"""One step call, as the runtime answers it: each selected record through the handler, the reply packed."""

from __future__ import annotations

import json
from typing import Any

from conftest import STEPS

from pipeline_runtime import payloads, quotas
from pipeline_runtime.step_calls import failed_call, reply_is_well_formed, run_call


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


def echo(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    if event["record"].get("fail"):
        raise ValueError(f"bad record {event['message_id']}")
    return {"record": {**event["record"], "seen": True}}


def test_each_selected_record_runs_and_answers_in_order(lambda_context):
    records = [*staged("m-1", "m-2", "m-3"), {"id": "m-4", "status": "rejected"}]

    reply = run_call(request(records), echo, lambda_context)

    assert reply_is_well_formed(reply)
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
    class TransientStepError(Exception):
        pass

    def flaky(event, _context):
        raise TransientStepError("throttled")

    reply = run_call(request(staged("m-1")), flaky, lambda_context)

    [record] = reply["output"]["records"]
    assert record["status"] == "transient" and record["data"] == {"n": "m-1"}
    again = run_call({**request([]), "sources": [reply["output"]], "select": "transient"}, echo, lambda_context)
    assert again["output"]["records"][0]["status"] == "ok"


def test_an_output_json_cannot_carry_fails_that_record(lambda_context):
    def returns_a_set(event, _context):
        return {"record": {"tags": {"a"}}} if event["message_id"] == "m-2" else {"record": {}}

    reply = run_call(request(staged("m-1", "m-2")), returns_a_set, lambda_context)

    assert [record["status"] for record in reply["output"]["records"]] == ["ok", "failed"]
    assert reply["output"]["records"][1]["error"]["type"] == "TypeError"


def test_an_answer_without_the_roles_fields_fails_that_record(lambda_context):
    reply = run_call(request(staged("m-1")), lambda event, context: {"unexpected": 1}, lambda_context)

    [record] = reply["output"]["records"]
    assert record["status"] == "failed" and record["error"]["type"] == "MalformedStepOutput"


def test_a_record_grown_past_the_limit_is_too_large_not_failed(lambda_context):
    def bloat(event, _context):
        return {"record": {"blob": "b" * quotas.MAX_RECORD_BYTES}}

    reply = run_call(request(staged("m-1")), bloat, lambda_context)

    [record] = reply["output"]["records"]
    assert record["status"] == "too_large" and record["bytes"] > quotas.MAX_RECORD_BYTES
    assert reply["counts"]["too_large"] == 1


def test_a_reply_over_the_inline_limit_travels_through_the_bucket(aws, lambda_context):
    records = staged("m-1", "m-2", data={"pad": "p" * 2000})

    reply = run_call(request(records, inline_limit=1000), echo, lambda_context)

    assert set(reply["output"]) == {"ref", "count"} and reply["output"]["count"] == 2
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


def test_the_storage_role_receives_the_validated_original(lambda_context):
    seen = []

    def store(event, _context):
        seen.append(event)
        return {"record_id": event["message_id"], "duplicate": False}

    originals = [{"records": staged("m-1", data={"original": True})}]
    call = request(staged("m-1"), role="store", originals=originals)

    reply = run_call({**call, "step": STEPS[-1]}, store, lambda_context)

    assert seen[0]["original"] == {"original": True} and seen[0]["execution_id"] == "exec-1"
    assert reply["counts"]["ok"] == 1 and reply["counts"]["duplicates"] == 0
