"""A strict local simulator of the PostQued API v1, with its own storage.

It is the test server for the SDK and the demo's default target::

    async with Sandbox() as sb:
        ...  # point a client at sb.url with sb.api_key, then check sb.ledger

It is at least as strict as the real service: presigned URLs must arrive byte
for byte, rate limits are counted exactly, and publishing needs an
idempotency key. Time comes from a :class:`~postqued_async.Clock`, so tests
drive limits, URL expiry and target progress with a ``FakeClock``.
"""

from postqued_async.sandbox._app import create_app
from postqued_async.sandbox._config import (
    DEFAULT_LIMITS,
    FAIL_MARKER,
    SandboxConfig,
    SeedAccount,
)
from postqued_async.sandbox._ledger import Ledger, LedgerEntry
from postqued_async.sandbox._server import Sandbox
from postqued_async.sandbox._state import FaultHook, RecordedRequest, SandboxState

__all__ = [
    "DEFAULT_LIMITS",
    "FAIL_MARKER",
    "FaultHook",
    "Ledger",
    "LedgerEntry",
    "RecordedRequest",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "SeedAccount",
    "create_app",
]
