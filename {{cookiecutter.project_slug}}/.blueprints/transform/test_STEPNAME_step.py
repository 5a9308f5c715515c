"""Step `STEPNAME` (transform): upper-cases data_source and adds processing metadata."""

from datetime import UTC, datetime

from functions.STEPNAME import STEPNAME_step as step

RECORD = {"data_source": "test.csv", "processing_type": "standard", "extra": 1}


def test_data_source_is_upper_cased_and_metadata_added():
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    result = step.transform(RECORD, at)

    assert result["data_source"] == "TEST.CSV"
    assert result["extra"] == 1
    assert result["processing"] == {
        "step": "STEPNAME",
        "processing_type": "standard",
        "processed_at": "2026-01-02T03:04:05+00:00",
    }
    assert RECORD["data_source"] == "test.csv"  # input left untouched


def test_process_stamps_a_timezone_aware_time():
    result = step.process(RECORD)

    assert datetime.fromisoformat(result["processing"]["processed_at"]).tzinfo is not None
