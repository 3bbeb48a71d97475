"""What uploading big files costs the client in memory, and how fast it goes.

Five videos go up at once: one 1 GiB file and four 256 MiB files, sparse
on disk with an MP4 header so they cost no disk space. The sandbox runs in
a child process (``python -m postqued_async.sandbox --no-rate-limits``), so
its memory and CPU do not count against the client.

Memory is the client's resident set (RSS) read from ``/proc/self/statm``
every 5 ms while the uploads run; the figure reported is the peak minus
the RSS just before they started. (On systems without ``/proc`` it falls
back to ``resource.getrusage`` peak RSS, which cannot be reset and so
overstates the growth.) The goal is under 64 MiB whatever the file sizes.

Throughput is total bytes over wall time for the SDK's ``upload_video``
(start, streamed PUT, complete) and for a bare aiohttp PUT of the same
files streamed from disk in the same 256 KiB chunks to URLs from the same
start call; each runs ``--rounds`` times, alternating, and the best round
counts. The goal is an SDK/bare ratio of at least 0.9. The last line
printed is JSON.

Run: ``python benchmarks/upload_memory.py [--big-mib 1024] [--small-mib 256]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
from yarl import URL

from postqued_async import Limits, PostQued, RetryPolicy

MIB = 1024 * 1024
CHUNK = 256 * 1024
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """The resident set size now, from /proc, or the peak from getrusage."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * PAGE
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


async def peak_rss_while(work: Awaitable[None]) -> int:
    """Run ``work``; answer the highest RSS seen meanwhile, minus the start."""
    start = rss_bytes()
    peak = start
    task = asyncio.ensure_future(work)
    while not task.done():
        peak = max(peak, rss_bytes())
        await asyncio.wait({task}, timeout=0.005)
    await task
    return peak - start


def sparse_videos(folder: Path, sizes: list[int]) -> list[Path]:
    paths = []
    for number, size in enumerate(sizes):
        path = folder / f"video-{number}.mp4"
        with path.open("wb") as file:
            file.write(MP4_HEAD)
            file.truncate(size)
        paths.append(path)
    return paths


async def start_sandbox() -> tuple[asyncio.subprocess.Process, str, str]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "postqued_async.sandbox",
        "--port",
        "0",
        "--no-rate-limits",
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    found: dict[str, str] = {}
    while len(found) < 2:
        line = (await child.stdout.readline()).decode()
        if not line:
            raise RuntimeError("the sandbox ended before it said where it serves")
        for name in ("POSTQUED_BASE_URL", "POSTQUED_API_KEY"):
            if line.startswith(f"export {name}="):
                found[name] = line.split("=", 1)[1].strip()
    return child, found["POSTQUED_BASE_URL"], found["POSTQUED_API_KEY"]


async def sdk_round(pq: PostQued, files: list[Path]) -> None:
    await asyncio.gather(
        *(
            pq.content.upload_video(path, width=1920, height=1080, duration_ms=60_000)
            for path in files
        )
    )


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, CHUNK):
            yield chunk


async def bare_round(
    session: aiohttp.ClientSession, base_url: str, key: str, files: list[Path]
) -> None:
    sizes = {path: path.stat().st_size for path in files}

    async def one(path: Path) -> None:
        size = sizes[path]
        async with session.post(
            f"{base_url}/v1/content/upload",
            json={"filename": path.name, "contentType": "video/mp4", "fileSize": size},
            headers={"Authorization": f"Bearer {key}"},
        ) as response:
            upload = (await response.json())["upload"]
        async with session.put(
            URL(upload["url"], encoded=True),
            data=file_chunks(path),
            headers={**upload["headers"], "Content-Length": str(size)},
            skip_auto_headers=("Content-Type",),
        ) as response:
            response.raise_for_status()

    await asyncio.gather(*(one(path) for path in files))


async def timed(work: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def main(big: int, small: int, rounds: int) -> dict[str, object]:
    child, base_url, key = await start_sandbox()
    try:
        with tempfile.TemporaryDirectory() as folder:
            files = sparse_videos(Path(folder), [big] + [small] * 4)
            total = sum(path.stat().st_size for path in files)
            async with (
                PostQued(
                    key,
                    base_url=base_url,
                    limits=Limits.disabled(),
                    retry=RetryPolicy.never(),
                ) as pq,
                aiohttp.ClientSession() as session,
            ):
                growth = await peak_rss_while(sdk_round(pq, files))
                sdk_times, bare_times = [], []
                for _ in range(rounds):
                    bare_times.append(
                        await timed(lambda: bare_round(session, base_url, key, files))
                    )
                    sdk_times.append(await timed(lambda: sdk_round(pq, files)))
    finally:
        child.terminate()
        await child.wait()

    sdk_rate = total / min(sdk_times) / MIB
    bare_rate = total / min(bare_times) / MIB
    print(f"files: 1 x {big // MIB} MiB + 4 x {small // MIB} MiB = {total // MIB} MiB")
    print(f"client RSS growth while uploading (peak - start): {growth / MIB:.1f} MiB")
    print(f"SDK upload_video: {sdk_rate:.0f} MiB/s (best of {rounds})")
    print(f"bare aiohttp PUT: {bare_rate:.0f} MiB/s (best of {rounds})")
    return {
        "bytes": total,
        "rss_growth_mib": round(growth / MIB, 1),
        "rss_method": "/proc/self/statm sampled every 5 ms",
        "sdk_mib_s": round(sdk_rate, 1),
        "bare_aiohttp_mib_s": round(bare_rate, 1),
        "throughput_ratio": round(sdk_rate / bare_rate, 3),
        "goals": {"rss_growth_mib_under": 64, "throughput_ratio_at_least": 0.9},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--small-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    result = asyncio.run(main(args.big_mib * MIB, args.small_mib * MIB, args.rounds))
    print(json.dumps(result))
