"""Everything a sandbox remembers: users, keys, accounts, content, publishes.

Target states are never pushed by a timer: they are computed from the clock
whenever someone looks (a status read, the ledger), so a test driving a
FakeClock sees exactly the same sequence every run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

from postqued_async._clock import Clock, SystemClock
from postqued_async.sandbox._config import FAIL_MARKER, SandboxConfig
from postqued_async.sandbox._ledger import Ledger, LedgerEntry, LedgerStatus
from postqued_async.sandbox._limits import RateLimiter
from postqued_async.sandbox._signing import Presigner

__all__ = [
    "Account",
    "ApiKey",
    "Content",
    "FaultHook",
    "PublishRequest",
    "RecordedRequest",
    "SandboxState",
    "StoredObject",
    "Target",
]

BUCKET = "postqued-sandbox-media"
TERMINAL = frozenset({"sent", "published", "failed", "canceled"})

#: Called before a route's handler with the request and its operation kind;
#: returning a response answers in the handler's place. The slot later fault
#: plans (scripted statuses, delays, dropped connections) plug into.
FaultHook = Callable[[web.Request, str | None], Awaitable[web.StreamResponse | None]]


@attrs.frozen
class RecordedRequest:
    """One request that reached the sandbox, API or storage."""

    method: str
    path: str
    raw_query: str
    operation: str | None
    status: int
    headers: dict[str, str]
    body_size: int
    at: float


@attrs.frozen
class ApiKey:
    """An API key and the user it acts for."""

    key: str
    user_id: str
    subscription: bool


@attrs.frozen
class Account:
    """A connected platform account owned by one user."""

    id: str
    user_id: str
    platform: str
    username: str
    display_name: str
    external_id: str
    created_at: float


@attrs.frozen
class StoredObject:
    """Bytes that reached storage, summarised; the bytes themselves are not kept."""

    key: str
    size: int
    sha256: str
    md5: str
    content_type: str
    stored_at: float


@attrs.define
class Content:
    """A content asset, from the start of its upload to its (soft) deletion."""

    id: str
    user_id: str
    key: str
    filename: str
    content_type: str
    file_size: int
    created_at: float
    status: str = "uploading"
    deleted: bool = False
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None

    @property
    def media_type(self) -> str:
        """``video`` or ``image``, from the MIME type."""
        return self.content_type.partition("/")[0]


@attrs.define
class Target:
    """One destination of a publish request and its progress."""

    id: str
    platform: str
    account: Account
    intent: str
    caption: str
    dispatch_at: float | None
    options: dict[str, Any] | None
    starts_at: float
    ends_at: float
    fails: bool
    finished: bool = False

    def status_at(self, now: float) -> str:
        """The target's status at ``now`` on the sandbox clock."""
        if now < self.starts_at:
            return "scheduled" if self.dispatch_at is not None else "queued"
        if now < self.ends_at:
            return "processing"
        if self.fails:
            return "failed"
        return "published" if self.intent == "publish" else "sent"


@attrs.define
class PublishRequest:
    """A publish request: content, targets, and the key that created it."""

    id: str
    user_id: str
    api_key: str
    idempotency_key: str
    content_ids: tuple[str, ...]
    targets: list[Target]
    created_at: float

    def status_at(self, now: float) -> str:
        """Roll the targets' statuses up into the request's status."""
        statuses = [target.status_at(now) for target in self.targets]
        if any(status not in TERMINAL for status in statuses):
            waiting = {"queued", "scheduled"}
            return "pending" if all(s in waiting for s in statuses) else "processing"
        if all(status == "canceled" for status in statuses):
            return "canceled"
        failed = sum(status == "failed" for status in statuses)
        if failed == 0:
            return "completed"
        return "failed" if failed == len(statuses) else "partial_failed"


@attrs.define
class IdempotencyRecord:
    """The first answer given under one idempotency key."""

    body_sha256: str
    status: int
    body: bytes
    created_at: float


