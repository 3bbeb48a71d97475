"""The API's enumerations, open to values a newer server may add.

Each is a :class:`str` enum. A value the SDK does not know yet does not raise:
it becomes a member of its own that keeps the server's exact string, so code
written today keeps working when the API grows.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self

from postqued_async._errors import ValidationError

__all__ = [
    "ContentStatus",
    "Intent",
    "MediaType",
    "Operation",
    "Platform",
    "PrivacyLevel",
    "PublishStatus",
    "TargetStatus",
]


class OpenEnum(StrEnum):
    """A string enum that keeps unknown values instead of failing."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        """Whether this SDK version knows the value."""
        # Pseudo-members made by _missing_ never enter the value map.
        return type(self)._value2member_map_.get(self._value_) is self

    @classmethod
    def parse(cls, value: object, what: str) -> Self:
        """The known member ``value`` names, ignoring letter case.

        For input from people: ``"TikTok"`` is :attr:`Platform.TIKTOK`.

        Raises:
            ValidationError: no known member has that value.
        """
        if isinstance(value, cls) and value.is_known:
            return value
        if isinstance(value, str):
            folded = value.strip().casefold()
            for member in cls:
                if member.value.casefold() == folded:
                    return member
        choices = ", ".join(member.value for member in cls)
        raise ValidationError(f"unknown {what} {value!r}; use one of: {choices}")


class Platform(OpenEnum):
    """A social platform PostQued publishes to."""

    TIKTOK = "tiktok"
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    THREADS = "threads"
    LINKEDIN = "linkedin"
    YOUTUBE = "youtube"
    TWITTER = "twitter"
    PINTEREST = "pinterest"
    REDDIT = "reddit"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"


class Intent(OpenEnum):
    """``draft`` sends to the creator's inbox; ``publish`` posts it live."""

    DRAFT = "draft"
    PUBLISH = "publish"


class MediaType(OpenEnum):
    """What kind of media a content asset is."""

    VIDEO = "video"
    IMAGE = "image"


class ContentStatus(OpenEnum):
    """The lifecycle of an uploaded content asset."""

    PROCESSING = "processing"
    READY = "ready"
    DELETED = "deleted"
    FAILED = "failed"


class PublishStatus(OpenEnum):
    """The status of a publish request, rolled up from its targets."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    PARTIAL_FAILED = "partial_failed"
    FAILED = "failed"
    CANCELED = "canceled"


class TargetStatus(OpenEnum):
    """The status of one target of a publish request."""

    QUEUED = "queued"
    SCHEDULED = "scheduled"
    PROCESSING = "processing"
    SENT = "sent"
    PUBLISHED = "published"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        """Whether the target will not change any more."""
        return self in _TERMINAL

    @property
    def succeeded(self) -> bool:
        """Whether the target reached the creator (as a draft or live)."""
        return self in (TargetStatus.SENT, TargetStatus.PUBLISHED)


_TERMINAL = frozenset(
    {
        TargetStatus.SENT,
        TargetStatus.PUBLISHED,
        TargetStatus.FAILED,
        TargetStatus.CANCELED,
    }
)


class PrivacyLevel(OpenEnum):
    """Who can see a TikTok post."""

    PUBLIC_TO_EVERYONE = "PUBLIC_TO_EVERYONE"
    MUTUAL_FOLLOW_FRIENDS = "MUTUAL_FOLLOW_FRIENDS"
    FOLLOWER_OF_CREATOR = "FOLLOWER_OF_CREATOR"
    SELF_ONLY = "SELF_ONLY"


class Operation(StrEnum):
    """The operation kinds the API rate-limits separately."""

    UPLOAD = "upload"
    READ = "read"
    PUBLISH = "publish"
    DELETE = "delete"
