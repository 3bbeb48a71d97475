"""Client-side rate limits: never more calls than the API allows, never fewer.

PostQued limits each API key per operation kind (upload, read, publish,
delete) to N calls per W seconds and does not say how it counts them. The
default strategy, :class:`SlidingWindowLimiter`, is exact for the strictest
reading: no more than N calls *start* in any span of W seconds (plus a small
safety margin), and otherwise a call starts as early as that allows — a full
burst of N at once, then each next call the moment the oldest leaves the
window. That also satisfies servers that count calendar minutes or use a token
bucket.

Beware of the plain leaky bucket (:class:`LeakyBucketLimiter`, aiolimiter's
``AsyncLimiter(N, W)``): after an initial burst of N it keeps admitting one
call every W/N seconds, so nearly 2N calls land in the first W seconds. Use it
only for a server known to count that way.

All clients of a process that use the same API key share one
:class:`LimitSet` (see :func:`shared_limits`), so two clients never add up to
more than the key may send.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import random
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Literal, Protocol

import aiolimiter
import attrs

from postqued_async._clock import Clock, SystemClock
from postqued_async._enums import Operation
from postqued_async._errors import ConfigurationError, LimitWaitTooLongError

__all__ = [
    "LeakyBucketLimiter",
    "LimitSet",
    "LimitStatus",
    "LimitStrategy",
    "Limits",
    "RateLimit",
    "SlidingWindowLimiter",
    "Unlimited",
    "shared_limits",
]

log = logging.getLogger(__name__)

# A wait shorter than this is not worth an INFO line.
_NOTABLE_WAIT = 0.5


@attrs.frozen
class RateLimit:
    """``calls`` per ``period`` seconds."""

    calls: int = attrs.field(validator=attrs.validators.gt(0))
    period: float = attrs.field(default=60.0, validator=attrs.validators.gt(0))


@attrs.frozen(kw_only=True)
class Limits:
    """The client's rate-limit settings, one :class:`RateLimit` per operation.

    ``None`` for an operation switches its limit off. The defaults are the
    API's published limits.

    Attributes:
        strategy: ``"sliding_window"`` (exact, the default) or
            ``"leaky_bucket"`` (aiolimiter, for servers that count that way).
        margin: seconds added to each window for latency and clock skew;
            ``None`` means 1 % of the window, at least 50 ms.
        max_pause: the longest a 429's ``Retry-After`` may pause an operation.
        pause_jitter: the largest random fraction added to such a pause, so
            waiters do not all come back at the same instant.
    """

    upload: RateLimit | None = RateLimit(20)
    read: RateLimit | None = RateLimit(30)
    publish: RateLimit | None = RateLimit(10)
    delete: RateLimit | None = RateLimit(20)
    strategy: Literal["sliding_window", "leaky_bucket"] = "sliding_window"
    margin: float | None = None
    max_pause: float = 300.0
    pause_jitter: float = 0.1

    @classmethod
    def disabled(cls) -> Limits:
        """No client-side limits at all (for benchmarks and special servers)."""
        return cls(upload=None, read=None, publish=None, delete=None)

    def for_operation(self, operation: Operation) -> RateLimit | None:
        """The limit of one operation kind."""
        limit: RateLimit | None = getattr(self, operation.value)
        return limit

    def margin_for(self, limit: RateLimit) -> float:
        """The safety margin used with ``limit``."""
        if self.margin is not None:
            return self.margin
        return max(0.05, limit.period * 0.01)


@attrs.frozen
class LimitStatus:
    """A snapshot of one operation's limiter.

    Attributes:
        operation: the operation kind.
        limit: calls allowed per window (``None`` when unlimited).
        period: the window in seconds.
        remaining: calls that could start right now.
        next_slot_in: seconds until the next call may start (0 when now).
        waiting: calls queued for a slot.
    """

    operation: Operation
    limit: int | None
    period: float | None
    remaining: int | None
    next_slot_in: float
    waiting: int


class LimitStrategy(Protocol):
    """What the transport needs of a limiter; one instance per operation."""

    operation: Operation

    async def acquire(self, *, max_wait: float | None = None) -> None:
        """Wait for a slot, first come first served.

        Raises:
            LimitWaitTooLongError: the wait would exceed ``max_wait``;
                nothing was taken.
        """
        ...

    def pause(self, seconds: float) -> None:
        """Admit nothing for ``seconds`` (the server said 429, Retry-After)."""
        ...

    def observe(
        self, *, limit: int | None, remaining: int | None, reset: float | None
    ) -> None:
        """Adopt what the server's ``X-RateLimit-*`` headers say."""
        ...

    def status(self) -> LimitStatus:
        """A snapshot for :attr:`PostQued.limits`."""
        ...


