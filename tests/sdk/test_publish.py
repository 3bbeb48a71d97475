"""Publishing exactly once, and following a publish to its end."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postqued_async import (
    ContentAsset,
    FakeClock,
    IdempotencyConflictError,
    Limits,
    LimitSet,
    NotFoundError,
    PlatformAccount,
    PostQued,
    PublishStatus,
    PublishWaitTimeoutError,
    RateLimit,
    Target,
    TargetStatus,
    ValidationError,
)
from postqued_async.sandbox import FAIL_MARKER, Sandbox


@pytest.fixture
async def video(pq: PostQued, media: Path) -> ContentAsset:
    return await pq.content.upload(media / "product-loop.mp4")


@pytest.fixture
async def account(pq: PostQued) -> PlatformAccount:
    return await pq.accounts.get("creator_one")


def publishes(sandbox: Sandbox) -> list:  # type: ignore[type-arg]
    return [r for r in sandbox.requests if r.path == "/v1/content/publish"]


async def test_create_sends_a_fresh_idempotency_key_and_returns_it(
    pq: PostQued, sandbox: Sandbox, video: ContentAsset, account: PlatformAccount
) -> None:
    publish = await pq.publish.create([video], [Target.tiktok(account, "First!")])

    (request,) = publishes(sandbox)
    assert request.headers["Idempotency-Key"] == publish.idempotency_key
    assert uuid.UUID(publish.idempotency_key or "").version == 7
    assert publish.status is PublishStatus.PENDING
    assert publish.targets[0].status is TargetStatus.QUEUED


async def test_repeating_a_create_with_its_key_never_posts_twice(
    pq: PostQued, sandbox: Sandbox, video: ContentAsset, account: PlatformAccount
) -> None:
    targets = [Target.tiktok(account, "Only once", privacy_level="SELF_ONLY")]
    first = await pq.publish.create([video], targets, idempotency_key="post-42")

    again = await pq.publish.create([video], targets, idempotency_key="post-42")
    await pq.publish.wait(first.id, poll_interval=0.01)

    assert again.id == first.id
    assert sandbox.ledger.count_by_idempotency_key() == {"post-42": 1}


async def test_same_key_with_another_body_is_a_conflict(
    pq: PostQued, video: ContentAsset, account: PlatformAccount
) -> None:
    await pq.publish.create(
        [video], [Target.tiktok(account, "one")], idempotency_key="k-1"
    )

    with pytest.raises(IdempotencyConflictError) as caught:
        await pq.publish.create(
            [video], [Target.tiktok(account, "two")], idempotency_key="k-1"
        )

    assert caught.value.status == 409
    assert caught.value.code == "IDEMPOTENCY_CONFLICT"


async def test_tiktok_options_reach_the_wire_in_camel_case(
    pq: PostQued, sandbox: Sandbox, video: ContentAsset, account: PlatformAccount
) -> None:
    target = Target.tiktok(
        account,
        "Options",
        privacy_level="FOLLOWER_OF_CREATOR",
        disable_duet=True,
        disable_stitch=False,
        video_cover_timestamp_ms=1500,
        brand_content_toggle=True,
    )

    publish = await pq.publish.create([video], [target])

    assert publish.targets[0].options == {
        "privacyLevel": "FOLLOWER_OF_CREATOR",
        "disableDuet": True,
        "disableStitch": False,
        "videoCoverTimestampMs": 1500,
        "brandContentToggle": True,
    }


async def test_wait_follows_targets_to_their_final_status(
    pq: PostQued, video: ContentAsset, account: PlatformAccount
) -> None:
    other = await pq.accounts.get("creator_two")
    publish = await pq.publish.create(
        [video],
        [
            Target.tiktok(account, "live"),
            Target.tiktok(other, "to the inbox", intent="draft"),
        ],
    )

    final = await pq.publish.wait(publish.id, poll_interval=0.01)

    assert final.status is PublishStatus.COMPLETED
    assert [t.status for t in final.targets] == [
        TargetStatus.PUBLISHED,
        TargetStatus.SENT,
    ]
    assert final.targets[0].platform_post_id


async def test_a_failing_target_is_reported_with_its_error(
    pq: PostQued, sandbox: Sandbox, video: ContentAsset, account: PlatformAccount
) -> None:
    publish = await pq.publish.create(
        [video],
        [Target.tiktok(account, "fine"), Target.tiktok(account, f"bad {FAIL_MARKER}")],
    )

    final = await pq.publish.wait(publish.id, poll_interval=0.01)

    assert final.status is PublishStatus.PARTIAL_FAILED
    assert final.targets[1].status is TargetStatus.FAILED
    assert final.targets[1].error is not None
    assert len(sandbox.ledger.published()) == 1


async def test_scheduled_target_waits_for_its_dispatch_time(media: Path) -> None:
    clock = FakeClock(start=datetime(2026, 6, 1, tzinfo=UTC).timestamp())
    async with (
        Sandbox(clock=clock) as sandbox,
        PostQued(sandbox.api_key, base_url=sandbox.url, clock=clock) as pq,
    ):
        video = await pq.content.upload(media / "product-loop.mp4")
        account = await pq.accounts.get("creator_one")
        when = datetime(2026, 6, 1, 12, tzinfo=UTC)

        publish = await pq.publish.create(
            [video], [Target.tiktok(account, "at noon", dispatch_at=when)]
        )
        assert publish.targets[0].status is TargetStatus.SCHEDULED
        assert publish.targets[0].dispatch_at == when

        await clock.advance(12 * 3600 + 5)
        final = await pq.publish.get(publish.id)

    assert final.targets[0].status is TargetStatus.PUBLISHED


async def test_wait_gives_up_with_the_last_state(
    pq: PostQued, video: ContentAsset, account: PlatformAccount
) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    publish = await pq.publish.create(
        [video], [Target.tiktok(account, "later", dispatch_at=later)]
    )

    with pytest.raises(PublishWaitTimeoutError) as caught:
        await pq.publish.wait(publish.id, timeout=0.05, poll_interval=0.01)

    assert caught.value.publish.id == publish.id
    assert caught.value.publish.targets[0].status is TargetStatus.SCHEDULED


async def test_unknown_publish_id_is_not_found(pq: PostQued) -> None:
    with pytest.raises(NotFoundError) as caught:
        await pq.publish.get(str(uuid.uuid4()))

    assert caught.value.status == 404


@pytest.mark.parametrize(
    ("content_count", "target_count", "message"),
    [
        (0, 1, "1 to 35 content ids"),
        (36, 1, "1 to 35 content ids"),
        (1, 0, "1 to 10 targets"),
        (1, 11, "1 to 10 targets"),
    ],
)
async def test_too_many_or_too_few_items_are_refused_before_sending(
    pq: PostQued,
    sandbox: Sandbox,
    content_count: int,
    target_count: int,
    message: str,
) -> None:
    targets = [Target.tiktok("acc", f"post {n}") for n in range(target_count)]

    with pytest.raises(ValidationError, match=message):
        await pq.publish.create(["c"] * content_count, targets)

    assert sandbox.requests == []


async def test_dispatch_time_in_the_past_is_refused_before_sending(
    pq: PostQued, sandbox: Sandbox
) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)

    with pytest.raises(ValidationError, match="in the past"):
        await pq.publish.create(["c"], [Target.tiktok("a", "x", dispatch_at=yesterday)])

    assert sandbox.requests == []


async def test_expired_own_idempotency_key_is_refused(
    pq: PostQued, sandbox: Sandbox
) -> None:
    clock = FakeClock(start=datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    async with PostQued(sandbox.api_key, base_url=sandbox.url, clock=clock) as old:
        publish_resource = old.publish
        old_key = publish_resource._idempotency_key(None)

    with pytest.raises(ValidationError, match="24 h"):
        await pq.publish.create(
            ["c"], [Target.tiktok("a", "x")], idempotency_key=old_key
        )

    assert sandbox.requests == []


async def test_the_body_is_the_same_bytes_on_every_call(
    pq: PostQued, video: ContentAsset, account: PlatformAccount
) -> None:
    # Same inputs, same bytes: the server's byte comparison then accepts the
    # replay instead of calling it a conflict.
    targets = [Target.tiktok(account, "ünïcödé ✓", disable_comment=True)]

    first = await pq.publish.create([video.id], targets, idempotency_key="bytes")
    second = await pq.publish.create([video], targets, idempotency_key="bytes")

    assert first.id == second.id
    assert json.dumps(first.targets[0].options) == json.dumps(second.targets[0].options)


async def test_wait_reports_every_poll(
    pq: PostQued, video: ContentAsset, account: PlatformAccount
) -> None:
    publish = await pq.publish.create([video], [Target.tiktok(account, "watch")])
    seen: list[PublishStatus] = []

    final = await pq.publish.wait(
        publish.id, poll_interval=0.01, on_update=lambda p: seen.append(p.status)
    )

    assert seen
    assert seen[-1] is final.status


async def test_repeat_after_the_dispatch_time_replays_the_original(
    media: Path,
) -> None:
    clock = FakeClock(start=datetime(2026, 6, 1, tzinfo=UTC).timestamp())
    async with (
        Sandbox(clock=clock) as sandbox,
        PostQued(sandbox.api_key, base_url=sandbox.url, clock=clock) as pq,
    ):
        video = await pq.content.upload(media / "product-loop.mp4")
        account = await pq.accounts.get("creator_one")
        soon = datetime(2026, 6, 1, 0, 10, tzinfo=UTC)
        targets = [Target.tiktok(account, "soon", dispatch_at=soon)]
        first = await pq.publish.create([video], targets, idempotency_key="again")
        await clock.advance(3600)

        again = await pq.publish.create([video], targets, idempotency_key="again")
        with pytest.raises(ValidationError, match="in the past"):
            await pq.publish.create([video], targets)

    assert again.id == first.id
    assert sandbox.ledger.count_by_idempotency_key() == {"again": 1}


async def test_wait_keeps_its_timeout_even_when_reads_are_rate_limited(
    sandbox: Sandbox, video: ContentAsset, account: PlatformAccount
) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    async with PostQued(
        sandbox.api_key,
        base_url=sandbox.url,
        limits=LimitSet(Limits(read=RateLimit(1, 60.0))),
    ) as pq:
        publish = await pq.publish.create(
            [video], [Target.tiktok(account, "later", dispatch_at=later)]
        )
        started = time.monotonic()

        with pytest.raises(PublishWaitTimeoutError) as caught:
            await pq.publish.wait(publish.id, timeout=0.3, poll_interval=0.05)

    assert time.monotonic() - started < 5
    assert caught.value.publish.id == publish.id


@pytest.mark.parametrize("value", [0, -1])
async def test_wait_refuses_a_timeout_that_is_not_positive(
    pq: PostQued, value: float
) -> None:
    with pytest.raises(ValidationError, match="timeout must be positive"):
        await pq.publish.wait("some-id", timeout=value)
