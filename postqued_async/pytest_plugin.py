"""A pytest plugin: the ``postqued_sandbox`` fixture, a running sandbox.

The sandbox runs in a thread of its own with its own event loop, so the
fixture serves sync tests and async tests under any event loop alike.
Override ``postqued_sandbox_config`` to change its behaviour::

    @pytest.fixture
    def postqued_sandbox_config():
        return SandboxConfig(rate_limits_enabled=False)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import pytest

if TYPE_CHECKING:
    from postqued_async.sandbox import (
        Ledger,
        LedgerEntry,
        RecordedRequest,
        Sandbox,
        SandboxConfig,
    )

__all__ = ["SandboxHandle", "postqued_sandbox", "postqued_sandbox_config"]

_T = TypeVar("_T")

# A sandbox that cannot start or stop in this long is broken, not slow.
_THREAD_TIMEOUT = 30.0


class _LoopThread:
    # An event loop running in a daemon thread, torn down completely on stop.
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, name="postqued-sandbox", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(_THREAD_TIMEOUT)

    def call(self, function: Callable[[], _T]) -> _T:
        async def call() -> _T:
            return function()

        return self.run(call())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(_THREAD_TIMEOUT)


@attrs.frozen
class SandboxHandle:
    """A sandbox running in a background thread, as the fixture yields it.

    ``ledger`` reads are carried out on the sandbox's own thread, so they are
    safe from any test.
    """

    url: str
    api_key: str
    ledger: Ledger
    requests: list[RecordedRequest]
    config: SandboxConfig
    _sandbox: Sandbox
    _thread: _LoopThread

    def issue_key(self, *, subscription: bool = True) -> str:
        """Another valid API key; see :meth:`Sandbox.issue_key`."""
        return self._thread.call(
            lambda: self._sandbox.issue_key(subscription=subscription)
        )


@pytest.fixture
def postqued_sandbox_config() -> SandboxConfig:
    """The config of the ``postqued_sandbox`` fixture; override to change it."""
    from postqued_async.sandbox import SandboxConfig

    return SandboxConfig()


@pytest.fixture
def postqued_sandbox(
    postqued_sandbox_config: SandboxConfig,
) -> Iterator[SandboxHandle]:
    """A running sandbox with ``url``, ``api_key``, ``ledger`` and ``requests``."""
    from postqued_async.sandbox import Sandbox

    thread = _LoopThread()
    try:

        async def start() -> Sandbox:
            sandbox = Sandbox(postqued_sandbox_config)
            await sandbox.start()
            return sandbox

        sandbox = thread.run(start())
        try:

            def read_on_loop(
                read: Callable[[], list[LedgerEntry]],
            ) -> list[LedgerEntry]:
                return thread.call(read)

            yield SandboxHandle(
                url=sandbox.url,
                api_key=sandbox.api_key,
                ledger=sandbox.ledger.bound(read_on_loop),
                requests=sandbox.requests,
                config=sandbox.config,
                sandbox=sandbox,
                thread=thread,
            )
        finally:
            thread.run(sandbox.close())
    finally:
        thread.stop()
