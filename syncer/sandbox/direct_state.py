"""The sandbox's state with direct access: what a person would do in the Sheets UI or Drive,
without HTTP, quotas or faults.

:class:`DirectState` owns the store of spreadsheets and Drive files, the service accounts,
the lock every request and edit holds, and the sandbox clock. Its methods are the test
API for "human edits" and for reading state back (each edit bumps the Drive ``version``
like a person's edit would). The HTTP server (``server.py``) is a DirectState that also
serves the APIs.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Literal

from syncer.sandbox.a1 import A1Error, Bounds, parse_cells
from syncer.sandbox.auth import AuthRegistry
from syncer.sandbox.drive_files import (
    FOLDER_MIME,
    MY_DRIVE_ROOT,
    ROLE_ACCESS,
    DriveFile,
    SharedDrive,
)
from syncer.sandbox.limits import CELL_CHARS_MESSAGE, too_long
from syncer.sandbox.protection import check_edit
from syncer.sandbox.state import Sheet, Workbook
from syncer.sandbox.store import Store
from syncer.sandbox.values import from_serial, normalize_number, typed_to_parsed
from syncer.sandbox.xlsx import sheets_from_xlsx

DEFAULT_SERVICE_ACCOUNT = "syncer@sandbox.iam.gserviceaccount.com"


class DirectState:
    """Spreadsheets, Drive files, accounts and the clock, edited directly (thread-safe)."""

    def __init__(self, seed: int = 0) -> None:
        self.store = Store(seed)
        self.auth = AuthRegistry()
        self.clock_offset = 0.0
        self._lock = threading.RLock()

    # -- the clock --------------------------------------------------------------------------

    def now(self) -> float:
        """The sandbox clock (wall clock plus ``advance_clock`` offsets)."""
        return time.time() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward (quota windows, token expiry)."""
        with self._lock:
            self.clock_offset += seconds

    # -- spreadsheets -----------------------------------------------------------------------

    def _workbook(self, spreadsheet_id: str) -> Workbook:
        wb = self.store.get(spreadsheet_id)
        if wb is None:
            raise KeyError(f"no spreadsheet {spreadsheet_id!r} in the sandbox")
        return wb

    def _sheet(self, spreadsheet_id: str, tab: str) -> tuple[Workbook, Sheet]:
        wb = self._workbook(spreadsheet_id)
        sheet = wb.sheet_by_title(tab)
        if sheet is None:
            raise KeyError(f"no tab {tab!r} in spreadsheet {wb.title!r} ({spreadsheet_id})")
        return wb, sheet

    @staticmethod
    def _cell(a1: str) -> tuple[int, int]:
        try:
            bounds = parse_cells(a1)
        except A1Error:
            bounds = None
        if bounds is None or bounds.end_row is None or bounds.end_col is None:
            raise ValueError(f"not an A1 cell reference: {a1!r} (expected e.g. 'B2' or 'B2:D2')")
        return bounds.start_row, bounds.start_col

    def create_spreadsheet(
        self, title: str, owner: str, tabs: dict[str, list[list[Any]]] | None = None
    ) -> str:
        """Create a spreadsheet owned by ``owner``; ``tabs`` maps titles to typed rows."""
        with self._lock:
            sheets: list[Sheet] = []
            wb = self.store.create(title, owner.lower(), self.now())
            for i, (tab, rows) in enumerate((tabs or {"Sheet1": []}).items()):
                sheet = Sheet(0 if i == 0 else self.store.new_sheet_id(wb), tab)
                sheet.row_count = max(sheet.row_count, len(rows))
                sheet.column_count = max(sheet.column_count, max(map(len, rows), default=0))
                self._fill(sheet, 0, 0, rows)
                sheets.append(sheet)
            wb.sheets = sheets
            return wb.spreadsheet_id

    @staticmethod
    def _fill(sheet: Sheet, row: int, col: int, rows: list[list[Any]]) -> None:
        plain = (str, int, float, bool, type(None))
        if any(map(too_long, rows)):
            raise ValueError(CELL_CHARS_MESSAGE)
        for i, line in enumerate(rows):
            r = row + i
            fast = (
                col == 0
                and r >= len(sheet.rows)
                and r not in sheet.extras
                and all(
                    v.__class__ in plain and not (v.__class__ is str and (v == "" or v[0] == "="))
                    for v in line
                )
            )
            if fast:
                sheet.rows.extend([] for _ in range(r - len(sheet.rows)))
                sheet.rows.append(
                    [normalize_number(v) if v.__class__ is float else v for v in line]
                )
                continue
            for j, value in enumerate(line):
                sheet.write(r, col + j, typed_to_parsed(value))

    def seed_from_xlsx(
        self,
        path: str | os.PathLike[str],
        owner: str = DEFAULT_SERVICE_ACCOUNT,
        title: str | None = None,
        spreadsheet_id: str | None = None,
    ) -> str:
        """Create a spreadsheet from an .xlsx workbook (values, formulas, dates, notes).

        The spreadsheet is titled after the file's stem unless ``title`` is given, and
        gets ``spreadsheet_id`` when given (a ledger file can then name it in advance).
        Only formula cells become formulas: a text cell starting with ``=`` stays text.
        """
        source = Path(path)
        with self._lock:
            sheets = sheets_from_xlsx(source, 0, self.store.new_sheet_id)
            wb = self.store.create(
                title or source.stem, owner.lower(), self.now(), sheets, spreadsheet_id
            )
            return wb.spreadsheet_id

    def share(
        self, spreadsheet_id: str, email: str, role: Literal["reader", "writer"] = "writer"
    ) -> None:
        """Share a spreadsheet with an email as reader or writer."""
        if role not in ("reader", "writer"):
            raise ValueError(f"role must be 'reader' or 'writer', not {role!r}")
        with self._lock:
            wb = self._workbook(spreadsheet_id)
            wb.permissions[email.lower()] = role
            wb.touch(self.now())

    # -- direct Drive state: folders, shared drives, uploaded files -------------------------

    def create_folder(self, name: str, owner: str, shared_drive: bool = False) -> str:
        """Create a folder in ``owner``'s My Drive, or (``shared_drive=True``) a shared drive
        with ``owner`` as organizer; returns its id, usable as an upload parent."""
        with self._lock:
            now = self.now()
            if shared_drive:
                members = {owner.lower(): "organizer"}
                shared = SharedDrive(self.store.new_drive_id(), name, now, members)
                self.store.tree.drives[shared.drive_id] = shared
                return shared.drive_id
            folder = DriveFile(
                file_id=self.store.new_file_id(),
                name=name,
                mime_type=FOLDER_MIME,
                owner=owner.lower(),
                parents=[MY_DRIVE_ROOT],
                drive_id=None,
                created=now,
                modified=now,
            )
            self.store.tree.files[folder.file_id] = folder
            return folder.file_id

    def share_file(self, file_id: str, email: str, role: str = "writer") -> None:
        """Share a folder, uploaded file, shared drive (adds a member) or spreadsheet.

        Roles: reader, commenter, writer, and for shared drives also fileOrganizer and
        organizer (a spreadsheet takes reader or writer only).
        """
        if role not in ROLE_ACCESS:
            raise ValueError(f"role must be one of {sorted(ROLE_ACCESS)}, not {role!r}")
        with self._lock:
            shared = self.store.tree.drives.get(file_id)
            item = self.store.tree.files.get(file_id)
            if shared is not None:
                shared.members[email.lower()] = role
            elif item is not None:
                if role in ("organizer", "fileOrganizer") and item.drive_id is None:
                    raise ValueError(f"role {role!r} exists only in shared drives")
                item.permissions[email.lower()] = role
                item.touch(self.now())
            elif file_id in self.store.workbooks:
                if role not in ("reader", "writer"):
                    raise ValueError(f"a spreadsheet is shared as reader or writer, not {role!r}")
                self.share(file_id, email, "writer" if role == "writer" else "reader")
            else:
                raise KeyError(f"no file, folder or shared drive {file_id!r} in the sandbox")

    def _tree_item(self, file_id: str) -> DriveFile:
        item = self.store.tree.files.get(file_id)
        if item is None:
            raise KeyError(f"no uploaded file or folder {file_id!r} in the sandbox")
        return item

    def file_content(self, file_id: str) -> bytes:
        """The bytes of an uploaded file."""
        with self._lock:
            return self._tree_item(file_id).content

    def files_in(self, folder_id: str) -> list[dict[str, Any]]:
        """Folders and uploaded files directly inside a folder or shared drive, oldest first:
        ``{"id", "name", "mimeType", "size", "parents", "driveId", "owner", "version"}``."""
        with self._lock:
            if folder_id not in self.store.tree.drives:
                self._tree_item(folder_id)
            return [
                {
                    "id": f.file_id,
                    "name": f.name,
                    "mimeType": f.mime_type,
                    "size": len(f.content),
                    "parents": list(f.parents),
                    "driveId": f.drive_id,
                    "owner": f.owner,
                    "version": f.version,
                }
                for f in self.store.tree.children(folder_id)
            ]

    def spreadsheet_ids(self) -> list[str]:
        """Ids of every spreadsheet in the sandbox."""
        with self._lock:
            return list(self.store.workbooks)

    def drive_version(self, spreadsheet_id: str) -> int:
        """The Drive ``version`` of a spreadsheet."""
        with self._lock:
            return self._workbook(spreadsheet_id).version

    def atomically(self) -> threading.RLock:
        """The lock every request and direct edit holds, for several direct edits made as
        one step (a person's edit by row identity: find the row, then change it)."""
        return self._lock

    def tabs(self, spreadsheet_id: str) -> list[str]:
        """Tab titles in order."""
        with self._lock:
            return [s.title for s in self._workbook(spreadsheet_id).sheets]

    def values(self, spreadsheet_id: str, tab: str) -> list[list[Any]]:
        """The typed grid, trimmed: dates as date/datetime, formulas as their text."""
        with self._lock:
            _, sheet = self._sheet(spreadsheet_id, tab)
            grid: list[list[Any]] = [list(r) for r in sheet.typed()]
            for r, cols in sheet.extras.items():
                for c, ex in cols.items():
                    nf = (ex.format or {}).get("numberFormat")
                    if (
                        r < len(grid)
                        and c < len(grid[r])
                        and ex.formula is None
                        and nf
                        and nf.get("type") in ("DATE", "DATE_TIME")
                    ):
                        value = grid[r][c]
                        if isinstance(value, int | float) and not isinstance(value, bool):
                            moment = from_serial(value)
                            grid[r][c] = moment.date() if nf["type"] == "DATE" else moment
            return grid

    def set_values(
        self,
        spreadsheet_id: str,
        tab: str,
        a1: str,
        rows: list[list[Any]],
        *,
        user: str | None = None,
    ) -> None:
        """A human edit: typed rows written from the top-left of ``a1`` ("B2" or "B2:D2").

        With ``user`` the edit is that person's, refused (:class:`ProtectedEdit`) where a
        protected range keeps them out, as the Sheets UI refuses it; without, the owner's."""
        row, col = self._cell(a1)
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            height = row + len(rows)
            width = col + max(map(len, rows), default=0)
            check_edit(wb, sheet, Bounds(row, height, col, max(width, col + 1)), user)
            if height > sheet.row_count or width > sheet.column_count:
                raise ValueError(
                    f"{tab}!{a1}: {len(rows)} rows do not fit the grid of "
                    f"{sheet.row_count} x {sheet.column_count}; insert rows first"
                )
            self._fill(sheet, row, col, rows)
            wb.touch(self.now())

    def set_note(self, spreadsheet_id: str, tab: str, a1: str, note: str | None) -> None:
        """A human edit: set or clear a cell's note."""
        row, col = self._cell(a1)
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            sheet.set_note(row, col, note)
            wb.touch(self.now())

    def insert_rows(
        self, spreadsheet_id: str, tab: str, at_row: int, count: int = 1, *, user: str | None = None
    ) -> None:
        """A human edit: insert ``count`` empty rows before 1-based row ``at_row``
        (``user``: see :meth:`set_values`)."""
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            check_edit(wb, sheet, Bounds(at_row - 1, at_row, 0, None), user)
            if not 1 <= at_row <= sheet.row_count + 1 or count < 1:
                raise ValueError(f"cannot insert {count} rows at row {at_row} of {tab}")
            sheet.insert_rows(at_row - 1, count)
            wb.touch(self.now())

    def delete_rows(
        self, spreadsheet_id: str, tab: str, at_row: int, count: int = 1, *, user: str | None = None
    ) -> None:
        """A human edit: delete ``count`` rows starting at 1-based row ``at_row``
        (``user``: see :meth:`set_values`)."""
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            check_edit(wb, sheet, Bounds(at_row - 1, at_row - 1 + count, 0, None), user)
            if not at_row >= 1 or at_row - 1 + count > sheet.row_count or count < 1:
                raise ValueError(f"cannot delete {count} rows at row {at_row} of {tab}")
            sheet.delete_rows(at_row - 1, at_row - 1 + count)
            wb.touch(self.now())

    def rename_tab(self, spreadsheet_id: str, tab: str, new_title: str) -> None:
        """A human edit: rename a tab."""
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            clash = wb.sheet_by_title(new_title)
            if clash is not None and clash is not sheet:
                raise ValueError(f"a tab named {new_title!r} already exists")
            sheet.title = new_title
            wb.touch(self.now())

    def delete_tab(self, spreadsheet_id: str, tab: str, *, user: str | None = None) -> None:
        """A human edit: delete a tab, not the last one (``user``: see :meth:`set_values`)."""
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            check_edit(wb, sheet, Bounds(0, None, 0, None), user)
            if len(wb.sheets) == 1:
                raise ValueError("cannot delete the last tab of a spreadsheet")
            wb.sheets.remove(sheet)
            wb.touch(self.now())

    def sort_tab(
        self,
        spreadsheet_id: str,
        tab: str,
        column_index: int,
        header_rows: int = 1,
        ascending: bool = True,
        *,
        user: str | None = None,
    ) -> None:
        """A human edit: sort the rows below the header by a 0-based column (``user``: see
        :meth:`set_values`)."""
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            check_edit(wb, sheet, Bounds(header_rows, None, 0, None), user)
            sheet.sort_rows(header_rows, sheet.stored_rows(), [(column_index, ascending)])
            wb.touch(self.now())

    def protected_ranges(self, spreadsheet_id: str, tab: str) -> list[dict[str, Any]]:
        """A tab's protected ranges, as ``spreadsheets.get`` lists them."""
        with self._lock:
            _, sheet = self._sheet(spreadsheet_id, tab)
            return [json.loads(json.dumps(pr)) for pr in sheet.protected_ranges]

    def note(self, spreadsheet_id: str, tab: str, a1: str) -> str | None:
        """A cell's note."""
        row, col = self._cell(a1)
        with self._lock:
            _, sheet = self._sheet(spreadsheet_id, tab)
            ex = sheet.extra(row, col)
            return ex.note if ex else None

    def format(self, spreadsheet_id: str, tab: str, a1: str) -> dict[str, Any]:
        """A cell's userEnteredFormat ({} when unformatted)."""
        row, col = self._cell(a1)
        with self._lock:
            _, sheet = self._sheet(spreadsheet_id, tab)
            ex = sheet.extra(row, col)
            return json.loads(json.dumps(ex.format)) if ex and ex.format else {}

    def grid_size(self, spreadsheet_id: str, tab: str) -> tuple[int, int]:
        """(rowCount, columnCount) of a tab."""
        with self._lock:
            _, sheet = self._sheet(spreadsheet_id, tab)
            return sheet.row_count, sheet.column_count

    def frozen_rows(self, spreadsheet_id: str, tab: str) -> int:
        """frozenRowCount of a tab."""
        with self._lock:
            return self._sheet(spreadsheet_id, tab)[1].frozen_rows
