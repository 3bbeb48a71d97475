"""``pq.publish``: create publish requests and follow them to the end."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import attrs

from postqued_async._errors import (
    APIError,
    ClientClosedError,
    LimitWaitTooLongError,
    PublishOutcomeUnknownError,
    PublishWaitTimeoutError,
    TransportError,
    UnexpectedResponseError,
    ValidationError,
)
from postqued_async._models import ContentAsset, Publish, structure
from postqued_async._routes import Routes
from postqued_async._targets import Target
from postqued_async._transport import AttemptRecord, Transport, header_safe

__all__ = ["IDEMPOTENCY_KEY_TTL", "PublishResource", "new_idempotency_key"]

log = logging.getLogger(__name__)

MAX_TARGETS = 10
MAX_CONTENT_IDS = 35
IDEMPOTENCY_KEY_TTL = 24 * 3600.0
"""Seconds the API remembers an idempotency key."""


def new_idempotency_key(now: float | None = None) -> str:
    """A fresh idempotency key: a UUIDv7, so its age can be read back from it."""
    millis = int((time.time() if now is None else now) * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & (2**48 - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & (2**62 - 1)
    return str(uuid.UUID(int=value))


def _key_created_at(key: str) -> float | None:
    try:
        parsed = uuid.UUID(key)
    except ValueError:
        return None
    if parsed.version != 7:
        return None
    return (parsed.int >> 80) / 1000


class PublishResource:
    """Publish content to targets, exactly once, and follow the result."""

    def __init__(self, transport: Transport, routes: Routes) -> None:
        self._transport = transport
        self._routes = routes

    async def create(
        self,
        content_ids: Sequence[str | ContentAsset],
        targets: Sequence[Target],
        *,
        idempotency_key: str | None = None,
        max_wait: float | None = None,
        deadline: float | None = None,
    ) -> Publish:
        """Create a publish request: post the content to every target.

        Every attempt carries the same ``Idempotency-Key`` and the same bytes,
        so a retried or repeated call never posts twice. The key is on the
        result; pass it again to repeat a create whose outcome you do not know.

        Args:
            content_ids: uploaded content (ids or assets); 2 or more make a
                carousel.
            targets: 1 to 10 :class:`Target` objects.
            idempotency_key: a key of your own (for example, derived from your
                post's id); a fresh one is made when not given. With a key of
                your own, a dispatch time up to 24 h past is let through, so
                a request made before that time can be repeated byte for byte;
                the API answers with the original or refuses a new one.
            max_wait: the longest to wait for a publish rate-limit slot.
            deadline: seconds the whole call may take, retries included.

        Raises:
            ValidationError: bad input; nothing was sent.
            PublishOutcomeUnknownError: an attempt may have reached the
                server but no answer said what became of it (a timeout, a
                dropped connection or a 5xx); repeat with
                ``err.idempotency_key``.
            IdempotencyConflictError: the key was used with another body.
            APIConnectionError: no attempt could connect, so nothing was
                created; safe to try again.
            APIError: the API refused the request.
        """
        ids = _content_ids(content_ids)
        checked = self._targets(targets, repeat=idempotency_key is not None)
        key = self._idempotency_key(idempotency_key)
        body = json.dumps(
            {"contentIds": ids, "targets": [target.to_wire() for target in checked]},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()

        record = AttemptRecord()
        try:
            response = await self._transport.request(
                self._routes.publish_create,
                body=body,
                headers={"Idempotency-Key": key},
                max_wait=max_wait,
                deadline=deadline,
                record=record,
            )
        except (
            TransportError,
            APIError,
            LimitWaitTooLongError,
            ClientClosedError,
        ) as exc:
            # A retry that could not get a slot in time is as open as one
            # that timed out, when an earlier attempt may have arrived.
            if not _outcome_unknown(exc, record):
                raise
            log.warning(
                "publish outcome unknown after %d attempt(s) (%s); repeat with "
                "idempotency key %s",
                record.attempts,
                type(exc).__name__,
                key,
            )
            raise PublishOutcomeUnknownError(
                f"the publish request may or may not have been created ({exc}); "
                f"repeat it with idempotency_key={key!r} to find out — never with "
                "a new key, which could post twice",
                idempotency_key=key,
            ) from exc

        except asyncio.CancelledError:
            # Cancelled mid-flight: the caller gets CancelledError, but the
            # key is the only way back to whatever the server did with it.
            if record.attempts:
                log.warning(
                    "publish cancelled after it may have been sent; repeat "
                    "with idempotency key %s to learn its outcome",
                    key,
                )
            raise

        try:
            publish = structure(response.body, Publish)
        except UnexpectedResponseError as exc:
            # Created, by the status, but unreadable: the key is the only way
            # back to it, so it must not be lost with the answer.
            raise PublishOutcomeUnknownError(
                f"the publish request was accepted but its answer could not be "
                f"read ({exc}); repeat it with idempotency_key={key!r} or check "
                "your posts in PostQued — never with a new key",
                idempotency_key=key,
            ) from exc
        return attrs.evolve(publish, idempotency_key=key)

    async def get(self, publish_id: str, *, deadline: float | None = None) -> Publish:
        """The publish request now, with each target's status.

        Args:
            publish_id: the id from :meth:`create`.
            deadline: seconds the call may take, waiting for a read slot and
                retries included.

        Raises:
            NotFoundError: no such publish request.
        """
        if not isinstance(publish_id, str) or not publish_id.strip():
            raise ValidationError(
                f"publish_id must be the id from create(), not {publish_id!r}"
            )
        response = await self._transport.request(
            self._routes.publish_get,
            path_params={"publish_id": publish_id},
            deadline=deadline,
        )
        return structure(response.body, Publish)

    async def wait(
        self,
        publish_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        on_update: Callable[[Publish], None] | None = None,
    ) -> Publish:
        """Poll until every target is terminal; return the final request.

        Each poll is a read and waits for a read slot like any other. While
        every open target is scheduled for later, polling pauses until the
        earliest dispatch time.

        Args:
            publish_id: the publish request to follow.
            timeout: seconds to wait in all.
            poll_interval: seconds between polls.
            on_update: called with the request after every poll, to show
                progress.

        Raises:
            PublishWaitTimeoutError: still in flight after ``timeout``
                seconds; the last state is on the error.
        """
        for name, value in (("timeout", timeout), ("poll_interval", poll_interval)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError(f"{name} must be a number, not {value!r}")
            if value <= 0:
                raise ValidationError(f"{name} must be positive, not {value!r}")
        clock = self._transport.clock
        deadline = clock.monotonic() + timeout
        publish: Publish | None = None
        while True:
            try:
                publish = await self.get(
                    publish_id, deadline=max(deadline - clock.monotonic(), 0.0)
                )
            except LimitWaitTooLongError:
                # No read slot before the time is up: the wait is over.
                if publish is None:
                    raise
                raise PublishWaitTimeoutError(
                    f"publish {publish_id} was still in flight when {timeout:g}s "
                    "ran out waiting for a read slot; wait again or check later",
                    publish=publish,
                ) from None
            if on_update is not None:
                on_update(publish)
            if publish.is_terminal:
                return publish
            remaining = deadline - clock.monotonic()
            if remaining <= 0:
                open_targets = [t for t in publish.targets if not t.is_terminal]
                raise PublishWaitTimeoutError(
                    f"publish {publish_id} still has {len(open_targets)} target(s) "
                    f"in flight after {timeout:g}s; wait again or check later",
                    publish=publish,
                )
            delay = max(poll_interval, _until_earliest_dispatch(publish, clock.time()))
            await clock.sleep(min(delay, remaining))

    def _targets(self, targets: Sequence[Target], *, repeat: bool) -> list[Target]:
        if isinstance(targets, Target):
            targets = [targets]
        checked = list(targets)
        if not 1 <= len(checked) <= MAX_TARGETS:
            raise ValidationError(
                f"a publish request takes 1 to {MAX_TARGETS} targets, got "
                f"{len(checked)}; split it into several requests"
            )
        now = self._transport.clock.time()
        # A repeat of an earlier create must send the same dispatch time, now
        # past; the API still knows the key for 24 h.
        earliest = now - IDEMPOTENCY_KEY_TTL if repeat else now
        for index, target in enumerate(checked):
            if not isinstance(target, Target):
                raise ValidationError(
                    f"targets[{index}] is a {type(target).__name__}; build it with "
                    "Target.tiktok(...) or Target.for_platform(...)"
                )
            if (
                target.dispatch_at is not None
                and target.dispatch_at.timestamp() <= earliest
            ):
                raise ValidationError(
                    f"targets[{index}].dispatch_at "
                    f"{target.dispatch_at.astimezone(UTC).isoformat()} is in the "
                    "past; use a future time, or None to dispatch now"
                )
        return checked

    def _idempotency_key(self, key: str | None) -> str:
        if key is None:
            return new_idempotency_key(self._transport.clock.time())
        if not isinstance(key, str) or not 1 <= len(key) <= 255 or not header_safe(key):
            raise ValidationError(
                "idempotency_key must be 1 to 255 printable ASCII characters "
                f"without spaces, not {key!r}"
            )
        created = _key_created_at(key)
        if created is not None:
            age = self._transport.clock.time() - created
            if age > IDEMPOTENCY_KEY_TTL:
                raise ValidationError(
                    f"idempotency key {key} was made {age / 3600:.0f} h ago; the "
                    "API forgets keys after 24 h, so it no longer protects against "
                    "a duplicate. Check with pq.publish.get() whether the first "
                    "request went out before creating a new one"
                )
        return key


def _outcome_unknown(error: Exception, record: AttemptRecord) -> bool:
    """Whether a failed create may still have created the publish request.

    Nothing was created when no attempt may have reached the server. Once
    one may have, only an answer about this very request settles it: a 400,
    409 or 422 says the key and body were refused, and a refused body was
    refused the first time too. Anything else (a timeout, a dropped line, a
    5xx, a 401 or 403, running out of attempts or of time for a slot, a
    closed client) leaves the outcome open.
    """
    if isinstance(error, APIError) and error.status in _REFUSED:
        return False
    return record.maybe_processed


# Statuses that say the request itself was refused, whatever came before.
_REFUSED = frozenset({400, 409, 422})


def _content_ids(content_ids: Sequence[str | ContentAsset]) -> list[str]:
    if isinstance(content_ids, str | ContentAsset):
        content_ids = [content_ids]
    ids = [item.id if isinstance(item, ContentAsset) else item for item in content_ids]
    if not 1 <= len(ids) <= MAX_CONTENT_IDS:
        raise ValidationError(
            f"a publish request takes 1 to {MAX_CONTENT_IDS} content ids, got "
            f"{len(ids)}"
        )
    for index, content_id in enumerate(ids):
        if not isinstance(content_id, str) or not content_id.strip():
            raise ValidationError(
                f"content_ids[{index}] is {content_id!r}; pass the id of uploaded "
                "content or the ContentAsset itself"
            )
    return ids


def _until_earliest_dispatch(publish: Publish, now: float) -> float:
    scheduled = [
        target.dispatch_at
        for target in publish.targets
        if not target.is_terminal and target.status.value == "scheduled"
    ]
    waiting = [t for t in publish.targets if not t.is_terminal]
    if not scheduled or len(scheduled) != len(waiting):
        return 0.0
    earliest = min(
        (when for when in scheduled if when is not None),
        default=datetime.fromtimestamp(now, UTC),
    )
    return max(earliest.timestamp() - now, 0.0)
