"""Helpers shared by the sandbox's tests: raw HTTP calls over loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp
from yarl import URL

from postqued_async import FakeClock
from postqued_async.sandbox import Sandbox


class Served(Protocol):
    """Anything serving a sandbox: a Sandbox or the fixture's handle."""

    @property
    def url(self) -> str: ...

    @property
    def api_key(self) -> str: ...


StartSandbox = Callable[..., Awaitable[Sandbox]]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def iso_after(clock: FakeClock, seconds: float) -> str:
    at = dt.datetime.fromtimestamp(clock.time() + seconds, dt.UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


async def start_upload(
    http: aiohttp.ClientSession,
    sb: Served,
    *,
    size: int,
    content_type: str = "video/mp4",
    filename: str = "clip.mp4",
) -> dict[str, Any]:
    response = await http.post(
        f"{sb.url}/v1/content/upload",
        json={"filename": filename, "contentType": content_type, "fileSize": size},
        headers=bearer(sb.api_key),
    )
    assert response.status == 200, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def put_bytes(
    http: aiohttp.ClientSession,
    upload: dict[str, Any],
    body: bytes,
    headers: dict[str, str] | None = None,
) -> aiohttp.ClientResponse:
    return await http.put(
        URL(upload["url"], encoded=True),
        data=body,
        headers=upload["headers"] if headers is None else headers,
    )


async def uploaded_video(
    http: aiohttp.ClientSession, sb: Served, size: int = 1000
) -> str:
    """A ready video's content id, uploaded the full three-step way."""
    started = await start_upload(http, sb, size=size)
    put = await put_bytes(http, started["upload"], b"v" * size)
    assert put.status == 200, await put.text()
    complete = await http.post(
        f"{sb.url}/v1/content/upload/complete",
        json={
            "contentId": started["contentId"],
            "key": started["upload"]["key"],
            "filename": "clip.mp4",
            "contentType": "video/mp4",
            "size": size,
            "width": 1080,
            "height": 1920,
            "durationMs": 15000,
        },
        headers=bearer(sb.api_key),
    )
    assert complete.status == 200, await complete.text()
    content_id: str = (await complete.json())["id"]
    return content_id


async def account_id(
    http: aiohttp.ClientSession, sb: Served, username: str = "creator_one"
) -> str:
    response = await http.get(
        f"{sb.url}/v1/platform-accounts", headers=bearer(sb.api_key)
    )
    accounts = (await response.json())["accounts"]
    found: str = next(a["id"] for a in accounts if a["username"] == username)
    return found
