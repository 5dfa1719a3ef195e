"""Backups of the tabs a ledger uses: timestamped .xlsx snapshots with JSON manifests.

Layout under the backup directory (``SYNCER_BACKUP_DIR``)::

    <ledger>/<ledger>_<YYYYmmddTHHMMSSZ>.xlsx[.enc]   one workbook, one sheet per tab
    <ledger>/<ledger>_<YYYYmmddTHHMMSSZ>.json         its manifest, written last

A snapshot counts only once its manifest exists: the workbook is written to a temporary
name, fsynced and renamed, then the manifest likewise. Anything without a manifest is a
leftover of a failed write and is never reported as a backup. Files are 0600 and
directories 0700. With a key (``SYNCER_BACKUP_KEY`` or ``SYNCER_BACKUP_KEY_FILE``: base64
of 32 random bytes) the workbook is encrypted with AES-256-GCM.

User text is stored as text: a value starting with ``=`` stays a string, never becomes a
formula, so a backup is safe to open in Excel. Timezone-aware datetimes are stored as
their wall-clock time (Excel has no zones).

The engine calls :func:`backup_before_removal` before applying a plan that moves rows.

With ``SYNCER_BACKUP_DRIVE_FOLDER`` set, every snapshot written is also copied into that
Google Drive folder (:mod:`syncer.backup_drive`). The copy is a second place: its failure
is logged and metered (``syncer_backups_total{outcome="drive_failed"}``) and kept in
:attr:`BackupStore.drive_failures`, while the local snapshot stays good and is returned.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import io
import json
import math
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import openpyxl
import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from syncer import metrics
from syncer.connectors.base import Connector, TabRequest
from syncer.errors import BackupError
from syncer.ledger import LedgerConfig
from syncer.model import CellValue, MoveRow, Plan, ReplaceTab, Snapshot, Table
from syncer.settings import Settings

log = structlog.get_logger(__name__)

MANIFEST_VERSION = 1
#: First bytes of an encrypted snapshot; the rest is a 12-byte nonce and AES-GCM output.
MAGIC = b"SYNCERB1"
_NONCE = 12
_STAMP = "%Y%m%dT%H%M%SZ"
#: Seconds after which a temp file or a workbook without a manifest is a leftover.
LEFTOVER_AGE = 3600.0
_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")

#: ``write(fd, data) -> bytes written``: os.write, or a test's fake that fails like a full disk.
Writer = Callable[[int, bytes], int]


# --- manifest -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TabEntry:
    """One tab in a snapshot: its name in the ledger, its sheet in the workbook, its size."""

    name: str
    sheet: str
    header_row: int
    rows: int
    columns: int
    width: int


@dataclass(frozen=True)
class Manifest:
    """What a snapshot holds and how to check it (the ``.json`` beside the workbook)."""

    ledger: str
    source: str
    created: datetime
    reason: str
    file: str
    encrypted: bool
    size: int
    #: sha256 of the file as stored (encrypted bytes when encrypted).
    sha256: str
    #: sha256 of the plain .xlsx bytes.
    content_sha256: str
    tabs: tuple[TabEntry, ...]
    sanitized_cells: int = 0
    version: int = MANIFEST_VERSION
    #: Where the manifest was read from (not stored in it).
    path: Path | None = field(default=None, compare=False)

    @property
    def id(self) -> str:
        """The snapshot's id: its manifest file name without ``.json``."""
        if self.path is not None:
            return self.path.stem
        return f"{self.ledger}_{self.created.strftime(_STAMP)}"

    @property
    def data_path(self) -> Path:
        """The workbook file beside the manifest."""
        if self.path is None:
            raise BackupError(f"manifest of {self.ledger} has no location on disk")
        return self.path.parent / self.file

    def to_json(self) -> str:
        """The manifest as stored."""
        data = asdict(self)
        data.pop("path")
        data["created"] = self.created.astimezone(UTC).isoformat()
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_file(cls, path: Path) -> Manifest:
        """Read a manifest; raise BackupError naming the file when it is unreadable."""
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            tabs = tuple(TabEntry(**t) for t in data.pop("tabs"))
            created = datetime.fromisoformat(data.pop("created"))
            return cls(tabs=tabs, created=created, path=path, **data)
        except FileNotFoundError as exc:
            raise BackupError(
                f"no backup manifest at {path}; list backups with `syncer status`"
            ) from exc
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise BackupError(
                f"backup manifest {path} is corrupt ({exc}); the snapshot cannot be trusted — "
                "use an older one"
            ) from exc


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of verifying one snapshot."""

    snapshot: str
    ok: bool
    message: str


class DriveCopier(Protocol):
    """Somewhere else each snapshot is copied to (see :class:`syncer.backup_drive.DriveBackup`)."""

    def describe(self) -> str:
        """Where the copies go, for messages."""
        ...

    def copy(self, manifest: Manifest) -> object:
        """Copy the snapshot's stored file and manifest; raise BackupError on failure."""
        ...

    def verify(self, manifest: Manifest) -> VerifyResult:
        """Check the copy of the snapshot against its manifest."""
        ...

    def remove(self, ledger: str, names: Sequence[str]) -> int:
        """Delete the copies of these snapshot files; return how many were deleted."""
        ...


