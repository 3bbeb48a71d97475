"""Fixtures for the sandbox's own tests: a sandbox on a FakeClock and a raw
aiohttp session talking to it over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sandbox_helpers import StartSandbox

from postqued_async import FakeClock
from postqued_async.sandbox import Sandbox


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def start_sandbox(clock: FakeClock) -> AsyncIterator[StartSandbox]:
    started: list[Sandbox] = []

    async def start(**overrides: Any) -> Sandbox:
        sandbox = Sandbox(clock=clock, **overrides)
        await sandbox.start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        await sandbox.close()


@pytest.fixture
async def sb(start_sandbox: StartSandbox) -> Sandbox:
    return await start_sandbox()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
