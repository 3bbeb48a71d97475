"""The client-side limiter, driven by a FakeClock: exact, fair, cheap, shared."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from aiohttp import web

from postqued_async import (
    FakeClock,
    Limits,
    LimitSet,
    LimitWaitTooLongError,
    Operation,
    PostQued,
    RateLimit,
    RetryPolicy,
)
from postqued_async._limits import (
    LeakyBucketLimiter,
    SlidingWindowLimiter,
    shared_limits,
)
from postqued_async._retry import parse_retry_after

PUBLISH = Operation("publish")
READ = Operation("read")


class FixedRandom(random.Random):
    """An rng whose every draw is the same number, so jitter is predictable."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def sliding(
    clock: FakeClock,
    calls: int = 3,
    period: float = 10.0,
    *,
    margin: float = 0.1,
    rng: random.Random | None = None,
) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(
        PUBLISH,
        RateLimit(calls, period),
        margin=margin,
        clock=clock,
        max_pause=30.0,
        pause_jitter=0.1,
        rng=rng or FixedRandom(0.0),
    )


async def start_callers(
    limiter: SlidingWindowLimiter, clock: FakeClock, count: int
) -> tuple[list[asyncio.Task[None]], list[tuple[int, float]]]:
    # Each caller has queued (or been admitted) by the time this returns.
    admitted: list[tuple[int, float]] = []

    async def caller(number: int) -> None:
        await limiter.acquire()
        admitted.append((number, clock.monotonic()))

    tasks = [asyncio.create_task(caller(number)) for number in range(count)]
    await settle()
    return tasks, admitted


async def eventually(condition: Callable[[], bool]) -> None:
    # For waits on real loopback I/O, which a FakeClock cannot drive.
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the condition never held")


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_bursts_n_calls_then_admits_each_as_the_oldest_leaves() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=3, period=10.0, margin=0.1)

    tasks, admitted = await start_callers(limiter, clock, 7)
    burst = [at for _, at in admitted]
    await clock.advance(30.0)
    await asyncio.gather(*tasks)

    assert burst == [0.0, 0.0, 0.0]
    assert [at for _, at in admitted] == pytest.approx(
        [0.0, 0.0, 0.0, 10.1, 10.1, 10.1, 20.2]
    )


async def test_staggered_calls_each_wait_for_their_own_slot_to_leave() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=2, period=10.0, margin=0.1)

    await limiter.acquire()
    await clock.advance(4.0)
    await limiter.acquire()
    tasks, admitted = await start_callers(limiter, clock, 2)
    await clock.advance(20.0)
    await asyncio.gather(*tasks)

    assert [at for _, at in admitted] == pytest.approx([10.1, 14.1])


async def test_admits_callers_first_come_first_served() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=2, period=10.0)

    tasks, admitted = await start_callers(limiter, clock, 8)
    await clock.advance(10.1)
    # A newcomer when slots have just freed queues behind earlier waiters.
    late, late_admitted = await start_callers(limiter, clock, 1)
    await clock.advance(40.0)
    await asyncio.gather(*tasks, *late)

    assert [number for number, _ in admitted] == list(range(8))
    assert late_admitted[0][1] > admitted[-1][1]


async def test_a_caller_cancelled_while_waiting_costs_no_capacity() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=1, period=10.0)
    await limiter.acquire()

    tasks, admitted = await start_callers(limiter, clock, 3)
    tasks[0].cancel()
    await clock.advance(25.0)
    await asyncio.gather(*tasks[1:])

    assert tasks[0].cancelled()
    assert admitted == [(1, pytest.approx(10.1)), (2, pytest.approx(20.2))]


