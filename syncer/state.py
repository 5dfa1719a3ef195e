"""State with SQLAlchemy (SQLite file by default): watched values, findings' first
sighting, change tokens and run history per ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from syncer.rules.base import PreviousState


@dataclass(frozen=True)
class RunRecord:
    """One cycle of one ledger, as recorded."""

    ledger: str
    cycle_id: str
    started: datetime
    finished: datetime
    outcome: str  # "ok" | "idle" | "failed" | "dry_run"
    findings: int
    applied: int
    dropped: int
    archived: int
    api_calls: int
    error: str | None = None


class StateStore:
    """The state database. ``url`` is an SQLAlchemy URL (``sqlite:///path`` by default)."""

    def __init__(self, url: str) -> None:
        raise NotImplementedError  # being built (issue 2)

    def load(self, ledger: str) -> PreviousState:
        """What the last cycles recorded for ``ledger``."""
        raise NotImplementedError

    def last_change_token(self, ledger: str) -> str | None:
        """The source's change token at the last successful cycle."""
        raise NotImplementedError

    def record_run(self, run: RunRecord) -> None:
        """Append one cycle to the run history."""
        raise NotImplementedError

    def runs(self, ledger: str | None = None, limit: int = 20) -> list[RunRecord]:
        """Most recent runs first, optionally for one ledger."""
        raise NotImplementedError

    def close(self) -> None:
        """Dispose of the engine."""
        raise NotImplementedError
