"""When and how long to wait before trying a call again.

Connection failures, timeouts, 408, 429 and 5xx are worth another attempt;
every other 4xx would fail the same way again. The backoff is exponential
with "equal jitter" (a random delay between half and all of the step), and a
server's ``Retry-After`` is a floor: the SDK never comes back earlier than
asked.
"""

from __future__ import annotations

import math
import random
from datetime import datetime
from email.utils import parsedate_to_datetime

import attrs

__all__ = ["RetryPolicy", "parse_retry_after"]

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How hard the SDK tries before it gives up on a call.

    Attributes:
        attempts: the most attempts per call, the first included.
        base: the first backoff step in seconds; each next one doubles.
        cap: the longest backoff step.
        jitter: the fraction of each step that is random (0 = none).
        max_retry_after: the longest ``Retry-After`` the SDK waits out; a
            server asking for more gets the error raised, with the delay on it.
    """

    attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    base: float = 0.5
    cap: float = 20.0
    jitter: float = 0.5
    max_retry_after: float = 120.0

    @classmethod
    def never(cls) -> RetryPolicy:
        """One attempt per call, no retries."""
        return cls(attempts=1)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The delay after failed attempt number ``attempt`` (1-based)."""
        step: float = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return step * (1 - self.jitter * rng.random())

    def should_retry_status(self, status: int) -> bool:
        """Whether an answer with this status is worth another attempt."""
        return status in RETRY_STATUSES or status >= 500


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110: seconds or date).

    Args:
        value: the header as sent, or ``None``.
        now: the current Unix time, to turn an HTTP date into a delay.

    Returns:
        The delay (never negative), or ``None`` when absent or unreadable.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when: datetime = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - now, 0.0)
