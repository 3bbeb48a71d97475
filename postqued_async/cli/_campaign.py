"""Running a campaign: every post of a manifest uploaded, published, followed.

:func:`run_campaign` is the whole run and prints nothing; a
:class:`CampaignObserver` hears about each step (the CLI draws progress
bars from it) and the :class:`CampaignReport` it returns says how every post
ended.

Each post's idempotency key is derived from what the post is: its row's
``post_id`` and content as written (see :func:`campaign_idempotency_key`),
never from the manifest's file name. Running the same campaign again, or a
renamed copy of it, never posts twice: the API refuses a post it already has
under that key. Two unrelated campaigns that happen to reuse a ``post_id``
get different keys, so neither blocks the other.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import attrs

from postqued_async._client import PostQued
from postqued_async._clock import Clock
from postqued_async._converter import format_instant, parse_instant
from postqued_async._errors import (
    IdempotencyConflictError,
    LimitWaitTooLongError,
    PostQuedError,
    PublishOutcomeUnknownError,
    PublishWaitTimeoutError,
)
from postqued_async._models import PlatformAccount, Publish
from postqued_async.cli._manifest import (
    CampaignPost,
    Manifest,
    ManifestError,
    ManifestProblem,
    read_manifest,
)

__all__ = [
    "CampaignObserver",
    "CampaignReport",
    "PostOutcome",
    "PreviousPost",
    "UploadOutcome",
    "campaign_idempotency_key",
    "read_previous_posts",
    "run_campaign",
    "upload_files",
]

log = logging.getLogger(__name__)

# Fixed for good: changing it would give every post of every campaign a new
# idempotency key, so a re-run could post everything a second time.
_KEY_NAMESPACE = uuid.UUID("e496ce64-8d70-43ff-a74e-774d96a10490")

# A scheduled create must reach the server while its dispatch time is still
# ahead; this much is kept in hand for the request's own trip.
DISPATCH_LEAD = 2.0

SUCCEEDED = frozenset({"sent", "published"})
"""The final statuses a campaign counts as success."""

ALREADY_SENT = "already_sent"
"""An earlier run sent this very post; not a failure, and not sent again."""

DISPATCHED_ON_CREATION = (
    "its dispatch time passed while waiting for a publish slot; dispatched on creation"
)


def campaign_idempotency_key(post: CampaignPost) -> str:
    """The idempotency key of one post of a campaign, the same on every run.

    It is a UUIDv5 of the row's ``post_id`` and a canonical JSON of what the
    post is: the media files' contents (their SHA-256), caption, platform,
    account, intent, ``dispatch_at`` as written (``+5s``, not the instant it
    resolves to) and options. The manifest's file name and the media files'
    names play no part, so a renamed copy maps to the same keys, while an
    unrelated campaign reusing a ``post_id``, or a file name for another
    video, gets keys of its own.
    """
    post_is = {
        "media": list(post.media_digests or post.media_written),
        "caption": post.caption,
        "platform": post.platform.value,
        "account": post.account.casefold(),
        "intent": post.intent.value,
        "dispatchAt": post.dispatch_written,
        "options": post.options,
    }
    canonical = json.dumps(
        post_is, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return str(uuid.uuid5(_KEY_NAMESPACE, f"{post.post_id}\n{canonical}"))


@attrs.define
class UploadOutcome:
    """How one media file of the campaign was uploaded."""

    path: Path
    content_id: str | None = None
    error: str | None = None
    seconds: float | None = None


@attrs.define
class PostOutcome:
    """How one post of the campaign went, updated as the run goes on.

    ``status`` is the final status of the post's target (``sent``,
    ``published``, ``failed``, ``canceled``), the last status seen when the
    wait ran out (``scheduled``...), ``not_sent`` when no publish request
    was made, ``already_sent`` when an earlier run sent this very post (it
    is not sent again, and is no failure), or ``unknown`` when a publish
    request may or may not exist. ``notes`` say what went differently from
    the manifest without failing, such as a post dispatched on creation
    because its time passed while it waited for a publish slot.
    """

    post_id: str
    line: int
    platform: str
    account: str
    intent: str
    scheduled: bool
    idempotency_key: str
    media: list[str]
    account_id: str | None = None
    dispatch_at: str | None = None
    content_ids: list[str] = attrs.Factory(list)
    publish_id: str | None = None
    publish_status: str | None = None
    status: str = "pending"
    targets: list[dict[str, Any]] = attrs.Factory(list)
    errors: list[str] = attrs.Factory(list)
    notes: list[str] = attrs.Factory(list)
    resumed: bool = False
    dispatched_on_creation: bool = False
    timings: dict[str, float] = attrs.Factory(dict)

    @property
    def ok(self) -> bool:
        """Whether the post reached the creator: sent or published."""
        return self.status in SUCCEEDED

    @property
    def failed(self) -> bool:
        """Whether the post counts against the run: neither ok nor sent before."""
        return not self.ok and self.status != ALREADY_SENT

    def record(self, publish: Publish) -> None:
        """Take the state of the post's publish request."""
        self.publish_id = publish.id
        self.publish_status = publish.status.value
        self.targets = [
            {
                "id": target.id,
                "status": target.status.value,
                "platformPostId": target.platform_post_id,
                "error": (
                    {"code": target.error.code, "message": target.error.message}
                    if target.error
                    else None
                ),
            }
            for target in publish.targets
        ]
        statuses = {target.status.value for target in publish.targets}
        # One target per post; should a server answer more, the worst counts.
        for status in ("failed", "canceled", "processing", "queued", "scheduled"):
            if status in statuses:
                self.status = status
                break
        else:
            self.status = publish.targets[0].status.value if publish.targets else "?"
        for target in publish.targets:
            if target.error and target.error.message:
                error = f"target {target.id}: {target.error.message}"
                # Every poll reports the error again; the report names it once.
                if error not in self.errors:
                    self.errors.append(error)


