"""Validation of a publish request body, field by field, with messages that
name the field and say what to send instead."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import attrs

from postqued_async._targets import caption_length
from postqued_async.sandbox._errors import validation
from postqued_async.sandbox._state import Account, ApiKey, SandboxState

__all__ = ["PLATFORMS", "TargetSpec", "parse_json_object", "parse_publish"]

PLATFORMS = (
    "tiktok",
    "instagram",
    "facebook",
    "threads",
    "linkedin",
    "youtube",
    "twitter",
    "pinterest",
    "reddit",
    "mastodon",
    "bluesky",
)
MAX_CONTENT_IDS = 35
MAX_TARGETS = 10
MAX_CAPTION = 63_206

_TOP_FIELDS = frozenset({"contentIds", "contentId", "targets", "dryRun"})
_TARGET_FIELDS = frozenset(
    {"platform", "accountId", "intent", "caption", "dispatchAt", "options"}
)
_INTENTS = ("draft", "publish")

# Option values the platforms define; other option fields pass unchecked.
_OPTION_CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "tiktok": {
        "privacyLevel": (
            "PUBLIC_TO_EVERYONE",
            "MUTUAL_FOLLOW_FRIENDS",
            "FOLLOWER_OF_CREATOR",
            "SELF_ONLY",
        )
    },
    "instagram": {"postType": ("post", "reel", "story")},
    "facebook": {"postType": ("text", "photo", "video", "reel", "link")},
    "threads": {"replyControl": ("everyone", "accounts_you_follow", "mentioned_only")},
    "linkedin": {"postType": ("text", "article", "image", "video")},
    "youtube": {"visibility": ("public", "unlisted", "private")},
    "twitter": {"replySettings": ("everyone", "mentionedUsers", "following")},
    "reddit": {"kind": ("self", "link", "image", "video", "videogif")},
    "mastodon": {"visibility": ("public", "unlisted", "private", "direct")},
}
_BOOLEAN_OPTIONS: dict[str, tuple[str, ...]] = {
    "tiktok": (
        "disableDuet",
        "disableStitch",
        "disableComment",
        "autoAddMusic",
        "brandContentToggle",
        "brandOrganicToggle",
    ),
    "youtube": ("madeForKids", "containsSyntheticMedia"),
    "reddit": ("nsfw", "spoiler"),
    "mastodon": ("sensitive",),
}
_LIST_LIMITS: dict[str, dict[str, int]] = {
    "instagram": {"collaborators": 3},
    "youtube": {"tags": 30},
}


@attrs.frozen
class TargetSpec:
    """A validated target, ready to be scheduled."""

    platform: str
    account: Account
    intent: str
    caption: str
    dispatch_at: float | None
    options: dict[str, Any] | None


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying what is wrong with it."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise validation(f"The request body is not valid JSON ({error}).") from None
    if not isinstance(body, dict):
        raise validation("The request body must be a JSON object.")
    return body


def parse_publish(
    body: dict[str, Any], state: SandboxState, caller: ApiKey
) -> tuple[tuple[str, ...], list[TargetSpec]]:
    """Check a v1 publish body; answer its content ids and targets.

    Raises:
        ApiError: 400 VALIDATION_ERROR naming the first offending field.
    """
    for field in body:
        if field not in _TOP_FIELDS:
            raise validation(
                f"{field} is not a field of a publish request; send contentIds "
                "and targets."
            )
    if body.get("dryRun", False) is not False:
        raise validation("dryRun must be false or absent: API v1 has no dry runs.")

    content_ids = _content_ids(body, state, caller)
    targets = body.get("targets")
    if not isinstance(targets, list) or not 1 <= len(targets) <= MAX_TARGETS:
        raise validation(
            f"targets must be a list of 1 to {MAX_TARGETS} targets, "
            f"got {_describe(targets)}."
        )
    specs = [
        _target(f"targets[{index}]", target, state, caller)
        for index, target in enumerate(targets)
    ]
    return content_ids, specs


def _content_ids(
    body: dict[str, Any], state: SandboxState, caller: ApiKey
) -> tuple[str, ...]:
    if "contentIds" in body and "contentId" in body:
        raise validation("Send contentIds or the older contentId, not both.")
    if "contentId" in body:
        if not isinstance(body["contentId"], str):
            raise validation("contentId must be a string; prefer contentIds, a list.")
        ids: Any = [body["contentId"]]
        field = "contentId"
    else:
        ids = body.get("contentIds")
        field = "contentIds"
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_CONTENT_IDS:
        raise validation(
            f"contentIds must be a list of 1 to {MAX_CONTENT_IDS} content ids, "
            f"got {_describe(ids)}."
        )
    for index, content_id in enumerate(ids):
        name = field if field == "contentId" else f"contentIds[{index}]"
        if not isinstance(content_id, str):
            raise validation(f"{name} must be a content id string.")
        content = state.content_of(caller.user_id, content_id)
        if content is None:
            raise validation(
                f"{name}: no content {content_id!r} exists for this API key; "
                "upload it first."
            )
        if content.status != "ready":
            raise validation(
                f"{name}: content {content_id!r} is not ready; complete its upload "
                "first."
            )
    if len(set(ids)) != len(ids):
        raise validation("contentIds must not name the same content twice.")
    return tuple(ids)


def _target(name: str, target: Any, state: SandboxState, caller: ApiKey) -> TargetSpec:
    if not isinstance(target, dict):
        raise validation(f"{name} must be an object.")
    for field in target:
        if field not in _TARGET_FIELDS:
            raise validation(
                f"{name}.{field} is not a target field; use "
                f"{', '.join(sorted(_TARGET_FIELDS))}."
            )

    platform = target.get("platform")
    if platform not in PLATFORMS:
        raise validation(
            f"{name}.platform must be one of {', '.join(PLATFORMS)}, "
            f"got {_describe(platform)}."
        )

    account_id = target.get("accountId")
    if not isinstance(account_id, str):
        raise validation(f"{name}.accountId must be a platform account id string.")
    account = state.accounts.get(account_id)
    if account is None or account.user_id != caller.user_id:
        raise validation(
            f"{name}.accountId: no account {account_id!r} is connected for this "
            "API key; list them with GET /v1/platform-accounts."
        )
    if account.platform != platform:
        raise validation(
            f"{name}.accountId: account {account_id!r} is a {account.platform} "
            f"account, not {platform}."
        )

    intent = target.get("intent")
    if intent not in _INTENTS:
        raise validation(
            f"{name}.intent must be draft or publish, got {_describe(intent)}."
        )

    caption = target.get("caption")
    if not isinstance(caption, str) or not 1 <= _length(caption) <= MAX_CAPTION:
        raise validation(
            f"{name}.caption must be a string of 1 to {MAX_CAPTION} characters, "
            f"got {_describe(caption)}."
        )

    dispatch_at = _dispatch_at(f"{name}.dispatchAt", target.get("dispatchAt"), state)
    options = _options(f"{name}.options", platform, target.get("options"))
    return TargetSpec(platform, account, intent, caption, dispatch_at, options)


def _dispatch_at(name: str, value: Any, state: SandboxState) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise validation(
            f"{name} must be null or an ISO-8601 instant such as 2026-02-20T15:00:00Z."
        )
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        raise validation(
            f"{name} {value!r} is not an ISO-8601 instant; send e.g. "
            "2026-02-20T15:00:00Z."
        ) from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise validation(
            f"{name} {value!r} has no timezone; add Z or an offset such as +00:00."
        )
    at = instant.timestamp()
    if at <= state.clock.time():
        raise validation(
            f"{name} {value!r} is not in the future; send null to dispatch now."
        )
    return at


def _options(name: str, platform: str, options: Any) -> dict[str, Any] | None:
    if options is None:
        if platform == "reddit":
            raise validation(f"{name}.subreddit is required for reddit targets.")
        return None
    if not isinstance(options, dict):
        raise validation(f"{name} must be an object, got {_describe(options)}.")

    for field, choices in _OPTION_CHOICES.get(platform, {}).items():
        if field in options and options[field] not in choices:
            raise validation(
                f"{name}.{field} must be one of {', '.join(choices)}, "
                f"got {_describe(options[field])}."
            )
    for field in _BOOLEAN_OPTIONS.get(platform, ()):
        if field in options and not isinstance(options[field], bool):
            raise validation(
                f"{name}.{field} must be true or false, "
                f"got {_describe(options[field])}."
            )
    for field, most in _LIST_LIMITS.get(platform, {}).items():
        value = options.get(field)
        if field in options and (not isinstance(value, list) or len(value) > most):
            raise validation(f"{name}.{field} must be a list of at most {most} items.")
    if "firstComment" in options:
        comment = options["firstComment"]
        if not isinstance(comment, dict) or not isinstance(comment.get("text"), str):
            raise validation(f'{name}.firstComment must be {{"text": "..."}}.')
    if platform == "reddit":
        subreddit = options.get("subreddit")
        if not isinstance(subreddit, str) or not subreddit:
            raise validation(f"{name}.subreddit is required for reddit targets.")
    return options


def _describe(value: Any) -> str:
    # Enough of the offending value to recognise it, never a whole caption.
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _length(caption: str) -> int:
    # A lone surrogate (valid in JSON escapes, not in text) counts as too
    # long rather than crashing the handler.
    try:
        return caption_length(caption)
    except UnicodeEncodeError:
        return MAX_CAPTION + 1
