"""The proof of exactly-once: 300 publishes through a seeded storm of faults.

The sandbox fails about 10 % of publish calls with 5xx, drops 5 % of the
connections after the post was created, holds 5 % of the answers back past
the client's timeout, and throws bursts of 429s; uploads meet 5xx from the
API and from storage, dropped connections and expired URLs. A careful
application repeats a publish whose outcome is unknown with the key on the
error, and that is all it does. The ledger must then hold every post once.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

import attrs
import pytest

from postqued_async import (
    APIError,
    ContentAsset,
    Limits,
    PostQued,
    PublishOutcomeUnknownError,
    RetryPolicy,
    StorageError,
    Target,
    TransportError,
)
from postqued_async.resources._publish import new_idempotency_key
from postqued_async.sandbox import FaultPlan, Sandbox

POSTS = 300
SEED = 20260714
CLIENT_TIMEOUT = 0.2


def chaos_plan() -> FaultPlan:
    return (
        FaultPlan(seed=SEED)
        .random("publish", rate=0.10, status=503)
        .reset_after_commit("publish", rate=0.05)
        .delay("publish", CLIENT_TIMEOUT * 1.5, rate=0.05)
        .rate_limit_storm("publish", count=12, retry_after=0.02, rate=0.03)
        .random("upload", rate=0.10, status=502)
        .rate_limit_storm("upload", count=2, retry_after=0.02, rate=0.05)
        .storage_error("InternalError", 500, rate=0.15)
        .reset_before_commit("storage", rate=0.05)
        .expire_urls(rate=0.2)
    )


def created_keys(sandbox: Sandbox) -> set[str]:
    return {p.idempotency_key for p in sandbox.state.publishes.values()}


@attrs.define
class Tally:
    uploads: int = 0
    upload_retries: int = 0
    first_try: int = 0
    recovered: int = 0
    unknown: int = 0
    failed: int = 0
    failed_keys: list[str] = attrs.Factory(list)
    keys_on_errors: set[str] = attrs.Factory(set)


async def test_chaos_publishes_every_post_exactly_once(media: Path) -> None:
    plan = chaos_plan()
    async with (
        Sandbox(
            fault_plan=plan,
            rate_limits_enabled=False,
            queue_delay=0.01,
            processing_delay=0.01,
        ) as sandbox,
        PostQued(
            sandbox.api_key,
            base_url=sandbox.url,
            limits=Limits.disabled(),
            retry=RetryPolicy(attempts=3, base=0.01, cap=0.05, max_retry_after=1.0),
            timeout=CLIENT_TIMEOUT,
            upload_stall_timeout=1.0,
        ) as pq,
    ):
        account = await pq.accounts.get("creator_one")
        tally = Tally()
        slots = asyncio.Semaphore(50)
        media_files = [media / "product-loop.mp4", media / "cover.jpg"]

        async def upload(number: int) -> ContentAsset:
            # Uploads are safe to repeat: a failed one leaves at most an
            # orphaned asset behind, never a post.
            for _ in range(10):
                try:
                    content = await pq.content.upload(media_files[number % 2])
                except (APIError, TransportError, StorageError):
                    tally.upload_retries += 1
                    continue
                tally.uploads += 1
                return content
            raise AssertionError(f"the media of post {number} never uploaded")

        async def post(number: int) -> None:
            target = Target.tiktok(account, caption=f"chaos post {number}")
            # The application's own key for this post, kept until it is out.
            key = new_idempotency_key()
            async with slots:
                video = await upload(number)
                posted[f"chaos post {number}"] = video.id
                uncertain = False
                for round_ in range(10):
                    try:
                        await pq.publish.create([video], [target], idempotency_key=key)
                    except PublishOutcomeUnknownError as unknown:
                        # The one recovery the SDK asks for: same key, again.
                        tally.unknown += 1
                        tally.keys_on_errors.add(unknown.idempotency_key)
                        uncertain = True
                        continue
                    except (APIError, TransportError):
                        # A definite "not created": unless an earlier round
                        # left it open, the server must not have the post.
                        tally.failed += 1
                        if not uncertain and key in created_keys(sandbox):
                            tally.failed_keys.append(key)
                        continue
                    if round_ == 0:
                        tally.first_try += 1
                    else:
                        tally.recovered += 1
                    return
            raise AssertionError(f"post {number} never went through")

        posted: dict[str, str] = {}
        await asyncio.gather(*(post(number) for number in range(POSTS)))
        await asyncio.sleep(0.1)
        published = sandbox.ledger.published()

    per_key = sandbox.ledger.count_by_idempotency_key()
    per_caption = Counter(entry.caption for entry in published)
    duplicates = sum(count - 1 for count in per_caption.values() if count > 1)
    print(
        f"\nchaos: {POSTS} posts, {tally.uploads} uploads "
        f"({tally.upload_retries} upload attempts failed); first try "
        f"{tally.first_try}, recovered {tally.recovered}; unknown outcomes "
        f"{tally.unknown}, definite failures {tally.failed}; ledger "
        f"{len(published)} published, {len(per_key)} keys, duplicates "
        f"{duplicates}; faults injected {dict(sorted(plan.injected.items()))}"
    )
    assert tally.failed_keys == [], "reported failed, yet created"
    assert tally.keys_on_errors <= set(per_key), "an unknown error's key is not ours"
    assert duplicates == 0
    assert set(per_key.values()) == {1}
    assert sorted(per_caption) == sorted(f"chaos post {n}" for n in range(POSTS))
    assert all(entry.content_ids == (posted[entry.caption],) for entry in published)
    assert tally.uploads == POSTS
    assert plan.injected["reset_after"] > 0
    assert plan.injected["delay_after"] > 0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
async def test_thousands_of_faulty_calls_leak_no_connection() -> None:
    plan = (
        FaultPlan(seed=SEED)
        .random("read", rate=0.1, status=503)
        .reset_before_commit("read", rate=0.05)
        .reset_after_commit("read", rate=0.05)
        .delay("read", CLIENT_TIMEOUT * 1.5, rate=0.03)
    )
    async with Sandbox(fault_plan=plan, rate_limits_enabled=False) as sandbox:
        before = open_fds()
        outcomes: Counter[str] = Counter()
        async with PostQued(
            sandbox.api_key,
            base_url=sandbox.url,
            limits=Limits.disabled(),
            retry=RetryPolicy(attempts=2, base=0.005, cap=0.01),
            timeout=CLIENT_TIMEOUT,
        ) as pq:

            async def read(number: int) -> None:
                try:
                    # Every seventh caller gives up early: a cancellation.
                    limit = 0.01 if number % 7 == 0 else None
                    await asyncio.wait_for(pq.accounts.list(), timeout=limit)
                except TimeoutError:
                    outcomes["cancelled"] += 1
                except (APIError, TransportError) as error:
                    outcomes[type(error).__name__] += 1
                else:
                    outcomes["ok"] += 1

            for start in range(0, 2000, 250):
                await asyncio.gather(*(read(n) for n in range(start, start + 250)))
        await asyncio.sleep(0.05)
        after = open_fds()

    print(f"\nleak check: 2000 reads {dict(outcomes)}; fds {before} -> {after}")
    assert outcomes["ok"] > 1000
    assert after <= before


async def test_cancelled_upload_batch_leaves_no_file_or_connection_open(
    media: Path,
) -> None:
    plan = FaultPlan().slow_storage(64 * 1024)
    async with Sandbox(fault_plan=plan) as sandbox:
        before = open_fds()
        async with PostQued(sandbox.api_key, base_url=sandbox.url) as pq:
            files = [media / "launch-teaser.mp4", media / "product-loop.mp4"] * 4
            batch = asyncio.ensure_future(pq.content.upload_all(files, concurrency=4))
            await asyncio.sleep(0.3)
            batch.cancel()
            with pytest.raises(asyncio.CancelledError):
                await batch
        await asyncio.sleep(0.05)
        after = open_fds()
        finished = [c for c in sandbox.state.contents.values() if c.status == "ready"]

    assert after <= before
    assert finished == []