@attrs.define
class CampaignReport:
    """How a campaign run went: every post and every upload."""

    campaign: str
    base_url: str
    started_at: datetime
    posts: list[PostOutcome]
    uploads: list[UploadOutcome] = attrs.Factory(list)
    finished_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether no post failed: each was sent, published or already sent."""
        return not any(post.failed for post in self.posts)

    @property
    def totals(self) -> dict[str, Any]:
        """Counts of posts by final status, and of uploads."""
        by_status: dict[str, int] = {}
        for post in self.posts:
            by_status[post.status] = by_status.get(post.status, 0) + 1
        return {
            "posts": len(self.posts),
            "succeeded": sum(post.ok for post in self.posts),
            "alreadySent": sum(post.status == ALREADY_SENT for post in self.posts),
            "failed": sum(post.failed for post in self.posts),
            "dispatchedOnCreation": sum(
                post.dispatched_on_creation for post in self.posts
            ),
            "byStatus": by_status,
            "uploads": len(self.uploads),
            "uploadsFailed": sum(upload.error is not None for upload in self.uploads),
        }

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (the ``--report`` file's content)."""
        seconds = None
        if self.finished_at is not None:
            seconds = round((self.finished_at - self.started_at).total_seconds(), 3)
        return {
            "campaign": self.campaign,
            "baseUrl": self.base_url,
            "startedAt": format_instant(self.started_at),
            "finishedAt": (
                format_instant(self.finished_at) if self.finished_at else None
            ),
            "seconds": seconds,
            "ok": self.ok,
            "totals": self.totals,
            "posts": [
                {
                    "postId": post.post_id,
                    "line": post.line,
                    "platform": post.platform,
                    "account": post.account,
                    "accountId": post.account_id,
                    "intent": post.intent,
                    "scheduled": post.scheduled,
                    "dispatchAt": post.dispatch_at,
                    "idempotencyKey": post.idempotency_key,
                    "media": post.media,
                    "contentIds": post.content_ids,
                    "publishId": post.publish_id,
                    "publishStatus": post.publish_status,
                    "status": post.status,
                    "targets": post.targets,
                    "errors": post.errors,
                    "notes": post.notes,
                    "resumed": post.resumed,
                    "dispatchedOnCreation": post.dispatched_on_creation,
                    "timings": post.timings,
                }
                for post in self.posts
            ],
            "uploads": [
                {
                    "media": upload.path.name,
                    "contentId": upload.content_id,
                    "error": upload.error,
                    "seconds": upload.seconds,
                }
                for upload in self.uploads
            ],
        }

    def write(self, path: str | Path) -> None:
        """Write the report as JSON."""
        text = json.dumps(self.to_json(), indent=2, ensure_ascii=False)
        Path(path).write_text(text + "\n", encoding="utf-8")


