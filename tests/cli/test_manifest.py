"""The manifest is checked whole, before anything is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, write_manifest

from postqued_async import PostQued
from postqued_async.cli import ManifestError, read_manifest, run_campaign
from postqued_async.sandbox import Sandbox


def _problems(path: Path) -> dict[tuple[int, str], str]:
    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    return {(p.line, p.column): p.message for p in caught.value.problems}


def test_example_manifest_is_valid() -> None:
    manifest = read_manifest(EXAMPLES / "campaign.csv")

    assert [post.post_id for post in manifest.posts] == [
        f"launch-00{n}" for n in range(1, 8)
    ]
    assert sum(post.scheduled for post in manifest.posts) == 3
    assert len(manifest.media) == 6
    offsets = [p.dispatch_offset for p in manifest.posts if p.dispatch_offset]
    assert max(offsets) <= timedelta(seconds=10)


def test_every_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a video", encoding="utf-8")
    (tmp_path / "clip.mp4").write_bytes(
        (EXAMPLES / "media/product-loop.mp4").read_bytes()
    )
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    ok = "clip.mp4,Hi,tiktok,creator_one,publish"
    many = "|".join(["clip.mp4"] * 36)
    path = write_manifest(
        tmp_path,
        f"a,{ok},,",  # line 2: fine
        f",{ok},,",  # 3: no post_id
        f"a,{ok},,",  # 4: duplicate post_id
        "b,missing.mp4,Hi,tiktok,creator_one,publish,,",  # 5
        "c,notes.txt,Hi,tiktok,creator_one,publish,,",  # 6
        f"d,{many},Hi,tiktok,creator_one,publish,,",  # 7
        "e,clip.mp4,,tiktok,creator_one,publish,,",  # 8: empty caption
        f"f,clip.mp4,{'x' * 63_207},tiktok,creator_one,publish,,",  # 9
        "g,clip.mp4,Hi,myspace,creator_one,publish,,",  # 10
        "h,clip.mp4,Hi,tiktok,creator_one,post,,",  # 11
        f"i,{ok},2026-13-01,",  # 12
        f"j,{ok},{future},",  # 13: naive
        f"k,{ok},2020-01-01T00:00:00Z,",  # 14: past
        f"l,{ok},,{{not json",  # 15
        f'm,{ok},,"[1, 2]"',  # 16
        f'n,{ok},,"{{""privacyLevel"": ""EVERYONE""}}"',  # 17
        f'o,{ok},,"{{""disableDuets"": true}}"',  # 18
        f"p,{ok},+0s,",  # 19
        "q,clip.mp4,Hi,tiktok,,publish,,",  # 20: no account
    )

    problems = _problems(path)

    assert set(problems) == {
        (3, "post_id"),
        (4, "post_id"),
        (5, "media"),
        (6, "media"),
        (7, "media"),
        (8, "caption"),
        (9, "caption"),
        (10, "platform"),
        (11, "intent"),
        (12, "dispatch_at"),
        (13, "dispatch_at"),
        (14, "dispatch_at"),
        (15, "options"),
        (16, "options"),
        (17, "options"),
        (18, "options"),
        (19, "dispatch_at"),
        (20, "account"),
    }
    assert "line 2" in problems[(4, "post_id")]
    assert "missing.mp4" in problems[(5, "media")]
    assert problems[(5, "media")].startswith("missing.mp4: no such file")
    assert "relative to the manifest's folder" in problems[(5, "media")]
    assert "1 to 35" in problems[(7, "media")]
    assert "63,206" in problems[(9, "caption")]
    assert "time zone" in problems[(13, "dispatch_at")]
    assert "past" in problems[(14, "dispatch_at")]
    assert "disableDuets" in problems[(18, "options")]
    assert "TikTokOptions" not in problems[(18, "options")]


def test_option_problems_use_the_names_the_row_wrote(tmp_path: Path) -> None:
    image = EXAMPLES / "media/team.jpg"
    path = write_manifest(
        tmp_path,
        f'a,{image},Hi,tiktok,creator_one,publish,,"{{""disableDuet"": 3}}"',
    )

    message = _problems(path)[(2, "options")]

    assert message == "disableDuet must be true or false, not 3"


def test_error_names_file_line_post_and_column(tmp_path: Path) -> None:
    path = write_manifest(
        tmp_path,
        f"launch-001,{EXAMPLES / 'media/team.jpg'},Hi,tiktok,creator_one,publish,,",
        "launch-002,x.jpg,Hi,tiktok,creator_one,publish,,",
        f"launch-003,{EXAMPLES / 'media/team.jpg'},Hi,tiktok,a,publish,2026-13-01,",
    )

    with pytest.raises(ManifestError) as caught:
        read_manifest(path)

    message = str(caught.value)
    assert "2 problems" in message
    assert (
        "campaign.csv line 4 (launch-003), column dispatch_at: '2026-13-01' is not "
        "an ISO-8601 instant or +N[smh] offset" in message
    )
    assert "campaign.csv line 3 (launch-002), column media" in message


def test_header_must_name_every_column(tmp_path: Path) -> None:
    path = write_manifest(
        tmp_path,
        "a,clip.mp4,Hi,tiktok,creator_one,publish,",
        header="post_id,media,caption,platform,account,intent,dispatchAt",
    )

    problems = _problems(path)

    assert set(problems) == {(1, "dispatch_at"), (1, "options"), (1, "dispatchAt")}


def test_line_numbers_count_captions_over_several_lines(tmp_path: Path) -> None:
    image = EXAMPLES / "media/team.jpg"
    path = write_manifest(
        tmp_path,
        f'a,{image},"two\nlines",tiktok,creator_one,publish,,',
        f"b,{image},Hi,tiktok,creator_one,later,,",
    )

    assert set(_problems(path)) == {(4, "intent")}


def test_scheduled_offsets_count_from_the_given_start(tmp_path: Path) -> None:
    image = EXAMPLES / "media/team.jpg"
    path = write_manifest(
        tmp_path,
        f"a,{image},Hi,TikTok,@creator_one,draft,+2m,"
        '"{""privacyLevel"": ""SELF_ONLY""}"',
    )
    start = datetime(2030, 1, 1, tzinfo=UTC)

    (post,) = read_manifest(path).posts

    assert post.account == "creator_one"
    assert post.dispatch_time(start) == start + timedelta(minutes=2)
    wire = post.target("acc_1", post.dispatch_time(start)).to_wire()
    assert wire["options"] == {"privacyLevel": "SELF_ONLY"}
    assert wire["intent"] == "draft"


async def test_bad_manifest_sends_nothing(
    tmp_path: Path, sb: Sandbox, pq: PostQued
) -> None:
    path = write_manifest(
        tmp_path,
        f"a,{EXAMPLES / 'media/team.jpg'},Hi,tiktok,creator_one,publish,,",
        "b,missing.jpg,Hi,tiktok,creator_one,publish,,",
    )

    with pytest.raises(ManifestError):
        await run_campaign(path, pq)

    assert sb.requests == []
    assert len(sb.ledger) == 0


async def test_unknown_account_is_named_before_any_upload(
    tmp_path: Path, sb: Sandbox, pq: PostQued
) -> None:
    image = EXAMPLES / "media/team.jpg"
    path = write_manifest(
        tmp_path,
        f"a,{image},Hi,tiktok,creator_one,publish,,",
        f"b,{image},Hi,tiktok,creator_three,publish,,",
        f"c,{image},Hi,instagram,creator_one,publish,,",
    )

    with pytest.raises(ManifestError) as caught:
        await run_campaign(path, pq)

    problems = {(p.line, p.column): p.message for p in caught.value.problems}
    assert set(problems) == {(3, "account"), (4, "account")}
    assert "creator_one, creator_two" in problems[(3, "account")]
    assert "creator_one_ig" in problems[(4, "account")]
    assert [request.operation for request in sb.requests] == ["read"]
