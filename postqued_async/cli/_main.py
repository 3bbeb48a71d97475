"""The ``postqued`` command: accounts, upload, publish, status, sandbox, campaign.

Every command but ``sandbox`` talks to the API with the key from
``--api-key``, ``POSTQUED_API_KEY`` or a ``.env`` file. An SDK error ends
the command with one line on stderr, never a traceback, and the key is never
shown, not even by an argument error: anything that looks like a key is
masked. ``--api-key``, ``--base-url`` and ``-v`` go before or after the
command. Exit codes: 0 all went well, 1 something failed at the API or a post
did not go out, 2 the input was wrong and nothing was sent, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import re
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from postqued_async import __version__
from postqued_async._client import PostQued
from postqued_async._enums import Intent, Platform
from postqued_async._errors import (
    ConfigurationError,
    PostQuedError,
    PublishWaitTimeoutError,
    ValidationError,
)
from postqued_async._targets import Target
from postqued_async.cli._campaign import (
    read_previous_posts,
    run_campaign,
    upload_files,
)
from postqued_async.cli._manifest import Manifest, read_manifest
from postqued_async.cli._render import (
    CampaignView,
    accounts_table,
    publish_table,
    summary_notes,
    summary_table,
    uploads_table,
)
from postqued_async.sandbox import Sandbox
from postqued_async.sandbox._serve import build_parser as sandbox_parser
from postqued_async.sandbox._serve import config_from_args, serve_forever

__all__ = ["amain", "build_parser", "main"]

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130

DEFAULT_REPORT = "campaign-report.json"

_LOG_WIDTH = 160

# A key's own characters; argparse's quotes and commas around it stay.
_API_KEY = re.compile(r"pq_[^\s'\",]+")

_PLATFORMS = ", ".join(platform.value for platform in Platform)

# The SDK's own message speaks of PostQued(api_key=...); a shell user needs
# the command's names for the same settings.
_CONFIGURATION_HINT = (
    "hint: the command takes the key from --api-key or POSTQUED_API_KEY, and "
    "the API origin from --base-url or POSTQUED_BASE_URL (either variable may "
    "be in the environment or a .env file)"
)

_CAMPAIGN_RUN_HELP = """\
Check the whole manifest, upload its media once each, publish every post under
an idempotency key derived from the post's row, and follow each to its end.

A post whose key an earlier run already used (the same row, sent with other
uploads) is reported as already_sent and not posted again; it does not count
as a failure. Rerun with that run's --report to follow those posts instead.

Exit codes: 0 every post was sent, published or already sent; 1 a post
failed or did not go out; 2 the manifest is wrong and nothing was sent.
"""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors never show an API key."""

    def error(self, message: str) -> NoReturn:
        # argparse quotes the arguments it could not use, a key among them.
        super().error(_API_KEY.sub("pq_***", message))