class SlidingWindowLimiter:
    """At most N call starts in any W-second span, each as early as allowed.

    Waiters queue in arrival order and a single timer task per limiter wakes
    the head of the queue, however many tasks are waiting. A waiter cancelled
    before it starts takes no capacity. The limiter binds to the running event
    loop lazily, so it survives ``asyncio.run`` being called more than once.
    """

    def __init__(
        self,
        operation: Operation,
        limit: RateLimit,
        *,
        margin: float,
        clock: Clock,
        max_pause: float = 300.0,
        pause_jitter: float = 0.1,
        rng: random.Random | None = None,
    ) -> None:
        self.operation = operation
        self._calls = limit.calls
        self._period = limit.period
        self._margin = margin
        self._clock = clock
        self._max_pause = max_pause
        self._pause_jitter = pause_jitter
        self._rng = rng or random.Random()
        self._starts: deque[float] = deque()
        self._waiters: deque[asyncio.Future[float]] = deque()
        self._paused_until = -math.inf
        self._server_remaining: int | None = None
        self._server_reset_at = -math.inf
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.Task[None] | None = None

    @property
    def _hold(self) -> float:
        return self._period + self._margin

    async def acquire(self, *, max_wait: float | None = None) -> None:
        self._bind_loop()
        now = self._clock.monotonic()
        if not self._has_waiters() and self._next_start(now) <= now:
            self._admit(now)
            return

        if max_wait is not None:
            delay = self._estimate_wait(now)
            if delay > max_wait:
                raise LimitWaitTooLongError(
                    f"a {self.operation.value} call would wait {delay:.1f}s for a "
                    f"rate-limit slot, longer than max_wait={max_wait:g}s; nothing "
                    "was sent — try again later or raise max_wait",
                    operation=self.operation.value,
                    delay=delay,
                )

        assert self._loop is not None
        ticket: asyncio.Future[float] = self._loop.create_future()
        self._waiters.append(ticket)
        self._wake_timer()
        try:
            admitted_at = await ticket
        except asyncio.CancelledError:
            if ticket.done() and not ticket.cancelled():
                # Admitted, but cancelled before the call could start: the
                # slot was never used, so hand it back.
                self._starts.remove(ticket.result())
                self._wake_timer()
            raise

        waited = admitted_at - now
        if waited >= _NOTABLE_WAIT:
            log.info(
                "rate limit: %s call waited %.2fs for a slot",
                self.operation.value,
                waited,
            )

    def pause(self, seconds: float) -> None:
        capped = min(max(seconds, 0.0), self._max_pause)
        spread = capped * self._pause_jitter * self._rng.random()
        until = self._clock.monotonic() + capped + spread
        if until > self._paused_until:
            self._paused_until = until
            log.info(
                "rate limit: server asked %s calls to pause %.2fs",
                self.operation.value,
                capped + spread,
            )

    def observe(
        self, *, limit: int | None, remaining: int | None, reset: float | None
    ) -> None:
        if limit is not None and limit > 0 and limit != self._calls:
            log.info(
                "rate limit: server says %s allows %d calls per window, not %d",
                self.operation.value,
                limit,
                self._calls,
            )
            self._calls = limit
        if remaining is not None and reset is not None:
            self._server_remaining = max(remaining, 0)
            self._server_reset_at = self._clock.monotonic() + max(reset, 0.0)

    def status(self) -> LimitStatus:
        now = self._clock.monotonic()
        self._forget_expired(now)
        remaining = max(self._calls - len(self._starts), 0)
        if self._server_remaining is not None and now < self._server_reset_at:
            remaining = min(remaining, self._server_remaining)
        if now < self._paused_until:
            remaining = 0
        return LimitStatus(
            operation=self.operation,
            limit=self._calls,
            period=self._period,
            remaining=remaining,
            next_slot_in=max(self._next_start(now) - now, 0.0),
            waiting=sum(1 for ticket in self._waiters if not ticket.done()),
        )

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # Waiters of an earlier loop died with it; the history of starts
            # stays, because the server still counts those calls.
            self._loop = loop
            self._waiters.clear()
            self._timer = None

    def _has_waiters(self) -> bool:
        while self._waiters and self._waiters[0].done():
            self._waiters.popleft()
        return bool(self._waiters)

    def _forget_expired(self, now: float) -> None:
        while self._starts and self._starts[0] <= now - self._hold:
            self._starts.popleft()

    def _next_start(self, now: float) -> float:
        self._forget_expired(now)
        at = max(now, self._paused_until)
        if len(self._starts) >= self._calls:
            at = max(at, self._starts[-self._calls] + self._hold)
        if (
            self._server_remaining is not None
            and self._server_remaining <= 0
            and now < self._server_reset_at
        ):
            at = max(at, self._server_reset_at)
        return at

    def _admit(self, now: float) -> None:
        self._starts.append(now)
        if self._server_remaining is not None and now < self._server_reset_at:
            self._server_remaining -= 1

    def _estimate_wait(self, now: float) -> float:
        ahead = sum(1 for ticket in self._waiters if not ticket.done())
        self._forget_expired(now)
        starts = list(self._starts)
        at = max(now, self._paused_until)
        for _ in range(ahead + 1):
            at = max(now, self._paused_until)
            if len(starts) >= self._calls:
                at = max(at, starts[-self._calls] + self._hold)
            starts.append(at)
        return at - now

    def _wake_timer(self) -> None:
        if self._timer is None or self._timer.done():
            assert self._loop is not None
            self._timer = self._loop.create_task(self._admit_waiters())

    async def _admit_waiters(self) -> None:
        while self._has_waiters():
            now = self._clock.monotonic()
            at = self._next_start(now)
            if at > now:
                await self._clock.sleep(at - now)
                continue
            ticket = self._waiters.popleft()
            self._admit(now)
            ticket.set_result(now)

    def __repr__(self) -> str:
        return (
            f"SlidingWindowLimiter({self.operation.value}: "
            f"{self._calls}/{self._period:g}s)"
        )


