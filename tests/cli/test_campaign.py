"""A campaign publishes every post exactly once, however often it is run."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import EXAMPLES, write_manifest

from postqued_async import PostQued
from postqued_async.cli import (
    PreviousPost,
    campaign_idempotency_key,
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
    keys = {
        campaign_idempotency_key("campaign.csv", post.post_id) for post in report.posts
    }
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

    assert not second.ok
    assert {post.status for post in second.posts} == {"conflict"}
    assert "not posted again" in second.posts[0].errors[0]
    assert len(sb.ledger.published()) == 7


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