def _global_options(*, suppress: bool) -> _Parser:
    # Read before the command and after it; after, they default to SUPPRESS
    # so an option given only before the command is not reset.
    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    options = _Parser(add_help=False)
    options.add_argument(
        "--api-key",
        default=default(None),
        help="the pq_... key (default: POSTQUED_API_KEY from the environment or .env)",
    )
    options.add_argument(
        "--base-url",
        default=default(None),
        help="the API origin (default: POSTQUED_BASE_URL or the service)",
    )
    options.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default(0),
        help="log to stderr (-vv: more)",
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    """The ``postqued`` command line."""
    parser = _Parser(
        prog="postqued",
        description="Upload media and publish or schedule posts with PostQued.",
        parents=[_global_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=__version__)
    after = [_global_options(suppress=True)]
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    accounts = commands.add_parser(
        "accounts", help="list the connected accounts", parents=after
    )
    accounts.add_argument(
        "--platform", help=f"only this platform's accounts: {_PLATFORMS}"
    )

    upload = commands.add_parser(
        "upload", help="upload media, print content ids", parents=after
    )
    upload.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="a video or image to upload; give several to upload them together",
    )
    upload.add_argument(
        "--concurrency",
        type=_positive_int,
        default=4,
        metavar="N",
        help="files uploading at the same time (default: 4)",
    )

    publish = commands.add_parser(
        "publish", help="publish uploaded content", parents=after
    )
    publish.add_argument(
        "--content",
        action="append",
        required=True,
        metavar="ID",
        help="a content id; repeat for a carousel",
    )
    publish.add_argument(
        "--account",
        required=True,
        metavar="USERNAME",
        help="the connected account to post to",
    )
    publish.add_argument(
        "--platform", required=True, help=f"the account's platform: {_PLATFORMS}"
    )
    publish.add_argument("--caption", required=True, help="the text of the post")
    publish.add_argument("--intent", choices=("draft", "publish"), default="publish")
    publish.add_argument(
        "--dispatch-at",
        type=_instant,
        metavar="ISO",
        help="when to post, e.g. 2026-03-01T15:00:00Z (default: now)",
    )
    publish.add_argument(
        "--option",
        action="append",
        default=[],
        type=_option,
        metavar="KEY=VALUE",
        help="a platform option in the API's name, e.g. privacyLevel=SELF_ONLY; "
        "the value is read as JSON when it can be",
    )
    publish.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="reuse to repeat a publish safely (default: a fresh key)",
    )
    _wait_options(publish)

    status = commands.add_parser("status", help="show a publish request", parents=after)
    status.add_argument(
        "publish_id",
        metavar="PUBLISH_ID",
        help="the id `postqued publish` or a campaign report gave",
    )
    _wait_options(status)

    # The sandbox's own parser reads its options (see ``postqued sandbox -h``).
    commands.add_parser(
        "sandbox", help="serve a local PostQued sandbox", add_help=False
    )

    campaign = commands.add_parser(
        "campaign", help="run a campaign manifest", parents=after
    )
    campaign_commands = campaign.add_subparsers(
        dest="campaign_command", required=True, metavar="COMMAND"
    )
    run = campaign_commands.add_parser(
        "run",
        help="check, upload, publish and follow every post of a manifest",
        description=_CAMPAIGN_RUN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=after,
    )
    run.add_argument(
        "manifest",
        type=Path,
        metavar="MANIFEST",
        help="the campaign CSV; media paths in it are relative to its folder",
    )
    run.add_argument(
        "--sandbox",
        action="store_true",
        help="run against a sandbox started in this process",
    )
    run.add_argument(
        "--report",
        type=Path,
        default=Path(DEFAULT_REPORT),
        metavar="PATH",
        help=f"where to write the JSON report (default: {DEFAULT_REPORT}); "
        "an earlier run's report there makes this run follow its posts",
    )
    run.add_argument(
        "--concurrency",
        type=_positive_int,
        default=4,
        metavar="N",
        help="media files uploading at the same time (default: 4)",
    )
    run.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=600.0,
        metavar="S",
        help="seconds to wait for each post to end (default: 600)",
    )
    run.add_argument(
        "--poll-interval",
        type=_positive_seconds,
        default=2.0,
        metavar="S",
        help="seconds between status checks (default: 2)",
    )
    return parser


