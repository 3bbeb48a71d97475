"""The sandbox served over loopback, as an async context manager."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import attrs
from aiohttp import web

from postqued_async._clock import Clock
from postqued_async.sandbox._app import create_app
from postqued_async.sandbox._config import SandboxConfig
from postqued_async.sandbox._faults import FaultPlan
from postqued_async.sandbox._ledger import Ledger
from postqued_async.sandbox._state import RecordedRequest, SandboxState

__all__ = ["Sandbox"]

logger = logging.getLogger(__name__)

# Clients may hold keep-alive connections open; do not wait for them long.
_SHUTDOWN_TIMEOUT = 0.5


class Sandbox:
    """A strict local PostQued API v1 with its own storage, on loopback.

    ``async with Sandbox() as sb:`` serves it on a free port; ``sb.url`` and
    ``sb.api_key`` are what a client needs. Keyword overrides change single
    fields of the config: ``Sandbox(window=1.0, limits={"read": 2, ...})``.

    Args:
        config: the behaviour; :class:`SandboxConfig` defaults when ``None``.
        clock: the source of time for limits, expiry and target progress.
        host: the interface to listen on.
        port: the port; 0 picks a free one.
        fault_plan: faults to inject; an empty plan, to add rules to later
            through :attr:`faults`, when ``None``.
        **overrides: fields of :class:`SandboxConfig` to replace.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        fault_plan: FaultPlan | None = None,
        **overrides: Any,
    ) -> None:
        config = config or SandboxConfig()
        if overrides:
            config = attrs.evolve(config, **overrides)
        self.state = SandboxState(config, clock)
        self.faults = fault_plan if fault_plan is not None else FaultPlan()
        self.faults.install(self.state.fault_hooks)
        self.app = create_app(self.state)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._closed = False

    @property
    def config(self) -> SandboxConfig:
        """The behaviour this sandbox was built with."""
        return self.state.config

    @property
    def clock(self) -> Clock:
        """The sandbox's source of time."""
        return self.state.clock

    @property
    def api_key(self) -> str:
        """A valid API key with a subscription, made for this sandbox."""
        return self.state.api_key

    @property
    def ledger(self) -> Ledger:
        """What really went out to the platforms."""
        return self.state.ledger

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request that reached the sandbox, oldest first."""
        return self.state.requests

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``, without a slash.

        Raises:
            RuntimeError: if the sandbox has not been started.
        """
        if self._url is None:
            raise RuntimeError("the sandbox is not started; use `async with`.")
        return self._url

    def issue_key(self, *, subscription: bool = True) -> str:
        """Another valid API key, for a new user with the seeded accounts.

        With ``subscription=False`` every call made with it answers 402.
        """
        return self.state.issue_key(subscription=subscription)

    async def start(self) -> None:
        """Start serving.

        Raises:
            RuntimeError: if started before or already closed.
        """
        if self._runner is not None or self._closed:
            raise RuntimeError("a Sandbox starts only once.")
        runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        host, port = runner.addresses[0][:2]
        self._url = f"http://{_url_host(host)}:{port}"
        logger.info("sandbox serving at %s", self._url)

    async def close(self) -> None:
        """Stop serving and release every resource; safe to call twice."""
        self._closed = True
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"Sandbox(url={self._url!r})"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