class LeakyBucketLimiter:
    """aiolimiter's leaky bucket, for servers that really count that way.

    It bursts N calls, then admits one every W/N seconds; against a server
    that counts a sliding or calendar window that pattern gets 429s. It runs
    on the event loop's own time, not on an injected clock.
    """

    def __init__(
        self,
        operation: Operation,
        limit: RateLimit,
        *,
        clock: Clock,
        max_pause: float = 300.0,
    ) -> None:
        self.operation = operation
        self._limit = limit
        self._clock = clock
        self._max_pause = max_pause
        self._bucket = aiolimiter.AsyncLimiter(limit.calls, limit.period)
        self._paused_until = -math.inf

    async def acquire(self, *, max_wait: float | None = None) -> None:
        pause = self._paused_until - self._clock.monotonic()
        if max_wait is not None and (
            pause > max_wait or (pause <= 0 and not self._bucket.has_capacity())
        ):
            delay = max(pause, self._limit.period / self._limit.calls)
            if delay > max_wait:
                raise LimitWaitTooLongError(
                    f"a {self.operation.value} call would wait about {delay:.1f}s; "
                    f"longer than max_wait={max_wait:g}s; nothing was sent",
                    operation=self.operation.value,
                    delay=delay,
                )
        if pause > 0:
            await self._clock.sleep(pause)
        await self._bucket.acquire()

    def pause(self, seconds: float) -> None:
        capped = min(max(seconds, 0.0), self._max_pause)
        self._paused_until = max(self._paused_until, self._clock.monotonic() + capped)

    def observe(
        self, *, limit: int | None, remaining: int | None, reset: float | None
    ) -> None:
        # A leaky bucket has no notion of a window to align with the server's.
        return None

    def status(self) -> LimitStatus:
        has_capacity = self._bucket.has_capacity()
        return LimitStatus(
            operation=self.operation,
            limit=self._limit.calls,
            period=self._limit.period,
            remaining=int(self._limit.calls - self._bucket._level),
            next_slot_in=0.0
            if has_capacity
            else self._limit.period / self._limit.calls,
            waiting=len(self._bucket._waiters),
        )


