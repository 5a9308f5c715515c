# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""Template code every function of the pipeline shares, shipped as the PipelineRuntimeLayer (regenerated).

What your steps use: `TransientStepError` (retry this record), `RecordRejected` (dead-letter it now),
`current_message_id()` (the SQS message id of the record being processed).
"""

from pipeline_runtime.context import current_message_id
from pipeline_runtime.errors import RecordRejected, TransientStepError

__all__ = ["RecordRejected", "TransientStepError", "current_message_id"]
