"""Step `STEPNAME`: the first step.

Checks each message against its schema, reporting every violation.

Yours: edit `Record` freely; a regeneration leaves this file alone. The message body arrives parsed
from JSON (a body that is not a JSON object is rejected before this runs); a record the schema
refuses goes to the dead-letter queue at once with every error.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import BaseModel, parse
from pydantic import ConfigDict, Field, StrictStr


class Record(BaseModel):
    """The fields every message must carry; other fields pass through unchanged."""

    model_config = ConfigDict(extra="allow")

    data_source: StrictStr = Field(min_length=1)
    processing_type: StrictStr = Field(min_length=1)


def process(record: dict[str, Any]) -> dict[str, Any]:
    return parse(event=record, model=Record).model_dump()