@attrs.frozen
class PreviousPost:
    """What an earlier run of a campaign learned about one post."""

    publish_id: str | None
    content_ids: tuple[str, ...] = ()
    dispatch_at: datetime | None = None
    notes: tuple[str, ...] = ()
    dispatched_on_creation: bool = False


def read_previous_posts(
    report_path: str | Path, base_url: str
) -> dict[str, PreviousPost]:
    """The posts an earlier report says were created, by idempotency key.

    Only a report of the same server counts; an unreadable or foreign report
    gives nothing, and the run starts afresh (its keys still prevent
    duplicates).
    """
    try:
        report = json.loads(Path(report_path).read_text(encoding="utf-8"))
        if report.get("baseUrl") != base_url:
            return {}
        previous = {}
        for post in report["posts"]:
            key = post["idempotencyKey"]
            when = post.get("dispatchAt")
            # Kept so the new report says as much as the old one did.
            found = PreviousPost(
                post.get("publishId"),
                tuple(post.get("contentIds") or ()),
                parse_instant(when) if when else None,
                tuple(post.get("notes") or ()),
                bool(post.get("dispatchedOnCreation")),
            )
            if found.publish_id:
                previous[key] = found
            elif post.get("status") == "unknown" and found.content_ids:
                # The create may have reached the server: repeat it byte for
                # byte (same content, same time), so the key is replayed.
                previous[key] = found
        return previous
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


class CampaignObserver:
    """Hears about each step of a campaign; every method does nothing here.

    Subclass it to show progress. The methods are called from the event
    loop and must not block.
    """

    def campaign_started(self, report: CampaignReport) -> None:
        """Every account is found and work begins.

        ``report`` is filled in as the run goes on; it is the one the run
        returns, and holds what was reached should the run be cut short.
        """

    def uploads_started(self, files: Sequence[Path]) -> None:
        """The distinct media files are about to be uploaded."""

    def upload_progress(self, path: Path, sent: int, total: int) -> None:
        """Bytes of one file have gone out."""

    def upload_finished(self, upload: UploadOutcome) -> None:
        """One file is uploaded, or failed."""

    def publishing_started(self, posts: Sequence[PostOutcome]) -> None:
        """Publish requests are about to be made.

        Posts an earlier run created are already marked ``resumed``: they are
        followed, not published.
        """

    def post_changed(self, post: PostOutcome) -> None:
        """A post was created, reached its end, or failed."""


