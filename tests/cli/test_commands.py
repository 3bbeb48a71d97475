"""The ``postqued`` commands, run through their async core against a sandbox."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import EXAMPLES, write_manifest
from rich.console import Console

from postqued_async import PostQued, Publish, Target
from postqued_async.cli._main import amain, build_parser
from postqued_async.resources import PublishResource
from postqued_async.sandbox import Sandbox


class Run:
    """One command's exit code and what it wrote to stdout and stderr."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err


async def run(*argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    code = await amain(
        list(argv),
        console=Console(file=out, width=200),
        errors=Console(file=err, width=200),
    )
    return Run(code, out.getvalue(), err.getvalue())


def test_help_lists_every_command() -> None:
    text = build_parser().format_help()

    for command in ("accounts", "upload", "publish", "status", "sandbox", "campaign"):
        assert command in text


async def test_campaign_run_with_sandbox_writes_report(tmp_path: Path) -> None:
    image = EXAMPLES / "media/team.jpg"
    manifest = write_manifest(
        tmp_path,
        f"one,{image},Hi,tiktok,creator_one,publish,,",
        f"two,{image},Hi,tiktok,creator_two,draft,+0.2s,",
    )
    report_path = tmp_path / "report.json"

    result = await run(
        "campaign",
        "run",
        str(manifest),
        "--sandbox",
        "--report",
        str(report_path),
        "--poll-interval",
        "0.1",
    )

    assert result.code == 0, result.out + result.err
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["ok"] is True
    assert report["totals"]["succeeded"] == 2
    assert [post["status"] for post in report["posts"]] == ["published", "sent"]
    assert report["posts"][1]["scheduled"] is True
    assert "2 of 2 posts sent or published" in result.out


async def test_campaign_run_with_bad_manifest_exits_2(tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path, "one,nowhere.mp4,Hi,tiktok,creator_one,publish,+1d,"
    )

    result = await run("campaign", "run", str(manifest), "--sandbox")

    assert result.code == 2
    assert "campaign.csv line 2 (one), column media" in result.err
    assert "campaign.csv line 2 (one), column dispatch_at" in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "campaign-report.json").exists()


async def test_accounts_and_status_commands(sb: Sandbox, pq: PostQued) -> None:
    image = await pq.content.upload(EXAMPLES / "media/team.jpg")
    account = await pq.accounts.get("creator_one")
    publish = await pq.publish.create([image], [Target.tiktok(account, "Hi")])
    server = ("--base-url", sb.url, "--api-key", sb.api_key)

    accounts = await run(*server, "accounts", "--platform", "tiktok")
    status = await run(
        *server, "status", publish.id, "--wait", "--poll-interval", "0.05"
    )

    assert accounts.code == 0
    assert "creator_one" in accounts.out
    assert "creator_one_ig" not in accounts.out
    assert status.code == 0
    assert "published" in status.out
    assert sb.api_key not in accounts.out + status.out


async def test_upload_then_publish_commands(sb: Sandbox) -> None:
    server = ("--base-url", sb.url, "--api-key", sb.api_key)

    upload = await run(
        *server, "upload", str(EXAMPLES / "media/cover.jpg"), "missing.jpg"
    )
    content_id = next(
        line.split("│")[2].strip()
        for line in upload.out.splitlines()
        if "cover.jpg" in line and "│" in line
    )
    publish = await run(
        *server,
        "publish",
        "--content",
        content_id,
        "--account",
        "creator_two",
        "--platform",
        "tiktok",
        "--caption",
        "Hi",
        "--option",
        "privacyLevel=SELF_ONLY",
        "--option",
        "disableComment=true",
        "--idempotency-key",
        "cli-test-1",
        "--wait",
        "--poll-interval",
        "0.05",
    )

    assert upload.code == 1
    assert "missing.jpg" in upload.out
    assert "1 of 2 files failed" in upload.out
    assert publish.code == 0, publish.out + publish.err
    assert "idempotency key: cli-test-1" in publish.out
    assert "published" in publish.out


async def test_sdk_error_is_one_line_without_the_key(sb: Sandbox) -> None:
    key = "pq_not_a_real_key_123"

    result = await run("--base-url", sb.url, "--api-key", key, "accounts")

    assert result.code == 1
    assert result.err.startswith("error: AuthenticationError: 401")
    assert len(result.err.strip().splitlines()) == 1
    assert key not in result.err + result.out


async def test_global_options_work_after_the_command(sb: Sandbox) -> None:
    result = await run("accounts", "--base-url", sb.url, "--api-key", sb.api_key)

    assert result.code == 0, result.err
    assert "creator_one" in result.out


