"""The sandbox's fault plan: each fault does what it says, and seeds repeat."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from postqued_async import (
    PostQued,
    PublishOutcomeUnknownError,
    RetryPolicy,
    StorageError,
    Target,
)
from postqued_async.sandbox import FaultPlan, Sandbox

FAST = RetryPolicy(attempts=4, base=0.01, cap=0.02)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _get_accounts(http: aiohttp.ClientSession, sb: Sandbox) -> int:
    async with http.get(
        f"{sb.url}/v1/platform-accounts",
        headers={"Authorization": f"Bearer {sb.api_key}"},
    ) as response:
        await response.read()
        return response.status


async def test_status_sequence_answers_in_order_then_lets_requests_through(
    http: aiohttp.ClientSession,
) -> None:
    plan = FaultPlan().status_sequence("read", [503, 500, 200, 502])
    async with Sandbox(fault_plan=plan) as sb:
        statuses = [await _get_accounts(http, sb) for _ in range(5)]

    assert statuses == [503, 500, 200, 502, 200]
    assert plan.injected["status"] == 3


async def test_same_seed_injects_the_same_faults(http: aiohttp.ClientSession) -> None:
    runs = []
    for _ in range(2):
        plan = FaultPlan(seed=42).random("GET /v1/platform-accounts", rate=0.5)
        async with Sandbox(fault_plan=plan, rate_limits_enabled=False) as sb:
            runs.append([await _get_accounts(http, sb) for _ in range(20)])

    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 503}


async def test_storm_sends_retry_after_in_seconds_or_as_a_date(
    http: aiohttp.ClientSession,
) -> None:
    when = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    plan = (
        FaultPlan()
        .rate_limit_storm("read", count=1, retry_after=0.25)
        .rate_limit_storm("publish", count=1, retry_after=when)
    )
    async with Sandbox(fault_plan=plan) as sb:
        headers = {"Authorization": f"Bearer {sb.api_key}"}
        async with http.get(f"{sb.url}/v1/platform-accounts", headers=headers) as r:
            assert r.status == 429
            assert r.headers["Retry-After"] == "0.25"
        async with http.post(f"{sb.url}/v1/content/publish", headers=headers) as r:
            assert r.status == 429
            assert r.headers["Retry-After"] == "Tue, 01 Jan 2030 00:00:00 GMT"


async def test_storm_at_rate_one_refuses_every_request(
    http: aiohttp.ClientSession,
) -> None:
    plan = FaultPlan().rate_limit_storm("read", count=2, rate=1.0, retry_after=0.1)
    async with Sandbox(fault_plan=plan) as sb:
        statuses = [await _get_accounts(http, sb) for _ in range(5)]

    assert statuses == [429] * 5
    assert plan.injected["storm"] == 5


async def test_storm_at_a_rate_starts_only_on_a_roll(
    http: aiohttp.ClientSession,
) -> None:
    plan = FaultPlan(seed=3).rate_limit_storm("read", count=1, rate=0.3)
    async with Sandbox(fault_plan=plan, rate_limits_enabled=False) as sb:
        statuses = [await _get_accounts(http, sb) for _ in range(20)]

    assert set(statuses) == {200, 429}
    assert plan.injected["storm"] == statuses.count(429)


async def test_reset_after_commit_creates_the_post_but_loses_the_answer(
    sandbox: Sandbox, media: Path
) -> None:
    async with PostQued(
        sandbox.api_key, base_url=sandbox.url, retry=RetryPolicy.never()
    ) as pq:
        video = await pq.content.upload(media / "launch-teaser.mp4")
        account = await pq.accounts.get("creator_one")
        sandbox.faults.reset_after_commit("publish", rate=1.0)

        with pytest.raises(PublishOutcomeUnknownError) as caught:
            await pq.publish.create([video], [Target.tiktok(account, caption="hi")])

    created = list(sandbox.state.publishes.values())
    assert [p.idempotency_key for p in created] == [caught.value.idempotency_key]


async def test_reset_before_commit_creates_nothing(
    http: aiohttp.ClientSession,
) -> None:
    plan = FaultPlan().reset_before_commit("publish", rate=1.0)
    async with Sandbox(fault_plan=plan) as sb:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.post(
                f"{sb.url}/v1/content/publish",
                headers={
                    "Authorization": f"Bearer {sb.api_key}",
                    "Idempotency-Key": "k1",
                },
                json={"contentIds": [], "targets": []},
            )
        assert sb.state.publishes == {}
        assert sb.requests[-1].status == 499


async def test_storage_faults_answer_in_s3_xml(http: aiohttp.ClientSession) -> None:
    plan = FaultPlan().storage_error("SlowDown", 503)
    async with Sandbox(fault_plan=plan) as sb:
        response = await http.put(f"{sb.url}/storage/postqued-sandbox-media/x")
        async with response:
            text = await response.text()
    assert response.status == 503
    assert "<Code>SlowDown</Code>" in text


async def test_expired_url_gets_one_fresh_start_then_the_error(
    sandbox: Sandbox, pq: PostQued, media: Path
) -> None:
    sandbox.faults.expire_urls(rate=1.0)

    with pytest.raises(StorageError) as caught:
        await pq.content.upload(media / "launch-teaser.mp4")

    assert caught.value.code == "AccessDenied"
    starts = [r for r in sandbox.requests if r.path == "/v1/content/upload"]
    assert len(starts) == 2
    assert sandbox.faults.injected["expire"] == 2


async def test_an_expired_url_is_replaced_and_the_upload_completes(
    media: Path,
) -> None:
    # Seed 4 expires two of these URLs, never a fresh one right after.
    plan = FaultPlan(seed=4).expire_urls(rate=0.5)
    async with (
        Sandbox(fault_plan=plan) as sb,
        PostQued(sb.api_key, base_url=sb.url, retry=FAST) as pq,
    ):
        videos = [await pq.content.upload(media / "product-loop.mp4") for _ in range(6)]

    assert all(video.status == "ready" for video in videos)
    assert plan.injected["expire"] == 2


def test_a_misspelt_fault_route_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault route"):
        FaultPlan().status_sequence("publish.create", [503])
