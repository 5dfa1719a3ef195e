"""The backup store: timestamped snapshots with JSON manifests under one directory.

Layout under the backup directory (``SYNCER_BACKUP_DIR``)::

    <ledger>/<ledger>_<YYYYmmddTHHMMSSZ>.xlsx[.enc]   one workbook (see syncer.backup.workbook)
    <ledger>/<ledger>_<YYYYmmddTHHMMSSZ>.json         its manifest, written last

A snapshot counts only once its manifest exists: the workbook is written to a temporary
name, fsynced and renamed, then the manifest likewise. Anything without a manifest is a
leftover of a failed write and is never reported as a backup. Files are 0600 and
directories 0700. With a key the workbook is encrypted (:mod:`syncer.backup.crypto`).

With a :class:`~syncer.backup.manifest.DriveCopier` (``SYNCER_BACKUP_DRIVE_FOLDER``),
every snapshot written is also copied there. The copy is a second place: its failure is
logged and metered (``syncer_backups_total{outcome="drive_failed"}``) and kept in
:attr:`BackupStore.drive_failures`, while the local snapshot stays good and is returned.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import structlog

from syncer import metrics
from syncer.backup.cells import TabExtras, source_checksum
from syncer.backup.crypto import decrypt, encrypt, load_key
from syncer.backup.manifest import (
    STAMP,
    DriveCopier,
    Manifest,
    VerifyResult,
    sha256_hex,
)
from syncer.backup.retention import select_kept
from syncer.backup.workbook import BackupTab, read_backup, tables_to_xlsx, with_checksums
from syncer.engine import tab_requests
from syncer.errors import BackupError
from syncer.ledger import LedgerConfig
from syncer.model import Snapshot, Table
from syncer.settings import Settings

log = structlog.get_logger(__name__)

#: Seconds after which a temp file or a workbook without a manifest is a leftover.
LEFTOVER_AGE = 3600.0

#: ``write(fd, data) -> bytes written``: os.write, or a test's fake that fails like a full disk.
Writer = Callable[[int, bytes], int]


def describe_source(ledger: LedgerConfig) -> str:
    """The ledger's source as a manifest records it (``kind:location``): a stable
    reference read back by tools, unlike :meth:`Connector.describe`, which is for
    messages and needs an open connector."""
    source = ledger.source
    if source.connector == "xlsx":
        return f"xlsx:{source.path}"
    if source.connector == "google":
        return f"google:{source.spreadsheet}"
    return f"memory:{source.name}"


def ledger_tab_names(ledger: LedgerConfig) -> list[str]:
    """The tabs a ledger uses (those a cycle reads)."""
    return [r.name for r in tab_requests(ledger)]


class BackupStore:
    """Snapshots of ledgers under ``root``; ``key`` (32 bytes) encrypts them at rest;
    ``drive``, when given, receives a copy of each snapshot written."""

    def __init__(
        self,
        root: Path,
        key: bytes | None = None,
        *,
        write: Writer = os.write,
        drive: DriveCopier | None = None,
    ) -> None:
        self.root = root
        self.key = key
        self.writer = write
        self.drive = drive
        #: Snapshot id → why its Drive copy failed (only snapshots whose copy failed).
        self.drive_failures: dict[str, BackupError] = {}
        #: Ledger → the snapshot its running (or last) cycle depends on; never pruned.
        self._pinned: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> BackupStore:
        """The store configured by ``SYNCER_BACKUP_DIR``, the backup key settings and
        ``SYNCER_BACKUP_DRIVE_FOLDER``."""
        from syncer.backup.drive import DriveBackup

        return cls(
            settings.backup_dir, load_key(settings), drive=DriveBackup.from_settings(settings)
        )

    def pin(self, manifest: Manifest) -> None:
        """Protect ``manifest`` from pruning: a cycle of its ledger depends on it (until
        the next pinned snapshot of that ledger replaces it)."""
        with self._lock:
            self._pinned[manifest.ledger] = manifest.id

    def pinned(self) -> set[str]:
        """The ids of the pinned snapshots."""
        with self._lock:
            return set(self._pinned.values())

    # -- writing --

    def _dir(self, ledger: str) -> Path:
        path = self.root / ledger
        try:
            for part in (self.root, path):
                part.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(part, 0o700)
            if not os.access(path, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, "permission denied", str(path))
        except OSError as exc:
            raise BackupError(
                f"backup directory {path} is not writable ({exc.strerror or exc}); "
                "set SYNCER_BACKUP_DIR to a directory this user can write"
            ) from exc
        return path

    def write_file(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` atomically (temp file, fsync, rename), mode 0600."""
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    written = self.writer(fd, bytes(view[: 1 << 20]))
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            hint = (
                "the disk is full: free space or point SYNCER_BACKUP_DIR at a larger volume"
                if exc.errno == errno.ENOSPC
                else "check SYNCER_BACKUP_DIR and its permissions"
            )
            raise BackupError(
                f"cannot write backup file {path}: {exc.strerror or exc}; {hint}"
            ) from exc

    def write(
        self,
        ledger: LedgerConfig,
        snapshot: Snapshot,
        now: datetime,
        *,
        reason: str = "scheduled",
        extras: Mapping[str, TabExtras] | None = None,
    ) -> Manifest:
        """Store the tabs of ``snapshot`` the ledger uses (with ``extras``: formulas,
        number formats and notes by tab); return the manifest (written last)."""
        try:
            manifest = self._write_snapshot(ledger, snapshot, now, reason, extras or {})
        except BackupError:
            metrics.record_backup(ledger.name, "failed")
            raise
        metrics.record_backup(ledger.name, "ok")
        log.info(
            "backup.written",
            ledger=ledger.name,
            snapshot=manifest.id,
            reason=reason,
            tabs={t.name: t.rows for t in manifest.tabs},
            encrypted=manifest.encrypted,
            stored_apart=manifest.sanitized_cells,
        )
        if self.drive is not None:
            self.copy_to_drive(manifest)
        return manifest

    def copy_to_drive(self, manifest: Manifest) -> bool:
        """Copy a written snapshot to :attr:`drive`; True when copied. A failure is logged,
        metered and kept in :attr:`drive_failures`, never raised: the local snapshot is
        good whatever happens to its copy."""
        if self.drive is None:
            return False
        self.drive_failures.pop(manifest.id, None)
        try:
            self.drive.copy(manifest)
        except Exception as exc:  # any failure of the copy; the local backup stands
            error = (
                exc
                if isinstance(exc, BackupError)
                else BackupError(
                    f"copy of snapshot {manifest.id} to {self.drive.describe()} failed "
                    f"unexpectedly ({type(exc).__name__}: {exc}); the local backup is good"
                )
            )
            self.drive_failures[manifest.id] = error
            metrics.record_backup(manifest.ledger, "drive_failed")
            log.error(
                "backup.drive_failed",
                ledger=manifest.ledger,
                snapshot=manifest.id,
                target=self.drive.describe(),
                error=str(error),
            )
            return False
        metrics.record_backup(manifest.ledger, "drive_ok")
        return True

    def _write_snapshot(
        self,
        ledger: LedgerConfig,
        snapshot: Snapshot,
        now: datetime,
        reason: str,
        extras: Mapping[str, TabExtras],
    ) -> Manifest:
        names = ledger_tab_names(ledger)
        tables: list[Table] = [t for t in (snapshot.get(n) for n in names) if t is not None]
        if not tables:
            raise BackupError(
                f"nothing to back up for ledger {ledger.name}: none of the tabs {names} exists "
                f"in {describe_source(ledger)}"
            )
        try:
            plain, entries, moved = tables_to_xlsx(tables, extras)
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            raise BackupError(
                f"cannot store the tabs of ledger {ledger.name} as a workbook "
                f"({type(exc).__name__}: {exc}); nothing was changed in the source. This is "
                "a syncer bug: please report it with this message"
            ) from exc
        entries = with_checksums(entries, [source_checksum(t, extras.get(t.name)) for t in tables])
        stored = encrypt(self.key, plain) if self.key is not None else plain
        directory = self._dir(ledger.name)
        created = now.astimezone(UTC)
        stem = f"{ledger.name}_{created.strftime(STAMP)}"
        n = 1
        while (directory / f"{stem}.json").exists():
            n += 1
            stem = f"{ledger.name}_{created.strftime(STAMP)}-{n}"
        file = f"{stem}.xlsx.enc" if self.key is not None else f"{stem}.xlsx"
        manifest = Manifest(
            ledger=ledger.name,
            source=describe_source(ledger),
            created=created,
            reason=reason,
            file=file,
            encrypted=self.key is not None,
            size=len(stored),
            sha256=sha256_hex(stored),
            content_sha256=sha256_hex(plain),
            tabs=entries,
            sanitized_cells=moved,
            path=directory / f"{stem}.json",
        )
        self.write_file(directory / file, stored)
        try:
            self.write_file(directory / f"{stem}.json", manifest.to_json().encode())
        except BackupError:
            (directory / file).unlink(missing_ok=True)
            raise
        return manifest

    # -- reading --

    def manifests(self, ledger: str | None = None) -> list[Manifest]:
        """Readable manifests, newest first (a corrupt manifest is logged and skipped)."""
        found: list[Manifest] = []
        for path in self.manifest_paths(ledger):
            try:
                found.append(Manifest.from_file(path))
            except BackupError as exc:
                log.warning("backup.manifest_unreadable", path=str(path), error=str(exc))
        return sorted(found, key=lambda m: (m.created, m.id), reverse=True)

    def manifest_paths(self, ledger: str | None = None) -> list[Path]:
        """Every manifest file under the store (or one ledger's)."""
        if not self.root.is_dir():
            return []
        dirs = (
            [self.root / ledger] if ledger else sorted(p for p in self.root.iterdir() if p.is_dir())
        )
        return sorted(p for d in dirs if d.is_dir() for p in d.glob("*.json"))

    def resolve(self, ref: str) -> Manifest:
        """A snapshot by id (``sales_20260101T000000Z``), manifest path or workbook path."""
        path = Path(ref)
        if path.suffix == ".json" or path.exists():
            if path.name.endswith(".xlsx.enc"):
                path = path.with_name(path.name[: -len(".xlsx.enc")] + ".json")
            elif path.suffix == ".xlsx":
                path = path.with_suffix(".json")
            return Manifest.from_file(path)
        for candidate in self.manifest_paths():
            if candidate.stem == ref:
                return Manifest.from_file(candidate)
        raise BackupError(
            f"no snapshot {ref!r} under {self.root}; give a snapshot id or a .json manifest path "
            "(`ls` the backup directory to see them)"
        )

    def _stored(self, manifest: Manifest) -> bytes:
        """The stored bytes, checked against the manifest's size and sha256."""
        path = manifest.data_path
        try:
            stored = path.read_bytes()
        except OSError as exc:
            raise BackupError(f"cannot read snapshot {path}: {exc.strerror or exc}") from exc
        if len(stored) != manifest.size or sha256_hex(stored) != manifest.sha256:
            raise BackupError(
                f"snapshot {path} is corrupt or truncated: its sha256/size differ from the "
                f"manifest ({len(stored)} bytes, expected {manifest.size}); use an older snapshot"
            )
        return stored

    def intact(self, manifest: Manifest) -> bool:
        """True when the stored file matches its manifest's size and sha256."""
        try:
            self._stored(manifest)
        except BackupError:
            return False
        return True

    def load_plain(self, manifest: Manifest) -> bytes:
        """The snapshot's plain .xlsx bytes after checking both checksums."""
        stored = self._stored(manifest)
        path = manifest.data_path
        if manifest.encrypted:
            if self.key is None:
                raise BackupError(
                    f"snapshot {path} is encrypted; set SYNCER_BACKUP_KEY or "
                    "SYNCER_BACKUP_KEY_FILE to the key it was made with"
                )
            plain = decrypt(self.key, stored, str(path))
        else:
            plain = stored
        if sha256_hex(plain) != manifest.content_sha256:
            raise BackupError(f"snapshot {path}: content checksum differs from the manifest")
        return plain

    def read_tabs(self, manifest: Manifest) -> list[BackupTab]:
        """The tabs (tables and extras) of a snapshot, its file checked."""
        return read_backup(self.load_plain(manifest), manifest.tabs, str(manifest.data_path))

    def read(self, manifest: Manifest) -> list[Table]:
        """The tables of a snapshot, its file checked."""
        return [t.table for t in self.read_tabs(manifest)]

    def verify(self, manifest: Manifest) -> VerifyResult:
        """Decrypt, check the file's sums, decode every tab and compare it with the
        manifest: row counts, and the checksum of the source values taken at backup time."""
        try:
            tabs = self.read_tabs(manifest)
        except BackupError as exc:
            return VerifyResult(manifest.id, False, str(exc))
        unchecked = 0
        for tab, entry in zip(tabs, manifest.tabs, strict=True):
            if len(tab.table.rows) != entry.rows:
                return VerifyResult(
                    manifest.id,
                    False,
                    f"tab {entry.name}: {len(tab.table.rows)} rows, manifest says {entry.rows}",
                )
            if entry.sha256 is None:
                unchecked += 1
            elif source_checksum(tab.table, tab.extras) != entry.sha256:
                return VerifyResult(
                    manifest.id,
                    False,
                    f"tab {entry.name}: the restored values differ from what was read at "
                    "backup time (source checksum mismatch); use an older snapshot",
                )
        counts = ", ".join(f"{t.name}={t.rows}" for t in manifest.tabs)
        how = (
            "values equal the source's"
            if not unchecked
            else "row counts only: made by an older syncer without source checksums"
        )
        return VerifyResult(manifest.id, True, f"ok ({counts}; {how})")

    def verify_latest(self, ledger: str | None = None, *, drive: bool = True) -> list[VerifyResult]:
        """Verify each ledger's newest snapshot; unreadable manifests are failures too.
        With a :attr:`drive` (and ``drive``), also check each snapshot's copy there."""
        results: list[VerifyResult] = []
        latest: dict[str, Manifest] = {}
        for path in self.manifest_paths(ledger):
            try:
                manifest = Manifest.from_file(path)
            except BackupError as exc:
                results.append(VerifyResult(path.stem, False, str(exc)))
                continue
            best = latest.get(manifest.ledger)
            if best is None or (manifest.created, manifest.id) > (best.created, best.id):
                latest[manifest.ledger] = manifest
        for _, manifest in sorted(latest.items()):
            results.append(self.verify(manifest))
            if drive and self.drive is not None:
                results.append(self.drive.verify(manifest))
        return results

    # -- retention --

    def prune(
        self, ledger: str, keep_daily: int, keep_weekly: int, keep_last: int = 3
    ) -> list[Path]:
        """Delete snapshots of ``ledger`` outside the retention (see
        :mod:`syncer.backup.retention`) and their Drive copies; return the local files
        removed. Each pruned snapshot is logged (``backup.pruned``)."""
        found = self.manifests(ledger)
        keep = select_kept(
            found,
            keep_daily=keep_daily,
            keep_weekly=keep_weekly,
            keep_last=keep_last,
            verified=self.intact,
            pinned=self.pinned(),
        )
        removed: list[Path] = []
        copies: list[str] = []
        pruned: list[str] = []
        for manifest in found:
            if manifest.id in keep:
                continue
            if manifest.path is not None:
                copies.append(manifest.path.name)  # manifest first: no copy without data
            copies.append(manifest.file)
            pruned.append(f"{manifest.id} ({manifest.reason})")
            for path in (manifest.path, manifest.data_path):
                if path is not None and path.exists():
                    path.unlink()
                    removed.append(path)
        removed.extend(self._sweep_leftovers(self.root / ledger))
        if removed:
            log.info(
                "backup.pruned",
                ledger=ledger,
                snapshots=pruned,
                removed=[p.name for p in removed],
                kept=len(found) - len(pruned),
            )
        if copies and self.drive is not None:
            self._prune_drive(ledger, copies)
        return removed

    def _prune_drive(self, ledger: str, names: list[str]) -> None:
        """Delete the Drive copies of pruned snapshots (manifest first); a failure is
        logged and metered, never raised — the next prune does not retry it."""
        assert self.drive is not None
        try:
            deleted = self.drive.remove(ledger, names)
        except Exception as exc:  # the local retention already happened
            metrics.record_backup(ledger, "drive_prune_failed")
            log.warning(
                "backup.drive_prune_failed",
                ledger=ledger,
                target=self.drive.describe(),
                files=names,
                error=str(exc),
            )
            return
        log.info(
            "backup.drive_pruned", ledger=ledger, target=self.drive.describe(), deleted=deleted
        )

    def _sweep_leftovers(self, directory: Path, min_age: float = LEFTOVER_AGE) -> list[Path]:
        """Delete temp files and workbooks without a manifest (failed writes), once old."""
        if not directory.is_dir():
            return []
        stems = {p.stem for p in directory.glob("*.json")}
        cutoff = time.time() - min_age
        removed: list[Path] = []
        for path in directory.iterdir():
            name = path.name
            base = name.removesuffix(".enc").removesuffix(".xlsx")
            leftover = (name.startswith(".") and name.endswith(".tmp")) or (
                name.endswith((".xlsx", ".xlsx.enc")) and base not in stems
            )
            if leftover and path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        return removed
