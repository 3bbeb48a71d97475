"""Publish targets: where a post goes, with the platform's options, checked.

Build a target with the constructor for its platform, for example::

    Target.tiktok(account, "Launch day!", privacy_level="PUBLIC_TO_EVERYONE",
                  disable_duet=True, dispatch_at=datetime(..., tzinfo=UTC))

Everything a target holds is checked when it is built, so a bad caption, a
naive dispatch time or an unknown privacy level fails before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from postqued_async._converter import converter, format_instant, to_camel
from postqued_async._enums import Intent, Platform, PrivacyLevel
from postqued_async._errors import ValidationError
from postqued_async._models import PlatformAccount

__all__ = ["MAX_CAPTION_LENGTH", "Target", "TikTokOptions", "caption_length"]

MAX_CAPTION_LENGTH = 63_206


def _privacy_level(value: PrivacyLevel | str | None) -> PrivacyLevel | None:
    if value is None:
        return None
    return PrivacyLevel.parse(value, "TikTok privacy level")


def _optional_bool(name: str) -> Any:
    def check(_: Any, __: Any, value: Any) -> None:
        if value is not None and not isinstance(value, bool):
            raise ValidationError(f"{name} must be True or False, not {value!r}")

    return check


def _non_negative_int(name: str) -> Any:
    def check(_: Any, __: Any, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(f"{name} must be a whole number >= 0, not {value!r}")

    return check


@attrs.frozen(kw_only=True)
class TikTokOptions:
    """TikTok's options for a post; ``None`` leaves a setting to the default.

    Attributes:
        privacy_level: who may see the post.
        disable_duet, disable_stitch, disable_comment: switch those off.
        video_cover_timestamp_ms: the frame used as the cover (videos).
        photo_cover_index: which photo is the cover (photo posts).
        auto_add_music: let TikTok add music (photo posts).
        brand_content_toggle: a paid partnership.
        brand_organic_toggle: promotes the creator's own business.
        extra: options newer than this SDK, in the API's camelCase names;
            sent as given.
    """

    privacy_level: PrivacyLevel | None = attrs.field(
        default=None, converter=_privacy_level
    )
    disable_duet: bool | None = attrs.field(
        default=None, validator=_optional_bool("disable_duet")
    )
    disable_stitch: bool | None = attrs.field(
        default=None, validator=_optional_bool("disable_stitch")
    )
    disable_comment: bool | None = attrs.field(
        default=None, validator=_optional_bool("disable_comment")
    )
    video_cover_timestamp_ms: int | None = attrs.field(
        default=None, validator=_non_negative_int("video_cover_timestamp_ms")
    )
    photo_cover_index: int | None = attrs.field(
        default=None, validator=_non_negative_int("photo_cover_index")
    )
    auto_add_music: bool | None = attrs.field(
        default=None, validator=_optional_bool("auto_add_music")
    )
    brand_content_toggle: bool | None = attrs.field(
        default=None, validator=_optional_bool("brand_content_toggle")
    )
    brand_organic_toggle: bool | None = attrs.field(
        default=None, validator=_optional_bool("brand_organic_toggle")
    )
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_wire(cls, options: Mapping[str, Any]) -> TikTokOptions:
        """Build from the API's camelCase names, refusing names it lacks."""
        by_wire_name = {
            to_camel(field.name): field.name
            for field in attrs.fields(cls)
            if field.name != "extra"
        }
        unknown = sorted(set(options) - set(by_wire_name))
        if unknown:
            raise ValidationError(
                f"unknown TikTok option(s) {', '.join(unknown)}; "
                f"known options: {', '.join(sorted(by_wire_name))}; pass newer "
                "ones through TikTokOptions(extra=...)"
            )
        return cls(**{by_wire_name[name]: value for name, value in options.items()})

    def to_wire(self) -> dict[str, Any]:
        """The options in the API's camelCase, leaving out unset ones."""
        wire: dict[str, Any] = converter.unstructure(self)
        wire.pop("extra", None)
        options = {name: value for name, value in wire.items() if value is not None}
        return options | dict(self.extra)


def _platform(value: Platform | str) -> Platform:
    return Platform.parse(value, "platform")


def _intent(value: Intent | str) -> Intent:
    return Intent.parse(value, "intent")


def _account_id(value: PlatformAccount | str) -> str:
    if isinstance(value, PlatformAccount):
        return value.id
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"account must be a PlatformAccount or a non-empty account id, "
            f"not {value!r}; find it with pq.accounts.get(username)"
        )
    return value


def _check_account(platform: Platform, account: PlatformAccount | str) -> None:
    if not isinstance(account, PlatformAccount) or not account.platform.is_known:
        return
    if account.platform is not platform:
        raise ValidationError(
            f"account {account.username!r} is on {account.platform.value}, "
            f"not {platform.value}; find the {platform.value} one with "
            f"pq.accounts.get({account.username!r}, platform={platform.value!r})"
        )


