"""A small aiohttp.web backend that posts to PostQued for its users.

The one thing to copy from here: the backend makes ONE PostQued client when
it starts and closes it when it stops, through the app's ``cleanup_ctx``.
Every request handler borrows that client, so all of them share one
connection pool and one set of rate limiters; a client per request would
open a pool per request and let each count the limits on its own.

Routes:

- ``GET /accounts``: the connected accounts.
- ``POST /posts`` with JSON ``{"contentId", "username", "caption",
  "postId"}``: publish one video to one TikTok account. ``postId`` is the
  backend's own id for the post; the idempotency key is derived from it, so
  a browser that resubmits the form never posts twice.
- ``GET /limits``: the client's rate-limit status, per operation.

Run against the sandbox::

    python -m postqued_async.sandbox &   # prints the two exports below
    export POSTQUED_BASE_URL=... POSTQUED_API_KEY=...
    python examples/web_backend.py
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from postqued_async import (
    AccountNotFoundError,
    APIError,
    PostQued,
    PublishOutcomeUnknownError,
    Target,
)

CLIENT = web.AppKey("postqued", PostQued)

#: Derives idempotency keys from the backend's post ids (any fixed UUID).
_POSTS_NAMESPACE = uuid.UUID("5b0b8a8e-2f3c-4a8e-9d55-1f0c3c6f9a11")


def create_app(make_client: Callable[[], PostQued] = PostQued) -> web.Application:
    """The backend; ``make_client`` builds the one shared PostQued client."""

    async def postqued_client(app: web.Application) -> AsyncIterator[None]:
        async with make_client() as client:
            app[CLIENT] = client
            yield

    app = web.Application()
    app.cleanup_ctx.append(postqued_client)
    app.router.add_get("/accounts", list_accounts)
    app.router.add_post("/posts", create_post)
    app.router.add_get("/limits", limits)
    return app


async def list_accounts(request: web.Request) -> web.Response:
    """GET /accounts: every connected account, as username and platform."""
    accounts = await request.app[CLIENT].accounts.list()
    return web.json_response(
        [
            {
                "id": account.id,
                "username": account.username,
                "platform": account.platform,
            }
            for account in accounts
        ]
    )


async def create_post(request: web.Request) -> web.Response:
    """POST /posts: publish a video once, whatever the browser resubmits."""
    form: dict[str, Any] = await request.json()
    client = request.app[CLIENT]
    key = str(uuid.uuid5(_POSTS_NAMESPACE, str(form["postId"])))
    try:
        account = await client.accounts.get(form["username"])
        publish = await client.publish.create(
            [form["contentId"]],
            [Target.tiktok(account, form["caption"])],
            idempotency_key=key,
        )
    except AccountNotFoundError as error:
        return web.json_response({"error": str(error)}, status=404)
    except PublishOutcomeUnknownError:
        # Nothing is lost: resubmitting the same postId finds out.
        return web.json_response(
            {"error": "not sure it went out; submit the same post again"},
            status=503,
        )
    except APIError as error:
        return web.json_response({"error": str(error)}, status=502)
    return web.json_response({"publishId": publish.id, "status": publish.status})


async def limits(request: web.Request) -> web.Response:
    """GET /limits: calls left per operation, shared by every request."""
    return web.json_response(
        {
            name: {"limit": status.limit, "remaining": status.remaining}
            for name, status in request.app[CLIENT].limits.items()
        }
    )


if __name__ == "__main__":
    web.run_app(create_app(), port=8080)
