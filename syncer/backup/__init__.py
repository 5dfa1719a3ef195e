"""Backups of the tabs a ledger uses: timestamped .xlsx snapshots with JSON manifests.

The package, by job:

- :mod:`~syncer.backup.manifest` — what a snapshot holds (manifest, tab entries, verify results);
- :mod:`~syncer.backup.crypto` — keys and AES-256-GCM at rest;
- :mod:`~syncer.backup.cells` — what an xlsx cell holds exactly, extras, source checksums;
- :mod:`~syncer.backup.workbook` — tables to a lossless workbook and back;
- :mod:`~syncer.backup.store` — the directory of snapshots: write, read, verify, prune;
- :mod:`~syncer.backup.retention` — which snapshots the retention keeps (pure);
- :mod:`~syncer.backup.extras` — formulas, number formats and notes read from a source;
- :mod:`~syncer.backup.jobs` — taking backups (:func:`backup_ledger`,
  :func:`backup_before_removal`);
- :mod:`~syncer.backup.restore` / :mod:`~syncer.backup.sheets_restore` — restoring;
- :mod:`~syncer.backup.drive` — copies in a Google Drive folder.

The engine calls :func:`backup_before_removal` before applying a plan that moves rows.
"""

from __future__ import annotations

from syncer.backup.cells import CellExtra, source_checksum
from syncer.backup.crypto import MAGIC, decrypt, encrypt, generate_key, load_key, parse_key
from syncer.backup.jobs import backup_before_removal, backup_ledger
from syncer.backup.manifest import DriveCopier, Manifest, TabEntry, VerifyResult
from syncer.backup.restore import restore_to_file, restore_to_tab
from syncer.backup.retention import select_kept, select_retained
from syncer.backup.store import BackupStore, describe_source
from syncer.backup.workbook import BackupTab, read_backup, tables_to_xlsx, xlsx_to_tables

__all__ = [
    "MAGIC",
    "BackupStore",
    "BackupTab",
    "CellExtra",
    "DriveCopier",
    "Manifest",
    "TabEntry",
    "VerifyResult",
    "backup_before_removal",
    "backup_ledger",
    "decrypt",
    "describe_source",
    "encrypt",
    "generate_key",
    "load_key",
    "parse_key",
    "read_backup",
    "restore_to_file",
    "restore_to_tab",
    "select_kept",
    "select_retained",
    "source_checksum",
    "tables_to_xlsx",
    "xlsx_to_tables",
]
