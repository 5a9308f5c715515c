# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""What the orchestrator and the steps send each other, by name. Each is plain JSON: it is checkpointed.

    StepRequest  orchestrator -> step: one call of a step on a wave's records
    StepReply    step -> orchestrator: what the call made of each record it ran
    Payload      records inline, records in the payload bucket, or the records of a call that failed whole
    WaveOutcome  what the records of one wave became, for SQS and the metrics

A record is `{"id", "status", "step", "data" | "error" | "errors", ...}`; its status is one of STATUSES.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

Record = dict[str, Any]
Role = Literal["validate", "transform", "store"]

STATUSES = ("ok", "transient", "failed", "rejected", "too_large", "isolate", "timed_out")
GOES_AGAIN = ("transient", "isolate")  # records called again, so they keep their data
ENDINGS = ("stored", "duplicates", "rejected", "dead_lettered")  # what a wave's records became, counted


class InlineRecords(TypedDict):
    kind: Literal["inline"]
    records: list[Record]


class RecordsInBucket(TypedDict):
    kind: Literal["bucket"]
    ref: str  # the key of a JSON-lines object in s3://$PAYLOAD_BUCKET (payloads.py)
    count: int


class CallFailure(TypedDict):
    step: str
    status: str  # what every record of the call became: transient, failed or timed_out
    error: dict[str, Any]


class FailedCall(TypedDict):
    """The records a call was sent, all sharing its failure: its sources and statuses, not copies."""

    kind: Literal["failed_call"]
    failed_call: CallFailure
    sources: list[Payload]
    select: str | list[str]


Payload = InlineRecords | RecordsInBucket | FailedCall


def inline(records: list[Record]) -> InlineRecords:
    return {"kind": "inline", "records": records}


def payload_kind(payload: Payload) -> str:
    """The payload's kind. A 3.x orchestrator's requests (answered until v5.0.0) carry payloads without one."""
    if "kind" in payload:
        return payload["kind"]
    return "inline" if "records" in payload else "bucket" if "ref" in payload else "failed_call"


class StepRequest(TypedDict):
    step: str
    role: Role  # what the chain asks of the step: its first validates, its last stores
    execution_id: str
    sources: list[Payload]  # where the records are: the wave, or the replies of the step before
    select: str | list[str]  # the statuses of the records in `sources` this call runs
    originals: list[Payload]  # the first step's replies, for the storing step: what it stores with each record
    output_key: str  # where the reply's records go in the bucket when they do not fit inline
    inline_limit: int  # checkpoint bytes the reply's records may take inline
    threads: int  # records run at once
    reserved_bytes: int  # durable_step: the memory the orchestrator holds for its batch


class StatusCounts(TypedDict):
    ok: int
    transient: int
    failed: int
    rejected: int
    too_large: int
    isolate: int
    timed_out: int
    duplicates: int  # of the ok records of a storing step, those the table already held


class StepReply(TypedDict):
    output: Payload  # one record per record the call ran, with its status
    counts: StatusCounts


def no_counts() -> StatusCounts:
    return dict.fromkeys((*STATUSES, "duplicates"), 0)  # type: ignore[return-value]


class WaveOutcome(TypedDict):
    stored: int
    duplicates: int  # of the stored: a redelivered message the table already held
    rejected: int
    dead_lettered: int
    retry: list[int]  # positions in the wave of the records SQS should redeliver


def wave_outcome(stored: int = 0, duplicates: int = 0, retry: list[int] | None = None) -> WaveOutcome:
    return {"stored": stored, "duplicates": duplicates, "rejected": 0, "dead_lettered": 0, "retry": retry or []}


def settled(outcome: WaveOutcome, settling: WaveOutcome) -> WaveOutcome:
    """A wave's outcome once its unsettled records are settled: the endings added, settling's retries."""
    return {**{name: outcome[name] + settling[name] for name in ENDINGS}, "retry": settling["retry"]}  # type: ignore[typeddict-item]
