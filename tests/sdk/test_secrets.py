"""The API key and presigned signatures never show where people look.

Not in a repr or str, an exception, a log line at any level, nor in any
request that goes to the storage host. (tests/conftest.py scans every log
line of the whole run as well.)
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from postqued_async import (
    AuthenticationError,
    PostQued,
    PostQuedError,
    PublishOutcomeUnknownError,
    RetryPolicy,
    StorageError,
    Target,
    TransportError,
)
from postqued_async.sandbox import FaultPlan, Sandbox

SIGNATURE = re.compile(r"X-Amz-Signature", re.IGNORECASE)


def assert_clean(text: str, key: str) -> None:
    assert key not in text
    assert key.removeprefix("pq_") not in text
    assert not SIGNATURE.search(text)


def seen_by_people(error: BaseException) -> str:
    parts = [str(error), repr(error), *map(str, error.args)]
    cause = error.__cause__ or error.__context__
    if cause is not None:
        parts.append(seen_by_people(cause))
    return "\n".join(parts)


async def test_client_repr_and_str_hide_the_key(sandbox: Sandbox) -> None:
    async with PostQued(sandbox.api_key, base_url=sandbox.url) as pq:
        for shown in (repr(pq), str(pq), repr(pq.publish), repr(pq.content)):
            assert_clean(shown, sandbox.api_key)


async def test_errors_under_every_fault_hide_key_and_signature(
    media: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    plan = (
        FaultPlan(seed=1)
        .storage_error("InternalError", 500)
        .reset_after_commit("publish", rate=1.0)
    )
    async with Sandbox(fault_plan=plan) as sb:
        errors: list[BaseException] = []
        async with PostQued(
            sb.api_key,
            base_url=sb.url,
            retry=RetryPolicy(attempts=2, base=0.01, cap=0.01),
        ) as pq:
            with pytest.raises(StorageError) as storage:
                await pq.content.upload(media / "launch-teaser.mp4")
            errors.append(storage.value)

            image = await pq.content.upload(media / "cover.jpg")
            account = await pq.accounts.get("creator_one")
            with pytest.raises(PublishOutcomeUnknownError) as unknown:
                await pq.publish.create([image], [Target.tiktok(account, caption="x")])
            errors.append(unknown.value)

        async with PostQued(sb.api_key[:-4] + "AAAA", base_url=sb.url) as wrong:
            with pytest.raises(AuthenticationError) as denied:
                await wrong.accounts.list()
            errors.append(denied.value)

        async with PostQued(
            sb.api_key, base_url="http://127.0.0.1:9", retry=RetryPolicy.never()
        ) as nowhere:
            with pytest.raises(TransportError) as unreachable:
                await nowhere.accounts.list()
            errors.append(unreachable.value)

    for error in errors:
        assert isinstance(error, PostQuedError)
        assert_clean(seen_by_people(error), sb.api_key)
    for record in caplog.records:
        assert_clean(record.getMessage(), sb.api_key)
    assert "?<redacted>" in str(storage.value)


async def test_storage_never_receives_the_key(
    sandbox: Sandbox, pq: PostQued, media: Path
) -> None:
    await pq.content.upload(media / "product-loop.mp4")

    to_storage = [r for r in sandbox.requests if r.path.startswith("/storage/")]
    assert to_storage
    for request in to_storage:
        assert "Authorization" not in request.headers
        assert all(sandbox.api_key not in value for value in request.headers.values())
        assert sandbox.api_key not in request.raw_query
