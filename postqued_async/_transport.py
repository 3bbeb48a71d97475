"""The one place requests are sent: limits, auth, retries, errors, logging.

Every API call goes through :meth:`Transport.request`, which waits for its
operation's rate-limit slot, sends the call with the API key, turns error
answers into typed exceptions and retries what is worth retrying. Uploads of
bytes to presigned storage go through :meth:`Transport.put_object`, which
never sends the API key and sends the URL exactly as it was issued.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import AsyncGenerator, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import anyio
import anyio.to_thread
import attrs
from multidict import CIMultiDictProxy
from yarl import URL

from postqued_async._clock import Clock
from postqued_async._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ClientClosedError,
    RateLimitError,
    StorageError,
    TransportError,
    error_for_status,
)
from postqued_async._limits import LimitSet, LimitStrategy
from postqued_async._models import UploadSlot
from postqued_async._retry import RetryPolicy, parse_retry_after
from postqued_async._routes import Route

__all__ = [
    "APIResponse",
    "AttemptRecord",
    "ProgressCallback",
    "Transport",
    "redact_url",
]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(bytes_sent, total_bytes)`` while an upload goes."""

_UPLOAD_CHUNK = 256 * 1024
_REQUEST_ID_HEADER = "X-Request-Id"


def header_safe(value: str) -> bool:
    """Whether a value can go in a header as it is: visible ASCII, no spaces."""
    return all("!" <= char <= "~" for char in value)


def redact_url(url: str) -> str:
    """The URL without its query string, where presigned URLs keep secrets."""
    parts = urlsplit(url)
    query = "<redacted>" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


@attrs.define
class AttemptRecord:
    """What the attempts of one call may have done on the server.

    ``maybe_processed`` turns true once an attempt could have been acted on
    without the SDK learning the result: it timed out or lost the connection
    after the request went out, or the server answered 5xx. A caller whose
    call is not safe to repeat blindly (a publish) reads it when the call
    fails, to tell "not done" from "unknown".
    """

    maybe_processed: bool = False
    attempts: int = 0


def _never_sent(exc: BaseException) -> bool:
    # Only a failure to connect proves the request never left: any later
    # failure may come after the server read it, or even acted on it.
    return isinstance(
        exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError
    )


