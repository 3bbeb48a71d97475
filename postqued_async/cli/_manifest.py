"""Reading a campaign manifest, a CSV with one post per row, and checking it.

The whole file is checked before anything is sent: every row and every
column, with every problem collected, so one run of the checker names all
that needs fixing. The columns::

    post_id,media,caption,platform,account,intent,dispatch_at,options

- ``media``: ``|``-separated paths, relative to the manifest, 1 to 35 files;
- ``dispatch_at``: empty (post now), an ISO-8601 instant with a time zone, or
  an offset such as ``+5s``, ``+2m`` or ``+1h`` from the campaign's start;
- ``options``: a JSON object in the API's camelCase names.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from postqued_async._enums import Intent, Platform
from postqued_async._errors import MediaError, ValidationError
from postqued_async._media import MediaInfo, probe_media_sync
from postqued_async._targets import MAX_CAPTION_LENGTH, Target

__all__ = [
    "COLUMNS",
    "CampaignPost",
    "Manifest",
    "ManifestError",
    "ManifestProblem",
    "read_manifest",
]

COLUMNS = (
    "post_id",
    "media",
    "caption",
    "platform",
    "account",
    "intent",
    "dispatch_at",
    "options",
)
"""The columns a manifest's header must name, in any order."""

MAX_MEDIA = 35

# How a row's checks report a problem: ``problem(column, message)``.
_Report = Callable[[str, str], None]

