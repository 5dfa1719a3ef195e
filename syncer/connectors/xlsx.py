"""A local .xlsx workbook through openpyxl.

Reading
    Values are read typed, as a person sees them: for a formula cell the value Excel (or
    WPS/LibreOffice) cached at its last save is validated (openpyxl's ``data_only``); a
    workbook never saved by a spreadsheet program has no cached value, so the cell reads
    as empty. Date cells read as ``date`` (``datetime`` when their format shows a time).
    Rows above the header row (merged title rows) are skipped; trailing blank rows — even
    10,000 formatted ones — are trimmed cheaply (streaming, read-only load).

Writing
    The file is read once into memory and hashed; the guard re-reads tab values from
    those bytes, the kept operations are applied to a full (formula-preserving) load of
    the same bytes, and the result is saved to a temporary file in the same directory,
    fsynced, and renamed over the workbook — unless the file changed on disk since it was
    read (a person saved it meanwhile): then nothing is written, ``SourceChanged`` is
    raised, and the engine re-plans next cycle. A formula cell is never overwritten.
    Everything the robot does not own survives: other tabs, formats, formulas, column
    widths, data validation, merged cells, conditional formats (openpyxl drops images and
    charts, which customer ledgers do not use; macros are not kept: use .xlsx, not .xlsm).
    Dates are written as real date cells (``yyyy-mm-dd``, ``yyyy-mm-dd hh:mm``); text is
    always written as text, so a value such as ``=1+1`` or ``+86 138…`` never becomes a
    formula. Deleting rows moves merged ranges, hidden rows and heights, conditional
    formats, data validations, links, the filter and tables with their rows
    (:mod:`syncer.connectors.xlsx_structure`), but does not rewrite formulas that
    reference moved rows (as with openpyxl generally); ledgers keep formulas within a
    row. openpyxl does not keep the cached results of formulas when it saves: until a
    spreadsheet program next opens and saves the file, its formula cells read as empty
    (the formulas themselves are intact).

A workbook open in Excel/WPS (owner lock file ``~$name.xlsx``) or LibreOffice
(``.~lock.name.xlsx#``) is not written: the program would overwrite the robot's work at
its next save. ``api_calls`` counts file loads and saves.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import InvalidFileException

from syncer.connectors.base import Connector, Progress, TabRequest
from syncer.connectors.tabular import apply_kept, guard_requests, table_from_rows
from syncer.connectors.xlsx_rows import runs
from syncer.connectors.xlsx_structure import delete_run as _delete_run
from syncer.errors import ConnectorError, PermissionDenied, SourceChanged, SourceNotFound
from syncer.guard import Resolved
from syncer.model import CellValue, Plan, Snapshot, Table, Written

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_TIME_CODES = ("h", "s", "am/pm")


def _typed(value: Any, number_format: str) -> CellValue:
    """A cell value as syncer sees it (dates without a time part become ``date``)."""
    if isinstance(value, datetime):
        fmt = (number_format or "").lower()
        if value.time() == time(0) and not any(code in fmt for code in _TIME_CODES):
            return value.date()
        return value
    if isinstance(value, (str, int, float, bool, date)) or value is None:
        return value
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


class WorksheetBook:
    """An openpyxl workbook (full load) as an :class:`~syncer.connectors.tabular.EditableBook`."""

    def __init__(self, workbook: Any) -> None:
        self.wb = workbook

    def has_tab(self, tab: str) -> bool:
        """True when ``tab`` exists."""
        return tab in self.wb.sheetnames

    def create_tab(self, tab: str) -> None:
        """Add an empty tab at the end."""
        self.wb.create_sheet(title=tab)

    def get(self, tab: str, row: int, col: int) -> CellValue:
        """One cell's stored value (a formula reads as its text)."""
        return _typed(self.wb[tab].cell(row, col).value, "")

    def set(self, tab: str, row: int, col: int, value: CellValue) -> None:
        """Write one cell: text as text, dates as date cells."""
        cell = self.wb[tab].cell(row, col)
        if isinstance(value, str):
            cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell.data_type = "s"  # never a formula, whatever the first character
        elif isinstance(value, datetime):
            cell.value = value.replace(tzinfo=None)
            cell.number_format = DATETIME_FORMAT
        elif isinstance(value, date):
            cell.value = value
            cell.number_format = DATE_FORMAT
        else:
            cell.value = value

    def is_formula(self, tab: str, row: int, col: int) -> bool:
        """True when the cell holds a formula."""
        cell = self.wb[tab].cell(row, col)
        return bool(cell.data_type == "f")

    def extent(self, tab: str) -> tuple[int, int]:
        """(rows, columns) of the sheet's used range."""
        ws = self.wb[tab]
        if ws.max_row == 1 and ws.max_column == 1 and ws.cell(1, 1).value is None:
            return 0, 0
        return int(ws.max_row), int(ws.max_column)

    def delete_rows(self, tab: str, rows: Sequence[int]) -> None:
        """Remove sheet rows, highest first, contiguous runs at once. The sheet's
        structure moves with its rows, as Google does for a ``deleteDimension``."""
        ws = self.wb[tab]
        for start, count in runs(list(rows)):
            _delete_run(ws, start, count)

    def values(self, tab: str) -> list[list[CellValue]]:
        """The tab's stored values (formulas as their text)."""
        return [[_typed(v, "") for v in row] for row in self.wb[tab].iter_rows(values_only=True)]