@pytest.mark.parametrize(
    "argv",
    [
        ("accounts", "--bogus", "--api-key", "pq_sandbox_s3cret"),
        ("accounts", "--bogus", "pq_sandbox_s3cret"),
        ("status", "p_1", "--timeout", "pq_sandbox_s3cret"),
    ],
)
async def test_argument_errors_never_show_the_key(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        await run(*argv)

    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert "error:" in err
    assert "s3cret" not in err


async def test_rerun_with_report_follows_and_says_so(tmp_path: Path) -> None:
    image = EXAMPLES / "media/team.jpg"
    manifest = write_manifest(
        tmp_path,
        f"one,{image},Hi,tiktok,creator_one,publish,+0.2s,",
        f"two,{image},Hi,tiktok,creator_two,draft,,",
    )
    report_path = tmp_path / "report.json"
    argv = ("campaign", "run", str(manifest), "--report", str(report_path))
    fast = ("--poll-interval", "0.05")

    async with Sandbox(queue_delay=0.05, processing_delay=0.05) as sb:
        server = ("--base-url", sb.url, "--api-key", sb.api_key)
        await run(*argv, *server, *fast)
        first = json.loads(report_path.read_text(encoding="utf-8"))
        again = await run(*argv, *server, *fast)
    second = json.loads(report_path.read_text(encoding="utf-8"))

    assert again.code == 0, again.out + again.err
    assert "Following 2 posts from the previous run" in again.out
    assert "Publishing" not in again.out
    for key in ("dispatchAt", "contentIds", "publishId", "status"):
        assert [p[key] for p in second["posts"]] == [p[key] for p in first["posts"]]
    assert second["posts"][0]["dispatchAt"] is not None
    assert first["posts"][0]["dispatchAt"][:19] in again.out


async def test_post_sent_by_an_earlier_run_does_not_fail_the_command(
    tmp_path: Path,
) -> None:
    image = EXAMPLES / "media/team.jpg"
    manifest = write_manifest(tmp_path, f"one,{image},Hi,tiktok,creator_one,publish,,")

    async with Sandbox(queue_delay=0.05, processing_delay=0.05) as sb:
        argv = ("campaign", "run", str(manifest), "--base-url", sb.url)
        key = ("--api-key", sb.api_key, "--poll-interval", "0.05")
        await run(*argv, *key, "--report", str(tmp_path / "a.json"))
        again = await run(*argv, *key, "--report", str(tmp_path / "b.json"))

    assert again.code == 0, again.out + again.err
    assert "already_sent" in again.out
    assert "1 already sent by an earlier run, not posted again" in again.out
    assert "already sent this post under idempotency key" in again.out


async def test_missing_key_is_an_input_error(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("POSTQUED_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)

    result = await run("--base-url", sb.url, "accounts")

    assert result.code == 2
    assert "POSTQUED_API_KEY" in result.err
    assert "--api-key" in result.err


async def test_unknown_platform_is_named_as_written(sb: Sandbox) -> None:
    server = ("--base-url", sb.url, "--api-key", sb.api_key)
    publish = ("publish", "--content", "c_1", "--account", "creator_one")

    result = await run(*server, *publish, "--platform", "bogus", "--caption", "Hi")
    listed = await run(*server, "accounts", "--platform", "Bogus")

    assert result.code == 2
    assert result.err.startswith("error: unknown platform 'bogus'; use one of: ")
    assert "<Platform" not in result.err
    assert listed.code == 2
    assert "unknown platform 'Bogus'" in listed.err


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--timeout", "-5"),
        ("--timeout", "0"),
        ("--timeout", "nan"),
        ("--poll-interval", "0"),
        ("--poll-interval", "-1"),
        ("--poll-interval", "soon"),
        ("--concurrency", "0"),
        ("--concurrency", "two"),
    ],
)
async def test_campaign_run_refuses_a_count_or_time_that_is_not_positive(
    option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_manifest(tmp_path)

    with pytest.raises(SystemExit) as exited:
        await run("campaign", "run", str(manifest), "--sandbox", option, value)

    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert f"argument {option}: " in err
    assert "_positive" not in err


@pytest.mark.parametrize("option", ["--timeout", "--poll-interval"])
async def test_status_wait_refuses_a_time_that_is_not_positive(
    option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        await run("status", "p_1", "--wait", option, "-0.5")

    assert exited.value.code == 2
    assert "must be more than 0 seconds" in capsys.readouterr().err


async def test_run_cut_short_still_reports_what_it_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = EXAMPLES / "media/team.jpg"
    manifest = write_manifest(
        tmp_path,
        f"one,{image},Hi,tiktok,creator_one,publish,,",
        f"two,{image},Crash,tiktok,creator_two,publish,,",
    )
    report_path = tmp_path / "report.json"
    create = PublishResource.create
    one_created = asyncio.Event()

    async def create_or_crash(
        self: PublishResource,
        content_ids: Sequence[str],
        targets: Sequence[Target],
        **options: Any,
    ) -> Publish:
        if targets[0].caption != "Crash":
            publish = await create(self, content_ids, targets, **options)
            one_created.set()
            return publish
        await one_created.wait()
        raise RuntimeError("the client broke")

    monkeypatch.setattr(PublishResource, "create", create_or_crash)
    async with Sandbox(queue_delay=0.05, processing_delay=0.05) as sb:
        argv = ("campaign", "run", str(manifest), "--report", str(report_path))
        server = ("--base-url", sb.url, "--api-key", sb.api_key)
        fast = ("--poll-interval", "0.05")
        with pytest.raises(ExceptionGroup) as crashed:
            await run(*argv, *server, *fast)
        cut_short = json.loads(report_path.read_text(encoding="utf-8"))
        monkeypatch.undo()
        again = await run(*argv, *server, *fast)
        created = sb.ledger.count_by_idempotency_key()
    resumed = json.loads(report_path.read_text(encoding="utf-8"))

    assert crashed.group_contains(RuntimeError, match="the client broke")
    one, two = cut_short["posts"]
    assert one["publishId"] is not None
    assert one["contentIds"]
    assert two["publishId"] is None
    assert cut_short["finishedAt"] is None
    assert again.code == 0, again.out + again.err
    assert resumed["posts"][0]["publishId"] == one["publishId"]
    assert resumed["posts"][0]["resumed"] is True
    assert [post["status"] for post in resumed["posts"]] == ["published"] * 2
    assert sorted(created.values()) == [1, 1]
