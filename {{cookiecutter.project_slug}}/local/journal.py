# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""What happened to each message in a local run, in order: sent, received in a batch, each step call, ended.

The sender, the event source mapping and a wrapper around every step write here; `make local` turns
it into the per-stage breakdown and, with `--trace`, one message's path with timings. It is also
written to local-output/trace.jsonl, so `make trace ID=...` shows any message of the last run.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_runtime import current_message_id
from pipeline_runtime.errors import describe, is_transient, rejection_errors

if TYPE_CHECKING:  # steps.py makes a logger: make local creates loggers only once its output is redirected
    from pipeline_runtime.steps import Step

STEP_OUTCOMES = ("ok", "rejected", "transient", "failed")


@dataclass
class Journal:
    started: float = field(default_factory=time.monotonic)
    events: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, message_id: str, what: str, at: float | None = None, **details: Any) -> None:
        """`at`: when it happened (time.monotonic()) if not now: a send the queue may deliver before it returns."""
        when = time.monotonic() if at is None else at
        event = {"t": round(when - self.started, 4), "message_id": message_id, "what": what, **details}
        with self._lock:
            self.events.append(event)

    def ended(self, stored: list[dict[str, Any]], dead: list[dict[str, Any]]) -> None:
        """Where each message ended, as read from the table and the DLQ after the run (no time of its own)."""
        with self._lock:
            for item in stored:
                where = f"stored in DynamoDB at {item['stored_at']}"
                self.events.append({"t": None, "message_id": item["record_id"], "what": "ended", "where": where})
            for row in dead:
                self.events.append(
                    {"t": None, "message_id": row["message_id"], "what": "ended", "where": "dead-letter queue",
                     "reason": row["reason"]}
                )  # fmt: skip

    def wrap_step(self, step: str, function: Step) -> Step:
        """`function` as it was, its every call on a record journaled with its outcome and duration: the outcome
        the runtime gives it, a result that cannot be encoded, sized or stored included."""
        from pipeline_runtime.step_calls import output_text  # imported late: it makes a logger (see above)
        from pipeline_runtime.storable import UnstorableRecord, storage_problems

        def storable(result: Any) -> None:  # what the runtime checks before it stores the last step's result
            problems = storage_problems(result)
            if problems:
                raise UnstorableRecord(problems)

        check = storable if importlib.import_module("pipeline_config").role(step) == "store" else output_text

        def journaled(data: Any) -> Any:
            began = time.monotonic()
            outcome, detail = "ok", None
            try:
                result = function(data)
                try:
                    check(result)  # the runtime's own check of what a step returns
                except BaseException as error:
                    outcome, detail = classify(error)
                return result
            except BaseException as error:
                outcome, detail = classify(error)
                raise
            finally:
                self.add(
                    current_message_id(),
                    "step",
                    step=step,
                    outcome=outcome,
                    ms=round((time.monotonic() - began) * 1000, 2),
                    **({"detail": detail} if detail is not None else {}),
                )

        return journaled

    def stage_counts(self, steps: list[str]) -> dict[str, Counter[str]]:
        """Per step, in chain order: how many calls on a record ended in each outcome."""
        counts = {step: Counter({outcome: 0 for outcome in STEP_OUTCOMES}) for step in steps}
        with self._lock:
            for event in self.events:
                if event["what"] == "step":
                    counts.setdefault(event["step"], Counter())[event["outcome"]] += 1
        return counts

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, path.open("w") as out:
            out.writelines(json.dumps(event, default=str) + "\n" for event in self.events)


def classify(error: BaseException) -> tuple[str, Any]:
    """A step's failure as the per-step table counts it, and what to show of it."""
    errors = rejection_errors(error)
    if errors is not None:
        return "rejected", errors
    failure = describe(error)
    return ("transient" if is_transient(failure) else "failed"), f"{failure['type']}: {failure['message']}"


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def find_message(events: list[dict[str, Any]], wanted: str) -> str:
    """A message id from what the user typed: N (or #N) for the Nth sent, the whole id, or a unique prefix."""
    sent = [event["message_id"] for event in events if event["what"] == "sent"]
    number = wanted.removeprefix("#")
    if number.isdigit() and (wanted.startswith("#") or int(number) <= len(sent)):
        position = int(number)
        if not 1 <= position <= len(sent):
            raise LookupError(f"{wanted}: the run sent {len(sent)} message(s), numbered #1 to #{len(sent)}")
        return sent[position - 1]
    matches = sorted({message for message in sent if message.startswith(wanted)})
    if len(matches) != 1:
        found = "no message" if not matches else f"{len(matches)} messages ({', '.join(matches[:3])}, ...)"
        raise LookupError(
            f"{wanted!r} matches {found} of the {len(sent)} sent; give more of the id, or N for the Nth sent"
        )
    return matches[0]


def trace_lines(events: list[dict[str, Any]], message_id: str) -> list[str]:
    """One message's path through the run, one line per event, with times since the run started."""
    sent = [event["message_id"] for event in events if event["what"] == "sent"]
    mine = [event for event in events if event["message_id"] == message_id]
    lines = [f"Message {message_id} (#{sent.index(message_id) + 1} of {len(sent)} sent)"]
    for event in sorted(mine, key=lambda event: float("inf") if event["t"] is None else event["t"]):
        when = f"{'(end)':>10}" if event["t"] is None else f"{event['t']:8.3f} s"
        lines.append(f"  {when}  {describe_event(event)}")
    if len(lines) == 1:
        lines.append("  (nothing journaled for it)")
    return lines


def describe_event(event: dict[str, Any]) -> str:
    what = event["what"]
    if what == "sent":
        return f"sent: {event['body'][:80]}"
    if what == "received":
        return (
            f"in {event['execution']} (delivery {event['delivery']}, "
            f"{event['records']} record{'s' * (event['records'] != 1)})"
        )
    if what == "step":
        detail = f": {json.dumps(event['detail'])[:100]}" if "detail" in event else ""
        return f"{event['step']}: {event['outcome']} in {event['ms']:.1f} ms{detail}"
    if what == "batch_ended":
        return f"{event['execution']} {event['status']}; this message {event['outcome']}"
    if what == "ended":
        return f"ended: {event['where']}" + (f" ({event['reason']})" if event.get("reason") else "")
    return what