# --- keys ---------------------------------------------------------------------------------


def generate_key() -> str:
    """A new random key for ``SYNCER_BACKUP_KEY`` (base64 of 32 bytes)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def parse_key(text: str, where: str) -> bytes:
    """Decode a base64 32-byte key; ``where`` names its origin in the error."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BackupError(
            f"{where} is not valid base64; generate a key with "
            "`python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'`"
        ) from exc
    if len(key) != 32:
        raise BackupError(f"{where} must decode to 32 bytes (AES-256), got {len(key)}")
    return key


def load_key(settings: Settings) -> bytes | None:
    """The backup key from ``SYNCER_BACKUP_KEY`` or ``SYNCER_BACKUP_KEY_FILE`` (None: plain)."""
    if settings.backup_key is not None:
        return parse_key(settings.backup_key.get_secret_value(), "SYNCER_BACKUP_KEY")
    if settings.backup_key_file is not None:
        try:
            text = settings.backup_key_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise BackupError(
                f"cannot read the backup key file {settings.backup_key_file}: {exc.strerror}; "
                "check SYNCER_BACKUP_KEY_FILE and the file's permissions"
            ) from exc
        return parse_key(text, f"backup key file {settings.backup_key_file}")
    return None


def encrypt(key: bytes, plain: bytes) -> bytes:
    """AES-256-GCM: MAGIC + nonce + ciphertext-with-tag."""
    nonce = secrets.token_bytes(_NONCE)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, plain, MAGIC)


