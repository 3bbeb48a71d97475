"""Input a person might type: normalised when it is clear, refused when not."""

from __future__ import annotations

import pytest

from postqued_async import (
    ConfigurationError,
    MediaError,
    Platform,
    PlatformAccount,
    PostQued,
    PrivacyLevel,
    Target,
    TargetStatus,
    ValidationError,
)
from postqued_async._targets import MAX_CAPTION_LENGTH, caption_length
from postqued_async.sandbox import Sandbox, SeedAccount

INSTAGRAM = PlatformAccount(id="ig-1", platform=Platform.INSTAGRAM, username="brand")


def test_letter_case_of_platform_and_privacy_is_normalised() -> None:
    target = Target.for_platform(
        "TikTok", "acc", "hi", options={"privacyLevel": "public_to_everyone"}
    )

    assert target.platform is Platform.TIKTOK
    assert target.to_wire()["options"] == {"privacyLevel": "PUBLIC_TO_EVERYONE"}


def test_tiktok_options_are_checked_whatever_the_platforms_case() -> None:
    with pytest.raises(ValidationError, match="disable_duet"):
        Target.for_platform("TIKTOK", "acc", "hi", options={"disableDuet": "yes"})


def test_a_status_in_other_letters_is_not_taken_for_a_known_one() -> None:
    status = TargetStatus("Published")

    assert not status.is_known
    assert not status.is_terminal
    assert status == "Published"


def test_an_account_of_another_platform_is_refused() -> None:
    with pytest.raises(ValidationError, match="is on instagram, not tiktok"):
        Target.tiktok(INSTAGRAM, "hi")


def test_options_must_be_a_mapping() -> None:
    with pytest.raises(ValidationError, match="mapping"):
        Target.for_platform("youtube", "acc", "hi", options="visibility=public")  # type: ignore[arg-type]


def test_captions_are_counted_as_the_api_counts_them() -> None:
    fits = "🚀" * (MAX_CAPTION_LENGTH // 2)
    too_long = fits + "🚀"

    assert caption_length(fits) == MAX_CAPTION_LENGTH
    assert Target.tiktok("acc", fits).caption == fits
    with pytest.raises(ValidationError, match="emoji count twice"):
        Target.tiktok("acc", too_long)


def test_privacy_level_accepts_the_enum_itself() -> None:
    target = Target.tiktok("acc", "hi", privacy_level=PrivacyLevel.SELF_ONLY)

    assert target.to_wire()["options"] == {"privacyLevel": "SELF_ONLY"}


@pytest.mark.parametrize("key", ["pq_", "pq_abc\r\nX-Other: 1", "pq_with space"])
def test_malformed_keys_are_refused(key: str) -> None:
    with pytest.raises(ConfigurationError, match="api_key argument"):
        PostQued(key)


def test_a_malformed_key_is_never_echoed() -> None:
    with pytest.raises(ConfigurationError) as caught:
        PostQued("pq_secret value")

    assert "secret" not in str(caught.value)


async def test_surrounding_whitespace_of_a_key_is_ignored() -> None:
    async with PostQued("  pq_padded\n", base_url="http://127.0.0.1:9") as pq:
        assert pq._transport._auth == "Bearer pq_padded"


async def test_an_idempotency_key_that_cannot_be_a_header_is_refused(
    pq: PostQued, sandbox: Sandbox
) -> None:
    with pytest.raises(ValidationError, match="printable ASCII"):
        await pq.publish.create(
            ["c"], [Target.tiktok("a", "x")], idempotency_key="a\nInjected: 1"
        )

    assert sandbox.requests == []


async def test_no_path_at_all_is_a_media_error(pq: PostQued, sandbox: Sandbox) -> None:
    with pytest.raises(MediaError, match="path of a media file"):
        await pq.content.upload(None)  # type: ignore[arg-type]

    assert sandbox.requests == []


async def test_no_username_is_refused_before_sending(
    pq: PostQued, sandbox: Sandbox
) -> None:
    with pytest.raises(ValidationError, match="username"):
        await pq.accounts.get(None)  # type: ignore[arg-type]

    assert sandbox.requests == []


async def test_a_username_on_several_platforms_needs_the_platform() -> None:
    accounts = (SeedAccount("instagram", "brand"), SeedAccount("tiktok", "brand"))
    async with (
        Sandbox(accounts=accounts) as sandbox,
        PostQued(sandbox.api_key, base_url=sandbox.url) as pq,
    ):
        with pytest.raises(ValidationError, match="instagram, tiktok"):
            await pq.accounts.get("brand")

        account = await pq.accounts.get("brand", platform="tiktok")

    assert account.platform is Platform.TIKTOK


def test_a_caption_that_is_not_text_is_refused() -> None:
    with pytest.raises(ValidationError, match="surrogate"):
        Target.tiktok("acc", "hi \ud800")


def test_options_that_are_not_json_are_refused_when_built() -> None:
    with pytest.raises(ValidationError, match="JSON"):
        Target.for_platform("youtube", "acc", "hi", options={"tags": {"a"}})


@pytest.mark.parametrize(
    ("setting", "value"), [("timeout", 0), ("timeout", -1), ("upload_stall_timeout", 0)]
)
def test_timeouts_must_be_positive(setting: str, value: float) -> None:
    with pytest.raises(ConfigurationError, match=setting):
        PostQued("pq_x", **{setting: value})


def test_a_key_that_is_not_text_says_so() -> None:
    with pytest.raises(ConfigurationError, match="must be a string"):
        PostQued(123)  # type: ignore[arg-type]


async def test_upload_many_checks_its_arguments_when_called(pq: PostQued) -> None:
    with pytest.raises(ValidationError, match="concurrency"):
        pq.content.upload_many([], concurrency=0)
    with pytest.raises(ValidationError, match=r"paths\[1\]"):
        pq.content.upload_many(["a.mp4", None])  # type: ignore[list-item]
