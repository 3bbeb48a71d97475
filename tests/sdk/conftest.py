"""Fixtures for the SDK's tests: a sandbox on loopback and a client of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postqued_async import PostQued, RetryPolicy
from postqued_async.sandbox import Sandbox

MEDIA = Path(__file__).resolve().parents[2] / "examples" / "media"


@pytest.fixture
def media() -> Path:
    """The example media shipped with the project."""
    return MEDIA


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(queue_delay=0.02, processing_delay=0.02) as sb:
        yield sb


@pytest.fixture
async def pq(sandbox: Sandbox) -> AsyncIterator[PostQued]:
    async with PostQued(
        sandbox.api_key,
        base_url=sandbox.url,
        retry=RetryPolicy(attempts=3, base=0.01, cap=0.05),
    ) as client:
        yield client
