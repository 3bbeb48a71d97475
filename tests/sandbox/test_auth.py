"""Every API route demands a known key with a subscription."""

import aiohttp
from sandbox_helpers import bearer

from postqued_async.sandbox import Sandbox


async def test_missing_authorization_is_unauthorized(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    response = await http.get(f"{sb.url}/v1/platform-accounts")

    assert response.status == 401
    assert (await response.json())["code"] == "UNAUTHORIZED"
    assert response.headers["X-Request-Id"].startswith("req_")


async def test_unknown_key_is_unauthorized(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    response = await http.get(
        f"{sb.url}/v1/platform-accounts", headers=bearer("pq_not_a_real_key")
    )

    assert response.status == 401
    assert (await response.json())["code"] == "UNAUTHORIZED"


async def test_key_without_subscription_is_payment_required(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    key = sb.issue_key(subscription=False)

    response = await http.get(f"{sb.url}/v1/platform-accounts", headers=bearer(key))

    assert response.status == 402
    assert (await response.json())["code"] == "SUBSCRIPTION_REQUIRED"


async def test_unknown_route_is_json_not_found(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    response = await http.get(f"{sb.url}/v1/nothing-here", headers=bearer(sb.api_key))

    assert response.status == 404
    assert (await response.json())["code"] == "NOT_FOUND"


async def test_accounts_filter_by_platform_and_reject_unknown_platform(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    tiktok = await http.get(
        f"{sb.url}/v1/platform-accounts",
        params={"platform": "tiktok"},
        headers=bearer(sb.api_key),
    )
    unknown = await http.get(
        f"{sb.url}/v1/platform-accounts",
        params={"platform": "myspace"},
        headers=bearer(sb.api_key),
    )

    usernames = [a["username"] for a in (await tiktok.json())["accounts"]]
    assert usernames == ["creator_one", "creator_two"]
    assert unknown.status == 400
    assert "platform" in (await unknown.json())["error"]


async def test_content_of_another_key_is_not_found(
    sb: Sandbox, http: aiohttp.ClientSession
) -> None:
    from sandbox_helpers import uploaded_video

    content_id = await uploaded_video(http, sb)
    other = sb.issue_key()

    response = await http.delete(
        f"{sb.url}/v1/content/{content_id}", headers=bearer(other)
    )
    mine = await http.delete(
        f"{sb.url}/v1/content/{content_id}", headers=bearer(sb.api_key)
    )
    again = await http.delete(
        f"{sb.url}/v1/content/{content_id}", headers=bearer(sb.api_key)
    )

    assert response.status == 404
    assert mine.status == 204
    assert again.status == 404
