# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""What can travel and be stored: JSON that Lambda, the checkpoints and DynamoDB all accept.

The first step receives only bodies that pass `parse_body`: a JSON object, finite numbers DynamoDB
holds, no empty keys, nesting within DynamoDB's 32 levels once the stored item's own level is
counted. Anything else is refused at once (InvalidBody, dead-lettered as `invalid_body` with what was
wrong), never retried. `dumps` is the one JSON encoder of records, payloads and items: it refuses
NaN and Infinity, which Lambda's JSON and DynamoDB refuse.
"""

from __future__ import annotations

import json
import math
from typing import Any

from pipeline_runtime.errors import RecordRejected
from pipeline_runtime.quotas import DYNAMODB_NUMBER_RANGE, MAX_DYNAMODB_NESTING, MAX_DYNAMODB_NUMBER_DIGITS

# Under an item attribute DynamoDB takes 31 levels of maps and lists: the item itself is the 32nd.
MAX_RECORD_NESTING = MAX_DYNAMODB_NESTING - 1
MAX_REPORTED = 10  # problems named per body; the first ones say enough


class InvalidBody(RecordRejected):
    """A message body no step can carry or store: refused at the door, never retried."""

    reason = "invalid_body"


class UnstorableRecord(RecordRejected):
    """What a step returned can never travel on or be stored: refused at once, never retried."""

    reason = "unstorable_record"


class _Refused(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number JSON can carry (Lambda and DynamoDB refuse it)")


def _float(text: str) -> float:
    value = float(text)
    problem = number_problem(value)
    if problem:
        raise _Refused(f"{text}: {problem}")
    return value


def _int(text: str) -> int:
    value = int(text)
    problem = number_problem(value)
    if problem:
        raise _Refused(f"{text[:50]}: {problem}")
    return value


def number_problem(value: float | int) -> str | None:
    """Why DynamoDB could not hold this number, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return "not a finite number"
    if isinstance(value, int) and len(str(abs(value))) > MAX_DYNAMODB_NUMBER_DIGITS:
        return f"more than {MAX_DYNAMODB_NUMBER_DIGITS} digits, which DynamoDB cannot store"
    magnitude = abs(value)
    if magnitude and not DYNAMODB_NUMBER_RANGE[0] <= magnitude <= DYNAMODB_NUMBER_RANGE[1]:
        return "outside the magnitudes DynamoDB stores (1e-130 to 9.99e125)"
    return None


def not_utf8(text: str) -> bool:
    """True for text holding a lone surrogate ("\\udfff"): Python keeps it, no UTF-8 encoder takes it."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def storage_problems(value: Any, levels: int = MAX_RECORD_NESTING) -> list[str]:
    """Why `value` could not be stored as one item attribute: nesting past `levels`, an empty key, a number
    DynamoDB refuses, a value JSON cannot carry. Walked without recursion and without copying: memory grows
    with the depth, not the size (a record may hold millions of values)."""
    problems: list[str] = []
    path: list[str] = []  # the keys down to the container being walked
    walking: list[Any] = [iter([("record", value)])]
    while walking and len(problems) < MAX_REPORTED:
        for key, item in walking[-1]:
            problem = None
            if isinstance(item, dict | list):
                if len(walking) > levels:
                    problem = f"nested deeper than the {levels} levels DynamoDB stores under an item"
                elif isinstance(item, dict) and "" in item:
                    problem = "an empty key, which DynamoDB refuses as an attribute name"
                elif isinstance(item, dict) and any(not_utf8(name) for name in item if isinstance(name, str)):
                    problem = "a key with a lone surrogate, which UTF-8 (and so Lambda and DynamoDB) cannot carry"
                else:
                    path.append(key)
                    walking.append(iter(item.items() if isinstance(item, dict) else enumerate(item)))
                    break
            elif isinstance(item, float | int) and not isinstance(item, bool):
                problem = number_problem(item)
            elif isinstance(item, str):
                if not_utf8(item):
                    problem = "a lone surrogate, which UTF-8 (and so Lambda and DynamoDB) cannot carry"
            elif not isinstance(item, bool | None):
                problem = f"a {type(item).__name__}, which JSON cannot carry"
            if problem:
                problems.append(f"{described([*path, key])}: {problem}")
                if len(problems) == MAX_REPORTED:
                    break
        else:
            walking.pop()
            if path:
                path.pop()
    return problems


def described(keys: list[Any]) -> str:
    """`record.items[3].price` for the keys ["record", "items", 3, "price"]."""
    parts = [f"[{key}]" if isinstance(key, int) else f".{key}" for key in keys[1:]]
    return str(keys[0]) + "".join(parts)


def parse_body(body: Any) -> dict[str, Any]:
    """The message body as the first step's record, or InvalidBody saying what is wrong with it."""
    try:
        record = json.loads(body, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except _Refused as error:
        raise InvalidBody([f"body holds {error}"]) from None
    except RecursionError:
        raise InvalidBody([f"body nests deeper than the {MAX_RECORD_NESTING} levels DynamoDB stores"]) from None
    except (TypeError, ValueError) as error:
        raise InvalidBody([f"body is not valid JSON: {error}"]) from None
    if not isinstance(record, dict):
        raise InvalidBody([f"body must be a JSON object, got {type(record).__name__}"])
    problems = storage_problems(record)
    if problems:
        raise InvalidBody(problems)
    return record


def dumps(value: Any, **options: Any) -> str:
    """JSON as Lambda and DynamoDB take it: NaN and Infinity refused (ValueError)."""
    return json.dumps(value, allow_nan=False, **options)