class Unlimited:
    """No limit: every call goes at once."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation

    async def acquire(self, *, max_wait: float | None = None) -> None:
        return None

    def pause(self, seconds: float) -> None:
        return None

    def observe(
        self, *, limit: int | None, remaining: int | None, reset: float | None
    ) -> None:
        return None

    def status(self) -> LimitStatus:
        return LimitStatus(
            operation=self.operation,
            limit=None,
            period=None,
            remaining=None,
            next_slot_in=0.0,
            waiting=0,
        )


class LimitSet:
    """One limiter per operation kind, built from :class:`Limits`."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.clock = clock or SystemClock()
        self._by_operation: dict[Operation, LimitStrategy] = {
            operation: self._build(operation, rng) for operation in Operation
        }

    def _build(self, operation: Operation, rng: random.Random | None) -> LimitStrategy:
        limit = self.limits.for_operation(operation)
        if limit is None:
            return Unlimited(operation)
        if self.limits.strategy == "leaky_bucket":
            return LeakyBucketLimiter(
                operation, limit, clock=self.clock, max_pause=self.limits.max_pause
            )
        if self.limits.strategy != "sliding_window":
            raise ConfigurationError(
                f"unknown limit strategy {self.limits.strategy!r}; use "
                "'sliding_window' or 'leaky_bucket'"
            )
        return SlidingWindowLimiter(
            operation,
            limit,
            margin=self.limits.margin_for(limit),
            clock=self.clock,
            max_pause=self.limits.max_pause,
            pause_jitter=self.limits.pause_jitter,
            rng=rng,
        )

    def __getitem__(self, operation: Operation) -> LimitStrategy:
        return self._by_operation[operation]

    def __iter__(self) -> Iterator[LimitStrategy]:
        return iter(self._by_operation.values())

    def status(self) -> Mapping[str, LimitStatus]:
        """Each operation's :class:`LimitStatus`, by operation name."""
        return {
            operation.value: strategy.status()
            for operation, strategy in self._by_operation.items()
        }


_shared: dict[tuple[str, int], tuple[Clock, LimitSet]] = {}
_shared_lock = threading.Lock()


def shared_limits(api_key: str, limits: Limits, clock: Clock) -> LimitSet:
    """The process-wide :class:`LimitSet` of an API key.

    Clients with the same key (and the same clock) get the same set, so their
    calls are counted together as the server counts them; different keys never
    wait on each other. The first client's settings win; a later client that
    asks for other settings is told so in the log.
    """
    fingerprint = hashlib.sha256(api_key.encode()).hexdigest()
    entry_key = (fingerprint, id(clock))
    with _shared_lock:
        entry = _shared.get(entry_key)
        if entry is None or entry[0] is not clock:
            entry = (clock, LimitSet(limits, clock=clock))
            _shared[entry_key] = entry
        elif entry[1].limits != limits:
            log.warning(
                "another client already set the limits for this API key; keeping %r",
                entry[1].limits,
            )
    return entry[1]