def decrypt(key: bytes, blob: bytes, name: str) -> bytes:
    """Undo :func:`encrypt`; a wrong key or altered bytes raise BackupError naming ``name``."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + _NONCE + 16:
        raise BackupError(f"{name} is not an encrypted syncer backup (bad header or truncated)")
    nonce = blob[len(MAGIC) : len(MAGIC) + _NONCE]
    try:
        return AESGCM(key).decrypt(nonce, blob[len(MAGIC) + _NONCE :], MAGIC)
    except InvalidTag as exc:
        raise BackupError(
            f"cannot decrypt {name}: wrong key, or the file was altered. Check "
            "SYNCER_BACKUP_KEY / SYNCER_BACKUP_KEY_FILE is the key the backup was made with"
        ) from exc


# --- workbook (de)serialization ------------------------------------------------------------


def _sheet_titles(names: Sequence[str]) -> list[str]:
    titles: list[str] = []
    for i, name in enumerate(names):
        ok = 0 < len(name) <= 31 and not _BAD_TITLE.search(name) and name.strip("'") == name
        title = name if ok and name.lower() not in {t.lower() for t in titles} else f"tab{i + 1}"
        titles.append(title)
    return titles


def _excel_value(value: CellValue) -> tuple[CellValue, bool]:
    """A value openpyxl can store, and whether it had to be changed (illegal characters)."""
    if isinstance(value, str):
        clean = ILLEGAL_CHARACTERS_RE.sub("", value)
        return clean, clean != value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value), True  # Excel has no NaN or infinity
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None), False
    return value, False


def tables_to_xlsx(tables: Sequence[Table]) -> tuple[bytes, tuple[TabEntry, ...], int]:
    """Serialize ``tables`` (header on row 1, data below); return bytes, entries, fixes."""
    workbook = openpyxl.Workbook(write_only=True)
    entries: list[TabEntry] = []
    sanitized = 0
    for table, title in zip(tables, _sheet_titles([t.name for t in tables]), strict=True):
        sheet = workbook.create_sheet(title)
        width = max([len(table.header), *(len(r) for r in table.rows)], default=0)
        for values in (tuple(h or None for h in table.header), *table.rows):
            cells: list[WriteOnlyCell] = []
            for value in values:
                stored, changed = _excel_value(value)
                sanitized += changed
                if isinstance(stored, int | float) and not isinstance(stored, bool):
                    # openpyxl writes numbers as %.16g, losing digits: write the exact repr.
                    cell = WriteOnlyCell(sheet, repr(stored))
                    cell.data_type = "n"
                else:
                    cell = WriteOnlyCell(sheet, stored)
                    if isinstance(stored, str):
                        cell.data_type = "s"  # user text is text, never a formula
                cells.append(cell)
            sheet.append(cells)
        entries.append(
            TabEntry(table.name, title, table.header_row, len(table.rows), len(table.header), width)
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), tuple(entries), sanitized


def _read_value(cell: Any) -> CellValue:
    value = cell.value
    if isinstance(value, datetime):
        fmt = str(getattr(cell, "number_format", "") or "").lower()
        if "h" not in fmt and "s" not in fmt and value.time() == datetime.min.time():
            return value.date()
        return value
    if isinstance(value, str | int | float | bool | date) or value is None:
        return value
    return str(value)


def xlsx_to_tables(plain: bytes, entries: Sequence[TabEntry], name: str) -> list[Table]:
    """Read a snapshot workbook back into tables, checking each tab's shape."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(plain), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/ValueError on damage
        raise BackupError(f"{name} does not open as an .xlsx workbook ({exc})") from exc
    try:
        tables: list[Table] = []
        for entry in entries:
            if entry.sheet not in workbook.sheetnames:
                raise BackupError(f"{name} lacks the sheet {entry.sheet!r} of tab {entry.name!r}")
            sheet = workbook[entry.sheet]
            header: tuple[str, ...] = ()
            rows: list[tuple[CellValue, ...]] = []
            width = max(entry.width, 1)
            for i, row in enumerate(
                sheet.iter_rows(min_row=1, max_row=entry.rows + 1, max_col=width)
            ):
                values = [_read_value(c) for c in row]
                if i == 0:
                    header = tuple("" if v is None else str(v) for v in values[: entry.columns])
                    continue
                while values and values[-1] is None:
                    values.pop()
                rows.append(tuple(values))
            while len(rows) < entry.rows:  # trailing all-empty rows are not stored
                rows.append(())
            tables.append(Table(entry.name, entry.header_row, header, tuple(rows)))
        return tables
    finally:
        workbook.close()


# --- the store ----------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def describe_source(ledger: LedgerConfig) -> str:
    """A short human description of where a ledger lives."""
    source = ledger.source
    if source.connector == "xlsx":
        return f"xlsx:{source.path}"
    if source.connector == "google":
        return f"google:{source.spreadsheet}"
    return f"memory:{source.name}"


