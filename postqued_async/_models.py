"""The SDK's models of what the API answers, as frozen attrs classes.

Every field the server may leave out is optional, so an older or newer server
never makes structuring fail. Build them from wire payloads with
:func:`structure`, never by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs

from postqued_async._converter import converter
from postqued_async._enums import (
    ContentStatus,
    Intent,
    MediaType,
    Platform,
    PublishStatus,
    TargetStatus,
)
from postqued_async._errors import UnexpectedResponseError

__all__ = [
    "ContentAsset",
    "PlatformAccount",
    "Publish",
    "PublishTarget",
    "TargetError",
    "UploadSlot",
    "UploadTicket",
    "structure",
]

T = TypeVar("T")


@attrs.frozen
class ContentAsset:
    """An uploaded image or video, ready to be published by its ``id``."""

    id: str
    url: str | None = None
    media_type: MediaType | None = None
    mime_type: str | None = None
    filename: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    status: ContentStatus | None = None
    created_at: datetime | None = None


@attrs.frozen
class UploadSlot:
    """Where and how to PUT the bytes of an upload: a presigned URL."""

    url: str = attrs.field(repr=False)
    key: str | None = None
    method: str = "PUT"
    headers: Mapping[str, str] = attrs.Factory(dict)


@attrs.frozen
class UploadTicket:
    """The answer to starting an upload."""

    content_id: str
    upload: UploadSlot


@attrs.frozen
class PlatformAccount:
    """A social account connected to PostQued."""

    id: str
    platform: Platform
    username: str
    display_name: str | None = None
    external_account_id: str | None = None
    avatar_url: str | None = None
    account_status: str | None = None
    created_at: datetime | None = None


@attrs.frozen
class TargetError:
    """Why a target failed, as the platform or PostQued reported it."""

    code: str | None = None
    message: str | None = None


@attrs.frozen
class PublishTarget:
    """One destination of a publish request and how far it has got."""

    id: str
    platform: Platform
    status: TargetStatus
    account_id: str | None = None
    intent: Intent | None = None
    caption: str | None = None
    dispatch_at: datetime | None = None
    options: Mapping[str, Any] | None = None
    platform_post_id: str | None = None
    published_at: datetime | None = None
    error: TargetError | None = None

    @property
    def is_terminal(self) -> bool:
        """Whether this target has reached its final status."""
        return self.status.is_terminal


@attrs.frozen
class Publish:
    """A publish request: content sent to one or more targets.

    ``idempotency_key`` is the key the SDK sent when it created the request
    (``None`` when the request was fetched rather than created). Keep it: a
    create repeated with the same key never posts twice.
    """

    id: str
    status: PublishStatus
    targets: tuple[PublishTarget, ...] = ()
    dry_run: bool = False
    created_at: datetime | None = None
    idempotency_key: str | None = None

    @property
    def is_terminal(self) -> bool:
        """Whether every target has reached its final status."""
        return bool(self.targets) and all(t.is_terminal for t in self.targets)

    @property
    def succeeded(self) -> bool:
        """Whether every target was sent or published."""
        return bool(self.targets) and all(t.status.succeeded for t in self.targets)


def _optional_instant(value: Any) -> datetime | None:
    return None if value is None else converter.structure(value, datetime)


def _structure_publish(payload: Mapping[str, Any], _: type[Publish]) -> Publish:
    # The API names the id ``id`` in some answers and ``publishId`` in others.
    body = dict(payload)
    if "id" not in body and "publishId" in body:
        body["id"] = body["publishId"]
    body.pop("idempotencyKey", None)
    targets = tuple(
        converter.structure(target, PublishTarget) for target in body.get("targets", ())
    )
    return Publish(
        id=str(body["id"]),
        status=PublishStatus(body.get("status", "pending")),
        targets=targets,
        dry_run=bool(body.get("dryRun", False)),
        created_at=_optional_instant(body.get("createdAt")),
    )


converter.register_structure_hook(Publish, _structure_publish)


def structure(payload: Any, cls: type[T]) -> T:
    """Turn a wire payload into a model, ignoring fields added later.

    Raises:
        UnexpectedResponseError: the payload lacks a field the model needs
            or holds a value of the wrong kind.
    """
    try:
        return converter.structure(payload, cls)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnexpectedResponseError(
            f"the API answered with a {cls.__name__} this SDK cannot read "
            f"({type(exc).__name__}: {exc}); upgrade postqued-async, or report "
            "it with the request id"
        ) from exc
