"""Answers from a newer or older server never break structuring.

Hypothesis feeds payloads with extra fields, optional fields left out and
enum values the SDK has never heard of; structuring must not crash, and an
unknown value must come back as it was sent.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from postqued_async._models import ContentAsset, PlatformAccount, Publish, structure

NAMES = st.text(
    alphabet=st.characters(min_codepoint=97, max_codepoint=122), min_size=1
).map(lambda name: f"x{name}")
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
EXTRA = st.dictionaries(NAMES, JSON, max_size=4)
INSTANT = st.sampled_from(["2026-07-01T12:00:00Z", "2026-07-01T12:00:00.123Z"])


def enum_value(known: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(known) | st.text(
        alphabet=st.characters(min_codepoint=97, max_codepoint=122), min_size=1
    )


def some_of(
    required: dict[str, Any], optional: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """The required fields, any subset of the optional ones, extra fields."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        payload = {name: draw(value) for name, value in required.items()}
        for name, value in optional.items():
            if draw(st.booleans()):
                payload[name] = draw(value)
        payload.update(draw(EXTRA))
        return payload

    return build()


TARGETS = some_of(
    {
        "id": st.uuids().map(str),
        "platform": enum_value(["tiktok", "instagram", "youtube"]),
        "status": enum_value(["queued", "scheduled", "published", "failed"]),
    },
    {
        "accountId": st.uuids().map(str),
        "intent": enum_value(["draft", "publish"]),
        "caption": st.text(max_size=30),
        "dispatchAt": st.none() | INSTANT,
        "options": st.none() | st.dictionaries(NAMES, JSON, max_size=3),
        "platformPostId": st.none() | st.text(max_size=10),
        "publishedAt": st.none() | INSTANT,
        "error": st.none()
        | some_of({}, {"code": st.text(max_size=10), "message": st.text(max_size=20)}),
    },
)

PUBLISHES = some_of(
    {
        "publishId": st.uuids().map(str),
        "status": enum_value(["pending", "processing", "completed", "canceled"]),
    },
    {
        "targets": st.lists(TARGETS, max_size=3),
        "dryRun": st.booleans(),
        "createdAt": INSTANT,
    },
)


@settings(max_examples=150, deadline=None)
@given(PUBLISHES)
def test_publish_answers_always_structure(payload: dict[str, Any]) -> None:
    publish = structure(payload, Publish)

    assert publish.id == payload["publishId"]
    assert publish.status.value == payload["status"]
    for target, sent in zip(publish.targets, payload.get("targets", []), strict=True):
        assert target.platform.value == sent["platform"]
        assert target.status.value == sent["status"]
        assert isinstance(target.is_terminal, bool)


@settings(max_examples=100, deadline=None)
@given(
    some_of(
        {
            "id": st.uuids().map(str),
            "platform": enum_value(["tiktok", "bluesky"]),
            "username": st.text(min_size=1, max_size=15),
        },
        {
            "displayName": st.none() | st.text(max_size=15),
            "accountStatus": st.none() | st.text(max_size=10),
            "createdAt": INSTANT,
        },
    )
)
def test_account_answers_always_structure(payload: dict[str, Any]) -> None:
    account = structure(payload, PlatformAccount)

    assert account.platform.value == payload["platform"]
    assert account.username == payload["username"]


@settings(max_examples=100, deadline=None)
@given(
    some_of(
        {"id": st.uuids().map(str)},
        {
            "mediaType": enum_value(["video", "image"]),
            "status": enum_value(["uploading", "ready"]),
            "size": st.none() | st.integers(min_value=1),
            "width": st.none() | st.integers(min_value=1, max_value=8000),
            "mimeType": st.text(max_size=15),
            "createdAt": INSTANT,
        },
    )
)
def test_content_answers_always_structure(payload: dict[str, Any]) -> None:
    asset = structure(payload, ContentAsset)

    assert asset.id == payload["id"]
    if "mediaType" in payload:
        assert asset.media_type is not None
        assert asset.media_type.value == payload["mediaType"]
