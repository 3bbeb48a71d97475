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
import contextlib
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

# X-RateLimit-Reset comes in whole seconds (as a delay or an epoch time).
_HEADER_RESOLUTION = 1.0


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
    the head of the queue, however many tasks are waiting; the timer ends as
    soon as the queue is empty. A waiter cancelled before it starts takes no
    capacity. The limiter binds to the running event loop lazily, so it
    survives ``asyncio.run`` being called more than once.
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
        self._hold = limit.period + margin
        self._clock = clock
        self._pause = _Pause(operation, clock, max_pause, pause_jitter, rng)
        self._starts: deque[float] = deque()
        self._waiters: deque[asyncio.Future[float]] = deque()
        self._queued = 0
        self._server_remaining: int | None = None
        self._server_reset_at = -math.inf
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.Task[None] | None = None

    async def acquire(self, *, max_wait: float | None = None) -> None:
        self._bind_loop()
        now = self._clock.monotonic()
        if not self._queued and self._next_start(now) <= now:
            self._admit(now)
            return

        delay = self._estimate_wait(now)
        if max_wait is not None and delay > max_wait:
            raise _too_long(self.operation, delay, max_wait)
        if delay >= _NOTABLE_WAIT and log.isEnabledFor(logging.INFO):
            log.info(
                "rate limit: %s call waits %.2fs for a slot (%s)",
                self.operation.value,
                delay,
                self._reason(now),
            )

        assert self._loop is not None
        ticket: asyncio.Future[float] = self._loop.create_future()
        self._waiters.append(ticket)
        self._queued += 1
        self._wake_timer()
        try:
            await ticket
        except asyncio.CancelledError:
            self._withdraw(ticket)
            raise

    def pause(self, seconds: float) -> None:
        # The timer, if asleep, wakes at its old deadline and sleeps again.
        self._pause.extend(seconds)

    def observe(
        self, *, limit: int | None, remaining: int | None, reset: float | None
    ) -> None:
        now = self._clock.monotonic()
        before = self._next_start(now)

        if limit is not None and limit > 0 and limit != self._calls:
            log.info(
                "rate limit: server says %s allows %d calls per window, not %d",
                self.operation.value,
                limit,
                self._calls,
            )
            self._calls = limit

        if remaining is not None:
            remaining = max(remaining, 0)
            reset_at = now + max(reset or 0.0, 0.0)
            own = self._own_free(now)
            if not remaining and now < own <= reset_at <= own + _HEADER_RESOLUTION:
                # Our own log already accounts for the server's count, and a
                # whole-second header overstates the wait: keep our exact time.
                reset_at = own
            # Answers can arrive out of order: a stale, looser report must not
            # replace a stricter one that still holds.
            holds = now < self._server_reset_at
            if not holds or remaining <= (self._server_remaining or 0):
                self._server_remaining = remaining
                self._server_reset_at = reset_at

        if self._queued and self._next_start(now) < before:
            self._restart_timer()

    def status(self) -> LimitStatus:
        now = self._clock.monotonic()
        self._forget_expired(now)
        remaining = max(self._calls - len(self._starts) - self._queued, 0)
        if self._server_limits(now):
            remaining = min(remaining, self._server_remaining or 0)
        if self._pause.until > now:
            remaining = 0
        return LimitStatus(
            operation=self.operation,
            limit=self._calls,
            period=self._period,
            remaining=remaining,
            next_slot_in=max(self._next_start(now) - now, 0.0),
            waiting=self._queued,
        )

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # Waiters of an earlier loop died with it; the history of starts
            # stays, because the server still counts those calls.
            self._loop = loop
            self._waiters.clear()
            self._queued = 0
            self._timer = None

    def _withdraw(self, ticket: asyncio.Future[float]) -> None:
        if ticket.get_loop() is not self._loop:
            return
        if ticket.done() and not ticket.cancelled():
            # Admitted, but cancelled before the call could start: the slot
            # was never used, so give it to the next waiter.
            with contextlib.suppress(ValueError):
                self._starts.remove(ticket.result())
            self._restart_timer()
            return
        ticket.cancel()
        self._queued -= 1

    def _forget_expired(self, now: float) -> None:
        starts = self._starts
        while starts and starts[0] <= now - self._hold:
            starts.popleft()

    def _server_limits(self, now: float) -> bool:
        return self._server_remaining is not None and now < self._server_reset_at

    def _next_start(self, now: float) -> float:
        return self._start_after(now, self._own_free(now))

    def _own_free(self, now: float) -> float:
        # When our own log frees a slot; -inf while it has room.
        self._forget_expired(now)
        if len(self._starts) < self._calls:
            return -math.inf
        return self._starts[-self._calls] + self._hold

    def _start_after(self, now: float, own: float) -> float:
        at = max(now, self._pause.until, own)
        if self._server_limits(now) and not self._server_remaining:
            at = max(at, self._server_reset_at)
        return at

    def _admit(self, now: float) -> None:
        self._starts.append(now)
        if self._server_remaining and now < self._server_reset_at:
            self._server_remaining -= 1

    def _estimate_wait(self, now: float) -> float:
        # The k-th queued call starts a window after the call N places before
        # it, so the queue ahead moves one window per N calls.
        self._forget_expired(now)
        rounds, place = divmod(self._queued, self._calls)
        recent = len(self._starts) - self._calls + place
        own = -math.inf
        if recent >= 0:
            own = self._starts[recent] + (rounds + 1) * self._hold
        at = self._start_after(now, own)
        if rounds:
            at = max(at, self._start_after(now, -math.inf) + rounds * self._hold)
        return at - now

    def _reason(self, now: float) -> str:
        if self._pause.until > now:
            return "paused after the server's 429"
        if self._server_limits(now) and not self._server_remaining:
            return "the server reports none left"
        return f"{self._calls} calls per {self._period:g}s already used"

    def _wake_timer(self) -> None:
        if self._timer is None or self._timer.done():
            assert self._loop is not None
            self._timer = self._loop.create_task(self._admit_waiters())

    def _restart_timer(self) -> None:
        # The timer may be asleep until a later slot than the one now free;
        # its only await is that sleep, so cancelling it loses nothing.
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer = None
        if self._queued:
            self._wake_timer()

    async def _admit_waiters(self) -> None:
        waiters = self._waiters
        while True:
            while waiters and waiters[0].done():
                waiters.popleft()
            if not waiters:
                return
            now = self._clock.monotonic()
            at = self._next_start(now)
            if at > now:
                await self._clock.sleep(at - now)
                continue
            ticket = waiters.popleft()
            self._queued -= 1
            self._admit(now)
            ticket.set_result(now)

    def __repr__(self) -> str:
        return (
            f"SlidingWindowLimiter({self.operation.value}: "
            f"{self._calls}/{self._period:g}s)"
        )


