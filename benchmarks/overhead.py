"""What the SDK costs per call next to bare aiohttp and httpx.

The sandbox runs in a child process (``python -m postqued_async.sandbox``
without rate limits), so its CPU does not count against the clients. Each
round sends the same ``GET /v1/content/publish/{id}`` N times at a fixed
concurrency through the SDK (``Limits.disabled()``, typed result), a bare
``aiohttp.ClientSession`` and an ``httpx.AsyncClient`` (both decode the
JSON); the three take turns in a rotating order. The median round of each
is reported, as wall time and as this process's CPU time (the client's own
cost, steady even on a busy machine); the last line printed is a JSON object
with the ratios.

Run: ``python benchmarks/overhead.py [--calls 2000] [--concurrency 64]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from postqued_async import Limits, LimitSet, PostQued, RetryPolicy, Target

VIDEO = Path(__file__).resolve().parents[1] / "examples" / "media" / "product-loop.mp4"

Call = Callable[[], Awaitable[Any]]


def start_sandbox() -> tuple[subprocess.Popen[str], str, str]:
    """The sandbox in a child process; its URL and API key."""
    command = [sys.executable, "-m", "postqued_async.sandbox", "--port", "0"]
    child = subprocess.Popen(
        [*command, "--no-rate-limits"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    url = key = ""
    for line in child.stdout:
        if line.startswith("export POSTQUED_BASE_URL="):
            url = line.split("=", 1)[1].strip()
        elif line.startswith("export POSTQUED_API_KEY="):
            key = line.split("=", 1)[1].strip()
        if url and key:
            return child, url, key
    raise RuntimeError("the sandbox did not start")


async def run(call: Call, calls: int, concurrency: int) -> tuple[float, float]:
    """Wall and CPU seconds to make ``calls`` calls, ``concurrency`` at a time.

    The CPU time is this process's alone: the sandbox runs in its own.
    """
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    began, began_cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - began, time.process_time() - began_cpu


async def main(calls: int, concurrency: int, rounds: int) -> None:
    child, url, key = start_sandbox()
    try:
        async with PostQued(
            key,
            base_url=url,
            limits=LimitSet(Limits.disabled()),
            retry=RetryPolicy.never(),
        ) as pq:
            video = await pq.content.upload(VIDEO)
            account = await pq.accounts.get("creator_one")
            publish = await pq.publish.create(
                [video], [Target.tiktok(account, "Overhead", privacy_level="SELF_ONLY")]
            )
            publish_id = publish.id
            status_url = f"{url}/v1/content/publish/{publish_id}"
            headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}

            async with (
                aiohttp.ClientSession() as session,
                # The same pool as aiohttp's: 100 connections, all kept alive.
                httpx.AsyncClient(
                    limits=httpx.Limits(
                        max_connections=100, max_keepalive_connections=100
                    ),
                    timeout=30.0,
                ) as client,
            ):

                async def sdk() -> Any:
                    return await pq.publish.get(publish_id)

                async def bare_aiohttp() -> Any:
                    async with session.get(status_url, headers=headers) as response:
                        response.raise_for_status()
                        return await response.json()

                async def bare_httpx() -> Any:
                    response = await client.get(status_url, headers=headers)
                    response.raise_for_status()
                    return response.json()

                contenders: dict[str, Call] = {
                    "postqued-async": sdk,
                    "aiohttp": bare_aiohttp,
                    "httpx": bare_httpx,
                }
                # One warm-up round each opens the connection pools.
                for call in contenders.values():
                    await run(call, concurrency * 4, concurrency)

                times: dict[str, list[float]] = {name: [] for name in contenders}
                cpu: dict[str, list[float]] = {name: [] for name in contenders}
                names = list(contenders)
                for number in range(rounds):
                    shift = number % len(names)
                    for name in names[shift:] + names[:shift]:
                        wall, used = await run(contenders[name], calls, concurrency)
                        times[name].append(wall)
                        cpu[name].append(used)
    finally:
        child.terminate()
        child.wait()

    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    print(
        f"{calls} publish.get calls at concurrency {concurrency}, "
        f"median of {rounds} interleaved rounds, sandbox in a child process"
    )
    print()
    print("| client | wall | calls/s | vs aiohttp | client CPU / call | vs aiohttp |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, median in medians.items():
        used = cpu_medians[name]
        print(
            f"| {name} | {median:.3f} s | {calls / median:,.0f} "
            f"| {median / medians['aiohttp']:.3f} "
            f"| {used / calls * 1e6:.0f} µs | {used / cpu_medians['aiohttp']:.3f} |"
        )
    sdk, sdk_cpu = medians["postqued-async"], cpu_medians["postqued-async"]
    summary = {
        "sdk_vs_aiohttp": round(sdk / medians["aiohttp"], 4),
        "sdk_vs_httpx": round(sdk / medians["httpx"], 4),
        "sdk_cpu_vs_aiohttp": round(sdk_cpu / cpu_medians["aiohttp"], 4),
        "sdk_cpu_vs_httpx": round(sdk_cpu / cpu_medians["httpx"], 4),
    }
    print()
    print(json.dumps(summary))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    asyncio.run(main(options.calls, options.concurrency, options.rounds))