def ledger_tab_requests(ledger: LedgerConfig) -> list[TabRequest]:
    """The tabs a ledger uses: main (at its header row), history and errors (row 1)."""
    return [
        TabRequest(ledger.tabs.main, ledger.header_row),
        TabRequest(ledger.tabs.history, 1),
        TabRequest(ledger.tabs.errors, 1),
    ]


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
        self._write = write
        self.drive = drive
        #: Snapshot id → why its Drive copy failed (only snapshots whose copy failed).
        self.drive_failures: dict[str, BackupError] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> BackupStore:
        """The store configured by ``SYNCER_BACKUP_DIR``, the backup key settings and
        ``SYNCER_BACKUP_DRIVE_FOLDER``."""
        from syncer.backup_drive import DriveBackup

        return cls(
            settings.backup_dir, load_key(settings), drive=DriveBackup.from_settings(settings)
        )

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

    def _write_atomic(self, path: Path, data: bytes) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    written = self._write(fd, bytes(view[: 1 << 20]))
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
        self, ledger: LedgerConfig, snapshot: Snapshot, now: datetime, *, reason: str = "scheduled"
    ) -> Manifest:
        """Store the tabs of ``snapshot`` the ledger uses; return the manifest (written last)."""
        try:
            manifest = self._write_snapshot(ledger, snapshot, now, reason)
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
        self, ledger: LedgerConfig, snapshot: Snapshot, now: datetime, reason: str
    ) -> Manifest:
        names = [r.name for r in ledger_tab_requests(ledger)]
        tables = [t for t in (snapshot.get(n) for n in names) if t is not None]
        if not tables:
            raise BackupError(
                f"nothing to back up for ledger {ledger.name}: none of the tabs {names} exists "
                f"in {describe_source(ledger)}"
            )
        plain, entries, sanitized = tables_to_xlsx(tables)
        stored = encrypt(self.key, plain) if self.key is not None else plain
        directory = self._dir(ledger.name)
        created = now.astimezone(UTC)
        stem = f"{ledger.name}_{created.strftime(_STAMP)}"
        n = 1
        while (directory / f"{stem}.json").exists():
            n += 1
            stem = f"{ledger.name}_{created.strftime(_STAMP)}-{n}"
        file = f"{stem}.xlsx.enc" if self.key is not None else f"{stem}.xlsx"
        manifest = Manifest(
            ledger=ledger.name,
            source=describe_source(ledger),
            created=created,
            reason=reason,
            file=file,
            encrypted=self.key is not None,
            size=len(stored),
            sha256=_sha256(stored),
            content_sha256=_sha256(plain),
            tabs=entries,
            sanitized_cells=sanitized,
            path=directory / f"{stem}.json",
        )
        self._write_atomic(directory / file, stored)
        try:
            self._write_atomic(directory / f"{stem}.json", manifest.to_json().encode())
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

    def load_plain(self, manifest: Manifest) -> bytes:
        """The snapshot's plain .xlsx bytes after checking both checksums."""
        path = manifest.data_path
        try:
            stored = path.read_bytes()
        except OSError as exc:
            raise BackupError(f"cannot read snapshot {path}: {exc.strerror or exc}") from exc
        if len(stored) != manifest.size or _sha256(stored) != manifest.sha256:
            raise BackupError(
                f"snapshot {path} is corrupt or truncated: its sha256/size differ from the "
                f"manifest ({len(stored)} bytes, expected {manifest.size}); use an older snapshot"
            )
        if manifest.encrypted:
            if self.key is None:
                raise BackupError(
                    f"snapshot {path} is encrypted; set SYNCER_BACKUP_KEY or "
                    "SYNCER_BACKUP_KEY_FILE to the key it was made with"
                )
            plain = decrypt(self.key, stored, str(path))
        else:
            plain = stored
        if _sha256(plain) != manifest.content_sha256:
            raise BackupError(f"snapshot {path}: content checksum differs from the manifest")
        return plain

    def read(self, manifest: Manifest) -> list[Table]:
        """The tables of a snapshot, verified."""
        return xlsx_to_tables(self.load_plain(manifest), manifest.tabs, str(manifest.data_path))

    def verify(self, manifest: Manifest) -> VerifyResult:
        """Decrypt, check sums, open the workbook and check every tab's row count."""
        try:
            tables = self.read(manifest)
        except BackupError as exc:
            return VerifyResult(manifest.id, False, str(exc))
        for table, entry in zip(tables, manifest.tabs, strict=True):
            if len(table.rows) != entry.rows:
                return VerifyResult(
                    manifest.id,
                    False,
                    f"tab {entry.name}: {len(table.rows)} rows, manifest says {entry.rows}",
                )
        counts = ", ".join(f"{t.name}={t.rows}" for t in manifest.tabs)
        return VerifyResult(manifest.id, True, f"ok ({counts})")

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

    def prune(self, ledger: str, keep_daily: int, keep_weekly: int) -> list[Path]:
        """Delete snapshots of ``ledger`` outside the retention (and their Drive copies);
        return the local files removed."""
        found = self.manifests(ledger)
        keep = select_retained([m.created for m in found], keep_daily, keep_weekly)
        removed: list[Path] = []
        copies: list[str] = []
        for manifest in found:
            if manifest.created in keep:
                continue
            if manifest.path is not None:
                copies.append(manifest.path.name)  # manifest first: no copy without data
            copies.append(manifest.file)
            for path in (manifest.data_path, manifest.path):
                if path is not None and path.exists():
                    path.unlink()
                    removed.append(path)
            keep.add(manifest.created)  # same-second duplicates: only the first is removed
        removed.extend(self._sweep_leftovers(self.root / ledger))
        if removed:
            log.info("backup.pruned", ledger=ledger, removed=[p.name for p in removed])
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