class SandboxState:
    """The sandbox's memory and its rules of time, shared by every route.

    Args:
        config: how the sandbox behaves.
        clock: the source of time; :class:`SystemClock` when ``None``.
    """

    def __init__(self, config: SandboxConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.presigner = Presigner(secrets.token_bytes(32))
        self.limiter = RateLimiter(
            config.rate_limit_model, dict(config.limits), config.window, self.clock
        )
        self.ledger = Ledger(self.advance)
        self.requests: list[RecordedRequest] = []
        self.fault_hooks: list[FaultHook] = []

        self.keys: dict[str, ApiKey] = {}
        self.accounts: dict[str, Account] = {}
        self.contents: dict[str, Content] = {}
        self.uploads: dict[str, Content] = {}
        self.objects: dict[str, StoredObject] = {}
        self.publishes: dict[str, PublishRequest] = {}
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.in_flight: dict[tuple[str, str], asyncio.Future[None]] = {}

        self.api_key = self.issue_key()

    def issue_key(self, *, subscription: bool = True) -> str:
        """A new valid API key for a new user with the seeded accounts."""
        user_id = str(uuid.uuid4())
        key = f"pq_sandbox_{secrets.token_urlsafe(24)}"
        self.keys[key] = ApiKey(key, user_id, subscription)
        for seed in self.config.accounts:
            account = Account(
                id=str(uuid.uuid4()),
                user_id=user_id,
                platform=seed.platform,
                username=seed.username,
                display_name=seed.display_name or seed.username,
                external_id=str(secrets.randbelow(10**18)),
                created_at=self.clock.time(),
            )
            self.accounts[account.id] = account
        return key

    def accounts_of(self, user_id: str) -> list[Account]:
        """The user's accounts, in seeding order."""
        return [a for a in self.accounts.values() if a.user_id == user_id]

    def content_of(self, user_id: str, content_id: str) -> Content | None:
        """The user's live (not deleted) content with that id, if any."""
        content = self.contents.get(content_id)
        if content is None or content.user_id != user_id or content.deleted:
            return None
        return content

    def new_target(
        self,
        *,
        platform: str,
        account: Account,
        intent: str,
        caption: str,
        dispatch_at: float | None,
        options: dict[str, Any] | None,
    ) -> Target:
        """A target whose schedule is fixed now, from the clock and the config."""
        now = self.clock.time()
        starts_at = dispatch_at if dispatch_at is not None else now
        if dispatch_at is None:
            starts_at += self.config.queue_delay
        fails = (
            account.username in self.config.failing_accounts or FAIL_MARKER in caption
        )
        return Target(
            id=str(uuid.uuid4()),
            platform=platform,
            account=account,
            intent=intent,
            caption=caption,
            dispatch_at=dispatch_at,
            options=options,
            starts_at=starts_at,
            ends_at=starts_at + self.config.processing_delay,
            fails=fails,
        )

    def advance(self) -> None:
        """Record in the ledger every target that finished by now, once each."""
        now = self.clock.time()
        finished = [
            (target.ends_at, publish, target)
            for publish in self.publishes.values()
            for target in publish.targets
            if not target.finished and target.ends_at <= now
        ]
        finished.sort(key=lambda item: item[0])
        for ends_at, publish, target in finished:
            target.finished = True
            status: LedgerStatus = "failed"
            if not target.fails:
                status = "published" if target.intent == "publish" else "sent"
            self.ledger.record(
                LedgerEntry(
                    publish_id=publish.id,
                    target_id=target.id,
                    platform=target.platform,
                    account_id=target.account.id,
                    username=target.account.username,
                    intent=target.intent,
                    caption=target.caption,
                    content_ids=publish.content_ids,
                    idempotency_key=publish.idempotency_key,
                    status=status,
                    went_out_at=dt.datetime.fromtimestamp(ends_at, dt.UTC),
                )
            )

    def forget_expired_idempotency(self) -> None:
        """Drop idempotency records older than the configured TTL."""
        horizon = self.clock.time() - self.config.idempotency_ttl
        expired = [k for k, r in self.idempotency.items() if r.created_at <= horizon]
        for key in expired:
            del self.idempotency[key]


def sha256_hex(body: bytes) -> str:
    """Hex SHA-256 of ``body``."""
    return hashlib.sha256(body).hexdigest()
