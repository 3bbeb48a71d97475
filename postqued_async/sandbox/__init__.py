"""A strict local simulator of the PostQued API v1, with its own storage.

It is the test server for the SDK and the demo's default target::

    async with Sandbox() as sb:
        ...  # point a client at sb.url with sb.api_key, then check sb.ledger

It is at least as strict as the real service: presigned URLs must arrive byte
for byte, rate limits are counted exactly, and publishing needs an
idempotency key. Time comes from a :class:`~postqued_async.Clock`, so tests
drive limits, URL expiry and target progress with a ``FakeClock``.

Choices the contract leaves open, as the sandbox makes them:

- A publish that creates answers 201; a replay (same key, same body, within
  ``idempotency_ttl``) answers 200 with the original body byte for byte and
  the header ``Idempotent-Replayed: true``. A first attempt that fails
  validation leaves its key unused.
- Two publishes with the same key at once never both create: the second
  waits for the first, then is answered as a replay (or 409).
- A 429 carries ``Retry-After`` in whole seconds (rounded up); refused calls
  do not count against the window. Replays count as publish calls.
- Upload start and complete answer 200; ``DELETE /v1/content/{id}`` answers
  204. Unknown routes and wrong methods answer 404 ``NOT_FOUND``.
- Faults are injected by a seedable :class:`FaultPlan` (``Sandbox(fault_plan=
  ...)`` or ``sb.faults``): scripted statuses, 429 storms, delays, dropped
  connections before or after the write commits, slow storage, expired URLs.
- Storage errors are S3 XML; every response carries ``X-Request-Id``.
- Unknown fields at the top of a publish body or in a target answer 400, so
  a misspelt ``dispatch_at`` cannot silently publish now; unknown option
  fields are accepted.
"""

from postqued_async.sandbox._app import create_app
from postqued_async.sandbox._config import (
    DEFAULT_LIMITS,
    FAIL_MARKER,
    SandboxConfig,
    SeedAccount,
)
from postqued_async.sandbox._faults import FaultPlan
from postqued_async.sandbox._ledger import Ledger, LedgerEntry
from postqued_async.sandbox._server import Sandbox
from postqued_async.sandbox._state import FaultHook, RecordedRequest, SandboxState

__all__ = [
    "DEFAULT_LIMITS",
    "FAIL_MARKER",
    "FaultHook",
    "FaultPlan",
    "Ledger",
    "LedgerEntry",
    "RecordedRequest",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "SeedAccount",
    "create_app",
]