@attrs.frozen
class APIResponse:
    """A successful answer of the API."""

    status: int
    headers: CIMultiDictProxy[str]
    body: Any
    request_id: str | None


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class Transport:
    """Owns the client's single aiohttp session and sends every request.

    Args:
        api_key: the bearer key; sent only to the API, never to storage.
        base_url: the API's origin, such as ``https://api.postqued.com``.
        limits: the limiters shared by every client with this key.
        retry: when and how long to retry.
        timeout: seconds for one API attempt, from connect to last byte.
        upload_stall_timeout: seconds an upload may go without progress.
        clock: the clock for backoff delays.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        limits: LimitSet,
        retry: RetryPolicy,
        timeout: float,
        upload_stall_timeout: float,
        clock: Clock,
        rng: random.Random | None = None,
        connection_limit: int = 100,
    ) -> None:
        self._auth = f"Bearer {api_key}"
        self.base_url = base_url.rstrip("/")
        self.limits = limits
        self.retry = retry
        self.timeout = timeout
        # Built once and reused: each attempt gets the same timeout.
        self._request_timeout = aiohttp.ClientTimeout(total=timeout)
        self.upload_stall_timeout = upload_stall_timeout
        self.clock = clock
        self._rng = rng or random.Random()
        self._connection_limit = connection_limit
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _open_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError(
                "this PostQued client is closed; create a new one, or keep it "
                "open for the life of your program with 'async with PostQued()'"
            )
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connection_limit),
            )
        return self._session

    async def close(self) -> None:
        """Close the session; calling it again does nothing."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def request(
        self,
        route: Route,
        *,
        path_params: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        headers: Mapping[str, str] | None = None,
        max_wait: float | None = None,
        deadline: float | None = None,
        record: AttemptRecord | None = None,
    ) -> APIResponse:
        """Send one API call, with rate limits and retries.

        ``body`` is JSON already encoded, so every attempt sends the same
        bytes; ``form`` builds a fresh multipart body for each attempt.

        Args:
            deadline: seconds the whole call may take, rate-limit waits,
                attempts and backoff included; the last error is raised
                when the next attempt could not start in time.
            record: filled in with what the attempts may have done.

        Raises:
            APIError: the API answered with an error status (after retries).
            TransportError: no answer came back (after retries).
            LimitWaitTooLongError: the rate-limit wait would exceed max_wait.
            ClientClosedError: the client was closed.
        """
        url = self.base_url + route.expand(path_params)
        limiter = self.limits[route.operation]
        send_headers = {"Authorization": self._auth, "Accept": "application/json"}
        if body is not None:
            send_headers["Content-Type"] = "application/json"
        send_headers.update(headers or {})
        record = record if record is not None else AttemptRecord()
        expires = None if deadline is None else self.clock.monotonic() + deadline

        attempt = 0
        while True:
            attempt += 1
            # Asked before and after the wait for a slot: the client may be
            # closed meanwhile, and that must say so, not fail somewhere deep.
            self._open_session()
            await limiter.acquire(max_wait=_within(max_wait, expires, self.clock))
            session = self._open_session()
            record.attempts = attempt
            timeout = self._attempt_timeout(expires)
            started = time.perf_counter()
            try:
                response = await session.request(
                    route.method,
                    url,
                    params=query,
                    data=body if form is None else form(),
                    headers=send_headers,
                    timeout=timeout,
                )
                async with response:
                    # JSON is UTF-8 (RFC 8259): no charset sniffing per answer.
                    text = await response.text(encoding="utf-8", errors="replace")
            except (aiohttp.ClientError, TimeoutError) as exc:
                record.maybe_processed |= not _never_sent(exc)
                error = self._transport_error(route, exc, timeout.total)
                delay = self._retry_delay(attempt, None, expires)
                if delay is None:
                    raise error from None
                self._log_retry(
                    str(route),
                    route.operation.value,
                    attempt,
                    type(error).__name__,
                    delay,
                )
                await self.clock.sleep(delay)
                continue

            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s -> %d in %.1fms (attempt %d)",
                    route.method,
                    route.path,
                    response.status,
                    (time.perf_counter() - started) * 1000,
                    attempt,
                )
            self._observe_limits(limiter, response.headers)
            if response.status < 400:
                return APIResponse(
                    status=response.status,
                    headers=response.headers,
                    body=_json_or_none(text),
                    request_id=response.headers.get(_REQUEST_ID_HEADER),
                )

            api_error = self._api_error(response.status, response.headers, text)
            record.maybe_processed |= response.status >= 500
            retry_after = (
                api_error.retry_after if isinstance(api_error, RateLimitError) else None
            )
            delay = self._retry_delay(attempt, retry_after, expires)
            if response.status == 429:
                # Only this operation waits, and the retry queues for its slot
                # again like any other call, so waiting callers keep their turn.
                pause = delay if delay is not None else retry_after
                if pause is not None:
                    limiter.pause(pause)
            if not self.retry.should_retry_status(response.status):
                raise api_error
            if retry_after is not None and retry_after > self.retry.max_retry_after:
                raise api_error
            if delay is None:
                raise api_error
            self._log_retry(
                str(route),
                route.operation.value,
                attempt,
                f"HTTP {response.status}",
                delay,
            )
            if response.status != 429:
                await self.clock.sleep(delay)

    async def put_object(
        self,
        slot: UploadSlot,
        path: Path,
        size: int,
        *,
        progress: ProgressCallback | None = None,
    ) -> None:
        """PUT a file's bytes to a presigned URL, streamed from disk.

        Sends exactly the headers the API issued with the URL and an exact
        ``Content-Length`` (never chunked), the URL byte for byte, and no API
        key. A retry reads the file again from its start.

        There is no cap on the whole upload: a slow one that keeps moving
        runs to its end. An attempt is cut off only when no bytes went out
        for ``upload_stall_timeout`` seconds, or storage took that long to
        answer after the last byte.

        Raises:
            StorageError: storage refused the upload (its XML code is kept).
            TransportError: the upload failed to connect or stalled.
        """
        url = URL(slot.url, encoded=True)
        shown = redact_url(slot.url)
        headers = dict(slot.headers)
        headers["Content-Length"] = str(size)

        attempt = 0
        while True:
            attempt += 1
            session = self._open_session()
            started = time.perf_counter()
            stall = asyncio.timeout(self.upload_stall_timeout)
            chunks = _file_chunks(path, size, progress, _moved(stall, self))
            try:
                async with stall:
                    response = await session.request(
                        slot.method,
                        url,
                        data=chunks,
                        headers=headers,
                        # Storage signs the headers it issued: add none of ours.
                        skip_auto_headers=("Content-Type",),
                        # No read timeout: while storage drains the socket's
                        # buffer it sends nothing back, yet the upload moves.
                        # The stall watchdog covers a storage that went quiet.
                        timeout=aiohttp.ClientTimeout(
                            total=None, sock_connect=self.timeout
                        ),
                    )
                    async with response:
                        text = await response.text()
            except (aiohttp.ClientError, TimeoutError) as exc:
                await chunks.aclose()
                reason = type(exc).__name__
                if stall.expired():
                    reason = f"no progress for {self.upload_stall_timeout:g}s"
                delay = self._retry_delay(attempt, None)
                if delay is None:
                    failure = APITimeoutError if stall.expired() else APIConnectionError
                    raise failure(
                        f"upload of {path.name} to {shown} failed: {reason}"
                    ) from None
                self._log_retry(f"PUT {shown}", "storage", attempt, reason, delay)
                await self.clock.sleep(delay)
                continue

            await chunks.aclose()
            log.debug(
                "%s %s -> %d in %.1fms (attempt %d)",
                slot.method,
                shown,
                response.status,
                (time.perf_counter() - started) * 1000,
                attempt,
            )
            if response.status < 300:
                return
            error = _storage_error(response.status, text, path, shown)
            if not self.retry.should_retry_status(response.status):
                raise error
            delay = self._retry_delay(attempt, None)
            if delay is None:
                raise error
            self._log_retry(
                f"PUT {shown}", "storage", attempt, f"HTTP {response.status}", delay
            )
            await self.clock.sleep(delay)

    def _retry_delay(
        self, attempt: int, retry_after: float | None, expires: float | None = None
    ) -> float | None:
        if attempt >= self.retry.attempts:
            return None
        delay = self.retry.backoff(attempt, self._rng)
        if retry_after is not None:
            delay = max(delay, retry_after)
        if expires is not None and self.clock.monotonic() + delay >= expires:
            # Waiting would leave no time for another attempt: give up now.
            return None
        return delay

    def _attempt_timeout(self, expires: float | None) -> aiohttp.ClientTimeout:
        if expires is None:
            return self._request_timeout
        left = expires - self.clock.monotonic()
        return aiohttp.ClientTimeout(total=max(min(self.timeout, left), 0.001))

    def _transport_error(
        self, route: Route, exc: BaseException, timeout: float | None
    ) -> TransportError:
        if isinstance(exc, TimeoutError) and not _never_sent(exc):
            return APITimeoutError(
                f"{route} got no answer within {timeout or self.timeout:g}s; the "
                "server may be slow or the network down"
            )
        return APIConnectionError(f"{route} failed: {type(exc).__name__}: {exc}")

    def _api_error(
        self, status: int, headers: CIMultiDictProxy[str], text: str
    ) -> APIError:
        payload = _json_or_none(text)
        message = text[:200] or f"HTTP {status}"
        code = None
        if isinstance(payload, Mapping):
            message = str(payload.get("error") or payload.get("message") or message)
            code = payload.get("code")
        return error_for_status(
            status,
            message=message,
            code=str(code) if code is not None else None,
            request_id=headers.get(_REQUEST_ID_HEADER),
            body=payload,
            retry_after=parse_retry_after(
                headers.get("Retry-After"), now=self.clock.time()
            ),
        )

    def _observe_limits(
        self, limiter: LimitStrategy, headers: CIMultiDictProxy[str]
    ) -> None:
        if (
            "X-RateLimit-Limit" not in headers
            and "X-RateLimit-Remaining" not in headers
        ):
            return
        limit = _header_number(headers, "X-RateLimit-Limit")
        remaining = _header_number(headers, "X-RateLimit-Remaining")
        reset = _header_number(headers, "X-RateLimit-Reset")
        if reset is not None and reset > 1_000_000_000:
            # Some servers send the epoch time the window resets rather than
            # the seconds until then; no window is 30 years long.
            reset = reset - self.clock.time()
        limiter.observe(
            limit=int(limit) if limit is not None else None,
            remaining=int(remaining) if remaining is not None else None,
            reset=reset,
        )

    def _log_retry(
        self, call: str, operation: str, attempt: int, reason: str, delay: float
    ) -> None:
        log.info(
            "retry: %s (%s) attempt %d failed with %s; next in %.2fs",
            call,
            operation,
            attempt,
            reason,
            delay,
        )


