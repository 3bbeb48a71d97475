"""A scriptable, seedable fault plan: what goes wrong, on which route, when.

A :class:`FaultPlan` is a list of rules, each bound to a route and drawing
from a random generator of its own, seeded from the plan's seed and the
rule's place. The same plan against the same sequence of requests on a route
injects the same faults, whatever happens on the other routes::

    plan = (
        FaultPlan(seed=7)
        .random("publish", rate=0.1, status=503)
        .reset_after_commit("publish", rate=0.05)
        .rate_limit_storm("upload", count=3, retry_after=0.05)
    )
    async with Sandbox(fault_plan=plan) as sb:
        ...

A route is named by its operation kind (``"upload"``, ``"read"``,
``"publish"``, ``"delete"``), by method and path template
(``"POST /v1/content/publish"``), as ``"storage"`` for presigned PUTs, or
``"*"`` for everything. Faults run after authentication and the sandbox's own
rate limit, before the route's handler.

Rules are asked in the order they were added. The first one that answers in
the handler's place (a status, a 429, a reset before commit, a storage error)
wins; delays add up, and faults after the commit (a delayed answer, a reset)
apply once the handler has run. A connection dropped by the plan is recorded
in ``sb.requests`` with status 499 when nothing was committed, and with the
handler's real status when the write committed and only the answer was lost.

Delays and slow storage use real time, not the sandbox clock: they model
the network, which a client's timeouts measure in real time too.
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import random
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Self

import attrs
from aiohttp import web

from postqued_async.sandbox._errors import ApiError, StorageError, code_for_status
from postqued_async.sandbox._state import FaultHook

__all__ = [
    "AFTER_COMMIT_KEY",
    "STORAGE_PACE_KEY",
    "AfterCommit",
    "FaultPlan",
    "after_commit",
]

#: Status recorded for a request whose connection the plan dropped unanswered.
DROPPED_STATUS = 499

_STORAGE_CODES = {500: "InternalError", 503: "SlowDown"}


@attrs.frozen
class AfterCommit:
    """What happens to an answer once the handler committed its write."""

    delay: float = 0.0
    reset: bool = False


#: Faults to apply after the handler ran, set on the request by the plan.
AFTER_COMMIT_KEY = web.RequestKey("postqued_after_commit", AfterCommit)
#: Bytes per second storage reads a PUT body at, set by ``slow_storage``.
STORAGE_PACE_KEY = web.RequestKey("postqued_storage_pace", float)


async def after_commit(
    request: web.Request, response: web.StreamResponse
) -> web.StreamResponse:
    """Apply the post-commit faults the plan set on ``request``, if any."""
    fault = request.get(AFTER_COMMIT_KEY)
    if fault is None:
        return response
    if fault.delay > 0:
        await asyncio.sleep(fault.delay)
    if fault.reset:
        _drop(request)
    return response


def _drop(request: web.Request) -> None:
    # Aborting the transport loses whatever answer follows; aiohttp treats
    # the failed write as a client that went away and logs nothing.
    transport = request.transport
    if transport is not None:
        transport.abort()


@attrs.define
class _Rule:
    route: str
    kind: str
    rng: random.Random
    rate: float = 1.0
    status: int = 503
    statuses: collections.deque[int] = attrs.field(factory=collections.deque)
    count: int = 0
    storm_left: int = 0
    # Whether any request may start a storm: ``rate`` cannot tell, since
    # 1.0 is both its default and a probability a caller may give.
    storms_at_random: bool = False
    retry_after: float | datetime = 1.0
    seconds: float = 0.0
    code: str = ""
    pace: float = 0.0
    expired: dict[str, bool] = attrs.field(factory=dict)

    def roll(self) -> bool:
        return self.rng.random() < self.rate


class FaultPlan:
    """Faults to inject into a sandbox, per route, from one seed.

    Every method adds a rule and returns the plan, so rules chain. Counts of
    what was injected, by kind, are in :attr:`injected`.

    Args:
        seed: seeds every rule's own random generator.
    """

    def __init__(self, seed: int | str = 0) -> None:
        self.seed = seed
        self._rules: list[_Rule] = []
        self.injected: collections.Counter[str] = collections.Counter()

    def status_sequence(self, route: str, statuses: Sequence[int]) -> Self:
        """Answer the next requests with these statuses, in order.

        A status below 300 lets that request through to its handler; once
        the sequence is used up, every request goes through.
        """
        return self._add(route, "status", statuses=collections.deque(statuses))

    def random(self, route: str, *, rate: float, status: int = 503) -> Self:
        """Answer a ``rate`` share of requests with ``status`` instead."""
        return self._add(route, "random", rate=rate, status=status)

    def rate_limit_storm(
        self,
        route: str,
        *,
        count: int,
        retry_after: float | datetime = 1.0,
        rate: float | None = None,
    ) -> Self:
        """Answer ``count`` requests in a row with 429 and ``Retry-After``.

        Without ``rate`` the storm hits the next requests; with it, each
        request starts a storm with that probability. ``retry_after`` is sent
        as seconds (fractions kept), or as an HTTP date when a datetime.
        """
        return self._add(
            route,
            "storm",
            rate=1.0 if rate is None else rate,
            retry_after=retry_after,
            count=count,
            storm_left=count if rate is None else 0,
            storms_at_random=rate is not None,
        )

    def delay(
        self,
        route: str,
        seconds: float,
        *,
        rate: float = 1.0,
        after_commit: bool = True,
    ) -> Self:
        """Hold a ``rate`` share of answers back ``seconds``.

        With ``after_commit`` (the default) the handler runs first, so a
        client that gives up waiting leaves a write behind it; without, the
        request waits before the handler and commits late.
        """
        kind = "delay_after" if after_commit else "delay_before"
        return self._add(route, kind, rate=rate, seconds=seconds)

    def reset_before_commit(self, route: str, *, rate: float) -> Self:
        """Drop a ``rate`` share of connections before the handler runs."""
        return self._add(route, "reset_before", rate=rate)

    def reset_after_commit(self, route: str, *, rate: float) -> Self:
        """Run the handler, then drop the connection instead of answering."""
        return self._add(route, "reset_after", rate=rate)

    def slow_storage(self, bytes_per_second: float) -> Self:
        """Let storage read PUT bodies no faster than ``bytes_per_second``."""
        return self._add("storage", "slow", pace=float(bytes_per_second))

    def expire_urls(self, *, rate: float) -> Self:
        """Treat a ``rate`` share of presigned URLs as expired on arrival.

        The choice is made once per URL: an expired URL stays expired, and a
        fresh upload start gets a fresh URL with a fresh chance.
        """
        return self._add("storage", "expire", rate=rate)

    def storage_error(self, code: str, status: int = 503, *, rate: float = 1.0) -> Self:
        """Answer a ``rate`` share of PUTs with an S3 XML error."""
        return self._add(
            "storage", "storage_error", rate=rate, status=status, code=code
        )

    def install(self, hooks: list[FaultHook]) -> None:
        """Add the plan's hook to a sandbox state's ``fault_hooks``."""
        hooks.append(self.hook)

    async def hook(
        self, request: web.Request, operation: str | None
    ) -> web.StreamResponse | None:
        """The fault hook: answer in the handler's place, or let it run."""
        names = _route_names(request, operation)
        wait = 0.0
        later = AfterCommit()
        for rule in self._rules:
            if rule.route not in names:
                continue
            answer = self._apply(rule, request, operation)
            if isinstance(answer, AfterCommit):
                later = AfterCommit(
                    later.delay + answer.delay, later.reset or answer.reset
                )
            elif isinstance(answer, float):
                wait += answer
            elif answer is not None:
                return answer
        if wait:
            await asyncio.sleep(wait)
        if later != AfterCommit():
            request[AFTER_COMMIT_KEY] = later
        return None

    def _apply(
        self, rule: _Rule, request: web.Request, operation: str | None
    ) -> web.StreamResponse | AfterCommit | float | None:
        kind = rule.kind
        if kind == "status":
            if not rule.statuses:
                return None
            status = rule.statuses.popleft()
            return None if status < 300 else self._refuse(kind, status, operation)
        if kind == "random":
            if not rule.roll():
                return None
            return self._refuse(kind, rule.status, operation)
        if kind == "storm":
            if rule.storm_left == 0 and rule.storms_at_random and rule.roll():
                rule.storm_left = rule.count
            if rule.storm_left == 0:
                return None
            rule.storm_left -= 1
            return self._refuse(kind, 429, operation, rule.retry_after)
        if kind == "slow":
            request[STORAGE_PACE_KEY] = rule.pace
            return None
        if kind == "expire":
            url_key = request.raw_path.partition("?")[0]
            if url_key not in rule.expired:
                rule.expired[url_key] = rule.roll()
            if not rule.expired[url_key]:
                return None
            self.injected[kind] += 1
            raise StorageError(403, "AccessDenied", "Request has expired")
        if not rule.roll():
            return None
        self.injected[kind] += 1
        if kind == "delay_before":
            return rule.seconds
        if kind == "delay_after":
            return AfterCommit(delay=rule.seconds)
        if kind == "reset_after":
            return AfterCommit(reset=True)
        if kind == "reset_before":
            _drop(request)
            return web.Response(status=DROPPED_STATUS)
        if kind == "storage_error":
            raise StorageError(rule.status, rule.code, f"Injected {rule.code}.")
        raise AssertionError(f"unknown fault kind {kind!r}")

    def _refuse(
        self,
        kind: str,
        status: int,
        operation: str | None,
        retry_after: float | datetime | None = None,
    ) -> web.StreamResponse:
        self.injected[kind] += 1
        if operation is None:
            code = _STORAGE_CODES.get(status, "InternalError")
            raise StorageError(status, code, f"Injected {status} {code}.")
        headers = {}
        if status == 429:
            headers["Retry-After"] = _retry_after_header(
                1.0 if retry_after is None else retry_after
            )
        raise ApiError(
            status,
            code_for_status(status),
            f"Injected {status} by the sandbox's fault plan.",
            headers=headers,
        )

    def _add(self, route: str, kind: str, **fields: object) -> Self:
        if not _ROUTE_NAME.fullmatch(route):
            # A misspelt route would silently match nothing.
            raise ValueError(
                f"unknown fault route {route!r}; use an operation (upload, read, "
                "publish, delete), 'METHOD /path' as in the route table, "
                "'storage' or '*'"
            )
        index = len(self._rules)
        rng = random.Random(f"{self.seed}:{route}:{index}")
        self._rules.append(_Rule(route, kind, rng, **fields))  # type: ignore[arg-type]
        return self

    def __repr__(self) -> str:
        kinds = ", ".join(f"{rule.kind}@{rule.route}" for rule in self._rules)
        return f"FaultPlan(seed={self.seed!r}, rules=[{kinds}])"


_ROUTE_NAME = re.compile(
    r"\*|storage|upload|read|publish|delete|(GET|POST|PUT|PATCH|DELETE) /\S+"
)


def _route_names(request: web.Request, operation: str | None) -> set[str]:
    if operation is None:
        return {"*", "storage"}
    template = request.match_info.route.resource
    path = template.canonical if template is not None else request.path
    return {"*", operation, f"{request.method} {path}"}


def _retry_after_header(value: float | datetime) -> str:
    if isinstance(value, datetime):
        return email.utils.format_datetime(value, usegmt=True)
    return f"{value:g}"
