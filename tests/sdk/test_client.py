"""The client's life cycle and configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from postqued_async import (
    AuthenticationError,
    ClientClosedError,
    ConfigurationError,
    PostQued,
    SubscriptionRequiredError,
)
from postqued_async.sandbox import Sandbox


@pytest.fixture
def no_key_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("POSTQUED_API_KEY", raising=False)
    monkeypatch.delenv("POSTQUED_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.usefixtures("no_key_env")
def test_missing_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="POSTQUED_API_KEY"):
        PostQued()


@pytest.mark.usefixtures("no_key_env")
def test_key_without_pq_prefix_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError, match="pq_") as caught:
        PostQued("sk_live_secret_value")

    assert "sk_live_secret_value" not in str(caught.value)


async def test_key_is_read_from_dotenv_file(no_key_env: Path) -> None:
    (no_key_env / ".env").write_text("POSTQUED_API_KEY=pq_from_dotenv\n")

    async with PostQued(base_url="http://127.0.0.1:9") as pq:
        assert pq._transport._auth == "Bearer pq_from_dotenv"


async def test_environment_wins_over_dotenv_file(
    no_key_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (no_key_env / ".env").write_text("POSTQUED_API_KEY=pq_from_dotenv\n")
    monkeypatch.setenv("POSTQUED_API_KEY", "pq_from_environment")

    async with PostQued(base_url="http://127.0.0.1:9") as pq:
        assert pq._transport._auth == "Bearer pq_from_environment"


async def test_repr_never_shows_the_key(sandbox: Sandbox) -> None:
    async with PostQued(sandbox.api_key, base_url=sandbox.url) as pq:
        assert sandbox.api_key not in repr(pq)
        assert sandbox.api_key not in repr(pq._transport.limits)


async def test_close_twice_is_harmless_and_use_after_close_is_an_error(
    sandbox: Sandbox,
) -> None:
    pq = PostQued(sandbox.api_key, base_url=sandbox.url)
    await pq.accounts.list()

    await pq.close()
    await pq.close()

    assert pq.closed
    with pytest.raises(ClientClosedError, match="closed"):
        await pq.accounts.list()


async def test_all_calls_share_one_session(pq: PostQued) -> None:
    await pq.accounts.list()
    session = pq._transport._session

    await pq.accounts.list(platform="tiktok")

    assert session is not None
    assert pq._transport._session is session


async def test_unknown_key_raises_authentication_error_with_request_id(
    sandbox: Sandbox,
) -> None:
    async with PostQued("pq_not_issued_by_this_sandbox", base_url=sandbox.url) as pq:
        with pytest.raises(AuthenticationError) as caught:
            await pq.accounts.list()

    assert caught.value.status == 401
    assert caught.value.code == "UNAUTHORIZED"
    assert caught.value.request_id


async def test_key_without_subscription_raises_subscription_required(
    sandbox: Sandbox,
) -> None:
    key = sandbox.issue_key(subscription=False)

    async with PostQued(key, base_url=sandbox.url) as pq:
        with pytest.raises(SubscriptionRequiredError) as caught:
            await pq.accounts.list()

    assert caught.value.status == 402
    assert caught.value.code == "SUBSCRIPTION_REQUIRED"


def test_bad_base_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        PostQued("pq_x", base_url="ftp://example")


def test_unknown_api_version_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="api_version"):
        PostQued("pq_x", api_version="v9")


async def test_limits_show_calls_left_after_use(pq: PostQued) -> None:
    before = pq.limits["read"].remaining

    await pq.accounts.list()

    assert before is not None
    assert pq.limits["read"].remaining == before - 1
    assert pq.limits["publish"].next_slot_in == 0.0


async def test_clients_of_one_key_share_limits_without_a_shared_clock(
    sandbox: Sandbox,
) -> None:
    other_key = sandbox.issue_key()
    async with (
        PostQued(sandbox.api_key, base_url=sandbox.url) as first,
        PostQued(sandbox.api_key, base_url=sandbox.url) as second,
        PostQued(other_key, base_url=sandbox.url) as other,
    ):
        await first.accounts.list()

        assert second.limits["read"].remaining == first.limits["read"].remaining
        assert other.limits["read"].remaining == (first.limits["read"].limit or 0)
