"""Step `STEPNAME` (storage).

What is stored for a record, then stored once, in moto's DynamoDB.
"""

from decimal import Decimal

from functions.STEPNAME import STEPNAME_step as step
from local.pipeline import store_directly

RECORD = {"data_source": "TEST.CSV", "processing_type": "standard", "ratio": 0.5}


def test_the_record_is_stored_as_returned():
    assert step.process(RECORD) == RECORD


def test_stored_once_with_its_original(aws):
    original = {"data_source": "test.csv", "processing_type": "standard", "ratio": 0.5}

    first = store_directly("m-1", original, step.process(RECORD))
    second = store_directly("m-1", original, step.process({**RECORD, "changed": True}))

    assert (first["duplicate"], second["duplicate"]) == (False, True)
    [item] = aws.stored_items()
    assert item["original_data"]["data_source"] == "test.csv"
    assert item["transformed_data"] == {**RECORD, "ratio": Decimal("0.5")}
    assert item["stored_at"].endswith("+00:00")
