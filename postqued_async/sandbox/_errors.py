"""The two error dialects the sandbox speaks: the API's JSON and storage's XML."""

from __future__ import annotations

import json
from collections.abc import Mapping
from xml.sax.saxutils import escape

from aiohttp import web

__all__ = ["ApiError", "StorageError", "api_error_response", "storage_error_response"]

_CODE_BY_STATUS = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    402: "SUBSCRIPTION_REQUIRED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "IDEMPOTENCY_CONFLICT",
    413: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
}


class ApiError(Exception):
    """An API answer other than success, rendered as ``{"error", "code"}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def validation(message: str) -> ApiError:
    """A 400 VALIDATION_ERROR; the message names the field and the fix."""
    return ApiError(400, "VALIDATION_ERROR", message)


def not_found(message: str) -> ApiError:
    """A 404 NOT_FOUND."""
    return ApiError(404, "NOT_FOUND", message)


class StorageError(Exception):
    """A storage answer other than success, rendered as S3-style XML."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def code_for_status(status: int) -> str:
    """The sandbox's error code for an HTTP status it did not choose itself."""
    if status >= 500:
        return "INTERNAL_ERROR"
    return _CODE_BY_STATUS.get(status, "VALIDATION_ERROR")


def api_error_response(error: ApiError) -> web.Response:
    """Render an :class:`ApiError` as the API's JSON error body."""
    body = json.dumps({"error": error.message, "code": error.code})
    return web.Response(
        status=error.status,
        text=body,
        content_type="application/json",
        headers=error.headers,
    )


def storage_error_response(error: StorageError, request_id: str) -> web.Response:
    """Render a :class:`StorageError` the way S3 does."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{escape(error.code)}</Code>"
        f"<Message>{escape(error.message)}</Message>"
        f"<RequestId>{escape(request_id)}</RequestId></Error>"
    )
    return web.Response(status=error.status, text=body, content_type="application/xml")
