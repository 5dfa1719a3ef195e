"""The runtime's pruning of a ledger's run history: how often, and switched off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncer.runtime import PRUNE_EVERY, Runtime
from syncer.settings import Settings
from syncer.state import RunRecord

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _record(runtime: Runtime, cycle_id: str, days_ago: int) -> None:
    at = NOW - timedelta(days=days_ago)
    runtime.store.record_run(RunRecord("sales", cycle_id, at, at, "ok", 0, 0, 0, 0, 1))


def test_a_ledgers_history_is_pruned_at_most_once_per_period(tmp_path: Path) -> None:
    """Runtime.prune_history deletes runs older than history_days, then not again for
    the ledger until PRUNE_EVERY has passed."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with Runtime(Settings(state_url=url, history_days=30), backups=False) as runtime:
        for n, days_ago in enumerate((60, 50, 1)):
            _record(runtime, f"c{n}", days_ago)
        runtime.prune_history("sales", NOW)
        assert [r.cycle_id for r in runtime.store.runs("sales")] == ["c2"]
        _record(runtime, "late", 40)  # a run recorded late, by another replica say
        _record(runtime, "c3", 0)
        runtime.prune_history("sales", NOW + PRUNE_EVERY - timedelta(minutes=1))
        assert len(runtime.store.runs("sales")) == 3
        runtime.prune_history("sales", NOW + PRUNE_EVERY)
        assert [r.cycle_id for r in runtime.store.runs("sales")] == ["c3", "c2"]


def test_history_days_zero_keeps_every_run(tmp_path: Path) -> None:
    """With history_days 0 nothing is pruned, however old."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with Runtime(Settings(state_url=url, history_days=0), backups=False) as runtime:
        _record(runtime, "old", 3650)
        _record(runtime, "new", 0)
        runtime.prune_history("sales", NOW)
        assert len(runtime.store.runs("sales")) == 2
