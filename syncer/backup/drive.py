"""Copies of backups in a Google Drive folder (``SYNCER_BACKUP_DRIVE_FOLDER``).

After a snapshot is written locally, :class:`DriveBackup` uploads its stored file (the
encrypted bytes when encryption is on) and then its manifest into the folder, through
:class:`~syncer.connectors.google.drive.DriveClient` (the Google connector's transport:
one retry policy, metrics and error parsing for Sheets and Drive alike).

The copy is a second place, not the backup itself: :class:`~syncer.backup.store.BackupStore`
logs and meters a failed copy, keeps the good local snapshot, and ``syncer backup`` exits
non-zero. :meth:`DriveBackup.verify` downloads both copies and compares their sha256 with
the local manifest (part of ``syncer backup verify``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from syncer.backup.manifest import Manifest, VerifyResult, sha256_hex
from syncer.connectors.google.drive import (
    DATA_MIME,
    MANIFEST_MIME,
    XLSX_MIME,
    DriveClient,
    DriveFile,
    DriveTarget,
    folder_id,
)
from syncer.errors import BackupError, SyncerError
from syncer.settings import Settings

log = structlog.get_logger(__name__)

LOCAL_IS_GOOD = "The local backup was written and is good."


class DriveBackup:
    """Copies snapshots into one Drive folder and checks them; plugs into
    :class:`~syncer.backup.store.BackupStore` as its ``drive``.

    ``client`` makes a fresh :class:`DriveClient` per operation (a session is not shared
    between the daemon's worker threads).
    """

    def __init__(self, folder: str, client: Callable[[], DriveClient]) -> None:
        self.folder = folder_id(folder)
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> DriveBackup | None:
        """The copier ``SYNCER_BACKUP_DRIVE_FOLDER`` asks for; None when it is unset."""
        if not (settings.backup_drive_folder or "").strip():
            return None
        assert settings.backup_drive_folder is not None
        return cls(settings.backup_drive_folder, lambda: DriveClient.from_settings(settings))

    def describe(self) -> str:
        """``Drive folder ID``."""
        return f"Drive folder {self.folder}"

    def _open(self, ledger: str) -> tuple[DriveClient, DriveTarget]:
        try:
            client = self._client()
        except SyncerError as exc:  # credentials missing or unreadable
            raise BackupError(
                f"cannot copy backups of ledger {ledger!r} to {self.describe()}: {exc}"
            ) from exc
        target = DriveTarget(ledger=ledger, client_email=client.client_email, folder=self.folder)
        return client, target

    def copy(self, manifest: Manifest) -> tuple[DriveFile, DriveFile]:
        """Upload the snapshot's stored file, then its manifest (last, as on disk)."""
        stored = _read(manifest.data_path, manifest.id)
        if sha256_hex(stored) != manifest.sha256:
            raise BackupError(
                f"snapshot {manifest.data_path} changed since it was written; not copied to "
                f"{self.describe()}"
            )
        assert manifest.path is not None  # data_path above raised otherwise
        manifest_bytes = _read(manifest.path, manifest.id)
        try:
            client, target = self._open(manifest.ledger)
            try:
                mime = XLSX_MIME if not manifest.encrypted else DATA_MIME
                data = client.upload(target, manifest.file, stored, mime)
                meta = client.upload(target, manifest.path.name, manifest_bytes, MANIFEST_MIME)
            finally:
                client.close()
        except BackupError as exc:
            raise BackupError(f"{exc} {LOCAL_IS_GOOD}") from exc
        log.info(
            "backup.drive_copied",
            ledger=manifest.ledger,
            snapshot=manifest.id,
            folder=self.folder,
            file_id=data.id,
            manifest_id=meta.id,
        )
        return data, meta

    def remove(self, ledger: str, names: Sequence[str]) -> int:
        """Delete the files called ``names`` from the folder, in that order; return how
        many were deleted (names not found are skipped)."""
        client, target = self._open(ledger)
        deleted = 0
        try:
            for name in names:
                for found in client.find(target, name):
                    client.delete(target, found)
                    deleted += 1
        finally:
            client.close()
        return deleted

    def verify(self, manifest: Manifest) -> VerifyResult:
        """Download the Drive copies of ``manifest``'s snapshot and compare their sha256
        with the local manifest."""
        label = f"{manifest.id} (Drive)"
        try:
            client, target = self._open(manifest.ledger)
            try:
                problems = self._check(client, target, manifest)
            finally:
                client.close()
        except BackupError as exc:
            return VerifyResult(label, False, str(exc))
        if problems:
            return VerifyResult(label, False, "; ".join(problems))
        return VerifyResult(label, True, f"ok (same sha256 in {self.describe()})")

    def _check(self, client: DriveClient, target: DriveTarget, manifest: Manifest) -> list[str]:
        assert manifest.path is not None
        local_manifest = _read(manifest.path, manifest.id)
        problems: list[str] = []
        for name, size, digest in (
            (manifest.file, manifest.size, manifest.sha256),
            (manifest.path.name, len(local_manifest), sha256_hex(local_manifest)),
        ):
            found = client.find(target, name)
            if not found:
                problems.append(
                    f"{name} is missing from {self.describe()}; the next `syncer backup` "
                    "copies a new snapshot"
                )
                continue
            sums = [sha256_hex(client.download(target, f)) for f in found]
            if digest not in sums:
                problems.append(
                    f"{name} in {self.describe()} differs from the local copy (sha256 "
                    f"{sums[0][:12]}…, expected {digest[:12]}… of {size} bytes)"
                )
        return problems


def _read(path: Path, snapshot: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BackupError(
            f"cannot read {path} of snapshot {snapshot}: {exc.strerror or exc}"
        ) from exc