def select_retained(
    created: Iterable[datetime], keep_daily: int, keep_weekly: int
) -> set[datetime]:
    """Which snapshot times to keep: the newest of each of the last ``keep_daily`` days
    and of the last ``keep_weekly`` ISO weeks that have snapshots, and always the newest."""
    ordered = sorted(set(created), reverse=True)
    keep: set[datetime] = set(ordered[:1])
    days: set[date] = set()
    weeks: set[tuple[int, int]] = set()
    for when in ordered:
        day = when.astimezone(UTC).date()
        week = day.isocalendar()[:2]
        if day not in days and len(days) < keep_daily:
            days.add(day)
            keep.add(when)
        if week not in weeks and len(weeks) < keep_weekly:
            weeks.add((week[0], week[1]))
            keep.add(when)
    return keep


# --- operations the daemon, the CLI and the engine call ------------------------------------


def backup_ledger(
    ledger: LedgerConfig,
    connector: Connector,
    store: BackupStore,
    now: datetime,
    *,
    reason: str = "scheduled",
) -> Manifest:
    """Read every tab the ledger uses through ``connector`` and store a snapshot."""
    try:
        snapshot = connector.read(ledger_tab_requests(ledger))
    except Exception:
        metrics.record_backup(ledger.name, "failed")
        raise
    return store.write(ledger, snapshot, now, reason=reason)


def backup_before_removal(
    ledger: LedgerConfig,
    snapshot: Snapshot,
    plan: Plan,
    now: datetime,
    *,
    store: BackupStore,
) -> Manifest | None:
    """Back up ``snapshot`` into ``store`` when ``plan`` moves rows out of a tab; None
    when it removes none.

    Passed to :func:`syncer.engine.run_cycle` as ``before_removal`` (bound to a store), so
    it runs after planning and before ``connector.apply``. It raises BackupError when the
    backup could not be written: the cycle then fails without applying anything.
    """
    if not any(isinstance(op, MoveRow) for op in plan):
        return None
    return store.write(ledger, snapshot, now, reason="before_removal")


def restore_to_file(
    store: BackupStore, manifest: Manifest, out: Path, *, force: bool = False
) -> Path:
    """Write the snapshot's plain workbook to ``out`` (0600); refuse to overwrite without force."""
    if out.exists() and not force:
        raise BackupError(f"{out} already exists; choose another path or pass --force")
    plain = store.load_plain(manifest)
    xlsx_to_tables(plain, manifest.tabs, str(manifest.data_path))  # opens: not just bytes
    out.parent.mkdir(parents=True, exist_ok=True)
    BackupStore(out.parent, write=store._write)._write_atomic(out, plain)
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
    tables = store.read(manifest)
    wanted = tab if tab is not None else tables[0].name
    chosen = next((t for t in tables if t.name == wanted), None)
    if chosen is None:
        names = ", ".join(t.name for t in tables)
        raise BackupError(f"snapshot {manifest.id} has no tab {wanted!r} (it has: {names})")
    if not force:
        live = {r.name for r in ledger_tab_requests(ledger)}
        if target in live:
            raise BackupError(
                f"{target!r} is a live tab of ledger {ledger.name}; restore into a new tab "
                "and copy what you need, or pass --force to overwrite it"
            )
        if connector.read([TabRequest(target)]).get(target) is not None:
            raise BackupError(
                f"tab {target!r} already exists in {describe_source(ledger)}; choose a new "
                "name or pass --force to overwrite it"
            )
    rows = (tuple(h or None for h in chosen.header), *chosen.rows)
    plan = Plan(ledger.name, (ReplaceTab(target, rows, rule="restore"),))
    from syncer.engine import apply_plan  # the engine imports this module's callers

    report = apply_plan(connector, plan, connector.read([TabRequest(target)]))
    if report.dropped:
        reasons = "; ".join(d.reason for d in report.dropped)
        raise BackupError(f"restore into tab {target!r} was not applied: {reasons}")
    log.info(
        "backup.restored",
        ledger=ledger.name,
        snapshot=manifest.id,
        tab=target,
        rows=len(chosen.rows),
    )
    return len(chosen.rows)
