"""The shape of a route table entry and of what its handler receives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs
from aiohttp import web

from postqued_async.sandbox._limits import Decision
from postqued_async.sandbox._state import ApiKey, SandboxState

__all__ = [
    "BODY_SIZE_KEY",
    "OPERATION_KEY",
    "RATE_LIMIT_KEY",
    "ApiCall",
    "ApiHandler",
    "Route",
]

#: The operation kind of the route a request reached, for the record.
OPERATION_KEY = web.RequestKey("postqued_operation", str)
#: The rate-limit decision made for a request, for the X-RateLimit headers.
RATE_LIMIT_KEY = web.RequestKey("postqued_rate_limit", Decision)
#: Body bytes a handler actually received, when it counted them itself.
BODY_SIZE_KEY = web.RequestKey("postqued_body_size", int)


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
