"""What the CLI shows: tables, upload progress and a live campaign view.

On a terminal, progress bars and the live status table redraw in place; when
the output is a file or a CI log, each step is one plain line instead, so
nothing is redrawn into the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from postqued_async._models import PlatformAccount, Publish
from postqued_async.cli._campaign import (
    ALREADY_SENT,
    SUCCEEDED,
    CampaignObserver,
    CampaignReport,
    PostOutcome,
    UploadOutcome,
)

__all__ = [
    "CampaignView",
    "accounts_table",
    "publish_table",
    "status_text",
    "summary_notes",
    "summary_table",
    "uploads_table",
]

_STYLES = {
    "sent": "green",
    "published": "green",
    "failed": "red",
    "not_sent": "red",
    "already_sent": "blue",
    "unknown": "yellow",
    "canceled": "yellow",
    "scheduled": "cyan",
}


def status_text(status: str) -> Text:
    """A status, coloured by what it means."""
    return Text(status, style=_STYLES.get(status, "dim"))


def accounts_table(accounts: Sequence[PlatformAccount]) -> Table:
    """The connected accounts, one row each."""
    table = Table(title="Connected accounts")
    for column in ("username", "platform", "name", "id", "status"):
        table.add_column(column)
    for account in accounts:
        table.add_row(
            account.username,
            account.platform.value,
            account.display_name or "",
            account.id,
            account.account_status or "",
        )
    return table


def publish_table(publish: Publish) -> Table:
    """One publish request, a row per target."""
    table = Table(title=f"Publish {publish.id}: {publish.status.value}")
    for column in ("target", "platform", "intent", "dispatch at", "status", "post"):
        table.add_column(column)
    for target in publish.targets:
        post = target.platform_post_id or ""
        if target.error is not None:
            post = target.error.message or target.error.code or "error"
        table.add_row(
            target.id,
            target.platform.value,
            target.intent.value if target.intent else "",
            target.dispatch_at.isoformat() if target.dispatch_at else "now",
            status_text(target.status.value),
            post,
        )
    return table


def uploads_table(uploads: Sequence[UploadOutcome]) -> Table:
    """Each uploaded file with its content id or its error."""
    table = Table(title="Uploads")
    table.add_column("file")
    table.add_column("content id")
    table.add_column("error")
    for upload in uploads:
        table.add_row(
            str(upload.path),
            upload.content_id or "",
            Text(upload.error or "", style="red"),
        )
    return table


def summary_table(report: CampaignReport) -> Table:
    """How every post of a campaign ended."""
    totals = report.totals
    table = Table(
        title=(
            f"Campaign {report.campaign}: {totals['succeeded']} of "
            f"{totals['posts']} posts sent or published"
        )
    )
    for column in ("post", "platform", "account", "intent", "when", "status"):
        table.add_column(column, overflow="fold")
    # The id is what `postqued status` needs: wrapped, never cut short.
    table.add_column("publish id", overflow="fold", min_width=12)
    for post in report.posts:
        table.add_row(*_post_cells(post))
    return table


def summary_notes(report: CampaignReport) -> list[str]:
    """Lines under the summary table for what went other than planned."""
    totals = report.totals
    notes = []
    if totals["alreadySent"]:
        notes.append(
            f"{totals['alreadySent']} already sent by an earlier run, not posted "
            "again (not a failure)"
        )
    if totals["dispatchedOnCreation"]:
        notes.append(
            f"{totals['dispatchedOnCreation']} scheduled posts dispatched on "
            "creation: their time passed while waiting for a publish slot"
        )
    return notes


def _post_cells(post: PostOutcome) -> tuple[str | Text, ...]:
    scheduled = "now"
    if post.dispatched_on_creation:
        scheduled = "on creation (late)"
    elif post.dispatch_at:
        # Seconds are enough to read; the report keeps the milliseconds.
        scheduled = post.dispatch_at.split(".")[0] + "Z"
    elif post.scheduled:
        scheduled = "yes"
    return (
        post.post_id,
        post.platform,
        post.account,
        post.intent,
        scheduled,
        status_text(post.status),
        post.publish_id or "",
    )


class CampaignView(CampaignObserver):
    """Shows a campaign as it runs: upload bars, then a live status table.

    Call :meth:`close` when the run ends, however it ends. :attr:`report`
    is the run's report once it has started, to save even when cut short.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._live_output = console.is_terminal
        self._progress: Progress | None = None
        self._overall: TaskID | None = None
        self._tasks: dict[Path, TaskID] = {}
        self._live: Live | None = None
        self._posts: Sequence[PostOutcome] = ()
        self.report: CampaignReport | None = None

    def campaign_started(self, report: CampaignReport) -> None:
        """Keep the report, which fills in as the run goes on."""
        self.report = report

    def uploads_started(self, files: Sequence[Path]) -> None:
        """Show a bar for all files and one per file."""
        if not files:
            return
        if not self._live_output:
            self.console.print(f"Uploading {len(files)} media files")
            return
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
        sizes = {path: path.stat().st_size if path.exists() else 0 for path in files}
        self._overall = self._progress.add_task(
            f"all {len(files)} files", total=sum(sizes.values())
        )
        for path, size in sizes.items():
            self._tasks[path] = self._progress.add_task(f"  {path.name}", total=size)
        self._progress.start()

    def upload_progress(self, path: Path, sent: int, total: int) -> None:
        """Move the file's bar and the overall one."""
        if self._progress is None or path not in self._tasks:
            return
        self._progress.update(self._tasks[path], completed=sent, total=total)
        self._update_overall()

    def upload_finished(self, upload: UploadOutcome) -> None:
        """Close the file's bar, or say in one line how it went."""
        if self._progress is None:
            if upload.error:
                self.console.print(f"  failed {upload.path.name}: {upload.error}")
            else:
                self.console.print(
                    f"  uploaded {upload.path.name}: {upload.content_id}"
                )
            return
        task = self._tasks[upload.path]
        if upload.error:
            self._progress.update(
                task, description=f"  [red]{upload.path.name} failed", completed=0
            )
            self._progress.stop_task(task)
        else:
            self._progress.update(task, completed=self._progress.tasks[task].total)
        self._update_overall()

    def _update_overall(self) -> None:
        assert self._progress is not None
        assert self._overall is not None
        done = sum(
            task.completed for task in self._progress.tasks if task.id != self._overall
        )
        self._progress.update(self._overall, completed=done)

    def publishing_started(self, posts: Sequence[PostOutcome]) -> None:
        """Show the live status table of every post."""
        self._stop_progress()
        self._posts = posts
        if not self._live_output:
            for line in _publishing_lines(posts):
                self.console.print(line)
            return
        # Transient: the summary table replaces it once every post has ended.
        self._live = Live(
            self._status_table(),
            console=self.console,
            refresh_per_second=4,
            transient=True,
        )
        self._live.start()

    def post_changed(self, post: PostOutcome) -> None:
        """Redraw the table, or print the post's final line."""
        if self._live is not None:
            self._live.update(self._status_table())
        elif "finished" in post.timings:
            mark = "!!"
            if post.status in SUCCEEDED:
                mark = "ok"
            elif post.status == ALREADY_SENT:
                mark = "--"
            self.console.print(
                f"  {mark} {post.post_id}: {post.status}"
                + (f" ({post.publish_id})" if post.publish_id else "")
            )

    def close(self) -> None:
        """Stop every live display."""
        self._stop_progress()
        if self._live is not None:
            self._live.update(self._status_table())
            self._live.stop()
            self._live = None

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _status_table(self) -> Table:
        waiting = sum("finished" not in post.timings for post in self._posts)
        title = f"{waiting} of {len(self._posts)} posts in flight"
        table = Table(title="; ".join([*_publishing_lines(self._posts), title]))
        for column in ("post", "platform", "account", "when", "status"):
            table.add_column(column, overflow="fold")
        for post in self._posts:
            cells = _post_cells(post)
            table.add_row(cells[0], cells[1], cells[2], cells[4], cells[5])
        return table


def _publishing_lines(posts: Sequence[PostOutcome]) -> list[str]:
    # A resumed run publishes nothing for the posts it only follows.
    followed = sum(post.resumed for post in posts)
    lines = []
    if len(posts) > followed:
        lines.append(f"Publishing {len(posts) - followed} posts")
    if followed:
        lines.append(f"Following {followed} posts from the previous run")
    return lines