class XlsxConnector(Connector):
    """A workbook file. ``path`` should be absolute (the config loader resolves it)."""

    kind = "xlsx"
    atomic_writes = True

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.loads = 0
        self.saves = 0
        self._last_read: tuple[bytes, set[str], Snapshot] | None = None
        #: The bytes and token of the guard read, which the write applies to.
        self._pending: tuple[bytes, str | None] | None = None
        #: The file's token right after syncer's last save.
        self._saved_token: str | None = None
        #: Test hook, called with the connector inside a write, between saving the
        #: temporary file and the rename (a person saving the workbook just then).
        self.before_save: Callable[[XlsxConnector], None] | None = None

    # --- file access -------------------------------------------------------------------

    def _read_bytes(self) -> bytes:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError as exc:
            raise SourceNotFound(
                f"workbook {self.path} does not exist; check source.path in the ledger file"
            ) from exc
        except PermissionError as exc:
            raise PermissionDenied(
                f"workbook {self.path} cannot be read (permission denied); "
                "give the syncer user read and write access to it"
            ) from exc
        except OSError as exc:
            raise ConnectorError(f"workbook {self.path} cannot be read: {exc}") from exc
        self.loads += 1
        return data

    def _open(self, data: bytes, *, values: bool) -> Any:
        try:
            if values:
                return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            return openpyxl.load_workbook(io.BytesIO(data), keep_vba=False, rich_text=False)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
            raise ConnectorError(
                f"workbook {self.path} is not a readable .xlsx file ({exc.__class__.__name__}:"
                f" {exc}); open it in Excel/WPS and save it as .xlsx"
            ) from exc

    def _snapshot(self, data: bytes, tabs: Sequence[TabRequest]) -> Snapshot:
        wb = self._open(data, values=True)
        try:
            names = list(wb.sheetnames)
            tables: dict[str, Table] = {}
            for req in tabs:
                if req.name not in names:
                    continue
                ws = wb[req.name]
                ws.reset_dimensions()  # the stored dimension may be stale: read every row
                rows = [
                    [_typed(c.value, getattr(c, "number_format", "")) for c in row]
                    for row in ws.iter_rows()
                ]
                tables[req.name] = table_from_rows(
                    req.name, req.header_row, rows, names.index(req.name)
                )
        finally:
            wb.close()
        return Snapshot(tables=tables, change_token=_token_of(data))

    # --- Connector ---------------------------------------------------------------------

    def describe(self) -> str:
        """``xlsx workbook PATH``."""
        return f"xlsx workbook {self.path}"

    def write_calls(self) -> int:
        """Saves so far."""
        return self.saves

    def calls_made(self) -> int:
        """File loads and saves so far."""
        return self.loads + self.saves

    def change_token(self) -> str | None:
        """Modification time and size of the file (None when it cannot be stat'ed)."""
        try:
            st = self.path.stat()
        except OSError:
            return None
        return f"{st.st_mtime_ns}:{st.st_size}"

    def read(self, tabs: Sequence[TabRequest]) -> Snapshot:
        """One load of the file; the requested tabs that exist, typed."""
        token = self.change_token()
        data = self._read_bytes()
        parsed = self._snapshot(data, tabs)
        snapshot = Snapshot(tables=parsed.tables, change_token=token)
        self._last_read = (hashlib.sha256(data).digest(), {t.name for t in tabs}, snapshot)
        return snapshot

    def reread(self, plan: Plan, snapshot: Snapshot) -> Snapshot:
        """The file as it is now (parsed again only when it changed since ``read``)."""
        token = self.change_token()
        data = self._read_bytes()
        self._pending = (data, token)
        return self._fresh(data, guard_requests(plan, snapshot), snapshot)

    def write(
        self,
        kept: Sequence[Resolved],
        fresh: Snapshot,
        snapshot: Snapshot,
        progress: Progress | None = None,
    ) -> Written:
        """Apply ``kept`` to a full load of the bytes the guard read and replace the file
        atomically — unless it changed since (then :class:`SourceChanged`, nothing
        written). One save is one write call."""
        self._refuse_if_open_elsewhere()
        if self._pending is None:
            raise SourceChanged(f"workbook {self.path}: write without a guard read; re-planning")
        data, token = self._pending
        self._pending = None
        written = Written()
        if not kept:
            return written
        wb = self._open(data, values=False)
        outcome = apply_kept(WorksheetBook(wb), fresh, kept)
        written.dropped.extend(outcome.dropped)
        written.incidents.extend(outcome.incidents)
        if not outcome.applied:
            return written
        self._save_atomically(wb, expected=hashlib.sha256(data).digest(), token=token)
        written.applied = outcome.applied
        if progress is not None:
            progress(1, 1)
        return written

    def settle_token(self, read_token: str | None, writes: int) -> str | None:
        """The file's token after syncer's own save, if nobody saved it since; else the
        token the cycle read (the next cycle then reads the file again)."""
        now = self.change_token()
        if now is None:
            return None
        if now == read_token or (writes and now == self._saved_token):
            return now
        return read_token

    # --- helpers -----------------------------------------------------------------------

    def _fresh(self, data: bytes, requests: Sequence[TabRequest], snapshot: Snapshot) -> Snapshot:
        """The guard's view of ``data``. When the file is byte-identical to the one that
        produced ``snapshot`` (the usual case), that snapshot *is* the fresh read and the
        workbook is not parsed a second time."""
        if self._last_read is not None:
            digest, names, last = self._last_read
            if (
                last is snapshot
                and digest == hashlib.sha256(data).digest()
                and {r.name for r in requests} <= names
            ):
                return snapshot
        return self._snapshot(data, requests)

    def _lock_files(self) -> Iterator[Path]:
        yield self.path.with_name(f"~${self.path.name}")
        yield self.path.with_name(f".~lock.{self.path.name}#")

    def _refuse_if_open_elsewhere(self) -> None:
        for lock in self._lock_files():
            if lock.exists():
                raise PermissionDenied(
                    f"workbook {self.path} is open in a spreadsheet program (lock file {lock.name}"
                    " exists); nothing was written. Close the workbook (or delete a stale lock"
                    " file) and the next cycle will apply the changes"
                )

    def _save_atomically(self, wb: Any, *, expected: bytes, token: str | None) -> None:
        directory = self.path.parent
        try:
            mode = self.path.stat().st_mode & 0o777
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{self.path.stem}.", suffix=".syncer-tmp", dir=directory
            )
        except OSError as exc:
            raise PermissionDenied(
                f"cannot write next to workbook {self.path} ({exc}); give the syncer user"
                " write access to its directory"
            ) from exc
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                wb.save(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            if self.before_save is not None:
                self.before_save(self)
            if self.change_token() != token or self._digest() != expected:
                raise SourceChanged(
                    f"workbook {self.path} was saved by someone else while syncer was writing;"
                    " nothing was written, the next cycle re-plans against the new content"
                )
            os.replace(tmp, self.path)
            self.saves += 1
            self._saved_token = self.change_token()
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        with contextlib.suppress(OSError):
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def _digest(self) -> bytes:
        try:
            return hashlib.sha256(self.path.read_bytes()).digest()
        except OSError:
            return b""


def _token_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
