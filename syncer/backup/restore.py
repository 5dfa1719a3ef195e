"""Restoring a snapshot: to a workbook file, or into a new tab of the ledger's source.

Into a Google ledger the tab is written cell by cell with number formats, formulas and
notes (:mod:`syncer.backup.sheets_restore`); into other sources through the connector's
``ReplaceTab`` (values, typed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog

from syncer.backup.manifest import Manifest
from syncer.backup.sheets_restore import preflight, restore_requests
from syncer.backup.store import BackupStore, ledger_tab_names
from syncer.backup.workbook import BackupTab, read_backup
from syncer.connectors.base import Connector, TabRequest
from syncer.connectors.google.bodies import chunk_requests
from syncer.engine import apply_plan
from syncer.errors import BackupError
from syncer.ledger import LedgerConfig
from syncer.model import Plan, ReplaceTab

log = structlog.get_logger(__name__)


def restore_to_file(
    store: BackupStore, manifest: Manifest, out: Path, *, force: bool = False
) -> Path:
    """Write the snapshot's plain workbook to ``out`` (0600); refuse to overwrite without force."""
    if out.exists() and not force:
        raise BackupError(f"{out} already exists; choose another path or pass --force")
    plain = store.load_plain(manifest)
    read_backup(plain, manifest.tabs, str(manifest.data_path))  # decodes: not just bytes
    out.parent.mkdir(parents=True, exist_ok=True)
    BackupStore(out.parent, write=store.writer).write_file(out, plain)
    return out


def restore_to_tab(
    store: BackupStore,
    manifest: Manifest,
    ledger: LedgerConfig,
    connector: Connector,
    target: str,
    *,
    tab: str | None = None,
    force: bool = False,
) -> int:
    """Write one tab of the snapshot (default: the first, the main tab) into the tab
    ``target`` of the ledger's source; return the data rows written.

    ``target`` must be a new tab: a live tab of the ledger or any existing tab is refused
    unless ``force``.
    """
    tabs = store.read_tabs(manifest)
    wanted = tab if tab is not None else tabs[0].table.name
    chosen = next((t for t in tabs if t.table.name == wanted), None)
    if chosen is None:
        names = ", ".join(t.table.name for t in tabs)
        raise BackupError(f"snapshot {manifest.id} has no tab {wanted!r} (it has: {names})")
    if not force:
        if target in ledger_tab_names(ledger):
            raise BackupError(
                f"{target!r} is a live tab of ledger {ledger.name}; restore into a new tab "
                "and copy what you need, or pass --force to overwrite it"
            )
        if connector.read([TabRequest(target)]).get(target) is not None:
            raise BackupError(
                f"tab {target!r} already exists in {connector.describe()}; choose a new "
                "name or pass --force to overwrite it"
            )
    if connector.kind == "google":
        _restore_google(connector, chosen, target, connector.describe())
    else:
        table = chosen.table
        rows = (tuple(h or None for h in table.header), *table.rows)
        plan = Plan(ledger.name, (ReplaceTab(target, rows, rule="restore"),))
        report = apply_plan(connector, plan, connector.read([TabRequest(target)]))
        if report.dropped:
            reasons = "; ".join(d.reason for d in report.dropped)
            raise BackupError(f"restore into tab {target!r} was not applied: {reasons}")
    log.info(
        "backup.restored",
        ledger=ledger.name,
        snapshot=manifest.id,
        tab=target,
        rows=len(chosen.table.rows),
        extras=len(chosen.extras),
    )
    return len(chosen.table.rows)


def _restore_google(connector: Connector, tab: BackupTab, target: str, where: str) -> None:
    """Create ``target`` when missing, then write the tab with formats, formulas and notes
    (through the connector's HTTP client: its retry policy, limiter and metrics)."""
    grid = preflight(tab.table, target, where)
    conn: Any = connector  # the Google connector (moves with connectors/google/)
    if target not in conn.metadata(refresh=True):
        conn.add_tabs({target: ()})
    meta = conn.metadata()[target]
    requests_ = restore_requests(meta.sheet_id, tab.table, tab.extras, grid, (meta.rows, meta.cols))
    try:
        for chunk in chunk_requests(requests_):
            conn.post_batch(chunk)
    finally:
        conn.invalidate()
