"""What a snapshot holds: the manifest (``<id>.json``) written beside its workbook.

A manifest records the ledger, where it came from, why and when the snapshot was taken,
the stored file's size and sha256 (of the encrypted bytes when encrypted), the plain
workbook's sha256, and for each tab its shape and :attr:`TabEntry.sha256`: a checksum of
the *source* values (typed cells, formulas, number formats and notes) computed from what
the connector read at backup time. ``syncer backup verify`` decodes the workbook and
recomputes that checksum, so a value the workbook could not hold exactly is a failure,
not an "OK". Manifests written before version 2 have no source checksum.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from syncer.errors import BackupError

MANIFEST_VERSION = 2
STAMP = "%Y%m%dT%H%M%SZ"


def sha256_hex(data: bytes) -> str:
    """The hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class TabEntry:
    """One tab in a snapshot: its name in the ledger, its sheet(s) in the workbook, its
    size and the checksum of its source values."""

    name: str
    sheet: str
    header_row: int
    rows: int
    columns: int
    width: int
    #: Further sheets holding the parts of a tab larger than one xlsx sheet
    #: (more than 16,384 columns or 1,048,576 rows), in block order.
    more_sheets: tuple[str, ...] = ()
    #: Rows and columns per sheet of those blocks (an xlsx sheet's limits).
    block_rows: int = 1_048_576
    block_cols: int = 16_384
    #: sha256 of the tab's source values as read (see :func:`syncer.backup.cells.source_checksum`).
    sha256: str | None = None
    #: Cells whose formula, number format or note is recorded.
    extras: int = 0


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
    #: Cells stored outside their sheet cell (too long, characters xlsx cannot hold …).
    sanitized_cells: int = 0
    version: int = MANIFEST_VERSION
    #: Where the manifest was read from (not stored in it).
    path: Path | None = field(default=None, compare=False)

    @property
    def id(self) -> str:
        """The snapshot's id: its manifest file name without ``.json``."""
        if self.path is not None:
            return self.path.stem
        return f"{self.ledger}_{self.created.strftime(STAMP)}"

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
            tabs = tuple(
                TabEntry(**{**t, "more_sheets": tuple(t.get("more_sheets", ()))})
                for t in data.pop("tabs")
            )
            created = datetime.fromisoformat(data.pop("created"))
            return cls(tabs=tabs, created=created, path=path, **data)
        except FileNotFoundError as exc:
            raise BackupError(
                f"no backup manifest at {path}; list backups with `syncer status`"
            ) from exc
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
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
    """Somewhere else each snapshot is copied to (see :class:`syncer.backup.drive.DriveBackup`)."""

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