async def run_campaign(
    manifest: Manifest | str | Path,
    client: PostQued,
    *,
    concurrency: int = 4,
    timeout: float = 600.0,
    poll_interval: float = 2.0,
    previous: Mapping[str, PreviousPost] | None = None,
    observer: CampaignObserver | None = None,
) -> CampaignReport:
    """Run a campaign: upload its media, publish every post, wait for the end.

    The manifest is checked completely and every account is looked up before
    anything is uploaded. Relative dispatch times (``+10m``) count from the
    moment publishing starts, once the media is up, so a slow upload never
    pushes a scheduled post into the past. A post whose media failed to
    upload is not sent; the others go on.

    A scheduled post waits for a publish slot (10 a minute) only while its
    dispatch time is at least :data:`DISPATCH_LEAD` seconds ahead; should the
    slot come later, the post is created to dispatch on creation, the
    nearest to what was asked, and a note says so.

    A post whose idempotency key an earlier run already used (the same row,
    sent with other uploads) ends ``already_sent``: it is not posted again
    and does not make ``report.ok`` false.

    Args:
        manifest: a checked :class:`Manifest` or the path of its CSV file.
        client: the client to send with.
        concurrency: how many files upload at the same time.
        timeout: seconds to wait for each post to reach its final status.
        poll_interval: seconds between status checks of a post.
        previous: what an earlier run created (see
            :func:`read_previous_posts`); those posts are followed, not sent
            again.
        observer: hears about each step, e.g. to draw progress.

    Returns:
        The report; ``report.ok`` is whether every post was sent, published
        or already sent by an earlier run.

    Raises:
        ManifestError: the manifest is invalid or names an unknown account;
            nothing was uploaded or published.
        PostQuedError: the accounts could not be listed.
    """
    if not isinstance(manifest, Manifest):
        manifest = await anyio.to_thread.run_sync(read_manifest, manifest)
    run = _CampaignRun(
        manifest,
        client,
        concurrency=concurrency,
        timeout=timeout,
        poll_interval=poll_interval,
        previous=previous or {},
        observer=observer or CampaignObserver(),
    )
    return await run.run()


