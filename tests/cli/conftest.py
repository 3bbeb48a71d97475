"""Fixtures for the CLI's tests: a fast sandbox and a client pointed at it."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES

from postqued_async import Limits, PostQued
from postqued_async.sandbox import Sandbox


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    # Short delays keep a campaign to a fraction of a second; the limits are
    # off because one test may run a campaign twice with the same key.
    async with Sandbox(
        queue_delay=0.05, processing_delay=0.05, rate_limits_enabled=False
    ) as sandbox:
        yield sandbox


@pytest.fixture
async def pq(sb: Sandbox) -> AsyncIterator[PostQued]:
    async with PostQued(
        sb.api_key, base_url=sb.url, limits=Limits.disabled()
    ) as client:
        yield client


@pytest.fixture
def campaign_dir(tmp_path: Path) -> Path:
    """A copy of the example campaign, its offsets cut to a fraction of a second."""
    shutil.copytree(EXAMPLES / "media", tmp_path / "media")
    text = (EXAMPLES / "campaign.csv").read_text(encoding="utf-8")
    for offset in ("+5s", "+8s", "+10s"):
        text = text.replace(f",{offset},", ",+0.2s,")
    (tmp_path / "campaign.csv").write_text(text, encoding="utf-8")
    return tmp_path
