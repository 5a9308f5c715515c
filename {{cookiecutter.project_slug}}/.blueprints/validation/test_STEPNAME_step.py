"""Step `STEPNAME` (validation).

Every schema violation is reported at once; valid records pass through.
"""

import pytest
from pydantic import ValidationError

from functions.STEPNAME import STEPNAME_step as step

VALID = {"data_source": "test.csv", "processing_type": "standard"}


def test_reference_message_is_valid_and_keeps_its_other_fields():
    assert step.process({**VALID, "extra": 1}) == {**VALID, "extra": 1}


@pytest.mark.parametrize(
    ("record", "fields"),
    [
        ({}, {"data_source", "processing_type"}),
        ({"data_source": 1, "processing_type": ""}, {"data_source", "processing_type"}),
        ({"data_source": "a.csv"}, {"processing_type"}),
    ],
    ids=["missing-fields", "wrong-type-and-empty", "one-missing"],
)
def test_every_violation_is_reported_at_once(record, fields):
    with pytest.raises(ValidationError) as raised:
        step.process(record)
    assert {error["loc"][0] for error in raised.value.errors()} == fields
