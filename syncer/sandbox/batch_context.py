"""What every batchUpdate handler shares: the batch's workbook copy, its errors and ranges."""

from __future__ import annotations

import random
from typing import Any

from syncer.sandbox.a1 import Bounds
from syncer.sandbox.limits import CELLS_MESSAGE, COLUMNS_MESSAGE, MAX_COLUMNS, grid_problem
from syncer.sandbox.state import Sheet, Workbook

Reply = dict[str, Any]


class RequestError(Exception):
    """A request of the batch is invalid; becomes ``Invalid requests[i].kind: message``."""


class BatchContext:
    """What the handlers need besides the workbook copy."""

    def __init__(
        self,
        workbook: Workbook,
        rng: random.Random,
        *,
        copy_on_write: bool = False,
        user: str | None = None,
    ) -> None:
        self.workbook = workbook
        self.rng = rng
        #: Who sends the batch (None: a direct edit); protections are checked against it.
        self.user = user
        #: Sheets still shared with the original workbook, cloned on first access.
        self._shared = {id(s) for s in workbook.sheets} if copy_on_write else set()

    def sheet(self, sheet_id: Any, write: bool = True) -> Sheet:
        """The sheet with an id, or fail with Google's message.

        With ``write`` the sheet is private to this batch (cloned on first access); without,
        it may still be shared with the original workbook and must not be changed.
        """
        try:
            sid = int(sheet_id or 0)
        except (TypeError, ValueError):
            raise RequestError(f"No grid with id: {sheet_id}") from None
        found = self.workbook.sheet_by_id(sid)
        if found is None:
            raise RequestError(f"No grid with id: {sid}")
        if write and id(found) in self._shared:
            self._shared.discard(id(found))
            twin = found.clone()
            sheets = self.workbook.sheets
            sheets[sheets.index(found)] = twin
            return twin
        return found

    def new_sheet_id(self) -> int:
        """A random sheet id not used yet."""
        while True:
            sid = self.rng.randrange(1, 2**31 - 1)
            if self.workbook.sheet_by_id(sid) is None:
                return sid

    def check_limits(self) -> None:
        """Fail if the workbook grew past Google's cell or column limit (see limits.py)."""
        problem = grid_problem(self.workbook)
        if problem is not None:
            raise RequestError(problem)

    def ensure_room(self, sheet: Sheet, rows: int = 0, cols: int = 0) -> None:
        """Fail before ``sheet`` grows by ``rows`` and ``cols`` past Google's limits."""
        if cols and sheet.column_count + cols > MAX_COLUMNS:
            raise RequestError(COLUMNS_MESSAGE)
        extra = rows * sheet.column_count + cols * (sheet.row_count + rows)
        if grid_problem(self.workbook, extra) is not None:
            raise RequestError(CELLS_MESSAGE)


def grid_bounds(ctx: BatchContext, grid_range: Any) -> tuple[Sheet, Bounds]:
    """A GridRange resolved to its sheet and closed bounds, checked against the grid."""
    if not isinstance(grid_range, dict):
        raise RequestError("range is required")
    sheet = ctx.sheet(grid_range.get("sheetId", 0))
    try:
        b = Bounds(
            int(grid_range.get("startRowIndex", 0)),
            int(grid_range.get("endRowIndex", sheet.row_count)),
            int(grid_range.get("startColumnIndex", 0)),
            int(grid_range.get("endColumnIndex", sheet.column_count)),
        )
    except (TypeError, ValueError):
        raise RequestError("Invalid range") from None
    assert b.end_row is not None
    assert b.end_col is not None
    if b.start_row < 0 or b.start_col < 0 or b.end_row < b.start_row or b.end_col < b.start_col:
        raise RequestError("Invalid range: start index must be <= end index and >= 0")
    if b.end_row > sheet.row_count or b.end_col > sheet.column_count:
        raise RequestError(
            f"Range ('{sheet.title}'!R{b.start_row + 1}C{b.start_col + 1}:R{b.end_row}"
            f"C{b.end_col}) exceeds grid limits. Max rows: {sheet.row_count}, "
            f"max columns: {sheet.column_count}"
        )
    return sheet, b
