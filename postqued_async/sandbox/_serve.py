"""Serving the sandbox from a terminal until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Sequence

import attrs

from postqued_async.sandbox._config import SandboxConfig
from postqued_async.sandbox._server import Sandbox

__all__ = ["main", "serve_forever"]


async def serve_forever(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 8765
) -> None:
    """Serve a sandbox, print how to point a client at it, run until cancelled."""
    async with Sandbox(config, host=host, port=port) as sandbox:
        print(f"PostQued sandbox serving at {sandbox.url}", flush=True)
        print(f"export POSTQUED_BASE_URL={sandbox.url}", flush=True)
        print(f"export POSTQUED_API_KEY={sandbox.api_key}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        await asyncio.Event().wait()


def build_parser(
    prog: str = "python -m postqued_async.sandbox",
) -> argparse.ArgumentParser:
    """The command-line options of the sandbox server."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Serve a local PostQued API v1 sandbox."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--model",
        choices=("sliding", "calendar", "token_bucket"),
        default="sliding",
        help="how rate limits count a window",
    )
    parser.add_argument(
        "--window", type=float, default=60.0, help="rate-limit window in seconds"
    )
    parser.add_argument(
        "--rate-limit-headers",
        action="store_true",
        help="send X-RateLimit-Limit/Remaining/Reset on every API answer",
    )
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="serve without rate limits"
    )
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The sandbox config the parsed options describe."""
    return attrs.evolve(
        SandboxConfig(),
        rate_limit_model=args.model,
        window=args.window,
        send_rate_limit_headers=args.rate_limit_headers,
        rate_limits_enabled=not args.no_rate_limits,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox server from the command line; answer an exit status."""
    args = build_parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(config_from_args(args), args.host, args.port))
    return 0
