"""Finding the accounts to publish to."""

from __future__ import annotations

import pytest

from postqued_async import AccountNotFoundError, Platform, PostQued, ValidationError
from postqued_async.sandbox import Sandbox


async def test_list_returns_every_seeded_account(pq: PostQued) -> None:
    accounts = await pq.accounts.list()

    assert {"creator_one", "creator_two"} <= {a.username for a in accounts}


async def test_list_filters_by_platform(pq: PostQued) -> None:
    accounts = await pq.accounts.list(platform="tiktok")

    assert accounts
    assert all(account.platform is Platform.TIKTOK for account in accounts)


async def test_get_matches_username_ignoring_case_and_at_sign(pq: PostQued) -> None:
    account = await pq.accounts.get("@Creator_One")

    assert account.username == "creator_one"


async def test_unknown_username_names_the_accounts_there_are(pq: PostQued) -> None:
    with pytest.raises(AccountNotFoundError, match="creator_one") as caught:
        await pq.accounts.get("nobody_here")

    assert caught.value.username == "nobody_here"


async def test_unknown_platform_is_refused_before_sending(
    pq: PostQued, sandbox: Sandbox
) -> None:
    with pytest.raises(ValidationError, match="myspace"):
        await pq.accounts.list(platform="myspace")

    assert sandbox.requests == []
