"""The shape of a route table entry and of what its handler receives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs
from aiohttp import web

from postqued_async.sandbox._state import ApiKey, SandboxState

__all__ = ["ApiCall", "ApiHandler", "Route"]


@attrs.frozen
class ApiCall:
    """One authenticated, rate-limit-cleared API call, as a handler sees it."""

    request: web.Request
    state: SandboxState
    caller: ApiKey


ApiHandler = Callable[[ApiCall], Awaitable[web.StreamResponse]]


@attrs.frozen
class Route:
    """One row of a version's route table.

    ``operation`` is the rate-limit bucket the route draws from.
    """

    method: str
    path: str
    handler: ApiHandler
    operation: str