class _CampaignRun:
    def __init__(
        self,
        manifest: Manifest,
        client: PostQued,
        *,
        concurrency: int,
        timeout: float,
        poll_interval: float,
        previous: Mapping[str, PreviousPost],
        observer: CampaignObserver,
    ) -> None:
        self.manifest = manifest
        self.client = client
        self.concurrency = concurrency
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.previous = previous
        self.observer = observer
        # The client's clock, so dispatch times agree with its rate limiter.
        self.clock: Clock = client.clock
        self.started = time.monotonic()
        self.report = CampaignReport(
            campaign=manifest.name,
            base_url=client.base_url,
            started_at=self._now(),
            posts=[self._outcome(post) for post in manifest.posts],
        )

    async def run(self) -> CampaignReport:
        accounts = await self._resolve_accounts()
        for outcome in self.report.posts:
            outcome.account_id = accounts[outcome.post_id].id
        self.observer.campaign_started(self.report)

        fresh = [
            post
            for post, outcome in zip(
                self.manifest.posts, self.report.posts, strict=True
            )
            if outcome.idempotency_key not in self.previous
        ]
        files = list(dict.fromkeys(path for post in fresh for path in post.media))
        uploads = await self._upload(files)

        publish_start = self._now()
        self.observer.publishing_started(self.report.posts)
        async with anyio.create_task_group() as group:
            for post, outcome in zip(
                self.manifest.posts, self.report.posts, strict=True
            ):
                group.start_soon(self._publish, post, outcome, uploads, publish_start)

        self.report.finished_at = self._now()
        return self.report

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), UTC)

    def _outcome(self, post: CampaignPost) -> PostOutcome:
        outcome = PostOutcome(
            post_id=post.post_id,
            line=post.line,
            platform=post.platform.value,
            account=post.account,
            intent=post.intent.value,
            scheduled=post.scheduled,
            idempotency_key=campaign_idempotency_key(post),
            media=[_relative(path, self.manifest.path.parent) for path in post.media],
        )
        previous = self.previous.get(outcome.idempotency_key)
        if previous is not None:
            _carry_over(outcome, previous)
        return outcome

    def _elapsed(self) -> float:
        return round(time.monotonic() - self.started, 3)

    async def _resolve_accounts(self) -> dict[str, PlatformAccount]:
        accounts = await self.client.accounts.list()
        by_name = {
            (account.platform.value, account.username.casefold()): account
            for account in accounts
        }
        found = {}
        problems = []
        for post in self.manifest.posts:
            account = by_name.get((post.platform.value, post.account.casefold()))
            if account is not None:
                found[post.post_id] = account
                continue
            known = sorted(
                a.username for a in accounts if a.platform.value == post.platform.value
            )
            problems.append(
                ManifestProblem(
                    post.line,
                    post.post_id,
                    "account",
                    f"no connected {post.platform.value} account is named "
                    f"{post.account!r}; connected: {', '.join(known) or 'none'}. "
                    "Fix the name or connect the account in PostQued",
                )
            )
        if problems:
            raise ManifestError(self.manifest.name, problems)
        return found

    async def _upload(self, files: list[Path]) -> dict[Path, UploadOutcome]:
        uploads = await upload_files(
            self.client, files, concurrency=self.concurrency, observer=self.observer
        )
        self.report.uploads = list(uploads.values())
        return uploads

    async def _publish(
        self,
        post: CampaignPost,
        outcome: PostOutcome,
        uploads: Mapping[Path, UploadOutcome],
        publish_start: datetime,
    ) -> None:
        try:
            if not outcome.resumed:
                created = await self._create(post, outcome, uploads, publish_start)
                if created is None:
                    return
            self.observer.post_changed(outcome)
            assert outcome.publish_id is not None
            final = await self.client.publish.wait(
                outcome.publish_id,
                timeout=self.timeout,
                poll_interval=self.poll_interval,
                on_update=lambda publish: self._polled(outcome, publish),
            )
            outcome.record(final)
        except PublishWaitTimeoutError as exc:
            outcome.record(exc.publish)
            outcome.errors.append(
                f"still {outcome.status} after {self.timeout:g}s; check later with "
                f"`postqued status {outcome.publish_id}`"
            )
        except PostQuedError as exc:
            outcome.errors.append(str(exc))
            if outcome.status == "pending":
                outcome.status = "not_sent"
        outcome.timings["finished"] = self._elapsed()
        self.observer.post_changed(outcome)

    def _polled(self, outcome: PostOutcome, publish: Publish) -> None:
        outcome.record(publish)
        self.observer.post_changed(outcome)

    async def _create(
        self,
        post: CampaignPost,
        outcome: PostOutcome,
        uploads: Mapping[Path, UploadOutcome],
        publish_start: datetime,
    ) -> Publish | None:
        previous = self.previous.get(outcome.idempotency_key)
        repeat = previous is not None
        if previous is not None:
            outcome.resumed = True
            content_ids = list(previous.content_ids)
            dispatch_at = previous.dispatch_at
        else:
            failed = [uploads[path] for path in post.media if uploads[path].error]
            if failed:
                outcome.status = "not_sent"
                outcome.errors.extend(
                    f"media {upload.path.name} failed to upload: {upload.error}"
                    for upload in failed
                )
                outcome.timings["finished"] = self._elapsed()
                self.observer.post_changed(outcome)
                return None
            content_ids = [str(uploads[path].content_id) for path in post.media]
            dispatch_at = post.dispatch_time(publish_start)

        outcome.content_ids = content_ids
        outcome.dispatch_at = format_instant(dispatch_at) if dispatch_at else None
        try:
            # A repeat must send the very same bytes, so it never falls back.
            if repeat:
                publish = await self._send(post, outcome, dispatch_at)
            else:
                publish = await self._send_in_time(post, outcome, dispatch_at)
        except IdempotencyConflictError:
            # This run created nothing: the time it asked for, and any note
            # about it, says nothing of the post the earlier run sent.
            outcome.status = ALREADY_SENT
            outcome.dispatch_at = None
            outcome.dispatched_on_creation = False
            outcome.notes.clear()
            outcome.errors.append(
                f"an earlier run already sent this post under idempotency key "
                f"{outcome.idempotency_key}; not posted again — rerun with that "
                "run's --report to follow it"
            )
            outcome.timings["finished"] = self._elapsed()
            self.observer.post_changed(outcome)
            return None
        except PublishOutcomeUnknownError as exc:
            outcome.status = "unknown"
            outcome.errors.append(
                f"{exc}; run the campaign again with the same --report to repeat "
                "it safely"
            )
            outcome.timings["finished"] = self._elapsed()
            self.observer.post_changed(outcome)
            return None
        outcome.timings["created"] = self._elapsed()
        outcome.record(publish)
        return publish

    async def _send_in_time(
        self, post: CampaignPost, outcome: PostOutcome, dispatch_at: datetime | None
    ) -> Publish:
        if dispatch_at is None:
            return await self._send(post, outcome, None)
        left = dispatch_at.timestamp() - self.clock.time()
        # Once the time has passed (long uploads, say) only "now" is left.
        if left > 0:
            try:
                return await self._send(
                    post,
                    outcome,
                    dispatch_at,
                    max_wait=max(left - DISPATCH_LEAD, 0.0),
                )
            except LimitWaitTooLongError:
                # The SDK raises this bare only when no attempt may have
                # arrived; had one, it raises PublishOutcomeUnknownError and
                # the post is left unknown, never sent again with a changed
                # body. Below, the body changes under the same key: should
                # an earlier run have sent this post, the API answers 409
                # (IdempotencyConflictError, so already_sent), never a
                # second post. Should this create's own outcome be open, the
                # report keeps its body (dispatch on creation) for a repeat.
                pass
        log.info(
            "post %s: its dispatch time passes before it can be sent; "
            "dispatching it on creation",
            post.post_id,
        )
        outcome.dispatch_at = None
        outcome.dispatched_on_creation = True
        outcome.notes.append(DISPATCHED_ON_CREATION)
        self.observer.post_changed(outcome)
        return await self._send(post, outcome, None)

    async def _send(
        self,
        post: CampaignPost,
        outcome: PostOutcome,
        dispatch_at: datetime | None,
        *,
        max_wait: float | None = None,
    ) -> Publish:
        assert outcome.account_id is not None
        return await self.client.publish.create(
            outcome.content_ids,
            [post.target(outcome.account_id, dispatch_at)],
            idempotency_key=outcome.idempotency_key,
            max_wait=max_wait,
        )


