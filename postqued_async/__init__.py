"""postqued-async: an async-first Python SDK for the PostQued API.

::

    async with PostQued() as pq:
        video = await pq.content.upload("launch.mp4")
        account = await pq.accounts.get("creator_one")
        publish = await pq.publish.create([video], [Target.tiktok(account, "Hi!")])
        final = await pq.publish.wait(publish.id)
"""

from postqued_async._client import DEFAULT_BASE_URL, PostQued
from postqued_async._clock import Clock, FakeClock, SystemClock
from postqued_async._enums import (
    ContentStatus,
    Intent,
    MediaType,
    Operation,
    Platform,
    PrivacyLevel,
    PublishStatus,
    TargetStatus,
)
from postqued_async._errors import (
    AccountNotFoundError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    IdempotencyConflictError,
    LimitWaitTooLongError,
    MediaError,
    MissingIdempotencyKeyError,
    NotFoundError,
    PermissionDeniedError,
    PostQuedError,
    PublishOutcomeUnknownError,
    PublishWaitTimeoutError,
    RateLimitError,
    ServerError,
    StorageError,
    SubscriptionRequiredError,
    TransportError,
    UnexpectedResponseError,
    ValidationError,
)
from postqued_async._limits import Limits, LimitSet, LimitStatus, RateLimit
from postqued_async._models import (
    ContentAsset,
    PlatformAccount,
    Publish,
    PublishTarget,
    TargetError,
)
from postqued_async._retry import RetryPolicy
from postqued_async._targets import Target, TikTokOptions
from postqued_async.resources import UploadResult

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AccountNotFoundError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "Clock",
    "ConfigurationError",
    "ConflictError",
    "ContentAsset",
    "ContentStatus",
    "FakeClock",
    "IdempotencyConflictError",
    "Intent",
    "LimitSet",
    "LimitStatus",
    "LimitWaitTooLongError",
    "Limits",
    "MediaError",
    "MediaType",
    "MissingIdempotencyKeyError",
    "NotFoundError",
    "Operation",
    "PermissionDeniedError",
    "Platform",
    "PlatformAccount",
    "PostQued",
    "PostQuedError",
    "PrivacyLevel",
    "Publish",
    "PublishOutcomeUnknownError",
    "PublishStatus",
    "PublishTarget",
    "PublishWaitTimeoutError",
    "RateLimit",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "StorageError",
    "SubscriptionRequiredError",
    "SystemClock",
    "Target",
    "TargetError",
    "TargetStatus",
    "TikTokOptions",
    "TransportError",
    "UnexpectedResponseError",
    "UploadResult",
    "ValidationError",
    "__version__",
]
