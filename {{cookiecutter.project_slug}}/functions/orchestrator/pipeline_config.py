"""How the pipeline is wired, generated from the template options.

Template-owned: regenerate it (`cruft update`) instead of editing it, so option changes merge cleanly.
{%- set steps = cookiecutter.step_names.split(',') | map('trim') | reject('equalto', '') | list %}
"""

from dataclasses import dataclass

# "lambda_invoke": each step is its own Lambda function, chained with context.invoke.
# "durable_step": each step runs in this function as a checkpointed context.step.
STEP_MODE = "{{ cookiecutter.step_mode }}"

# Steps in chain order: the first validates, the last stores, the ones between transform.
STEPS: tuple[str, ...] = (
{%- for step in steps %}
    "{{ step }}",
{%- endfor %}
)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff for transient step errors (the hooks check it fits the execution timeout)."""

    max_attempts: int
    initial_delay_seconds: int
    backoff_rate: float
    max_delay_seconds: int

    def delay_before(self, next_attempt: int) -> int:
        """Seconds to wait before attempt `next_attempt` (2, 3, ...)."""
        delay = self.initial_delay_seconds * self.backoff_rate ** (next_attempt - 2)
        return int(min(delay, self.max_delay_seconds))


STEP_RETRY = RetryPolicy(
    max_attempts={{ cookiecutter._step_retry.max_attempts }},
    initial_delay_seconds={{ cookiecutter._step_retry.initial_delay_seconds }},
    backoff_rate={{ cookiecutter._step_retry.backoff_rate }},
    max_delay_seconds={{ cookiecutter._step_retry.max_delay_seconds }},
)

# Error types, compared on their last dotted segment ("ChainedInvoke.Timeout" -> "Timeout"),
# worth retrying: throttling, timeouts and explicit transient errors.
TRANSIENT_ERROR_TYPES = frozenset(
    {
        "TransientStepError",
        "TooManyRequestsException",
        "ThrottlingException",
        "ServiceException",
        "ServiceUnavailableException",
        "Timeout",
        "Timedout",
    }
)
