"""How close to the rate limit each pacing strategy gets, and what it costs.

Against the sandbox with a short window, M publishes (limit 10) and M reads
(limit 30) go out at once under each counting model the sandbox knows. The
SDK's own limiter is compared with a bare ``aiolimiter.AsyncLimiter(N, W)``
and ``AsyncLimiter(1, W/N)`` gating raw aiohttp requests. Nothing is retried,
so every 429 shows in the sandbox's request log.

Each row gives the makespan (first call to last answer) over the theoretical
minimum ``floor((M - 1) / N) * W``: the first N calls go at once and each
later group of N must wait a whole window. The last line printed is a JSON
object with the SDK's worst ratio and its total number of 429s.

Run: ``python benchmarks/limits.py [--window 2.0]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import aiolimiter

from postqued_async import (
    Limits,
    LimitSet,
    PostQued,
    RateLimit,
    RetryPolicy,
    Target,
)
from postqued_async.sandbox import Sandbox

MODELS = ("sliding", "calendar", "token_bucket")
VIDEO = Path(__file__).resolve().parents[1] / "examples" / "media" / "product-loop.mp4"
# operation, calls M, limit N
WORKLOADS = (("publish", 25, 10), ("read", 75, 30))

Call = Callable[[], Awaitable[int]]


class Subject:
    """One key on one sandbox, with a published video ready to use."""

    def __init__(self, sb: Sandbox, window: float) -> None:
        self.sb = sb
        self.window = window
        self.key = sb.issue_key()
        self.content_id = ""
        self.account_id = ""

    async def prepare(self) -> None:
        # A separate, unlimited client, so its setup calls share nothing.
        async with PostQued(
            self.key,
            base_url=self.sb.url,
            limits=LimitSet(Limits.disabled()),
        ) as pq:
            video = await pq.content.upload(VIDEO)
            account = await pq.accounts.get("creator_one")
        self.content_id = video.id
        self.account_id = account.id

    def statuses(self, since: int) -> list[int]:
        return [r.status for r in self.sb.requests[since:]]


async def run_sdk(subject: Subject, operation: str, count: int, limit: int) -> Any:
    window = subject.window
    limits = Limits(
        publish=RateLimit(10, window), read=RateLimit(30, window), margin=None
    )
    async with PostQued(
        subject.key,
        base_url=subject.sb.url,
        limits=LimitSet(limits),
        retry=RetryPolicy.never(),
    ) as pq:
        target = Target.tiktok(subject.account_id, "Paced", privacy_level="SELF_ONLY")

        async def one() -> None:
            if operation == "publish":
                await pq.publish.create([subject.content_id], [target])
            else:
                await pq.accounts.list()

        return await _timed(subject, [one] * count)


async def run_aiolimiter(
    subject: Subject,
    operation: str,
    count: int,
    limit: int,
    *,
    spaced: bool,
) -> Any:
    window = subject.window
    if spaced:
        gate = aiolimiter.AsyncLimiter(1, window / limit)
    else:
        gate = aiolimiter.AsyncLimiter(limit, window)
    headers = {"Authorization": f"Bearer {subject.key}"}
    body = {
        "contentIds": [subject.content_id],
        "targets": [
            {
                "platform": "tiktok",
                "accountId": subject.account_id,
                "intent": "publish",
                "caption": "Paced",
                "dispatchAt": None,
                "options": {"privacyLevel": "SELF_ONLY"},
            }
        ],
    }
    async with aiohttp.ClientSession() as http:

        async def one() -> None:
            async with gate:
                if operation == "publish":
                    request = http.post(
                        f"{subject.sb.url}/v1/content/publish",
                        json=body,
                        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                    )
                else:
                    request = http.get(
                        f"{subject.sb.url}/v1/platform-accounts", headers=headers
                    )
                async with request as response:
                    await response.read()

        return await _timed(subject, [one] * count)


async def _timed(subject: Subject, calls: list[Callable[[], Awaitable[None]]]) -> Any:
    since = len(subject.sb.requests)
    began = time.perf_counter()
    await asyncio.gather(*(call() for call in calls), return_exceptions=True)
    makespan = time.perf_counter() - began
    refused = subject.statuses(since).count(429)
    return makespan, refused


Runner = Callable[[Subject, str, int, int], Awaitable[Any]]


def _strategies() -> dict[str, Runner]:
    async def leaky(s: Subject, op: str, m: int, n: int) -> Any:
        return await run_aiolimiter(s, op, m, n, spaced=False)

    async def spaced(s: Subject, op: str, m: int, n: int) -> Any:
        return await run_aiolimiter(s, op, m, n, spaced=True)

    return {
        "SDK sliding window": run_sdk,
        "AsyncLimiter(N, W)": leaky,
        "AsyncLimiter(1, W/N)": spaced,
    }


async def main(window: float) -> None:
    sandboxes = {
        model: Sandbox(
            rate_limit_model=model,
            window=window,
            limits={"publish": 10, "read": 30},
            queue_delay=0.2,
            processing_delay=0.2,
        )
        for model in MODELS
    }
    for sb in sandboxes.values():
        await sb.start()

    rows: list[tuple[str, str, str, int, int, float, float, int]] = []
    try:
        # Every run gets a fresh key so windows never carry over. Setting
        # the keys up takes a read each, so wait out that window first.
        runs = [
            (workload, name, runner, [Subject(sandboxes[m], window) for m in MODELS])
            for workload in WORKLOADS
            for name, runner in _strategies().items()
        ]
        await asyncio.gather(
            *(subject.prepare() for *_, subjects in runs for subject in subjects)
        )
        await asyncio.sleep(window * 1.1)

        for (operation, count, limit), name, runner, subjects in runs:
            floor = math.floor((count - 1) / limit) * window
            # The models run side by side, each on its own sandbox.
            results = await asyncio.gather(
                *(runner(subject, operation, count, limit) for subject in subjects)
            )
            for model, (makespan, refused) in zip(MODELS, results, strict=True):
                rows.append(
                    (name, model, operation, count, limit, makespan, floor, refused)
                )
    finally:
        for sb in sandboxes.values():
            await sb.close()

    print(f"window W = {window:g} s; makespan / floor((M-1)/N)*W; no retries")
    print()
    print("| strategy | model | operation (M, N) | makespan | ratio | 429s |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for name, model, operation, count, limit, makespan, floor, refused in rows:
        print(
            f"| {name} | {model} | {operation} ({count}, {limit}) "
            f"| {makespan:.2f} s | {makespan / floor:.3f} | {refused} |"
        )
    sdk = [row for row in rows if row[0].startswith("SDK")]
    summary = {
        "sdk_worst_ratio": round(max(row[5] / row[6] for row in sdk), 4),
        "sdk_worst_sliding_ratio": round(
            max(row[5] / row[6] for row in sdk if row[1] == "sliding"), 4
        ),
        "sdk_429s": sum(row[7] for row in sdk),
    }
    print()
    print(json.dumps(summary))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=2.0, help="W in seconds")
    asyncio.run(main(parser.parse_args().window))
