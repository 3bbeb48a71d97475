"""Rate limiting per API key and operation kind, under three counting models.

Every model answers the same question, "may this call go through now?", and
on a refusal, how long until a slot frees. A refused call never consumes a
slot: a client that backs off and retries is not punished twice.
"""

from __future__ import annotations

import collections
import math

import attrs

from postqued_async._clock import Clock

__all__ = ["Decision", "RateLimiter"]


@attrs.frozen
class Decision:
    """The outcome of one rate-limit check.

    ``reset`` is the number of seconds until the window frees a slot (0 when
    a slot is free now), as the ``X-RateLimit-Reset`` header reports it.
    """

    allowed: bool
    limit: int
    remaining: int
    reset: float

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait, rounded up, for ``Retry-After``."""
        return max(1, _whole_seconds(self.reset))

    def headers(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers describing this decision."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(_whole_seconds(self.reset)),
        }


def _whole_seconds(seconds: float) -> int:
    # Rounded up, after dropping float noise: 10.1 + 10 - 10.1 is a hair over
    # 10, and must still be announced as 10, not 11.
    return math.ceil(round(seconds, 6))


class _SlidingLog:
    # Timestamps of accepted calls within the last window.
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.log: collections.deque[float] = collections.deque()

    def check(self, now: float) -> Decision:
        while self.log and self.log[0] <= now - self.window:
            self.log.popleft()
        if len(self.log) >= self.limit:
            reset = self.log[0] + self.window - now
            return Decision(False, self.limit, 0, reset)
        self.log.append(now)
        remaining = self.limit - len(self.log)
        reset = 0.0 if remaining else self.log[0] + self.window - now
        return Decision(True, self.limit, remaining, reset)


class _CalendarWindow:
    # Windows start at whole multiples of the window length on wall time.
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.index = -1
        self.count = 0

    def check(self, now: float) -> Decision:
        index = math.floor(now / self.window)
        if index != self.index:
            self.index = index
            self.count = 0
        until_boundary = (index + 1) * self.window - now
        if self.count >= self.limit:
            return Decision(False, self.limit, 0, until_boundary)
        self.count += 1
        remaining = self.limit - self.count
        return Decision(
            True, self.limit, remaining, 0.0 if remaining else until_boundary
        )


class _TokenBucket:
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.rate = limit / window
        self.tokens = float(limit)
        self.last: float | None = None

    def check(self, now: float) -> Decision:
        if self.last is not None:
            self.tokens = min(self.limit, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1.0:
            return Decision(False, self.limit, 0, (1.0 - self.tokens) / self.rate)
        self.tokens -= 1.0
        remaining = math.floor(self.tokens)
        reset = 0.0 if remaining else (1.0 - self.tokens) / self.rate
        return Decision(True, self.limit, remaining, reset)


class RateLimiter:
    """Counts calls per (API key, operation kind) under one model.

    The calendar model reads ``clock.time()`` because its windows are aligned
    to the wall clock; the other two read ``clock.monotonic()``.
    """

    def __init__(
        self, model: str, limits: dict[str, int], window: float, clock: Clock
    ) -> None:
        self._model = model
        self._limits = limits
        self._window = window
        self._clock = clock
        self._counters: dict[
            tuple[str, str], _SlidingLog | _CalendarWindow | _TokenBucket
        ]
        self._counters = {}

    def check(self, api_key: str, operation: str) -> Decision:
        """Count one call if a slot is free; say when one frees if not."""
        counter = self._counters.get((api_key, operation))
        if counter is None:
            counter = self._new_counter(self._limits[operation])
            self._counters[(api_key, operation)] = counter
        if self._model == "calendar":
            return counter.check(self._clock.time())
        return counter.check(self._clock.monotonic())

    def _new_counter(self, limit: int) -> _SlidingLog | _CalendarWindow | _TokenBucket:
        if self._model == "calendar":
            return _CalendarWindow(limit, self._window)
        if self._model == "token_bucket":
            return _TokenBucket(limit, self._window)
        return _SlidingLog(limit, self._window)
