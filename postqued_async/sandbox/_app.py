"""The aiohttp application: one middleware around every request, and the
checks every API route shares (authentication, then rate limit, then fault
hooks) before its handler runs."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from postqued_async.sandbox._errors import (
    ApiError,
    StorageError,
    api_error_response,
    code_for_status,
    storage_error_response,
)
from postqued_async.sandbox._faults import after_commit
from postqued_async.sandbox._limits import Decision
from postqued_async.sandbox._routes_v1 import V1_ROUTES
from postqued_async.sandbox._routing import (
    BODY_SIZE_KEY,
    OPERATION_KEY,
    RATE_LIMIT_KEY,
    ApiCall,
    Route,
)
from postqued_async.sandbox._state import ApiKey, RecordedRequest, SandboxState
from postqued_async.sandbox._storage import STORAGE_PREFIX, put_object

__all__ = ["STATE_KEY", "create_app"]

logger = logging.getLogger(__name__)

STATE_KEY = web.AppKey("postqued_sandbox_state", SandboxState)

# Room for ten targets with maximal captions; bodies beyond it are refused.
_MAX_JSON_BODY = 8 * 1024 * 1024

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    state: SandboxState, route_tables: Iterable[Iterable[Route]] = (V1_ROUTES,)
) -> web.Application:
    """The sandbox as an aiohttp application serving ``state``.

    Args:
        state: the sandbox's memory and rules; shared with whoever serves it.
        route_tables: the API versions to serve, each its own route table.
    """
    app = web.Application(middlewares=[_observe], client_max_size=_MAX_JSON_BODY)
    app[STATE_KEY] = state
    for table in route_tables:
        for route in table:
            app.router.add_route(route.method, route.path, _api_endpoint(state, route))
    app.router.add_route("*", STORAGE_PREFIX + "{key:.+}", _storage_endpoint(state))
    return app


def _api_endpoint(state: SandboxState, route: Route) -> _Handler:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        request[OPERATION_KEY] = route.operation
        caller = _authenticate(state, request)
        _limit(state, request, caller, route.operation)
        for hook in state.fault_hooks:
            faulted = await hook(request, route.operation)
            if faulted is not None:
                return faulted
        response = await route.handler(ApiCall(request, state, caller))
        return await after_commit(request, response)

    return endpoint


def _storage_endpoint(state: SandboxState) -> _Handler:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        if request.method != "PUT":
            raise StorageError(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            )
        for hook in state.fault_hooks:
            faulted = await hook(request, None)
            if faulted is not None:
                return faulted
        return await after_commit(request, await put_object(request, state))

    return endpoint


def _authenticate(state: SandboxState, request: web.Request) -> ApiKey:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not key.startswith("pq_"):
        raise ApiError(
            401,
            "UNAUTHORIZED",
            "Authorization header missing or malformed; send "
            "Authorization: Bearer pq_... with your API key.",
        )
    caller = state.keys.get(key)
    if caller is None:
        raise ApiError(
            401, "UNAUTHORIZED", "The API key is not valid; check POSTQUED_API_KEY."
        )
    if not caller.subscription:
        raise ApiError(
            402,
            "SUBSCRIPTION_REQUIRED",
            "This API key's plan has no API access; upgrade the subscription.",
        )
    return caller


def _limit(
    state: SandboxState, request: web.Request, caller: ApiKey, operation: str
) -> None:
    if not state.config.rate_limits_enabled:
        return
    decision = state.limiter.check(caller.key, operation)
    request[RATE_LIMIT_KEY] = decision
    if not decision.allowed:
        raise ApiError(
            429,
            "RATE_LIMITED",
            f"Too many {operation} calls; retry after {decision.retry_after} s.",
            headers={"Retry-After": str(decision.retry_after)},
        )


@web.middleware
async def _observe(request: web.Request, handler: _Handler) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    request_id = f"req_{secrets.token_hex(12)}"
    try:
        response = await handler(request)
    except ApiError as error:
        response = api_error_response(error)
    except StorageError as error:
        response = storage_error_response(error, request_id)
    except web.HTTPException as error:
        response = _from_http_exception(request, error, request_id)
    except Exception:
        logger.exception("sandbox: %s %s failed", request.method, request.path)
        response = api_error_response(
            ApiError(500, "INTERNAL_ERROR", "The sandbox failed unexpectedly.")
        )

    if not response.prepared:
        response.headers["X-Request-Id"] = request_id
        decision: Decision | None = request.get(RATE_LIMIT_KEY)
        if decision is not None and state.config.send_rate_limit_headers:
            response.headers.update(decision.headers())

    raw_path, _, raw_query = request.raw_path.partition("?")
    state.requests.append(
        RecordedRequest(
            method=request.method,
            path=raw_path,
            raw_query=raw_query,
            operation=request.get(OPERATION_KEY),
            status=response.status,
            headers=dict(request.headers),
            body_size=request.get(BODY_SIZE_KEY, request.content_length or 0),
            at=state.clock.time(),
        )
    )
    return response


def _from_http_exception(
    request: web.Request, error: web.HTTPException, request_id: str
) -> web.Response:
    # The router's own refusals (no route, wrong method, body too large),
    # dressed in the dialect of whichever side was addressed.
    if request.path.startswith(STORAGE_PREFIX):
        storage = StorageError(error.status, "InvalidRequest", error.reason)
        return storage_error_response(storage, request_id)
    if error.status in (404, 405):
        return api_error_response(
            ApiError(
                404,
                "NOT_FOUND",
                f"No route {request.method} {request.path} in the API.",
            )
        )
    message = error.reason
    if error.status == 413:
        message = "The request body is too large."
    return api_error_response(ApiError(400, code_for_status(400), message))
