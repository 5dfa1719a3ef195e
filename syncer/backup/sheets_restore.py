"""Request bodies that write a backed-up tab into Google Sheets as it was (pure).

``restore --to-tab`` on a Google ledger sends each cell as ``userEnteredValue`` *with*
its number format (``userEnteredFormat.numberFormat``: dates stay dates, not serial
numbers), a formula as ``formulaValue`` (Sheets recomputes its value) and its note.
Text is always ``stringValue``: user text starting with ``=`` is never parsed.
:func:`preflight` refuses, before any write, a tab Google could not hold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from syncer.backup.cells import CellExtra, TabExtras
from syncer.connectors.google.cells import cell_data
from syncer.errors import BackupError
from syncer.model import CellValue, Table

#: Google Sheets' limits.
GOOGLE_MAX_COLUMNS = 18_278
GOOGLE_MAX_CELLS = 10_000_000
GOOGLE_MAX_CELL_CHARS = 50_000
#: Rows per updateCells request (each request stays well under the body limit).
ROWS_PER_REQUEST = 500
FIELDS = "userEnteredValue,userEnteredFormat.numberFormat,note"


def preflight(table: Table, target: str, where: str) -> tuple[int, int]:
    """The grid (rows, columns) restoring ``table`` needs; BackupError naming the limit
    when Google Sheets cannot hold it."""
    height = 1 + len(table.rows)
    width = max([1, len(table.header), *(len(r) for r in table.rows)])
    if width > GOOGLE_MAX_COLUMNS:
        raise BackupError(
            f"tab {table.name!r} has {width} columns; Google Sheets allows at most "
            f"{GOOGLE_MAX_COLUMNS:,} per tab, so it cannot be restored into {target!r} of "
            f"{where}. Restore it to a file instead (--to-file)"
        )
    if height * width > GOOGLE_MAX_CELLS:
        raise BackupError(
            f"tab {table.name!r} needs {height:,} x {width:,} cells; Google Sheets allows "
            f"at most {GOOGLE_MAX_CELLS:,} per spreadsheet, so it cannot be restored into "
            f"{where}. Restore it to a file instead (--to-file)"
        )
    for r, row in enumerate((table.header, *table.rows)):
        for c, value in enumerate(row):
            if isinstance(value, str) and len(value) > GOOGLE_MAX_CELL_CHARS:
                raise BackupError(
                    f"tab {table.name!r} row {r + 1} column {c + 1} holds {len(value):,} "
                    f"characters; a Google Sheets cell holds at most {GOOGLE_MAX_CELL_CHARS:,}"
                    ". Restore it to a file instead (--to-file)"
                )
    return height, width


def restore_cell(value: CellValue, extra: CellExtra | None) -> dict[str, Any]:
    """The ``CellData`` of one backed-up cell."""
    if isinstance(value, float) and not math.isfinite(value):
        value = str(value)
    cell = dict(cell_data(value))
    if extra is None:
        return cell
    if extra.formula is not None:
        cell["userEnteredValue"] = {"formulaValue": extra.formula}
    if extra.number_format:
        cell["userEnteredFormat"] = {"numberFormat": dict(extra.number_format)}
    if extra.note is not None:
        cell["note"] = extra.note
    return cell


def restore_requests(
    sheet_id: int, table: Table, extras: TabExtras, grid: tuple[int, int], current: tuple[int, int]
) -> list[dict[str, Any]]:
    """Resize the tab to hold the grid, clear it, then write every row (in requests of
    :data:`ROWS_PER_REQUEST` rows)."""
    rows, cols = max(grid[0], current[0]), max(grid[1], current[1])
    requests_: list[dict[str, Any]] = [
        {
            "updateSheetProperties": {
                "properties": {
                    "sheetId": sheet_id,
                    "gridProperties": {"rowCount": rows, "columnCount": cols},
                },
                "fields": "gridProperties(rowCount,columnCount)",
            }
        },
        {
            "updateCells": {
                "range": {
                    "sheetId": sheet_id,
                    "startRowIndex": 0,
                    "endRowIndex": rows,
                    "startColumnIndex": 0,
                    "endColumnIndex": cols,
                },
                "fields": FIELDS,
            }
        },
    ]
    grid_rows: Sequence[Sequence[CellValue]] = [
        tuple(h or None for h in table.header),
        *table.rows,
    ]
    for start in range(0, len(grid_rows), ROWS_PER_REQUEST):
        row_data = [
            {"values": [restore_cell(v, extras.get((r, c))) for c, v in enumerate(row)]}
            for r, row in enumerate(grid_rows[start : start + ROWS_PER_REQUEST], start=start)
        ]
        end = min(start + ROWS_PER_REQUEST, len(grid_rows))
        for (r, c), extra in extras.items():  # extras of cells beyond a row's last value
            if start <= r < end and c >= len(grid_rows[r]):
                values = row_data[r - start]["values"]
                values.extend({} for _ in range(c + 1 - len(values)))
                values[c] = restore_cell(None, extra)
        requests_.append(
            {
                "updateCells": {
                    "start": {"sheetId": sheet_id, "rowIndex": start, "columnIndex": 0},
                    "rows": row_data,
                    "fields": FIELDS,
                }
            }
        )
    return requests_