_OFFSET = re.compile(r"\+(\d+(?:\.\d+)?)([smh])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}

_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")

# Advice meant for Python callers of the SDK, not for a manifest's author.
_SDK_ADVICE = re.compile(r"; pass newer ones through \w+\(extra=\.\.\.\)")

# An account id that only lets a target be built while the manifest is
# checked; the real ids are looked up later, with one call to the API.
_CHECK_ACCOUNT = "manifest-check"


@attrs.frozen
class ManifestProblem:
    """One thing wrong with a manifest: where it is and what to do about it.

    ``line`` is the line of the file the row starts on (the header is line
    1); ``post_id`` is empty when the row has none.
    """

    line: int
    post_id: str
    column: str
    message: str

    def describe(self, manifest_name: str) -> str:
        """The problem as one line a person can act on."""
        row = f" ({self.post_id})" if self.post_id else ""
        return (
            f"{manifest_name} line {self.line}{row}, column {self.column}: "
            f"{self.message}"
        )


class ManifestError(ValidationError):
    """A campaign manifest cannot be run as it is; nothing was sent.

    ``problems`` lists every problem found, not just the first.
    """

    def __init__(self, manifest_name: str, problems: Sequence[ManifestProblem]):
        self.manifest_name = manifest_name
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {p.describe(manifest_name)}" for p in self.problems)
        super().__init__(
            f"{manifest_name} has {count} problem{'s' if count != 1 else ''}; "
            f"fix {'them' if count != 1 else 'it'} and run again "
            f"(nothing was sent):\n{lines}"
        )


@attrs.frozen
class CampaignPost:
    """One checked row of a manifest: a post to one account.

    Exactly one of ``dispatch_at`` and ``dispatch_offset`` is set for a
    scheduled post; neither for a post that goes out now. ``media_written``
    and ``dispatch_written`` keep the row's own spelling (paths relative to
    the manifest, ``+5s``), which stays the same however often and from
    wherever the campaign is run; ``media_digests`` are the SHA-256 of each
    media file's bytes, so that what a post is includes what it shows.
    """

    line: int
    post_id: str
    media: tuple[Path, ...]
    caption: str
    platform: Platform
    account: str
    intent: Intent
    options: Mapping[str, Any]
    dispatch_at: datetime | None = None
    dispatch_offset: timedelta | None = None
    media_written: tuple[str, ...] = ()
    dispatch_written: str = ""
    media_digests: tuple[str, ...] = ()

    @property
    def scheduled(self) -> bool:
        """Whether the post waits for a dispatch time."""
        return self.dispatch_at is not None or self.dispatch_offset is not None

    def dispatch_time(self, start: datetime) -> datetime | None:
        """When the post goes out, with offsets counted from ``start``."""
        if self.dispatch_offset is not None:
            return start + self.dispatch_offset
        return self.dispatch_at

    def target(self, account_id: str, dispatch_at: datetime | None) -> Target:
        """The publish target for this post.

        Raises:
            ValidationError: the target is invalid (checked already when the
                manifest was read, so only a dispatch time gone by since).
        """
        return Target.for_platform(
            self.platform,
            account_id,
            self.caption,
            intent=self.intent,
            dispatch_at=dispatch_at,
            options=self.options,
        )


@attrs.frozen
class Manifest:
    """A checked campaign manifest: its file and its posts, in file order."""

    path: Path
    posts: tuple[CampaignPost, ...]

    @property
    def name(self) -> str:
        """The manifest's file name, which names the campaign."""
        return self.path.name

    @property
    def media(self) -> list[Path]:
        """Every distinct media file the posts use, in first-use order."""
        return list(dict.fromkeys(path for post in self.posts for path in post.media))


def read_manifest(path: str | Path, *, now: datetime | None = None) -> Manifest:
    """Read a campaign manifest and check all of it.

    Media files are probed (type, size, dimensions) so a bad file is found
    here rather than half-way through the campaign.

    Args:
        path: the CSV file.
        now: the present, for refusing dispatch times in the past.

    Raises:
        ManifestError: anything is wrong; every problem is listed.
    """
    manifest_path = Path(path)
    try:
        text = manifest_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read the manifest {path}: {exc}") from exc

    checker = _Checker(manifest_path, now or datetime.now(UTC))
    posts = checker.check(text)
    if checker.problems:
        raise ManifestError(manifest_path.name, checker.problems)
    return Manifest(manifest_path, tuple(posts))


class _Checker:
    # Collects problems instead of stopping at the first one.

    def __init__(self, path: Path, now: datetime) -> None:
        self.path = path
        self.now = now
        self.problems: list[ManifestProblem] = []
        self._probes: dict[Path, MediaInfo | MediaError] = {}
        self._digests: dict[Path, str] = {}

    def check(self, text: str) -> list[CampaignPost]:
        rows = list(_rows(text))
        if not rows:
            self._problem(1, "", "post_id", "the file is empty; start with a header")
            return []

        _, header = rows[0]
        names = [name.strip() for name in header]
        missing = [column for column in COLUMNS if column not in names]
        unknown = [name for name in names if name not in COLUMNS]
        for column in missing:
            self._problem(
                1, "", column, f"missing from the header; it needs {','.join(COLUMNS)}"
            )
        for column in unknown:
            self._problem(
                1, "", column, f"is not a known column; use {', '.join(COLUMNS)}"
            )
        if missing:
            return []
        if not rows[1:]:
            self._problem(1, "", "post_id", "no posts; add a row under the header")

        posts = []
        first_line: dict[str, int] = {}
        for line, fields in rows[1:]:
            if len(fields) != len(names):
                self._problem(
                    line,
                    fields[0].strip() if fields else "",
                    "post_id",
                    f"the row has {len(fields)} fields but the header has "
                    f"{len(names)}; quote any field containing a comma",
                )
                continue
            row = dict(zip(names, fields, strict=True))
            post = self._post(line, row, first_line)
            if post is not None:
                posts.append(post)
        return posts

    def _problem(self, line: int, post_id: str, column: str, message: str) -> None:
        self.problems.append(ManifestProblem(line, post_id, column, message))

    def _post(
        self, line: int, row: dict[str, str], first_line: dict[str, int]
    ) -> CampaignPost | None:
        before = len(self.problems)
        post_id = row["post_id"].strip()

        def problem(column: str, message: str) -> None:
            self._problem(line, post_id, column, message)

        if not post_id:
            problem("post_id", "is empty; give every post an id of its own")
        elif post_id in first_line:
            problem(
                "post_id",
                f"{post_id!r} is used on line {first_line[post_id]} too; give "
                "every post an id of its own",
            )
        else:
            first_line[post_id] = line

        media_written = tuple(entry.strip() for entry in row["media"].split("|"))
        media = self._media(row["media"], problem)
        _caption(row["caption"], problem)
        platform = _platform(row["platform"], problem)
        account = row["account"].strip().lstrip("@")
        if not account:
            problem("account", "is empty; write the username of a connected account")
        intent = _intent(row["intent"], problem)
        dispatch_at, offset = self._dispatch_at(row["dispatch_at"], problem)
        options = _options(row["options"], problem)

        if len(self.problems) != before:
            return None
        assert platform is not None
        assert intent is not None
        assert options is not None
        post = CampaignPost(
            line=line,
            post_id=post_id,
            media=media,
            caption=row["caption"],
            platform=platform,
            account=account,
            intent=intent,
            options=options,
            dispatch_at=dispatch_at,
            dispatch_offset=offset,
            media_written=media_written,
            dispatch_written=row["dispatch_at"].strip(),
            media_digests=tuple(self._digest(path) for path in media),
        )
        # Building the target runs the SDK's own checks of the options (for
        # TikTok, every option name and value).
        try:
            post.target(_CHECK_ACCOUNT, None)
        except (ValidationError, TypeError, ValueError) as exc:
            problem("options", _in_api_words(str(exc), options))
            return None
        return post

    def _media(self, value: str, problem: _Report) -> tuple[Path, ...]:
        entries = [entry.strip() for entry in value.split("|")]
        if not value.strip():
            problem("media", "is empty; name 1 to 35 files, separated by |")
            return ()
        if "" in entries:
            problem("media", f"{value!r} has an empty path; separate files with one |")
            return ()
        if len(entries) > MAX_MEDIA:
            problem(
                "media",
                f"names {len(entries)} files; a post takes 1 to {MAX_MEDIA}, so "
                "split it into several posts",
            )
        paths = []
        for entry in entries:
            path = (self.path.parent / entry).resolve()
            probed = self._probe(path)
            if isinstance(probed, MediaError):
                # The SDK names the file by its full path; the manifest's own
                # spelling is what the reader can find in the file.
                message = str(probed).replace(str(path), entry)
                if not path.exists():
                    message = message.removesuffix("; check the path") + (
                        "; check the path, which is relative to the manifest's "
                        f"folder ({self.path.parent.resolve()})"
                    )
                problem("media", message)
            paths.append(path)
        return tuple(paths)

    def _digest(self, path: Path) -> str:
        if path not in self._digests:
            digest = hashlib.sha256()
            with path.open("rb") as file:
                while chunk := file.read(1024 * 1024):
                    digest.update(chunk)
            self._digests[path] = digest.hexdigest()
        return self._digests[path]

    def _probe(self, path: Path) -> MediaInfo | MediaError:
        if path not in self._probes:
            try:
                self._probes[path] = probe_media_sync(path)
            except MediaError as exc:
                self._probes[path] = exc
        return self._probes[path]

    def _dispatch_at(
        self, value: str, problem: _Report
    ) -> tuple[datetime | None, timedelta | None]:
        text = value.strip()
        if not text:
            return None, None

        if match := _OFFSET.fullmatch(text):
            seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
            if seconds <= 0:
                problem(
                    "dispatch_at", f"{text!r} is not in the future; use +1s or more"
                )
                return None, None
            return None, timedelta(seconds=seconds)

        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            problem(
                "dispatch_at",
                f"{text!r} is not an ISO-8601 instant or +N[smh] offset; write "
                "e.g. 2026-03-01T15:00:00Z or +10m",
            )
            return None, None
        if when.tzinfo is None or when.utcoffset() is None:
            problem(
                "dispatch_at",
                f"{text!r} has no time zone; add one, e.g. {when:%Y-%m-%dT%H:%M}Z "
                f"or {when:%Y-%m-%dT%H:%M}+02:00",
            )
            return None, None
        if when <= self.now:
            problem(
                "dispatch_at",
                f"{text!r} is in the past (now is "
                f"{self.now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}); use a future "
                "time, or leave it empty to post now",
            )
            return None, None
        return when, None


def _in_api_words(message: str, options: Mapping[str, Any]) -> str:
    # The SDK's checks speak Python (disable_duet, True, TikTokOptions); the
    # manifest's reader wrote JSON in the API's camelCase names.
    for name in options:
        snake = _CAMEL_HUMP.sub(r"_\1", name).lower()
        if snake != name:
            message = re.sub(rf"\b{re.escape(snake)}\b", name, message)
    message = message.replace("True or False", "true or false")
    if "privacyLevel" in options and "privacy level" in message:
        message = f"privacyLevel: {message}"
    return _SDK_ADVICE.sub("", message)


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    # Each row with the line it starts on; a quoted caption may span lines,
    # so the reader's line count after a row is where the next one begins.
    reader = csv.reader(text.splitlines(keepends=True))
    start = 1
    for fields in reader:
        if any(field.strip() for field in fields):
            yield start, fields
        start = reader.line_num + 1


def _caption(value: str, problem: _Report) -> None:
    if not value.strip():
        problem("caption", "is empty; write the text of the post")
    elif len(value) > MAX_CAPTION_LENGTH:
        problem(
            "caption",
            f"has {len(value):,} characters; the API takes at most "
            f"{MAX_CAPTION_LENGTH:,}, so shorten it",
        )


def _platform(value: str, problem: _Report) -> Platform | None:
    try:
        return Platform.parse(value, "platform")
    except ValidationError:
        choices = ", ".join(member.value for member in Platform)
        problem(
            "platform", f"{value.strip()!r} is not a platform; use one of {choices}"
        )
        return None


def _intent(value: str, problem: _Report) -> Intent | None:
    try:
        return Intent.parse(value, "intent")
    except ValidationError:
        problem(
            "intent",
            f"{value.strip()!r} is not an intent; write draft (to the creator's "
            "inbox) or publish (live)",
        )
        return None


def _options(value: str, problem: _Report) -> dict[str, Any] | None:
    if not value.strip():
        return {}
    try:
        options = json.loads(value)
    except json.JSONDecodeError as exc:
        problem(
            "options",
            f"is not valid JSON ({exc.msg} at character {exc.pos}); write an "
            'object such as {"privacyLevel": "SELF_ONLY"}',
        )
        return None
    if not isinstance(options, dict):
        problem(
            "options",
            f"is a JSON {type(options).__name__}, not an object; write an object "
            'such as {"privacyLevel": "SELF_ONLY"}',
        )
        return None
    return options