def _wait_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--wait", action="store_true", help="wait for every target to end"
    )
    command.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=600.0,
        metavar="S",
        help="with --wait, seconds to wait in all (default: 600)",
    )
    command.add_argument(
        "--poll-interval",
        type=_positive_seconds,
        default=2.0,
        metavar="S",
        help="with --wait, seconds between status checks (default: 2)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``postqued`` command; answer its exit code."""
    command = build_parser().parse_known_args(argv)[0].command
    try:
        return asyncio.run(amain(argv))
    except KeyboardInterrupt:
        # Ctrl-C is how a sandbox is meant to stop; anything else was cut short.
        if command == "sandbox":
            return EXIT_OK
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


async def amain(
    argv: Sequence[str] | None = None,
    *,
    console: Console | None = None,
    errors: Console | None = None,
) -> int:
    """The command, for a running event loop; answer its exit code."""
    if console is None:
        console = Console()
        if not console.is_terminal:
            # A log or a file does not wrap: keep ids whole rather than cut.
            console = Console(width=_LOG_WIDTH)
    errors = errors or Console(stderr=True)
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command != "sandbox" and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    _configure_logging(args.verbose)

    try:
        if args.command == "sandbox":
            options = sandbox_parser(prog="postqued sandbox").parse_args(rest)
            await serve_forever(config_from_args(options), options.host, options.port)
            return EXIT_OK
        if args.command == "campaign":
            return await _campaign_run(args, console)
        async with PostQued(args.api_key, base_url=args.base_url) as pq:
            if args.command == "accounts":
                return await _accounts(pq, args, console)
            if args.command == "upload":
                return await _upload(pq, args, console)
            if args.command == "publish":
                return await _publish(pq, args, console)
            return await _status(pq, args, console)
    except ConfigurationError as exc:
        _print_error(errors, f"error: {exc}")
        _print_error(errors, _CONFIGURATION_HINT)
        return EXIT_INPUT
    except ValidationError as exc:
        _print_error(errors, f"error: {exc}")
        return EXIT_INPUT
    except PostQuedError as exc:
        _print_error(errors, f"error: {type(exc).__name__}: {exc}")
        return EXIT_FAILED


def _print_error(errors: Console, line: str) -> None:
    # soft_wrap: a long problem line stays one line, as it was written.
    errors.print(line, markup=False, highlight=False, soft_wrap=True)


async def _accounts(pq: PostQued, args: argparse.Namespace, console: Console) -> int:
    platform = None
    if args.platform is not None:
        platform = Platform.parse(args.platform, "platform")
    accounts = await pq.accounts.list(platform)
    console.print(accounts_table(accounts))
    return EXIT_OK


async def _upload(pq: PostQued, args: argparse.Namespace, console: Console) -> int:
    view = CampaignView(console)
    try:
        uploads = await upload_files(
            pq, args.files, concurrency=args.concurrency, observer=view
        )
    finally:
        view.close()
    console.print(uploads_table(list(uploads.values())))
    failed = sum(upload.error is not None for upload in uploads.values())
    if failed:
        console.print(f"{failed} of {len(uploads)} files failed to upload")
        return EXIT_FAILED
    return EXIT_OK


async def _publish(pq: PostQued, args: argparse.Namespace, console: Console) -> int:
    platform = Platform.parse(args.platform, "platform")
    account = await pq.accounts.get(args.account, platform=platform)
    target = Target.for_platform(
        platform,
        account,
        args.caption,
        intent=Intent.parse(args.intent, "intent"),
        dispatch_at=args.dispatch_at,
        options=dict(args.option),
    )
    publish = await pq.publish.create(
        args.content, [target], idempotency_key=args.idempotency_key
    )
    console.print(f"publish id: {publish.id}")
    console.print(f"idempotency key: {publish.idempotency_key}")
    if not args.wait:
        console.print(publish_table(publish))
        return EXIT_OK
    return await _follow(pq, publish.id, args, console)


async def _status(pq: PostQued, args: argparse.Namespace, console: Console) -> int:
    if args.wait:
        return await _follow(pq, args.publish_id, args, console)
    console.print(publish_table(await pq.publish.get(args.publish_id)))
    return EXIT_OK


async def _follow(
    pq: PostQued, publish_id: str, args: argparse.Namespace, console: Console
) -> int:
    try:
        with console.status(f"waiting for publish {publish_id}"):
            publish = await pq.publish.wait(
                publish_id, timeout=args.timeout, poll_interval=args.poll_interval
            )
    except PublishWaitTimeoutError as exc:
        console.print(publish_table(exc.publish))
        raise
    console.print(publish_table(publish))
    return EXIT_OK if publish.succeeded else EXIT_FAILED


async def _campaign_run(args: argparse.Namespace, console: Console) -> int:
    # Check the whole manifest before starting anything, a sandbox included.
    manifest = await asyncio.to_thread(read_manifest, args.manifest)

    if args.sandbox:
        async with Sandbox() as sandbox:
            console.print(f"sandbox serving at {sandbox.url}")
            async with PostQued(sandbox.api_key, base_url=sandbox.url) as pq:
                return await _run_with(pq, manifest, args, console)
    async with PostQued(args.api_key, base_url=args.base_url) as pq:
        return await _run_with(pq, manifest, args, console)


async def _run_with(
    pq: PostQued, manifest: Manifest, args: argparse.Namespace, console: Console
) -> int:
    previous = read_previous_posts(args.report, pq.base_url)
    if previous:
        console.print(f"resuming the run {args.report} reports")
    view = CampaignView(console)
    try:
        report = await run_campaign(
            manifest,
            pq,
            concurrency=args.concurrency,
            timeout=args.timeout,
            poll_interval=args.poll_interval,
            previous=previous,
            observer=view,
        )
    finally:
        view.close()
        # Cut short by Ctrl-C or a crash, the run still leaves the publish
        # ids it reached, which a rerun with this --report resumes from.
        if view.report is not None:
            view.report.write(args.report)
            if view.report.finished_at is None:
                console.print(
                    f"the run stopped early; what it reached is in {args.report}"
                )

    console.print(summary_table(report))
    for note in summary_notes(report):
        console.print(note, markup=False, highlight=False)
    for post in report.posts:
        for message in [*post.errors, *post.notes]:
            console.print(
                f"{post.post_id}: {message}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    seconds = report.to_json()["seconds"]
    console.print(f"report written to {args.report} ({seconds:.1f}s)")
    return EXIT_OK if report.ok else EXIT_FAILED


def _configure_logging(verbosity: int) -> None:
    if verbosity:
        level = logging.DEBUG if verbosity > 1 else logging.INFO
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds"
        ) from None
    # NaN fails every comparison, so it is caught by the same test.
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 instant such as 2026-03-01T15:00:00Z"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone, e.g. Z")
    return value


def _option(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        # Plain words such as SELF_ONLY are strings; no quotes needed.
        value = raw
    return name, value
