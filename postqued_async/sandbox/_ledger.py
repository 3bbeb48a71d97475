"""The ledger: what really went out to the platforms, for tests to check."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable
from typing import Literal, TypeVar

import attrs

__all__ = ["Ledger", "LedgerEntry", "LedgerStatus"]

_T = TypeVar("_T")

LedgerStatus = Literal["sent", "published", "failed"]


@attrs.frozen
class LedgerEntry:
    """One target that reached the end of its road.

    ``status`` is ``"sent"`` (a draft delivered to the creator's inbox),
    ``"published"`` (live) or ``"failed"`` (nothing went out).
    """

    publish_id: str
    target_id: str
    platform: str
    account_id: str
    username: str
    intent: str
    caption: str
    content_ids: tuple[str, ...]
    idempotency_key: str
    status: LedgerStatus
    went_out_at: dt.datetime


class Ledger:
    """Every target the sandbox finished, in the order they finished.

    Reading the ledger first brings every target up to the clock's present,
    so it is current even if nobody polled the publish request.

    Args:
        advance: brings the sandbox's targets up to the present; it appends
            to the ledger through :meth:`record`.
        run: how to run a read, e.g. on the sandbox's own event loop when
            the ledger is read from another thread.
    """

    def __init__(
        self,
        advance: Callable[[], None],
        run: Callable[[Callable[[], list[LedgerEntry]]], list[LedgerEntry]]
        | None = None,
    ) -> None:
        self._advance = advance
        self._run = run
        self._entries: list[LedgerEntry] = []

    def record(self, entry: LedgerEntry) -> None:
        """Append a finished target; called by the sandbox exactly once each."""
        self._entries.append(entry)

    def bound(
        self, run: Callable[[Callable[[], list[LedgerEntry]]], list[LedgerEntry]]
    ) -> Ledger:
        """A view of this ledger whose reads go through ``run``."""
        view = Ledger(self._advance, run)
        view._entries = self._entries
        return view

    def entries(self) -> list[LedgerEntry]:
        """All finished targets, successes and failures, oldest first."""
        if self._run is not None:
            return self._run(self._snapshot)
        return self._snapshot()

    def published(self) -> list[LedgerEntry]:
        """Only the targets that went out: ``sent`` or ``published``."""
        return [entry for entry in self.entries() if entry.status != "failed"]

    def failed(self) -> list[LedgerEntry]:
        """Only the targets that ended ``failed``."""
        return [entry for entry in self.entries() if entry.status == "failed"]

    def count_by_idempotency_key(self) -> dict[str, int]:
        """How many targets went out (sent or published) per idempotency key.

        A key whose publish request had two targets counts 2; a key seen
        twice as often as it has targets means a duplicate post.
        """
        counts = collections.Counter(
            entry.idempotency_key for entry in self.published()
        )
        return dict(counts)

    def __len__(self) -> int:
        return len(self.entries())

    def len(self) -> int:
        """How many targets finished, successes and failures alike."""
        return len(self)

    def _snapshot(self) -> list[LedgerEntry]:
        self._advance()
        return list(self._entries)
