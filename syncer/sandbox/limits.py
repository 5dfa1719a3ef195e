"""Google's hard limits on a spreadsheet, and the messages Sheets refuses them with.

* 10,000,000 cells per spreadsheet (the grids of all tabs, empty cells included);
* 18,278 columns per sheet (column ZZZ);
* 50,000 characters in one cell.

Every request that could cross one is refused with 400 INVALID_ARGUMENT and nothing is
changed: batchUpdate requests (addSheet, grid resizes, insert/append dimension,
duplicateSheet, appendCells, cell writes), values writes and appends, spreadsheets.create
and sheets.copyTo.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from syncer.sandbox.a1 import MAX_COLUMNS

if TYPE_CHECKING:
    from syncer.sandbox.state import Workbook

MAX_CELLS = 10_000_000
MAX_CELL_CHARS = 50_000
__all__ = [
    "CELLS_MESSAGE",
    "CELL_CHARS_MESSAGE",
    "COLUMNS_MESSAGE",
    "MAX_CELLS",
    "MAX_CELL_CHARS",
    "MAX_COLUMNS",
    "grid_problem",
    "too_long",
]

#: Google's words (seen in Sheets API 400 answers).
CELLS_MESSAGE = (
    "This action would increase the number of cells in the workbook above the limit of "
    f"{MAX_CELLS} cells."
)
CELL_CHARS_MESSAGE = (
    f"Your input contains more than the maximum of {MAX_CELL_CHARS} characters in a single cell."
)
#: Worded like the cell limit (Google's exact text for columns was not found in public
#: material; see docs/sandbox.md).
COLUMNS_MESSAGE = (
    "This action would increase the number of columns in the sheet above the limit of "
    f"{MAX_COLUMNS} columns."
)


def too_long(values: Iterable[Any]) -> bool:
    """Whether any of ``values`` is text longer than one cell may hold."""
    return any(v.__class__ is str and len(v) > MAX_CELL_CHARS for v in values)


def grid_problem(workbook: Workbook, extra_cells: int = 0) -> str | None:
    """Google's message when ``workbook`` (plus ``extra_cells`` about to be added) is over
    the cell or column limit, else None."""
    if any(sheet.column_count > MAX_COLUMNS for sheet in workbook.sheets):
        return COLUMNS_MESSAGE
    if workbook.cell_count() + extra_cells > MAX_CELLS:
        return CELLS_MESSAGE
    return None
