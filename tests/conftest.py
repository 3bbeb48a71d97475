"""Suite-wide guard: no API key and no presigned signature in any log line.

Every log record the whole test run emits, at every level and from every
logger (the SDK, the sandbox, aiohttp, asyncio), is checked as it is emitted
against every key a sandbox has issued so far and for presigned signatures.
A key cannot leak before it exists, so checking on emit misses nothing and
keeps no lines in memory. The run fails at its end if anything leaked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from postqued_async.sandbox import SandboxState

_SIGNATURE = re.compile(r"X-Amz-Signature=[0-9a-f]{16}", re.IGNORECASE)


class SecretScanner(logging.Handler):
    """A handler that keeps only the log lines that show a secret."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.keys: set[str] = set()
        self.leaks: list[str] = []
        self.lines = 0
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self._formatter.formatException(record.exc_info)
        self.lines += 1
        if _SIGNATURE.search(text) or any(key in text for key in list(self.keys)):
            self.leaks.append(f"{record.name} {record.levelname}: {text[:300]}")


_scanner = SecretScanner()


@pytest.fixture(scope="session", autouse=True)
def secret_scanner() -> Iterator[SecretScanner]:
    """Scan every log line of the run; fail at the end on any leaked secret."""
    issue_key = SandboxState.issue_key

    def recording_issue_key(self: SandboxState, *, subscription: bool = True) -> str:
        key = issue_key(self, subscription=subscription)
        _scanner.keys.add(key)
        return key

    root = logging.getLogger()
    level = root.level
    SandboxState.issue_key = recording_issue_key  # type: ignore[method-assign]
    root.addHandler(_scanner)
    root.setLevel(logging.DEBUG)
    try:
        yield _scanner
    finally:
        root.removeHandler(_scanner)
        root.setLevel(level)
        SandboxState.issue_key = issue_key  # type: ignore[method-assign]

    assert _scanner.leaks == [], f"secrets in {len(_scanner.leaks)} log line(s)"