class _Pause:
    """The server's "come back later" for one operation, capped and spread."""

    def __init__(
        self,
        operation: Operation,
        clock: Clock,
        max_pause: float,
        jitter: float,
        rng: random.Random | None,
    ) -> None:
        self.operation = operation
        self.until = -math.inf
        self._clock = clock
        self._max_pause = max_pause
        self._jitter = jitter
        self._rng = rng or random.Random()

    def extend(self, seconds: float) -> None:
        capped = min(max(seconds, 0.0), self._max_pause)
        # Never earlier than asked; the random extra keeps the callers that
        # were refused together from all coming back at the same instant.
        spread = capped * self._jitter * self._rng.random()
        until = self._clock.monotonic() + capped + spread
        if until > self.until:
            self.until = until
            log.info(
                "rate limit: server asked %s calls to pause; waiting %.2fs",
                self.operation.value,
                capped + spread,
            )

    def remaining(self) -> float:
        return max(self.until - self._clock.monotonic(), 0.0)


def _too_long(
    operation: Operation, delay: float, max_wait: float
) -> LimitWaitTooLongError:
    return LimitWaitTooLongError(
        f"a {operation.value} call would wait {delay:.1f}s for a rate-limit "
        f"slot, longer than max_wait={max_wait:g}s; nothing was sent — try "
        "again later or raise max_wait",
        operation=operation.value,
        delay=delay,
    )