async def upload_files(
    client: PostQued,
    files: Sequence[Path],
    *,
    concurrency: int = 4,
    observer: CampaignObserver | None = None,
) -> dict[Path, UploadOutcome]:
    """Upload files at the same time, each once; a failure stops no other.

    Returns:
        Each file's outcome, in the order given.
    """
    observer = observer or CampaignObserver()
    observer.uploads_started(files)
    uploads = {path: UploadOutcome(path) for path in files}
    began: dict[Path, float] = {}

    def progress(path: Path, sent: int, total: int) -> None:
        began.setdefault(path, time.monotonic())
        observer.upload_progress(path, sent, total)

    # The SDK's limiter paces the calls; concurrency only bounds how many
    # files and connections are open at once.
    started = time.monotonic()
    async for result in client.content.upload_many(
        files, concurrency=concurrency, progress=progress
    ):
        outcome = uploads[result.path]
        if result.content is not None:
            outcome.content_id = result.content.id
        else:
            outcome.error = str(result.error)
        outcome.seconds = round(time.monotonic() - began.get(result.path, started), 3)
        observer.upload_finished(outcome)
    return uploads


def _carry_over(outcome: PostOutcome, previous: PreviousPost) -> None:
    # Taken in before the run starts, so a run cut short early still reports
    # every fact a later resume depends on.
    outcome.content_ids = list(previous.content_ids)
    if previous.dispatch_at is not None:
        outcome.dispatch_at = format_instant(previous.dispatch_at)
    outcome.notes.extend(previous.notes)
    outcome.dispatched_on_creation = previous.dispatched_on_creation
    if previous.publish_id is not None:
        outcome.publish_id = previous.publish_id
        outcome.resumed = True
    else:
        # The earlier create may have arrived; until a repeat answers, it
        # still may have.
        outcome.status = "unknown"


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base.resolve()))
    except ValueError:
        return path.name