class StepClock:
    """A clock whose single sleeper the test wakes by hand, at a chosen moment."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeper: asyncio.Future[None] | None = None

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_800_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeper = asyncio.get_running_loop().create_future()
        await self.sleeper


async def test_a_caller_cancelled_right_after_admission_gives_its_slot_back() -> None:
    clock = StepClock()
    limiter = SlidingWindowLimiter(PUBLISH, RateLimit(1, 10.0), margin=0.0, clock=clock)
    await limiter.acquire()
    admitted: list[str] = []

    async def caller(name: str) -> None:
        await limiter.acquire()
        admitted.append(name)

    first = asyncio.create_task(caller("first"))
    second = asyncio.create_task(caller("second"))
    await settle()

    # The timer admits "first"; it is cancelled before it runs again.
    clock.now = 10.0
    assert clock.sleeper is not None
    clock.sleeper.set_result(None)
    asyncio.get_running_loop().call_soon(first.cancel)
    await settle()

    assert first.cancelled()
    assert admitted == ["second"]
    assert clock.now == 10.0
    await second


async def test_max_wait_raises_at_once_and_takes_nothing() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=1, period=10.0, margin=0.1)
    await limiter.acquire()

    with pytest.raises(LimitWaitTooLongError) as raised:
        await limiter.acquire(max_wait=5.0)
    tasks, admitted = await start_callers(limiter, clock, 1)
    await clock.advance(10.1)
    await asyncio.gather(*tasks)

    assert raised.value.operation == "publish"
    assert raised.value.delay == pytest.approx(10.1)
    assert admitted == [(0, pytest.approx(10.1))]


async def test_max_wait_counts_the_callers_queued_ahead() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=2, period=10.0, margin=0.0)
    tasks, _ = await start_callers(limiter, clock, 6)

    with pytest.raises(LimitWaitTooLongError) as raised:
        await limiter.acquire(max_wait=25.0)
    await clock.advance(20.0)
    await asyncio.gather(*tasks)

    assert raised.value.delay == pytest.approx(30.0)


async def test_ten_thousand_waiters_share_one_timer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Ten thousand "waits for a slot" lines would only slow the test down.
    caplog.set_level(logging.WARNING, logger="postqued_async._limits")
    clock = FakeClock()
    limiter = sliding(clock, calls=1000, period=1.0, margin=0.0)

    tasks, admitted = await start_callers(limiter, clock, 10_000)
    others = asyncio.all_tasks() - set(tasks) - {asyncio.current_task()}
    sleepers = clock.sleepers
    await clock.advance(10.0)
    await asyncio.gather(*tasks)

    assert len(others) == 1
    assert sleepers == 1
    assert len(admitted) == 10_000
    assert admitted[-1][1] == pytest.approx(9.0)
    assert clock.sleepers == 0


async def test_the_timer_ends_when_nobody_waits() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=1, period=10.0)
    tasks, _ = await start_callers(limiter, clock, 2)
    await clock.advance(10.1)
    await asyncio.gather(*tasks)

    await settle()

    assert clock.sleepers == 0
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_status_shows_calls_left_and_when_the_next_slot_opens() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=3, period=10.0, margin=0.1)

    await limiter.acquire()
    await clock.advance(2.0)
    await limiter.acquire()
    partly_used = limiter.status()
    await limiter.acquire()
    await clock.advance(1.0)
    used_up = limiter.status()

    assert (partly_used.remaining, partly_used.next_slot_in) == (1, 0.0)
    assert used_up.limit == 3
    assert used_up.remaining == 0
    assert used_up.next_slot_in == pytest.approx(7.1)


async def test_a_long_wait_is_logged_with_operation_and_delay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=1, period=10.0, margin=0.1)
    await limiter.acquire()

    with caplog.at_level(logging.INFO, logger="postqued_async"):
        tasks, _ = await start_callers(limiter, clock, 1)
    await clock.advance(10.1)
    await asyncio.gather(*tasks)

    assert any(
        "publish" in record.getMessage() and "10.10s" in record.getMessage()
        for record in caplog.records
        if record.levelno == logging.INFO
    )


async def test_pause_holds_every_call_for_retry_after_plus_spread() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=5, period=10.0, rng=FixedRandom(0.5))

    limiter.pause(4.0)
    tasks, admitted = await start_callers(limiter, clock, 1)
    await clock.advance(10.0)
    await asyncio.gather(*tasks)

    # 4 s asked, plus half of the 10 % jitter: 4.2 s.
    assert admitted == [(0, pytest.approx(4.2))]


async def test_pause_is_capped() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=5, period=10.0, rng=FixedRandom(0.0))

    limiter.pause(3600.0)

    assert limiter.status().next_slot_in == pytest.approx(30.0)


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = 1_800_000_000.0
    date = format_datetime(datetime.fromtimestamp(now + 7, UTC), usegmt=True)

    assert parse_retry_after("3", now=now) == 3.0
    assert parse_retry_after(date, now=now) == pytest.approx(7.0)
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("-5", now=now) == 0.0


async def test_server_headers_lower_the_limit_and_block_until_reset() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=10, period=10.0)
    await limiter.acquire()

    limiter.observe(limit=3, remaining=0, reset=4.0)
    status = limiter.status()
    tasks, admitted = await start_callers(limiter, clock, 1)
    await clock.advance(5.0)
    await asyncio.gather(*tasks)

    assert (status.limit, status.remaining) == (3, 0)
    assert status.next_slot_in == pytest.approx(4.0)
    assert admitted == [(0, pytest.approx(4.0))]


async def test_server_remaining_caps_what_may_start_before_reset() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=10, period=10.0)

    limiter.observe(limit=10, remaining=2, reset=6.0)
    await limiter.acquire()
    await limiter.acquire()
    tasks, admitted = await start_callers(limiter, clock, 1)
    await clock.advance(7.0)
    await asyncio.gather(*tasks)

    assert admitted == [(0, pytest.approx(6.0))]


async def test_a_stale_looser_report_does_not_replace_a_stricter_one() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=10, period=10.0)

    limiter.observe(limit=10, remaining=0, reset=5.0)
    limiter.observe(limit=10, remaining=4, reset=0.0)

    assert limiter.status().remaining == 0
    assert limiter.status().next_slot_in == pytest.approx(5.0)


async def test_a_whole_second_reset_does_not_delay_our_own_exact_slot() -> None:
    # Our log frees a slot at 10.1 s; the server rounds its reset up to 11.
    clock = FakeClock()
    limiter = sliding(clock, calls=1, period=10.0, margin=0.1)
    await limiter.acquire()

    limiter.observe(limit=1, remaining=0, reset=11.0)

    assert limiter.status().next_slot_in == pytest.approx(10.1)


async def test_a_raised_limit_wakes_waiters_at_once() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=1, period=10.0)
    await limiter.acquire()
    tasks, admitted = await start_callers(limiter, clock, 1)

    limiter.observe(limit=2, remaining=1, reset=0.0)
    await settle()
    await asyncio.gather(*tasks)

    assert admitted == [(0, 0.0)]


async def test_clients_with_one_key_share_limits_and_other_keys_do_not() -> None:
    clock = FakeClock()
    limits = Limits(publish=RateLimit(2, 10.0))
    first = PostQued("pq_shared_key", base_url="http://127.0.0.1:1", clock=clock)
    second = PostQued("pq_shared_key", base_url="http://127.0.0.1:1", clock=clock)
    other = PostQued("pq_other_key", base_url="http://127.0.0.1:1", clock=clock)
    async with first, second, other:
        await shared_limits("pq_shared_key", limits, clock)[PUBLISH].acquire()
        for client in (first, second, other):
            await client._transport.limits[PUBLISH].acquire()

        assert first._transport.limits is second._transport.limits
        assert first.limits["publish"].remaining == 7
        assert other.limits["publish"].remaining == 9


def test_a_limiter_survives_asyncio_run_twice_and_keeps_its_history() -> None:
    clock = FakeClock()
    limiter = sliding(clock, calls=2, period=10.0, margin=0.0)

    async def burst() -> None:
        await limiter.acquire()
        await limiter.acquire()

    async def one_more() -> float:
        waiter = asyncio.create_task(limiter.acquire())
        await settle()
        await clock.advance(10.0)
        await waiter
        return clock.monotonic()

    asyncio.run(burst())
    admitted_at = asyncio.run(one_more())

    assert admitted_at == pytest.approx(10.0)


async def test_leaky_bucket_strategy_is_selectable() -> None:
    limit_set = LimitSet(
        Limits(publish=RateLimit(3, 60.0), strategy="leaky_bucket"), clock=FakeClock()
    )
    limiter = limit_set[PUBLISH]

    for _ in range(3):
        await limiter.acquire()
    with pytest.raises(LimitWaitTooLongError):
        await limiter.acquire(max_wait=1.0)

    assert isinstance(limiter, LeakyBucketLimiter)
    assert limiter.status().remaining == 0
    assert limiter.status().next_slot_in == pytest.approx(20.0, abs=0.5)


def _refuse_once(
    retry_after: Callable[[], str],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    calls = 0

    async def accounts(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.json_response(
                {"error": "slow down", "code": "RATE_LIMITED"},
                status=429,
                headers={"Retry-After": retry_after()},
            )
        return web.json_response({"accounts": []})

    return accounts


@pytest.mark.parametrize("form", ["seconds", "http-date"])
async def test_a_429_pauses_only_its_operation_and_the_retry_waits_its_turn(
    form: str,
) -> None:
    clock = FakeClock()

    def retry_after() -> str:
        if form == "seconds":
            return "5"
        moment = datetime.fromtimestamp(clock.time() + 5, UTC)
        return format_datetime(moment, usegmt=True)

    app = web.Application()
    app.router.add_get("/v1/platform-accounts", _refuse_once(retry_after))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    limit_set = LimitSet(Limits(), clock=clock, rng=FixedRandom(1.0))
    try:
        async with PostQued(
            "pq_pause_test",
            base_url=f"http://127.0.0.1:{port}",
            limits=limit_set,
            retry=RetryPolicy(attempts=2, base=0.01),
            clock=clock,
        ) as pq:
            call = asyncio.create_task(pq.accounts.list())
            await eventually(lambda: pq.limits["read"].next_slot_in > 0.0)
            paused = pq.limits
            await clock.advance(5.4)
            still_waiting = not call.done()
            await clock.advance(0.2)
            await asyncio.wait_for(call, 5.0)
    finally:
        await runner.cleanup()

    # 5 s asked plus the full 10 % spread: 5.5 s; other operations go on.
    assert paused["read"].next_slot_in == pytest.approx(5.5)
    assert paused["publish"].next_slot_in == 0.0
    assert still_waiting


async def test_unlimited_operations_obey_a_429_only_up_to_max_pause() -> None:
    clock = FakeClock()
    limits = LimitSet(Limits(read=None, max_pause=5.0, pause_jitter=0.0), clock=clock)
    reads = limits[Operation.READ]

    reads.pause(3600)

    assert reads.status().next_slot_in == pytest.approx(5.0)
