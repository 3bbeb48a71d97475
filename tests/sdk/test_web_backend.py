"""The web backend example shares one client, one pool and one set of limits."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from postqued_async import Limits, PostQued, RateLimit
from postqued_async._transport import Transport
from postqued_async.sandbox import Sandbox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "web_backend.py"
REQUESTS = 200

Backend = tuple[
    TestClient[aiohttp.web.Request, aiohttp.web.Application], Sandbox, list[int]
]


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("web_backend", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def backend(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Backend]:
    sessions: list[int] = []
    open_session = Transport._open_session

    def counting(self: Transport) -> aiohttp.ClientSession:
        session = open_session(self)
        sessions.append(id(session))
        return session

    monkeypatch.setattr(Transport, "_open_session", counting)
    example = load_example()
    async with Sandbox(rate_limits_enabled=False) as sandbox:

        def make_client() -> PostQued:
            return PostQued(
                sandbox.api_key,
                base_url=sandbox.url,
                limits=Limits(read=RateLimit(REQUESTS + 50)),
            )

        app = example.create_app(make_client)
        async with TestClient(TestServer(app)) as http:
            yield http, sandbox, sessions


async def test_concurrent_requests_share_one_session_and_one_set_of_limits(
    backend: Backend,
) -> None:
    http, sandbox, sessions = backend

    async def accounts() -> int:
        async with http.get("/accounts") as response:
            await response.read()
            return response.status

    statuses = await asyncio.gather(*(accounts() for _ in range(REQUESTS)))
    async with http.get("/limits") as response:
        limits = await response.json()

    assert statuses == [200] * REQUESTS
    assert len(set(sessions)) == 1
    assert limits["read"]["remaining"] == 50
    reads = [r for r in sandbox.requests if r.path == "/v1/platform-accounts"]
    assert len(reads) == REQUESTS


async def test_resubmitted_post_is_published_once(
    backend: Backend,
    media: Path,
) -> None:
    http, sandbox, _ = backend
    async with PostQued(sandbox.api_key, base_url=sandbox.url) as pq:
        video = await pq.content.upload(media / "product-loop.mp4")
    form = {
        "contentId": video.id,
        "username": "creator_one",
        "caption": "from the backend",
        "postId": 42,
    }

    answers = []
    for _ in range(3):
        async with http.post("/posts", json=form) as response:
            answers.append(await response.json())

    assert len({answer["publishId"] for answer in answers}) == 1
    assert len(sandbox.state.publishes) == 1
