"""Taking backups: what the daemon, the CLI and the engine call."""

from __future__ import annotations

from datetime import datetime

from syncer import metrics
from syncer.backup.extras import read_extras
from syncer.backup.manifest import Manifest
from syncer.backup.store import BackupStore
from syncer.connectors.base import Connector
from syncer.engine import tab_requests
from syncer.ledger import LedgerConfig
from syncer.model import MoveRow, Plan, Snapshot


def backup_ledger(
    ledger: LedgerConfig,
    connector: Connector,
    store: BackupStore,
    now: datetime,
    *,
    reason: str = "scheduled",
) -> Manifest:
    """Read every tab the ledger uses (values, then formulas, number formats and notes
    where the connector gives them) and store a snapshot."""
    tabs = tab_requests(ledger)
    try:
        snapshot = connector.read(tabs)
        extras = read_extras(connector, tabs, snapshot)
    except Exception:
        metrics.record_backup(ledger.name, "failed")
        raise
    return store.write(ledger, snapshot, now, reason=reason, extras=extras)


def backup_before_removal(
    ledger: LedgerConfig,
    snapshot: Snapshot,
    plan: Plan,
    now: datetime,
    *,
    store: BackupStore,
    connector: Connector | None = None,
) -> Manifest | None:
    """Back up ``snapshot`` into ``store`` when ``plan`` moves rows out of a tab; None
    when it removes none.

    Passed to :func:`syncer.engine.run_cycle` as ``before_removal`` (bound to a store), so
    it runs after planning and before the write. It raises BackupError when the backup
    could not be written: the cycle then fails without applying anything. With
    ``connector``, the extras (formulas, formats, notes) of the rows about to move are
    read and kept too (not of the whole tab: that read would cost more than the cycle). The
    snapshot is pinned: the retention never prunes it while the ledger's cycle runs.
    """
    if not any(isinstance(op, MoveRow) for op in plan):
        return None
    extras = {}
    if connector is not None:
        moving: dict[str, set[int]] = {}
        for op in plan:
            if isinstance(op, MoveRow):
                moving.setdefault(op.tab, set()).add(op.target.row)
        try:
            extras = read_extras(connector, tab_requests(ledger), snapshot, rows=moving)
        except Exception:
            metrics.record_backup(ledger.name, "failed")
            raise
    manifest = store.write(ledger, snapshot, now, reason="before_removal", extras=extras)
    store.pin(manifest)
    return manifest
