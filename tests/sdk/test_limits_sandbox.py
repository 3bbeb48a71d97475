"""The client's limits against the sandbox's, with one FakeClock for both."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from postqued_async import (
    ContentAsset,
    FakeClock,
    Limits,
    LimitSet,
    PlatformAccount,
    PostQued,
    RateLimit,
    RetryPolicy,
    Target,
)
from postqued_async.sandbox import Sandbox

WINDOW = 10.0


class NoJitter(random.Random):
    def random(self) -> float:
        return 0.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def client(sb: Sandbox, clock: FakeClock, publish: int, retry: RetryPolicy) -> PostQued:
    # Each test's own LimitSet, so no limiter is shared across tests.
    limits = LimitSet(
        Limits(publish=RateLimit(publish, WINDOW)), clock=clock, rng=NoJitter()
    )
    return PostQued(
        sb.api_key, base_url=sb.url, limits=limits, retry=retry, clock=clock
    )


async def run_all(
    clock: FakeClock, pq: PostQued, calls: list[Callable[[], Awaitable[Any]]]
) -> list[Any]:
    """Run calls at once, moving the clock only when all of them wait."""
    finished = 0

    async def counted(call: Callable[[], Awaitable[Any]]) -> Any:
        nonlocal finished
        try:
            return await call()
        finally:
            finished += 1

    tasks = [asyncio.create_task(counted(call)) for call in calls]
    while finished < len(tasks):
        status = pq.limits["publish"]
        if status.waiting + finished == len(tasks) and status.next_slot_in > 0:
            await clock.advance(status.next_slot_in)
        else:
            # Some call is on the wire; loopback I/O runs on real time.
            await asyncio.sleep(0.002)
    return await asyncio.gather(*tasks, return_exceptions=True)


async def setup(pq: PostQued, media: Path) -> tuple[ContentAsset, PlatformAccount]:
    video = await pq.content.upload(media / "product-loop.mp4")
    account = await pq.accounts.get("creator_one")
    return video, account


def publish_calls(
    pq: PostQued, video: ContentAsset, account: PlatformAccount, count: int
) -> list[Callable[[], Awaitable[Any]]]:
    target = Target.tiktok(account, "Paced", privacy_level="SELF_ONLY")
    return [lambda: pq.publish.create([video], [target]) for _ in range(count)]


def statuses(sb: Sandbox) -> list[int]:
    return [r.status for r in sb.requests if r.path == "/v1/content/publish"]


@pytest.fixture
async def start() -> AsyncIterator[Callable[..., Awaitable[Sandbox]]]:
    sandboxes: list[Sandbox] = []

    async def start_sandbox(**overrides: Any) -> Sandbox:
        sb = Sandbox(queue_delay=0.5, processing_delay=0.5, **overrides)
        await sb.start()
        sandboxes.append(sb)
        return sb

    yield start_sandbox
    for sb in sandboxes:
        await sb.close()


@pytest.mark.parametrize("headers", [False, True], ids=["quiet", "headers"])
@pytest.mark.parametrize("model", ["sliding", "calendar", "token_bucket"])
async def test_25_publishes_never_see_a_429_and_finish_as_early_as_allowed(
    start: Callable[..., Awaitable[Sandbox]],
    clock: FakeClock,
    media: Path,
    model: str,
    headers: bool,
) -> None:
    sb = await start(
        clock=clock,
        rate_limit_model=model,
        limits={"publish": 10},
        window=WINDOW,
        send_rate_limit_headers=headers,
    )
    async with client(sb, clock, 10, RetryPolicy.never()) as pq:
        video, account = await setup(pq, media)
        began = clock.monotonic()

        results = await run_all(clock, pq, publish_calls(pq, video, account, 25))

    assert not [r for r in results if isinstance(r, BaseException)]
    assert statuses(sb) == [201] * 25
    # Two full windows plus the default 1 % margin for each.
    assert clock.monotonic() - began == pytest.approx(2 * (WINDOW + 0.1))


async def test_a_server_stricter_than_the_client_gets_paused_for_and_retried(
    start: Callable[..., Awaitable[Sandbox]], clock: FakeClock, media: Path
) -> None:
    sb = await start(clock=clock, limits={"publish": 3}, window=WINDOW)
    retry = RetryPolicy(attempts=3, base=0.01)
    async with client(sb, clock, 5, retry) as pq:
        video, account = await setup(pq, media)
        began = clock.monotonic()

        results = await run_all(clock, pq, publish_calls(pq, video, account, 5))

    assert not [r for r in results if isinstance(r, BaseException)]
    assert sorted(statuses(sb)) == [201] * 5 + [429] * 2
    # Retry-After said 10 s; the retries waited for their own slot after it.
    assert clock.monotonic() - began == pytest.approx(WINDOW + 0.1)


async def test_rate_limit_headers_teach_the_client_the_servers_limit(
    start: Callable[..., Awaitable[Sandbox]], clock: FakeClock, media: Path
) -> None:
    sb = await start(
        clock=clock,
        limits={"publish": 3},
        window=WINDOW,
        send_rate_limit_headers=True,
    )
    async with client(sb, clock, 10, RetryPolicy.never()) as pq:
        video, account = await setup(pq, media)
        calls = publish_calls(pq, video, account, 5)

        await calls[0]()
        learned = pq.limits["publish"]
        results = await run_all(clock, pq, calls[1:])

    assert (learned.limit, learned.remaining) == (3, 2)
    assert not [r for r in results if isinstance(r, BaseException)]
    assert statuses(sb) == [201] * 5