class LeakyBucketLimiter:
    """aiolimiter's leaky bucket, for servers that really count that way.

    It bursts N calls, then admits one every W/N seconds; against a server
    that counts a sliding or calendar window that pattern gets 429s. The
    bucket runs on the event loop's own time; only pauses use the clock.
    """

    def __init__(
        self,
        operation: Operation,
        limit: RateLimit,
        *,
        clock: Clock,
        max_pause: float = 300.0,
        pause_jitter: float = 0.1,
        rng: random.Random | None = None,
    ) -> None:
        self.operation = operation
        self._limit = limit
        self._clock = clock
        self._pause = _Pause(operation, clock, max_pause, pause_jitter, rng)
        self._bucket = aiolimiter.AsyncLimiter(limit.calls, limit.period)
        self._queued = 0

    async def acquire(self, *, max_wait: float | None = None) -> None:
        delay = self._estimate_wait()
        if max_wait is not None and delay > max_wait:
            raise _too_long(self.operation, delay, max_wait)
        if delay >= _NOTABLE_WAIT and log.isEnabledFor(logging.INFO):
            log.info(
                "rate limit: %s call waits about %.2fs for a slot",
                self.operation.value,
                delay,
            )

        self._queued += 1
        try:
            while (pause := self._pause.remaining()) > 0:
                await self._clock.sleep(pause)
            await self._bucket.acquire()
        finally:
            self._queued -= 1

    def pause(self, seconds: float) -> None:
        self._pause.extend(seconds)

    def observe(
        self, *, limit: int | None, remaining: int | None, reset: float | None
    ) -> None:
        # A leaky bucket has no window to align with the server's.
        return None

    def status(self) -> LimitStatus:
        free = self._free()
        return LimitStatus(
            operation=self.operation,
            limit=self._limit.calls,
            period=self._limit.period,
            remaining=0 if self._pause.remaining() else max(int(free), 0),
            next_slot_in=self._estimate_wait(queued=0),
            waiting=self._queued,
        )

    def _free(self) -> float:
        # aiolimiter keeps its fill level private; has_capacity() first
        # drains what leaked since the last look.
        self._bucket.has_capacity()
        level: float = self._bucket._level
        return self._limit.calls - level

    def _estimate_wait(self, queued: int | None = None) -> float:
        ahead = self._queued if queued is None else queued
        short = ahead + 1 - self._free()
        interval = self._limit.period / self._limit.calls
        return max(self._pause.remaining(), max(short, 0.0) * interval)


class Unlimited:
    """No client-side limit: calls go at once, unless the server said 429."""

    def __init__(
        self,
        operation: Operation,
        clock: Clock | None = None,
        *,
        max_pause: float = 300.0,
        pause_jitter: float = 0.1,
        rng: random.Random | None = None,
    ) -> None:
        self.operation = operation
        self._clock = clock or SystemClock()
        self._pause = _Pause(operation, self._clock, max_pause, pause_jitter, rng)
        self._ever_paused = False

    async def acquire(self, *, max_wait: float | None = None) -> None:
        # The common case costs one attribute check: no pause was ever asked.
        if not self._ever_paused:
            return
        delay = self._pause.remaining()
        if delay <= 0:
            return
        if max_wait is not None and delay > max_wait:
            raise _too_long(self.operation, delay, max_wait)
        await self._clock.sleep(delay)

    def pause(self, seconds: float) -> None:
        self._ever_paused = True
        self._pause.extend(seconds)

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
            next_slot_in=self._pause.remaining(),
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
            return Unlimited(
                operation,
                self.clock,
                max_pause=self.limits.max_pause,
                pause_jitter=self.limits.pause_jitter,
                rng=rng,
            )
        if self.limits.strategy == "leaky_bucket":
            return LeakyBucketLimiter(
                operation,
                limit,
                clock=self.clock,
                max_pause=self.limits.max_pause,
                pause_jitter=self.limits.pause_jitter,
                rng=rng,
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


def shared_limits(
    api_key: str,
    limits: Limits,
    clock: Clock,
    *,
    rng: random.Random | None = None,
) -> LimitSet:
    """The process-wide :class:`LimitSet` of an API key.

    Clients with the same key (and the same clock) get the same set, so their
    calls are counted together as the server counts them; different keys never
    wait on each other. The first client's settings win; a later client that
    asks for other settings is told so in the log. ``rng`` spreads the pauses
    a 429 causes; tests pass a seeded one.
    """
    fingerprint = hashlib.sha256(api_key.encode()).hexdigest()
    entry_key = (fingerprint, id(clock))
    with _shared_lock:
        entry = _shared.get(entry_key)
        if entry is None or entry[0] is not clock:
            entry = (clock, LimitSet(limits, clock=clock, rng=rng))
            _shared[entry_key] = entry
        elif entry[1].limits != limits:
            log.warning(
                "another client already set the limits for this API key; keeping %r",
                entry[1].limits,
            )
    return entry[1]
