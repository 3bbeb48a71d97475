"""Retries: what is retried, how long the SDK waits, and what it never does."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from postqued_async import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    ClientClosedError,
    ContentAsset,
    IdempotencyConflictError,
    Limits,
    LimitSet,
    LimitWaitTooLongError,
    PlatformAccount,
    PostQued,
    PublishOutcomeUnknownError,
    RateLimit,
    RateLimitError,
    RetryPolicy,
    Target,
)
from postqued_async._errors import error_for_status
from postqued_async._retry import parse_retry_after
from postqued_async._transport import AttemptRecord
from postqued_async.resources._publish import _outcome_unknown
from postqued_async.sandbox import Sandbox

FAST = RetryPolicy(attempts=4, base=0.01, cap=0.02, max_retry_after=1.0)
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[PostQued]:
    async with PostQued(
        sandbox.api_key, base_url=sandbox.url, retry=FAST, timeout=0.3
    ) as pq:
        yield pq


@pytest.fixture
async def video(client: PostQued, media: Path) -> ContentAsset:
    return await client.content.upload(media / "product-loop.mp4")


@pytest.fixture
async def account(client: PostQued) -> PlatformAccount:
    return await client.accounts.get("creator_one")


def publish_bodies(sandbox: Sandbox) -> list[tuple[str, bytes]]:
    """Capture the key and raw body of every publish attempt that arrives."""
    seen: list[tuple[str, bytes]] = []

    async def capture(request: web.Request, operation: str | None) -> None:
        if operation == "publish":
            seen.append((request.headers["Idempotency-Key"], await request.read()))

    sandbox.state.fault_hooks.insert(0, capture)
    return seen


async def test_every_attempt_carries_the_same_key_and_bytes(
    sandbox: Sandbox, client: PostQued, video: ContentAsset, account: PlatformAccount
) -> None:
    attempts = publish_bodies(sandbox)
    sandbox.faults.status_sequence("publish", [503, 502, 500])

    publish = await client.publish.create([video], [Target.tiktok(account, "once")])

    assert len(attempts) == 4
    assert {key for key, _ in attempts} == {publish.idempotency_key}
    assert len({body for _, body in attempts}) == 1
    assert len(sandbox.state.publishes) == 1


async def test_other_4xx_are_never_retried(
    sandbox: Sandbox, client: PostQued, video: ContentAsset, account: PlatformAccount
) -> None:
    attempts = publish_bodies(sandbox)
    sandbox.faults.status_sequence("publish", [400, 409])

    with pytest.raises(BadRequestError):
        await client.publish.create([video], [Target.tiktok(account, "a")])
    with pytest.raises(IdempotencyConflictError):
        await client.publish.create([video], [Target.tiktok(account, "b")])

    assert len(attempts) == 2


async def test_real_idempotency_conflict_is_not_retried(
    sandbox: Sandbox, client: PostQued, video: ContentAsset, account: PlatformAccount
) -> None:
    first = await client.publish.create([video], [Target.tiktok(account, "one")])
    attempts = publish_bodies(sandbox)

    with pytest.raises(IdempotencyConflictError):
        await client.publish.create(
            [video],
            [Target.tiktok(account, "another")],
            idempotency_key=first.idempotency_key,
        )
    assert len(attempts) == 1


async def test_retry_after_is_a_floor_and_each_retry_is_logged(
    sandbox: Sandbox, client: PostQued, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="postqued_async")
    sandbox.faults.rate_limit_storm("read", count=1, retry_after=0.3)

    started = time.monotonic()
    await client.accounts.list()

    assert time.monotonic() - started >= 0.3
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 1
    assert "read" in retries[0]
    assert "attempt 1" in retries[0]
    assert "HTTP 429" in retries[0]


async def test_retry_after_beyond_the_maximum_raises_with_the_delay(
    sandbox: Sandbox, client: PostQued
) -> None:
    sandbox.faults.rate_limit_storm("read", count=1, retry_after=90)

    started = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        await client.accounts.list()

    assert caught.value.retry_after == 90
    assert time.monotonic() - started < 0.5


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = dt.datetime(2026, 7, 1, 12, 0, 0, tzinfo=dt.UTC).timestamp()

    assert parse_retry_after("7", now=now) == 7
    assert parse_retry_after("Wed, 01 Jul 2026 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("Wed, 01 Jul 2026 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None


async def test_deadline_bounds_the_whole_call(
    sandbox: Sandbox, client: PostQued, video: ContentAsset, account: PlatformAccount
) -> None:
    sandbox.faults.delay("publish", 1.0)

    started = time.monotonic()
    with pytest.raises(PublishOutcomeUnknownError):
        await client.publish.create(
            [video], [Target.tiktok(account, "late")], deadline=0.5
        )

    assert time.monotonic() - started < 0.75


async def test_lost_answer_is_unknown_and_the_same_key_finds_the_post(
    sandbox: Sandbox, client: PostQued, video: ContentAsset, account: PlatformAccount
) -> None:
    sandbox.faults.delay("publish", 0.3, rate=1.0)
    target = Target.tiktok(account, "lost answer")

    with pytest.raises(PublishOutcomeUnknownError) as caught:
        await client.publish.create([video], [target], deadline=0.45)
    sandbox.state.fault_hooks.clear()  # the next answer arrives in time
    again = await client.publish.create(
        [video], [target], idempotency_key=caught.value.idempotency_key
    )

    assert list(sandbox.state.publishes) == [again.id]


async def test_nothing_sent_is_a_plain_connection_error(
    video: ContentAsset, account: PlatformAccount, sandbox: Sandbox
) -> None:
    async with PostQued(
        sandbox.api_key, base_url="http://127.0.0.1:9", retry=FAST
    ) as pq:
        with pytest.raises(APIConnectionError) as caught:
            await pq.publish.create([video], [Target.tiktok(account, "never")])

    assert not isinstance(caught.value, PublishOutcomeUnknownError)


async def test_retried_put_reads_the_file_again_from_the_start(
    sandbox: Sandbox, client: PostQued, media: Path
) -> None:
    sandbox.faults.status_sequence("storage", [500, 503])
    reported: list[tuple[int, int]] = []

    video = await client.content.upload(
        media / "launch-teaser.mp4", progress=lambda s, t: reported.append((s, t))
    )

    size = (media / "launch-teaser.mp4").stat().st_size
    stored = sandbox.state.objects[sandbox.state.contents[video.id].key]
    assert stored.size == size
    puts = [r for r in sandbox.requests if r.method == "PUT"]
    assert [r.status for r in puts] == [500, 503, 200]
    assert reported[-1] == (size, size)


def sparse_video(path: Path, size: int) -> Path:
    with path.open("wb") as file:
        file.write(MP4_HEAD)
        file.truncate(size)
    return path


async def test_slow_but_moving_upload_is_never_cut_off(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # Two and a half times the stall timeout in all, but always moving.
    video = sparse_video(tmp_path / "slow.mp4", 16 * 1024 * 1024)
    sandbox.faults.slow_storage(16 * 1024 * 1024)
    async with PostQued(
        sandbox.api_key,
        base_url=sandbox.url,
        retry=RetryPolicy.never(),
        upload_stall_timeout=0.4,
    ) as pq:
        started = time.monotonic()
        asset = await pq.content.upload_video(
            video, width=1080, height=1920, duration_ms=1000
        )

    assert asset.size == 16 * 1024 * 1024
    assert time.monotonic() - started > 0.8


async def test_stalled_upload_is_cut_off_by_the_watchdog(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    video = sparse_video(tmp_path / "stall.mp4", 64 * 1024 * 1024)
    sandbox.faults.slow_storage(1)
    async with PostQued(
        sandbox.api_key,
        base_url=sandbox.url,
        retry=RetryPolicy.never(),
        upload_stall_timeout=0.3,
    ) as pq:
        with pytest.raises(APITimeoutError, match="no progress"):
            await pq.content.upload_video(
                video, width=1080, height=1920, duration_ms=1000
            )


async def test_a_retry_that_cannot_get_a_slot_in_time_leaves_the_outcome_open(
    sandbox: Sandbox, video: ContentAsset, account: PlatformAccount
) -> None:
    sandbox.faults.delay("publish", 0.3, rate=1.0)
    async with PostQued(
        sandbox.api_key,
        base_url=sandbox.url,
        retry=FAST,
        timeout=0.1,
        # A set of its own: this key's shared set already has other limits.
        limits=LimitSet(Limits(publish=RateLimit(1, 60.0))),
    ) as pq:
        with pytest.raises(PublishOutcomeUnknownError) as caught:
            await pq.publish.create(
                [video], [Target.tiktok(account, "one slot")], max_wait=1.0
            )

    assert isinstance(caught.value.__cause__, LimitWaitTooLongError)


async def test_small_upload_draining_slowly_from_the_send_buffer_is_not_cut_off(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # The whole file fits in the system's send buffer at once, so no chunk
    # shows progress while storage reads it for longer than the stall timeout.
    video = sparse_video(tmp_path / "small.mp4", 64 * 1024)
    sandbox.faults.slow_storage(128 * 1024)
    async with PostQued(
        sandbox.api_key,
        base_url=sandbox.url,
        retry=RetryPolicy.never(),
        upload_stall_timeout=0.2,
    ) as pq:
        asset = await pq.content.upload_video(
            video, width=1080, height=1920, duration_ms=1000
        )

    assert asset.size == 64 * 1024


async def test_closing_the_client_during_a_retry_keeps_the_key(
    sandbox: Sandbox, client: PostQued, video: ContentAsset, account: PlatformAccount
) -> None:
    sandbox.faults.status_sequence("publish", [503])
    slow = PostQued(
        sandbox.api_key,
        base_url=sandbox.url,
        retry=RetryPolicy(attempts=3, base=0.2, cap=0.2, jitter=0.0),
    )
    create = asyncio.ensure_future(
        slow.publish.create([video], [Target.tiktok(account, "closing")])
    )
    # Polling the sandbox's log is the simplest way to see the 503 arrive.
    while not any(r.path == "/v1/content/publish" for r in sandbox.requests):  # noqa: ASYNC110
        await asyncio.sleep(0.01)

    await slow.close()

    with pytest.raises(PublishOutcomeUnknownError) as caught:
        await create
    assert isinstance(caught.value.__cause__, ClientClosedError)


async def test_an_accepted_publish_with_an_unreadable_answer_keeps_the_key(
    sandbox: Sandbox, client: PostQued, video: ContentAsset, account: PlatformAccount
) -> None:
    async def proxy_page(request: web.Request, operation: str | None) -> web.Response:
        return web.Response(status=201, text="<html>accepted</html>")

    sandbox.state.fault_hooks.append(proxy_page)

    with pytest.raises(PublishOutcomeUnknownError) as caught:
        await client.publish.create([video], [Target.tiktok(account, "lost page")])

    assert caught.value.idempotency_key


@pytest.mark.parametrize(
    ("status", "open_"), [(400, False), (409, False), (403, True), (404, True)]
)
def test_only_a_refusal_of_the_request_itself_settles_an_open_outcome(
    status: int, open_: bool
) -> None:
    record = AttemptRecord(attempts=2, maybe_processed=True)
    error = error_for_status(status, message="m", code=None, request_id=None)

    assert _outcome_unknown(error, record) is open_
