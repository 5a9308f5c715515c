"""Step `STEPNAME`: a pass-through until it gets logic.

Replace these tests with your own.
"""

from functions.STEPNAME import STEPNAME_step as step

RECORD = {"data_source": "test.csv", "processing_type": "standard"}


def test_record_is_handed_on():
    assert step.process(RECORD) == RECORD
