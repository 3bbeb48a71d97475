"""Clocks: the one source of time for limits, retries, polling and the sandbox.

Everything time-dependent in the SDK and in the sandbox asks a :class:`Clock`
instead of calling :mod:`time` or :func:`asyncio.sleep` directly, so tests can
drive time by hand with :class:`FakeClock` and stay fast and deterministic.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What the SDK needs to know about time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards; for intervals."""
        ...

    def time(self) -> float:
        """Seconds since the Unix epoch; for timestamps and HTTP dates."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds``."""
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic`, :func:`time.time`, asyncio sleep."""

    def monotonic(self) -> float:
        """:func:`time.monotonic`."""
        return time.monotonic()

    def time(self) -> float:
        """:func:`time.time`."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """:func:`asyncio.sleep`, never for a negative time."""
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that only moves when told to, for tests.

    Sleepers wake when :meth:`advance` carries the clock past their deadline,
    in deadline order. ``await clock.advance(s)`` also yields to the event loop
    so that woken tasks run before it returns.

    Args:
        start: the initial wall-clock time (seconds since the epoch).
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = 0.0
        self._epoch = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        """Seconds since the clock was made, as far as it has been advanced."""
        return self._now

    def time(self) -> float:
        """The start time plus :meth:`monotonic`."""
        return self._epoch + self._now

    async def sleep(self, seconds: float) -> None:
        """Wait until :meth:`advance` carries the clock ``seconds`` further."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        await future

    @property
    def sleepers(self) -> int:
        """How many tasks are asleep on this clock right now."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose deadline has come."""
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, deadline)
            if not future.done():
                future.set_result(None)
            await _settle()
        self._now = target
        await _settle()

    def __repr__(self) -> str:
        return f"FakeClock(monotonic={self._now:.3f})"


async def _settle(rounds: int = 20) -> None:
    # A woken task may need several loop iterations (lock hand-offs, nested
    # awaits) before it blocks again; give it those before time moves on.
    for _ in range(rounds):
        await asyncio.sleep(0)
