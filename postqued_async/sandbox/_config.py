"""How a sandbox behaves: seeded accounts, limits, delays and failure switches."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import attrs

__all__ = [
    "DEFAULT_LIMITS",
    "FAIL_MARKER",
    "RateLimitModel",
    "SandboxConfig",
    "SeedAccount",
]

RateLimitModel = Literal["sliding", "calendar", "token_bucket"]

#: A caption containing this text makes its target end ``failed``.
FAIL_MARKER = "[sandbox:fail]"

#: Calls allowed per API key, per operation kind, per window.
DEFAULT_LIMITS: Mapping[str, int] = MappingProxyType(
    {"upload": 20, "read": 30, "publish": 10, "delete": 20}
)

_MODELS = ("sliding", "calendar", "token_bucket")


@attrs.frozen
class SeedAccount:
    """A connected platform account every sandbox user starts with."""

    platform: str
    username: str
    display_name: str | None = None


_DEFAULT_ACCOUNTS = (
    SeedAccount("tiktok", "creator_one", "Creator One"),
    SeedAccount("tiktok", "creator_two", "Creator Two"),
    SeedAccount("instagram", "creator_one_ig", "Creator One"),
    SeedAccount("youtube", "creator_yt", "Creator YT"),
)


def _frozen_limits(value: Mapping[str, int]) -> Mapping[str, int]:
    # Operations a caller leaves out keep their default limit.
    unknown = set(value) - set(DEFAULT_LIMITS)
    if unknown:
        raise ValueError(f"limits name unknown operations: {sorted(unknown)}")
    return MappingProxyType({**DEFAULT_LIMITS, **value})


def _check_model(_: object, __: attrs.Attribute[str], value: str) -> None:
    if value not in _MODELS:
        raise ValueError(f"rate_limit_model must be one of {_MODELS}, got {value!r}")


@attrs.frozen
class SandboxConfig:
    """Everything that shapes a sandbox's behaviour; all fields have defaults.

    Rate limits count calls per API key and per operation kind (upload, read,
    publish, delete) in a window of ``window`` seconds, under one of three
    models: ``"sliding"`` (at most N calls in any window-long span, the
    strictest), ``"calendar"`` (fixed windows aligned to multiples of
    ``window`` on the wall clock) and ``"token_bucket"`` (capacity N, refilled
    continuously at N per window). A rejected call does not count.
    ``limits`` may name only some operations; the others keep their default.

    Targets of accounts named in ``failing_accounts``, and targets whose
    caption contains ``[sandbox:fail]``, end ``failed``.
    """

    accounts: tuple[SeedAccount, ...] = _DEFAULT_ACCOUNTS
    rate_limit_model: str = attrs.field(default="sliding", validator=_check_model)
    limits: Mapping[str, int] = attrs.field(
        default=DEFAULT_LIMITS, converter=_frozen_limits, hash=False
    )
    window: float = 60.0
    rate_limits_enabled: bool = True
    send_rate_limit_headers: bool = False
    queue_delay: float = 0.5
    processing_delay: float = 1.0
    upload_url_ttl: float = 900.0
    # "20 MB" and "4 GB" read the strict, decimal way.
    max_image_bytes: int = 20 * 1000**2
    max_video_bytes: int = 4 * 1000**3
    idempotency_ttl: float = 24 * 3600.0
    failing_accounts: frozenset[str] = frozenset()
