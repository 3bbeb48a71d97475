"""A campaign publishes every post exactly once, however often it is run."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cli_helpers import EXAMPLES, write_manifest

from postqued_async import FakeClock, Limits, LimitSet, PostQued, RateLimit
from postqued_async.cli import (
    CampaignReport,
    PreviousPost,
    campaign_idempotency_key,
    read_manifest,
    read_previous_posts,
    run_campaign,
)
from postqued_async.sandbox import FAIL_MARKER, Sandbox


async def test_example_campaign_publishes_every_post_once(
    campaign_dir: Path, sb: Sandbox, pq: PostQued
) -> None:
    report = await run_campaign(
        campaign_dir / "campaign.csv", pq, poll_interval=0.05, timeout=5
    )

    assert report.ok
    statuses = {post.post_id: post.status for post in report.posts}
    assert statuses == {
        "launch-001": "published",
        "launch-002": "published",
        "launch-003": "sent",
        "launch-004": "published",
        "launch-005": "published",
        "launch-006": "published",
        "launch-007": "sent",
    }
    manifest = read_manifest(campaign_dir / "campaign.csv")
    keys = {campaign_idempotency_key(post) for post in manifest.posts}
    assert sb.ledger.count_by_idempotency_key() == dict.fromkeys(keys, 1)
    assert {entry.publish_id for entry in sb.ledger.entries()} == {
        post.publish_id for post in report.posts
    }
    carousel = next(post for post in report.posts if post.post_id == "launch-002")
    assert len(carousel.content_ids) == 3
    assert carousel.dispatch_at is not None


async def test_media_used_by_several_posts_is_uploaded_once(
    campaign_dir: Path, sb: Sandbox, pq: PostQued
) -> None:
    report = await run_campaign(campaign_dir / "campaign.csv", pq, poll_interval=0.05)

    assert sorted(upload.path.name for upload in report.uploads) == [
        "behind-the-scenes.mp4",
        "cover.jpg",
        "launch-teaser.mp4",
        "logo-card.png",
        "product-loop.mp4",
        "team.jpg",
    ]
    starts = [r for r in sb.requests if r.path == "/v1/content/upload"]
    assert len(starts) == 3
    by_post = {post.post_id: post.content_ids for post in report.posts}
    assert by_post["launch-001"] == by_post["launch-005"]


async def test_rerun_with_report_follows_earlier_posts(
    campaign_dir: Path, sb: Sandbox, pq: PostQued
) -> None:
    manifest = campaign_dir / "campaign.csv"
    first = await run_campaign(manifest, pq, poll_interval=0.05)
    first.write(campaign_dir / "report.json")

    previous = read_previous_posts(campaign_dir / "report.json", pq.base_url)
    second = await run_campaign(manifest, pq, poll_interval=0.05, previous=previous)

    assert second.ok
    assert all(post.resumed for post in second.posts)
    assert [p.publish_id for p in second.posts] == [p.publish_id for p in first.posts]
    assert second.uploads == []
    assert len(sb.ledger.published()) == 7
    assert set(sb.ledger.count_by_idempotency_key().values()) == {1}


async def test_rerun_without_report_never_posts_twice(
    campaign_dir: Path, sb: Sandbox, pq: PostQued
) -> None:
    manifest = campaign_dir / "campaign.csv"
    await run_campaign(manifest, pq, poll_interval=0.05)

    second = await run_campaign(manifest, pq, poll_interval=0.05)

    # Sent before is no failure: the run did all it should.
    assert second.ok
    assert {post.status for post in second.posts} == {"already_sent"}
    assert second.totals["alreadySent"] == 7
    assert "already sent this post" in second.posts[0].errors[0]
    assert "--report" in second.posts[0].errors[0]
    assert len(sb.ledger.published()) == 7


async def test_renamed_copy_of_a_campaign_posts_nothing_again(
    campaign_dir: Path, sb: Sandbox, pq: PostQued
) -> None:
    original = campaign_dir / "campaign.csv"
    renamed = campaign_dir / "campaign-final-v2.csv"
    shutil.copy(original, renamed)
    await run_campaign(original, pq, poll_interval=0.05)

    copy = await run_campaign(renamed, pq, poll_interval=0.05)

    assert {post.status for post in copy.posts} == {"already_sent"}
    assert len(sb.ledger.published()) == 7


async def test_unrelated_campaigns_reusing_a_post_id_both_post(
    tmp_path: Path, sb: Sandbox, pq: PostQued
) -> None:
    image = EXAMPLES / "media/team.jpg"
    first, second = tmp_path / "spring", tmp_path / "autumn"
    first.mkdir()
    second.mkdir()
    spring = write_manifest(first, f"1,{image},Spring,tiktok,creator_one,publish,,")
    autumn = write_manifest(second, f"1,{image},Autumn,tiktok,creator_one,publish,,")

    reports = [
        await run_campaign(manifest, pq, poll_interval=0.05)
        for manifest in (spring, autumn)
    ]

    assert [report.posts[0].status for report in reports] == ["published"] * 2
    assert reports[0].posts[0].idempotency_key != reports[1].posts[0].idempotency_key
    assert len(sb.ledger.published()) == 2


def test_key_follows_the_row_as_written_not_the_file_name(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES / "media", tmp_path / "media")
    row = "a,media/team.jpg,Hi,tiktok,creator_one,publish,+5s,"
    one = write_manifest(tmp_path, row)
    renamed = one.rename(tmp_path / "renamed.csv")
    later = write_manifest(tmp_path, row.replace("+5s", "+6s"))

    keys = [
        campaign_idempotency_key(read_manifest(path).posts[0])
        for path in (renamed, later)
    ]
    again = campaign_idempotency_key(read_manifest(renamed).posts[0])

    assert keys[0] == again
    assert keys[0] != keys[1]


async def test_resumed_run_keeps_what_the_first_run_learned(
    campaign_dir: Path, sb: Sandbox, pq: PostQued
) -> None:
    manifest = campaign_dir / "campaign.csv"
    first = await run_campaign(manifest, pq, poll_interval=0.05)
    first.write(campaign_dir / "report.json")

    previous = read_previous_posts(campaign_dir / "report.json", pq.base_url)
    second = await run_campaign(manifest, pq, poll_interval=0.05, previous=previous)

    assert [p.dispatch_at for p in second.posts] == [p.dispatch_at for p in first.posts]
    assert [p.content_ids for p in second.posts] == [p.content_ids for p in first.posts]
    assert sum(p.dispatch_at is not None for p in second.posts) == 3
    assert all(p.content_ids for p in second.posts)


async def test_scheduled_post_whose_slot_comes_too_late_dispatches_on_creation(
    tmp_path: Path,
) -> None:
    # Two publishes per 10 s: the third and fourth posts would get their slot
    # after the time they were scheduled for, offset and absolute alike.
    clock = FakeClock()
    image = EXAMPLES / "media/team.jpg"
    at = datetime.fromtimestamp(clock.time(), UTC) + timedelta(seconds=5)
    manifest = write_manifest(
        tmp_path,
        *(f"p{n},{image},Hi {n},tiktok,creator_one,publish,+5s," for n in (1, 2, 3)),
        f"p4,{image},Hi 4,tiktok,creator_one,publish,{at.isoformat()},",
    )
    limits = LimitSet(Limits(publish=RateLimit(2, 10.0)), clock=clock)

    async with (
        Sandbox(
            clock=clock,
            queue_delay=0.05,
            processing_delay=0.05,
            limits={"publish": 2},
            window=10.0,
        ) as sb,
        PostQued(sb.api_key, base_url=sb.url, clock=clock, limits=limits) as pq,
    ):
        report = await _with_time_moving(
            clock, run_campaign(manifest, pq, poll_interval=1.0)
        )

    assert report.ok, [post.errors for post in report.posts]
    assert [post.dispatched_on_creation for post in report.posts] == [
        False,
        False,
        True,
        True,
    ]
    late = report.posts[3]
    assert late.dispatch_at is None
    assert "dispatch time passed while waiting for a publish slot" in late.notes[0]
    assert report.posts[0].dispatch_at is not None
    assert report.totals["dispatchedOnCreation"] == 2
    # The fake clock leaps 0.25 s while a create is on the wire, more than the
    # limiter's 0.1 s margin, so the sandbox may count a slot later than the
    # client did and answer 429; the retried create still posts once.
    publishes = [r.status for r in sb.requests if r.path == "/v1/content/publish"]
    assert publishes.count(201) == 4
    assert set(publishes) <= {201, 429}
    assert len(sb.ledger.published()) == 4


async def _with_time_moving(
    clock: FakeClock, campaign: Coroutine[Any, Any, CampaignReport]
) -> CampaignReport:
    # Loopback I/O runs on real time; in between, the fake clock leaps ahead.
    task = asyncio.create_task(campaign)
    while not task.done():
        await asyncio.sleep(0.003)
        await clock.advance(0.25)
    return await task


def test_report_from_another_server_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(
        json.dumps(
            {
                "baseUrl": "http://elsewhere",
                "posts": [{"idempotencyKey": "k", "publishId": "p"}],
            }
        ),
        encoding="utf-8",
    )

    assert read_previous_posts(path, "http://127.0.0.1:1") == {}
    assert read_previous_posts(path, "http://elsewhere") == {"k": PreviousPost("p")}


async def test_failed_target_fails_the_campaign_but_not_the_others(
    tmp_path: Path, sb: Sandbox, pq: PostQued
) -> None:
    image = EXAMPLES / "media/team.jpg"
    manifest = write_manifest(
        tmp_path,
        f"good,{image},Hi,tiktok,creator_one,publish,,",
        f"bad,{image},Hi {FAIL_MARKER},tiktok,creator_one,publish,,",
    )

    report = await run_campaign(manifest, pq, poll_interval=0.05)

    assert not report.ok
    assert [post.status for post in report.posts] == ["published", "failed"]
    assert report.totals["failed"] == 1
    assert report.posts[1].targets[0]["error"] is not None


def test_key_follows_what_the_media_show_not_their_names(tmp_path: Path) -> None:
    row = "1,clip.mp4,New video is out!,tiktok,creator_two,draft,,"
    keys = []
    for folder, video in (("w1", "product-loop.mp4"), ("w2", "launch-teaser.mp4")):
        (tmp_path / folder).mkdir()
        shutil.copy(EXAMPLES / "media" / video, tmp_path / folder / "clip.mp4")
        manifest = write_manifest(tmp_path / folder, row)
        keys.append(campaign_idempotency_key(read_manifest(manifest).posts[0]))

    assert keys[0] != keys[1]
