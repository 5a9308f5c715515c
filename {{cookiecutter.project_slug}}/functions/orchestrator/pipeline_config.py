# Template-owned: regenerated on update (cruft update). Your code: functions/<step>/, tests/unit/.
"""How the pipeline is wired, generated from the template options.

Regenerate it (`cruft update`) instead of editing it, so option changes merge cleanly.
{%- set steps = rules().parse_steps(cookiecutter.step_names) %}
"""

import os

from aws_durable_execution_sdk_python.config import Duration, JitterStrategy
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy

from pipeline_runtime import naming

# "lambda_invoke": each step is its own Lambda function, chained with context.invoke.
# "durable_step": each step runs in this function as a checkpointed context.step.
STEP_MODE = "{{ cookiecutter.step_mode }}"

# "standard": a batch's records run side by side. "fifo": one record per message group at a time, in order.
QUEUE_TYPE = "{{ cookiecutter.queue_type }}"

# Steps in chain order: the first validates, the last stores, the ones between transform.
STEPS: tuple[str, ...] = (
{%- for step in steps %}
    "{{ step }}",
{%- endfor %}
)


def role(step: str) -> str:
    return naming.role(step, STEPS)


def record_concurrency() -> int:
    """Records per wave (lambda_invoke) and records a step works on at once; template.yaml sets it."""
    return int(os.environ["RECORD_CONCURRENCY"])


def records_per_wave(batch_records: int) -> int:
{%- if cookiecutter.step_mode == 'lambda_invoke' %}
    """A wave is what one step invocation handles: record_concurrency of the batch's records."""
    return max(1, min(record_concurrency(), batch_records))
{%- else %}
    """One wave: each step is a single context.step for the whole batch."""
    return max(1, batch_records)
{%- endif %}


# Transient failures: exponential backoff without jitter, so the hooks can check the worst case fits.
RETRY = RetryStrategyConfig(
    max_attempts={{ cookiecutter._step_retry.max_attempts }},
    initial_delay=Duration.from_seconds({{ cookiecutter._step_retry.initial_delay_seconds }}),
    backoff_rate={{ cookiecutter._step_retry.backoff_rate }},
    max_delay=Duration.from_seconds({{ cookiecutter._step_retry.max_delay_seconds }}),
    jitter_strategy=JitterStrategy.NONE,
)
retry_strategy = create_retry_strategy(RETRY)
