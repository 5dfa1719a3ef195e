"""Revision 0005: runs gain ``findings_at``; existing ``ok`` runs computed their own count."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from syncer import migrations
from syncer.state import StateStore


def test_upgrade_stamps_ok_runs_and_leaves_idle_ones_unknown(tmp_path: Path) -> None:
    """A database at 0004 with an ok and an idle run: after opening it, the ok run's
    findings were computed at its start, the idle run's are unknown (it said 0)."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = create_engine(url)
    migrations.upgrade(engine, "0004_journal")
    started = datetime(2026, 12, 1, 10, 42)
    with engine.begin() as conn:
        for outcome, findings in (("ok", 12), ("idle", 0)):
            conn.execute(
                text(
                    "INSERT INTO runs (ledger, cycle_id, started, finished, outcome, findings,"
                    " applied, dropped, archived, api_calls) VALUES ('sales', :c, :s, :s, :o,"
                    " :f, 0, 0, 0, 0)"
                ),
                {"c": outcome, "s": started, "o": outcome, "f": findings},
            )
    engine.dispose()
    store = StateStore(url)
    try:
        idle, ok = store.runs("sales")
        assert (ok.outcome, ok.findings_at) == ("ok", started.replace(tzinfo=UTC))
        assert (idle.outcome, idle.findings_at) == ("idle", None)
        assert store.last_findings("sales") == (12, started.replace(tzinfo=UTC))
    finally:
        store.close()
