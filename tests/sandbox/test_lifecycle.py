"""Starting and stopping a sandbox, and shaping it with overrides."""

import aiohttp
import pytest

from postqued_async import FakeClock
from postqued_async.sandbox import Sandbox, SandboxConfig


async def test_close_is_idempotent_and_frees_the_port(clock: FakeClock) -> None:
    sandbox = Sandbox(clock=clock)
    with pytest.raises(RuntimeError):
        _ = sandbox.url

    async with sandbox:
        url = sandbox.url
    await sandbox.close()

    assert url.startswith("http://127.0.0.1:")
    assert not url.endswith("/")
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(f"{url}/v1/platform-accounts")


def test_partial_limits_keep_the_other_defaults() -> None:
    config = SandboxConfig(limits={"read": 2})

    assert dict(config.limits) == {"upload": 20, "read": 2, "publish": 10, "delete": 20}
    with pytest.raises(ValueError, match="unknown operations"):
        SandboxConfig(limits={"reads": 2})


def test_keys_are_sandbox_keys_and_distinct(clock: FakeClock) -> None:
    sandbox = Sandbox(clock=clock)

    other = sandbox.issue_key()

    assert sandbox.api_key.startswith("pq_sandbox_")
    assert other.startswith("pq_sandbox_")
    assert other != sandbox.api_key
