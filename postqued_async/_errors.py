"""Every exception the SDK raises, rooted at :class:`PostQuedError`.

::

    PostQuedError
    ├── ConfigurationError            missing or malformed API key, bad settings
    ├── ValidationError               bad input, raised before anything is sent
    │   ├── MediaError                a file that cannot be uploaded as it is
    │   └── AccountNotFoundError      no connected account with that username
    ├── ClientClosedError             the client was used after close()
    ├── LimitWaitTooLongError         a rate-limit wait would exceed max_wait
    ├── PublishWaitTimeoutError       publish.wait() ran out of time
    ├── TransportError                nothing usable came back from the server
    │   ├── APIConnectionError        connection refused, reset or dropped
    │   └── APITimeoutError           no answer within the timeout
    ├── PublishOutcomeUnknownError    a publish may or may not have been created
    ├── StorageError                  the presigned storage refused an upload
    ├── UnexpectedResponseError       an answer this SDK version cannot read
    └── APIError                      the API answered with an error status
        ├── BadRequestError           400
        │   └── MissingIdempotencyKeyError
        ├── AuthenticationError       401
        ├── SubscriptionRequiredError 402
        ├── PermissionDeniedError     403
        ├── NotFoundError             404
        ├── ConflictError             409
        │   └── IdempotencyConflictError
        ├── RateLimitError            429, with retry_after
        └── ServerError               5xx

API errors carry the HTTP status, the server's machine ``code`` (kept as sent,
even when the SDK does not know it), the message and the request id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AccountNotFoundError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "IdempotencyConflictError",
    "LimitWaitTooLongError",
    "MediaError",
    "MissingIdempotencyKeyError",
    "NotFoundError",
    "PermissionDeniedError",
    "PostQuedError",
    "PublishOutcomeUnknownError",
    "PublishWaitTimeoutError",
    "RateLimitError",
    "ServerError",
    "StorageError",
    "SubscriptionRequiredError",
    "TransportError",
    "UnexpectedResponseError",
    "ValidationError",
    "error_for_status",
]


class PostQuedError(Exception):
    """The root of every error this SDK raises."""


class ConfigurationError(PostQuedError, ValueError):
    """The client cannot be set up as asked: a missing key, a bad setting."""


class ValidationError(PostQuedError, ValueError):
    """Input the API would refuse; raised before anything is sent."""


class MediaError(ValidationError):
    """A local file cannot be uploaded: missing, empty, too large, wrong type."""


class AccountNotFoundError(ValidationError):
    """No connected platform account has the username that was asked for."""

    def __init__(self, message: str, *, username: str) -> None:
        super().__init__(message)
        self.username = username


class ClientClosedError(PostQuedError, RuntimeError):
    """The client was used after :meth:`PostQued.close`."""


class LimitWaitTooLongError(PostQuedError):
    """Waiting for a rate-limit slot would take longer than ``max_wait``.

    Nothing was sent. ``delay`` is the wait that would have been needed.
    """

    def __init__(self, message: str, *, operation: str, delay: float) -> None:
        super().__init__(message)
        self.operation = operation
        self.delay = delay


class PublishWaitTimeoutError(PostQuedError, TimeoutError):
    """A publish request had targets still in flight when the wait ran out.

    ``publish`` holds the last state seen, so nothing about it is lost.
    """

    def __init__(self, message: str, *, publish: Any) -> None:
        super().__init__(message)
        self.publish = publish


class TransportError(PostQuedError):
    """No usable answer came back: the connection failed or timed out."""


class APIConnectionError(TransportError):
    """The connection to the API could not be made or was lost."""


class APITimeoutError(TransportError, TimeoutError):
    """The API did not answer within the configured timeout."""


class PublishOutcomeUnknownError(PostQuedError):
    """A publish request was sent but its outcome is unknown.

    The server may have created it. Retry with the *same* ``idempotency_key``
    (``pq.publish.create(..., idempotency_key=err.idempotency_key)``): the API
    answers with the original publish request if there was one. Never re-send
    under a new key: that is how duplicate posts happen.
    """

    def __init__(self, message: str, *, idempotency_key: str) -> None:
        super().__init__(message)
        self.idempotency_key = idempotency_key


class StorageError(PostQuedError):
    """The presigned storage refused an upload.

    ``code`` is the store's own XML error code, such as ``AccessDenied`` or
    ``SignatureDoesNotMatch``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.request_id = request_id


class UnexpectedResponseError(PostQuedError):
    """A successful answer that does not have the shape the SDK expects."""


class APIError(PostQuedError):
    """The API answered with an error status.

    Attributes:
        status: the HTTP status.
        code: the server's machine code, such as ``VALIDATION_ERROR``.
        message: the server's message for people.
        request_id: the server's request id, for support.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        request = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.status}{code}: {self.message}{request}"


class BadRequestError(APIError):
    """400: the API refused the request as invalid."""


class MissingIdempotencyKeyError(BadRequestError):
    """400 ``MISSING_IDEMPOTENCY_KEY``: a live publish needs an Idempotency-Key."""


class AuthenticationError(APIError):
    """401: the API key is missing, malformed, revoked or unknown."""


class SubscriptionRequiredError(APIError):
    """402 ``SUBSCRIPTION_REQUIRED``: the plan does not include API access."""


class PermissionDeniedError(APIError):
    """403: the key may not act on that workspace or organization."""


class NotFoundError(APIError):
    """404: no such resource, or it belongs to someone else."""


class ConflictError(APIError):
    """409: the request conflicts with the current state."""


class IdempotencyConflictError(ConflictError):
    """409 ``IDEMPOTENCY_CONFLICT``: the key was used with a different body.

    Use a new key for a new publish request, or send the original body again.
    """


class RateLimitError(APIError):
    """429: the API rate-limited the call; ``retry_after`` is in seconds."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        code: str | None = None,
        request_id: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, status=status, code=code, request_id=request_id, body=body
        )
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the API failed; usually transient."""


_BY_CODE: Mapping[str, type[APIError]] = {
    "MISSING_IDEMPOTENCY_KEY": MissingIdempotencyKeyError,
    "IDEMPOTENCY_CONFLICT": IdempotencyConflictError,
    "SUBSCRIPTION_REQUIRED": SubscriptionRequiredError,
}

_BY_STATUS: Mapping[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: SubscriptionRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_for_status(
    status: int,
    *,
    message: str,
    code: str | None,
    request_id: str | None,
    body: Any = None,
    retry_after: float | None = None,
) -> APIError:
    """Build the most specific :class:`APIError` for a status and code.

    The status decides the family; a known code only narrows it within that
    family, so an unknown code never hides what the status says.
    """
    family = _BY_STATUS.get(status)
    if family is None:
        family = ServerError if status >= 500 else APIError
    narrowed = _BY_CODE.get(code or "")
    cls = narrowed if narrowed is not None and issubclass(narrowed, family) else family
    if issubclass(cls, RateLimitError):
        return cls(
            message,
            status=status,
            code=code,
            request_id=request_id,
            body=body,
            retry_after=retry_after,
        )
    return cls(message, status=status, code=code, request_id=request_id, body=body)