def _caption(value: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"caption must be a string, not {type(value).__name__}")
    if not value.strip():
        raise ValidationError("caption is empty; write the text of the post")
    try:
        length = caption_length(value)
    except UnicodeEncodeError:
        raise ValidationError(
            "caption holds a lone surrogate, which is not text; it usually "
            "comes from a wrongly decoded file"
        ) from None
    if length > MAX_CAPTION_LENGTH:
        raise ValidationError(
            f"caption is {length:,} characters long as the API counts them "
            f"(emoji count twice); it accepts at most {MAX_CAPTION_LENGTH:,}: "
            "shorten it"
        )
    return value


def caption_length(caption: str) -> int:
    """A caption's length as the API counts it: in UTF-16 code units.

    Web services count a string's length the way JavaScript does, so a
    character outside the Basic Multilingual Plane (most emoji) counts twice.
    """
    return len(caption.encode("utf-16-le")) // 2


def _dispatch_at(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError(
            f"dispatch_at must be an aware datetime or None, not {value!r}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"dispatch_at {value.isoformat()} has no time zone; pass an aware "
            "datetime such as datetime(..., tzinfo=UTC)"
        )
    return value


@attrs.frozen(kw_only=True)
class Target:
    """One destination of a publish request.

    Prefer the per-platform constructors (:meth:`tiktok`, :meth:`for_platform`).

    Raises:
        ValidationError: an unknown platform or intent, an empty or too long
            caption, a naive ``dispatch_at`` or bad options.
    """

    platform: Platform = attrs.field(converter=_platform)
    account_id: str = attrs.field(converter=_account_id)
    caption: str = attrs.field(converter=_caption)
    intent: Intent = attrs.field(default=Intent.PUBLISH, converter=_intent)
    dispatch_at: datetime | None = attrs.field(default=None, converter=_dispatch_at)
    options: TikTokOptions | Mapping[str, Any] | None = None

    def __attrs_post_init__(self) -> None:
        if self.options is not None and not isinstance(
            self.options, TikTokOptions | Mapping
        ):
            raise ValidationError(
                f"options must be a mapping of the API's option names, not "
                f"{type(self.options).__name__}"
            )
        if isinstance(self.options, Mapping):
            try:
                json.dumps(self.options)
            except (TypeError, ValueError) as exc:
                raise ValidationError(
                    f"options must hold only JSON values (text, numbers, "
                    f"booleans, lists, mappings): {exc}"
                ) from None
        if self.platform is Platform.TIKTOK and isinstance(self.options, Mapping):
            object.__setattr__(self, "options", TikTokOptions.from_wire(self.options))
        elif isinstance(self.options, TikTokOptions) and (
            self.platform is not Platform.TIKTOK
        ):
            raise ValidationError(
                f"TikTokOptions given for a {self.platform.value} target; "
                "pass that platform's options as a mapping"
            )

    @classmethod
    def tiktok(
        cls,
        account: PlatformAccount | str,
        caption: str,
        *,
        intent: Intent | str = Intent.PUBLISH,
        dispatch_at: datetime | None = None,
        privacy_level: PrivacyLevel | str | None = None,
        disable_duet: bool | None = None,
        disable_stitch: bool | None = None,
        disable_comment: bool | None = None,
        video_cover_timestamp_ms: int | None = None,
        photo_cover_index: int | None = None,
        auto_add_music: bool | None = None,
        brand_content_toggle: bool | None = None,
        brand_organic_toggle: bool | None = None,
    ) -> Target:
        """A TikTok target. ``account`` is a :class:`PlatformAccount` or its id."""
        _check_account(Platform.TIKTOK, account)
        options = TikTokOptions(
            privacy_level=privacy_level,
            disable_duet=disable_duet,
            disable_stitch=disable_stitch,
            disable_comment=disable_comment,
            video_cover_timestamp_ms=video_cover_timestamp_ms,
            photo_cover_index=photo_cover_index,
            auto_add_music=auto_add_music,
            brand_content_toggle=brand_content_toggle,
            brand_organic_toggle=brand_organic_toggle,
        )
        return cls(
            platform=Platform.TIKTOK,
            account_id=account,
            caption=caption,
            intent=intent,
            dispatch_at=dispatch_at,
            options=options,
        )

    @classmethod
    def for_platform(
        cls,
        platform: Platform | str,
        account: PlatformAccount | str,
        caption: str,
        *,
        intent: Intent | str = Intent.PUBLISH,
        dispatch_at: datetime | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Target:
        """A target on any platform, with its options in the API's names."""
        _check_account(_platform(platform), account)
        return cls(
            platform=platform,
            account_id=account,
            caption=caption,
            intent=intent,
            dispatch_at=dispatch_at,
            options=options,
        )

    def to_wire(self) -> dict[str, Any]:
        """The target as the API expects it (``dispatchAt`` null = now)."""
        wire: dict[str, Any] = {
            "platform": self.platform.value,
            "accountId": self.account_id,
            "intent": self.intent.value,
            "caption": self.caption,
            "dispatchAt": (
                format_instant(self.dispatch_at) if self.dispatch_at else None
            ),
        }
        if isinstance(self.options, TikTokOptions):
            options = self.options.to_wire()
        else:
            options = dict(self.options or {})
        if options:
            wire["options"] = options
        return wire
