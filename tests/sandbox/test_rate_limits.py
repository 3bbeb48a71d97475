"""The three rate-limit models, driven by a FakeClock."""

import aiohttp
from sandbox_helpers import StartSandbox, bearer

from postqued_async import FakeClock
from postqued_async.sandbox import Sandbox

_LIMITS = {"upload": 3, "read": 3, "publish": 3, "delete": 3}


async def _read(http: aiohttp.ClientSession, sb: Sandbox) -> aiohttp.ClientResponse:
    response = await http.get(
        f"{sb.url}/v1/platform-accounts", headers=bearer(sb.api_key)
    )
    await response.read()
    return response


async def _reads(http: aiohttp.ClientSession, sb: Sandbox, count: int) -> list[int]:
    return [(await _read(http, sb)).status for _ in range(count)]


async def test_sliding_window_rejects_a_burst_straddling_the_minute(
    start_sandbox: StartSandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sb = await start_sandbox(limits=_LIMITS, window=10.0)

    first = await _reads(http, sb, 3)
    await clock.advance(9.0)
    early = await _read(http, sb)
    await clock.advance(1.0)
    freed = await _reads(http, sb, 3)

    assert first == [200, 200, 200]
    assert early.status == 429
    assert early.headers["Retry-After"] == "1"
    assert (await early.json())["code"] == "RATE_LIMITED"
    assert freed == [200, 200, 200]


async def test_sliding_window_refuses_leaky_bucket_pacing_that_bunches(
    start_sandbox: StartSandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    # A leaky bucket lets 3 calls through, then one per window/3; the sliding
    # window still counts the first 3 within any 10 s span.
    sb = await start_sandbox(limits=_LIMITS, window=10.0)

    await _reads(http, sb, 3)
    await clock.advance(10 / 3)
    paced = await _read(http, sb)

    assert paced.status == 429
    assert paced.headers["Retry-After"] == "7"


async def test_rejected_calls_do_not_consume_the_window(
    start_sandbox: StartSandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sb = await start_sandbox(limits=_LIMITS, window=10.0)

    await _reads(http, sb, 3)
    await clock.advance(5.0)
    rejected = await _reads(http, sb, 5)
    await clock.advance(5.0)
    after = await _reads(http, sb, 3)

    assert rejected == [429] * 5
    assert after == [200, 200, 200]


async def test_calendar_window_resets_at_the_boundary(
    start_sandbox: StartSandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sb = await start_sandbox(limits=_LIMITS, window=10.0, rate_limit_model="calendar")
    await clock.advance(10 - clock.time() % 10 - 1.0)

    before = await _reads(http, sb, 4)
    await clock.advance(1.0)
    after = await _reads(http, sb, 3)

    assert before == [200, 200, 200, 429]
    assert after == [200, 200, 200]


async def test_token_bucket_refills_continuously(
    start_sandbox: StartSandbox, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sb = await start_sandbox(
        limits=_LIMITS, window=9.0, rate_limit_model="token_bucket"
    )

    burst = await _reads(http, sb, 4)
    await clock.advance(3.0)
    refilled = await _reads(http, sb, 2)

    assert burst == [200, 200, 200, 429]
    assert refilled == [200, 429]


async def test_limits_are_per_operation_and_per_key(
    start_sandbox: StartSandbox, http: aiohttp.ClientSession
) -> None:
    sb = await start_sandbox(limits=_LIMITS, window=10.0)
    await _reads(http, sb, 3)

    other_key = await http.get(
        f"{sb.url}/v1/platform-accounts", headers=bearer(sb.issue_key())
    )
    delete = await http.delete(
        f"{sb.url}/v1/content/missing", headers=bearer(sb.api_key)
    )

    assert other_key.status == 200
    assert delete.status == 404


async def test_rate_limit_headers_are_sent_only_when_asked(
    start_sandbox: StartSandbox, http: aiohttp.ClientSession
) -> None:
    quiet = await start_sandbox(limits=_LIMITS, window=10.0)
    loud = await start_sandbox(
        limits=_LIMITS, window=10.0, send_rate_limit_headers=True
    )

    silent = await _read(http, quiet)
    statuses = [await _read(http, loud) for _ in range(4)]

    assert "X-RateLimit-Limit" not in silent.headers
    assert [r.headers["X-RateLimit-Remaining"] for r in statuses] == [
        "2",
        "1",
        "0",
        "0",
    ]
    assert statuses[0].headers["X-RateLimit-Limit"] == "3"
    assert statuses[0].headers["X-RateLimit-Reset"] == "0"
    assert statuses[3].headers["X-RateLimit-Reset"] == "10"


async def test_disabled_rate_limits_let_everything_through(
    start_sandbox: StartSandbox, http: aiohttp.ClientSession
) -> None:
    sb = await start_sandbox(limits=_LIMITS, rate_limits_enabled=False)

    assert await _reads(http, sb, 5) == [200] * 5