def _within(
    max_wait: float | None, expires: float | None, clock: Clock
) -> float | None:
    """The rate-limit wait allowed, shortened to what the deadline leaves."""
    if expires is None:
        return max_wait
    left = max(expires - clock.monotonic(), 0.0)
    return left if max_wait is None else min(max_wait, left)


# The last bytes of an upload sit in the system's send buffer, where their
# progress cannot be seen; up to this many of them are given time to drain at
# no less than this rate before storage's silence counts as a stall.
_UNSEEN_TAIL = 4 * 1024 * 1024
_SLOWEST_DRAIN = 64 * 1024


def _moved(stall: asyncio.Timeout, transport: Transport) -> Callable[[int, bool], None]:
    """A callback that pushes the stall deadline back on every chunk sent.

    After the last chunk storage still has to read what the send buffer
    holds, so it gets as long as handing the body over took (or the stall
    timeout, if longer), plus the time the unseen tail needs at the slowest
    rate still called moving.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()

    def moved(sent: int, done: bool) -> None:
        # The watchdog runs on the event loop's clock, as aiohttp's own
        # socket timeouts do: I/O progress cannot be faked by a test clock.
        if stall.when() is None or stall.expired():
            return
        now = loop.time()
        wait = transport.upload_stall_timeout
        if done:
            wait = max(wait, now - started) + min(sent, _UNSEEN_TAIL) / _SLOWEST_DRAIN
        stall.reschedule(now + wait)

    return moved


async def _file_chunks(
    path: Path,
    size: int,
    progress: ProgressCallback | None,
    moved: Callable[[int, bool], None],
) -> AsyncGenerator[bytes, None]:
    sent = 0
    file = path.open("rb")
    try:
        # Never more than announced: a file that grew since it was probed
        # would otherwise overrun its Content-Length.
        while sent < size and (
            chunk := await anyio.to_thread.run_sync(
                file.read, min(_UPLOAD_CHUNK, size - sent)
            )
        ):
            sent += len(chunk)
            yield chunk
            # Asked for the next chunk: the previous one went to the socket.
            moved(sent, sent >= size)
            if progress is not None:
                progress(sent, size)
    finally:
        # Closed without awaiting, so a cancelled upload cannot skip it.
        file.close()


def _storage_error(status: int, text: str, path: Path, shown: str) -> StorageError:
    code = message = request_id = None
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        root = None
    if root is not None:
        code = root.findtext("Code")
        message = root.findtext("Message")
        request_id = root.findtext("RequestId")
    hint = {
        "AccessDenied": "the upload URL may have expired; start the upload again",
        "SignatureDoesNotMatch": "the URL or a signed header was changed in transit",
    }.get(code or "", "see the storage code")
    return StorageError(
        f"storage refused {path.name} at {shown}: {status} {code or ''} "
        f"{message or ''} ({hint})".replace("  ", " "),
        status=status,
        code=code,
        request_id=request_id,
    )
