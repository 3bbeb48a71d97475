"""The API's routes, one table per API version.

Resources name a route by its role (``routes.publish_get``); the table says
which method, path and operation kind (for rate limits) it is in that version.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import attrs

from postqued_async._enums import Operation

__all__ = ["V1", "Route", "Routes"]


@attrs.frozen
class Route:
    """One API call: method, path template and the operation kind it counts as."""

    method: str
    path: str
    operation: Operation

    def expand(self, params: Mapping[str, str] | None = None) -> str:
        """The path with ``{name}`` placeholders filled in, each value escaped."""
        if not params:
            return self.path
        return self.path.format_map(
            {name: quote(str(value), safe="") for name, value in params.items()}
        )

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@attrs.frozen(kw_only=True)
class Routes:
    """The routes of one API version."""

    version: str
    upload_start: Route
    upload_complete: Route
    upload_image: Route | None
    accounts_list: Route
    publish_create: Route
    publish_get: Route
    content_delete: Route


V1 = Routes(
    version="v1",
    upload_start=Route("POST", "/v1/content/upload", Operation.UPLOAD),
    upload_complete=Route("POST", "/v1/content/upload/complete", Operation.UPLOAD),
    upload_image=Route("POST", "/v1/content/upload-image", Operation.UPLOAD),
    accounts_list=Route("GET", "/v1/platform-accounts", Operation.READ),
    publish_create=Route("POST", "/v1/content/publish", Operation.PUBLISH),
    publish_get=Route("GET", "/v1/content/publish/{publish_id}", Operation.READ),
    content_delete=Route("DELETE", "/v1/content/{content_id}", Operation.DELETE),
)
