"""The client: ``async with PostQued() as pq: ...``."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from types import TracebackType
from typing import Self

from dotenv import dotenv_values

from postqued_async._clock import Clock, SystemClock
from postqued_async._errors import ConfigurationError
from postqued_async._limits import Limits, LimitSet, LimitStatus, shared_limits
from postqued_async._retry import RetryPolicy
from postqued_async._routes import V1, Routes
from postqued_async._transport import Transport, header_safe
from postqued_async.resources import AccountsResource, ContentResource, PublishResource

__all__ = ["DEFAULT_BASE_URL", "PostQued"]

DEFAULT_BASE_URL = "https://api.postqued.com"
API_KEY_VARIABLE = "POSTQUED_API_KEY"
BASE_URL_VARIABLE = "POSTQUED_BASE_URL"

_ROUTES: Mapping[str, Routes] = {"v1": V1}

# One clock for every client that does not bring its own: limits are shared
# per key *and clock*, so a clock per client would share nothing.
_SYSTEM_CLOCK = SystemClock()


def _setting(name: str) -> str | None:
    # The real environment wins; a .env file in the working directory only
    # fills in what the environment lacks, and is never written back to it.
    value = os.environ.get(name)
    if value:
        return value
    return dotenv_values(".env").get(name) or None


def _resolve_api_key(api_key: str | None) -> str:
    if api_key is not None:
        key, source = api_key, "the api_key argument"
    else:
        key = _setting(API_KEY_VARIABLE) or ""
        source = API_KEY_VARIABLE
    if not isinstance(key, str):
        raise ConfigurationError(
            f"the API key must be a string, not {type(key).__name__}"
        )
    if not key.strip():
        raise ConfigurationError(
            "no PostQued API key: pass PostQued(api_key='pq_...') or set "
            f"{API_KEY_VARIABLE} (in the environment or a .env file)"
        )
    key = key.strip()
    if not key.startswith("pq_") or len(key) < 4 or not header_safe(key):
        # Never echo the key: a wrong one may well be another service's secret.
        raise ConfigurationError(
            f"the API key from {source} does not look like a PostQued key "
            "(pq_ followed by letters and digits); copy it again from the "
            "PostQued dashboard"
        )
    return key


class PostQued:
    """An async client for the PostQued API.

    Use one client for the life of your program (it holds one connection
    pool), and close it when done::

        async with PostQued() as pq:
            video = await pq.content.upload("launch.mp4")

    Args:
        api_key: the ``pq_...`` key; defaults to ``POSTQUED_API_KEY`` from
            the environment or a ``.env`` file in the working directory.
        base_url: the API origin; defaults to ``POSTQUED_BASE_URL`` or the
            real service.
        limits: per-operation rate limits; the API's own by default. Clients
            with the same key share their limiters.
        retry: when and how often to retry; see :class:`RetryPolicy`.
        timeout: seconds one API attempt may take.
        upload_stall_timeout: seconds an upload may go without progress.
        api_version: the API version to speak (``"v1"``).
        clock: the source of time, replaceable in tests.

    Raises:
        ConfigurationError: no key, or a key that does not start with ``pq_``.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        limits: Limits | LimitSet | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        upload_stall_timeout: float = 60.0,
        api_version: str = "v1",
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        key = _resolve_api_key(api_key)
        for name, value in (
            ("timeout", timeout),
            ("upload_stall_timeout", upload_stall_timeout),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigurationError(f"{name} must be a number, not {value!r}")
            if value <= 0:
                raise ConfigurationError(
                    f"{name} must be a positive number of seconds, not {value!r}"
                )
        self.base_url = base_url or _setting(BASE_URL_VARIABLE) or DEFAULT_BASE_URL
        self.base_url = self.base_url.rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"base_url {self.base_url!r} is not an http(s) URL"
            )
        routes = _ROUTES.get(api_version)
        if routes is None:
            raise ConfigurationError(
                f"unknown api_version {api_version!r}; this SDK speaks "
                f"{', '.join(_ROUTES)}"
            )
        clock = clock or _SYSTEM_CLOCK
        if isinstance(limits, LimitSet):
            limit_set = limits
        else:
            limit_set = shared_limits(key, limits or Limits(), clock, rng=rng)

        self.api_version = api_version
        self._transport = Transport(
            api_key=key,
            base_url=self.base_url,
            limits=limit_set,
            retry=retry or RetryPolicy(),
            timeout=timeout,
            upload_stall_timeout=upload_stall_timeout,
            clock=clock,
            rng=rng,
        )
        self.content = ContentResource(self._transport, routes)
        self.accounts = AccountsResource(self._transport, routes)
        self.publish = PublishResource(self._transport, routes)

    @property
    def limits(self) -> Mapping[str, LimitStatus]:
        """Per operation: calls left in the window and when the next slot opens."""
        return self._transport.limits.status()

    @property
    def clock(self) -> Clock:
        """The clock that times this client's limits, retries and polls."""
        return self._transport.clock

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._transport.closed

    async def close(self) -> None:
        """Close the connection pool. Calling it again does nothing."""
        await self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<PostQued {self.api_version} {self.base_url} ({state})>"
