"""spreadsheets.batchUpdate: every request applied to a copy; the copy replaces the original
only if all of them succeed (all or nothing), with one reply per request."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

from syncer.sandbox.a1 import Bounds
from syncer.sandbox.errors import ApiError, bad_request
from syncer.sandbox.fieldmask import mask_paths, parse_mask
from syncer.sandbox.limits import (
    CELL_CHARS_MESSAGE,
    CELLS_MESSAGE,
    COLUMNS_MESSAGE,
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    grid_problem,
)
from syncer.sandbox.sheets_json import grid_range_json, sheet_properties
from syncer.sandbox.state import DEFAULT_COLS, DEFAULT_ROWS, Sheet, Workbook
from syncer.sandbox.values import normalize_number

Reply = dict[str, Any]


class RequestError(Exception):
    """A request of the batch is invalid; becomes ``Invalid requests[i].kind: message``."""


class BatchContext:
    """What the handlers need besides the workbook copy."""

    def __init__(
        self, workbook: Workbook, rng: random.Random, *, copy_on_write: bool = False
    ) -> None:
        self.workbook = workbook
        self.rng = rng
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


def _title_free(ctx: BatchContext, title: str, ignore: Sheet | None = None) -> None:
    if not title or not title.strip():
        raise RequestError("Sheet name cannot be empty.")
    for sheet in ctx.workbook.sheets:
        if sheet is not ignore and sheet.title.lower() == title.lower():
            raise RequestError(
                f'A sheet with the name "{title}" already exists. Please enter another name.'
            )


def _apply_properties(
    ctx: BatchContext, sheet: Sheet, props: dict[str, Any], paths: list[str]
) -> None:
    grid = props.get("gridProperties") or {}
    for path in paths:
        if path == "title":
            _title_free(ctx, str(props.get("title", "")), ignore=sheet)
            sheet.title = str(props["title"])
        elif path == "hidden":
            sheet.hidden = bool(props.get("hidden", False))
        elif path in ("tabColor", "tabColorStyle"):
            color = props.get("tabColor") or (props.get("tabColorStyle") or {}).get("rgbColor")
            sheet.tab_color = copy.deepcopy(color) or None
        elif path == "index":
            index = int(props.get("index", 0))
            ctx.workbook.sheets.remove(sheet)
            ctx.workbook.sheets.insert(max(0, min(index, len(ctx.workbook.sheets))), sheet)
        elif path == "gridProperties.rowCount":
            count = int(grid.get("rowCount", 0))
            if count < 1:
                raise RequestError("Invalid rowCount: must be at least 1")
            if count < sheet.row_count:
                sheet.delete_rows(count, sheet.row_count)
            sheet.row_count = count
        elif path == "gridProperties.columnCount":
            count = int(grid.get("columnCount", 0))
            if count < 1:
                raise RequestError("Invalid columnCount: must be at least 1")
            if count < sheet.column_count:
                sheet.delete_cols(count, sheet.column_count)
            sheet.column_count = count
        elif path == "gridProperties.frozenRowCount":
            sheet.frozen_rows = int(grid.get("frozenRowCount", 0))
        elif path == "gridProperties.frozenColumnCount":
            sheet.frozen_cols = int(grid.get("frozenColumnCount", 0))
        elif path in (
            "sheetId",
            "sheetType",
            "gridProperties.hideGridlines",
            "rightToLeft",
            "gridProperties.rowGroupControlAfter",
            "gridProperties.columnGroupControlAfter",
        ):
            continue
        else:
            raise RequestError(f"Unknown field in fields mask: {path}")
    if sheet.frozen_rows >= sheet.row_count and sheet.frozen_rows:
        raise RequestError("You can't freeze all visible rows on the sheet.")
    if sheet.frozen_cols >= sheet.column_count and sheet.frozen_cols:
        raise RequestError("You can't freeze all visible columns on the sheet.")


def _all_paths(props: dict[str, Any]) -> list[str]:
    paths = [k for k in props if k != "gridProperties"]
    paths += [f"gridProperties.{k}" for k in props.get("gridProperties") or {}]
    return paths


def _fields(request: dict[str, Any], source: dict[str, Any]) -> list[str]:
    fields = request.get("fields")
    if not fields:
        raise RequestError("At least one field must be updated, but 'fields' is empty.")
    if fields == "*":
        return _all_paths(source)
    return mask_paths(parse_mask(str(fields)))


def add_sheet(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """addSheet."""
    props = dict(request.get("properties") or {})
    wb = ctx.workbook
    title = props.get("title")
    if title is None:
        n = len(wb.sheets) + 1
        while wb.sheet_by_title(f"Sheet{n}") is not None:
            n += 1
        title = f"Sheet{n}"
    _title_free(ctx, str(title))
    if "sheetId" in props:
        sid = int(props["sheetId"])
        if wb.sheet_by_id(sid) is not None:
            raise RequestError(f"A sheet with id {sid} already exists.")
    else:
        sid = ctx.new_sheet_id()
    grid = props.get("gridProperties") or {}
    sheet = Sheet(
        sid,
        str(title),
        int(grid.get("rowCount", DEFAULT_ROWS)),
        int(grid.get("columnCount", DEFAULT_COLS)),
    )
    wb.sheets.insert(int(props.get("index", len(wb.sheets))), sheet)
    rest = {k: v for k, v in props.items() if k not in ("title", "sheetId", "index")}
    rest_grid = {k: v for k, v in grid.items() if k not in ("rowCount", "columnCount")}
    if rest_grid:
        rest["gridProperties"] = rest_grid
    else:
        rest.pop("gridProperties", None)
    _apply_properties(ctx, sheet, rest, _all_paths(rest))
    return {"addSheet": {"properties": sheet_properties(wb, sheet)}}


def delete_sheet(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """deleteSheet."""
    sheet = ctx.sheet(request.get("sheetId"), write=False)
    if len(ctx.workbook.sheets) == 1:
        raise RequestError("You can't remove all the sheets in a document.")
    ctx.workbook.sheets.remove(sheet)
    ctx.workbook.developer_metadata = [
        m
        for m in ctx.workbook.developer_metadata
        if m["location"].get("sheetId") != sheet.sheet_id
        and m["location"].get("dimensionRange", {}).get("sheetId") != sheet.sheet_id
    ]
    return {}


def update_sheet_properties(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """updateSheetProperties (title, index, hidden, tab colour, grid size, frozen rows/cols)."""
    props = request.get("properties") or {}
    sheet = ctx.sheet(props.get("sheetId", 0))
    _apply_properties(ctx, sheet, props, _fields(request, props))
    return {}


def update_spreadsheet_properties(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """updateSpreadsheetProperties (title, locale, timeZone)."""
    props = request.get("properties") or {}
    for path in _fields(request, props):
        if path == "title":
            ctx.workbook.title = str(props.get("title", ""))
        elif path == "locale":
            ctx.workbook.locale = str(props.get("locale", "en_US"))
        elif path == "timeZone":
            ctx.workbook.time_zone = str(props.get("timeZone", "Etc/GMT"))
    return {}


def duplicate_sheet(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """duplicateSheet."""
    source = ctx.sheet(request.get("sourceSheetId"), write=False)
    twin = source.clone()
    twin.title = str(request.get("newSheetName") or f"Copy of {source.title}")
    _title_free(ctx, twin.title)
    if request.get("newSheetId") is not None:
        twin.sheet_id = int(request["newSheetId"])
        if ctx.workbook.sheet_by_id(twin.sheet_id) is not None:
            raise RequestError(f"A sheet with id {twin.sheet_id} already exists.")
    else:
        twin.sheet_id = ctx.new_sheet_id()
    for pr in twin.protected_ranges:
        pr["protectedRangeId"] = ctx.workbook.next_protected_id
        pr["range"]["sheetId"] = twin.sheet_id
        ctx.workbook.next_protected_id += 1
    index = request.get("insertSheetIndex")
    ctx.workbook.sheets.insert(len(ctx.workbook.sheets) if index is None else int(index), twin)
    return {"duplicateSheet": {"properties": sheet_properties(ctx.workbook, twin)}}


def _dimension_range(
    ctx: BatchContext, request: dict[str, Any], size_now: int | None = None
) -> tuple[Sheet, str, int, int]:
    """The sheet, dimension and [start, end) of a request's DimensionRange; ``size_now``
    overrides the sheet's current row count (a run of deletions not yet applied)."""
    rng = request.get("range")
    if not isinstance(rng, dict):
        raise RequestError("range is required")
    sheet = ctx.sheet(rng.get("sheetId", 0))
    dim = rng.get("dimension")
    if dim not in ("ROWS", "COLUMNS"):
        raise RequestError("range.dimension must be ROWS or COLUMNS")
    start = int(rng.get("startIndex", 0))
    size = sheet.row_count if dim == "ROWS" else sheet.column_count
    if size_now is not None and dim == "ROWS":
        size = size_now
    end = int(rng.get("endIndex", size))
    if start < 0 or end <= start:
        raise RequestError("range.startIndex must be less than range.endIndex")
    return sheet, dim, start, end


def insert_dimension(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """insertDimension."""
    sheet, dim, start, end = _dimension_range(ctx, request)
    size = sheet.row_count if dim == "ROWS" else sheet.column_count
    if start > size:
        raise RequestError(
            f"range.startIndex ({start}) is after the last {dim.lower()[:-1]} ({size})"
        )
    if dim == "ROWS":
        ctx.ensure_room(sheet, rows=end - start)
        sheet.insert_rows(start, end - start)
    else:
        ctx.ensure_room(sheet, cols=end - start)
        sheet.insert_cols(start, end - start)
    return {}


def _check_deletion(sheet: Sheet, dim: str, start: int, end: int, size: int) -> None:
    """Google's checks of a deleteDimension against the current size of its dimension."""
    if end > size:
        raise RequestError(
            f"Cannot delete a {dim.lower()[:-1]} that doesn't exist. Tried to delete "
            f"{dim.lower()[:-1]} index {end - 1} but there are only {size} "
            f"{dim.lower()} ."
        )
    frozen = sheet.frozen_rows if dim == "ROWS" else sheet.frozen_cols
    if end - start >= size - frozen and start >= frozen:
        raise RequestError(f"Sorry, it is not possible to delete all non-frozen {dim.lower()}.")


def delete_dimension(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """deleteDimension."""
    sheet, dim, start, end = _dimension_range(ctx, request)
    size = sheet.row_count if dim == "ROWS" else sheet.column_count
    _check_deletion(sheet, dim, start, end, size)
    if dim == "ROWS":
        sheet.delete_rows(start, end)
    else:
        sheet.delete_cols(start, end)
    return {}


class RowDeletionRun:
    """Consecutive deleteDimension ROWS requests on one sheet, validated one by one (each
    against the row count the previous ones leave) and applied together in one pass."""

    def __init__(self, ctx: BatchContext) -> None:
        self.ctx = ctx
        self.sheet: Sheet | None = None
        self.row_count = 0
        self.ranges: list[tuple[int, int]] = []

    def add(self, request: dict[str, Any]) -> Reply:
        """Validate one request of the run, as if the previous ones were applied."""
        size = self.row_count if self.sheet is not None else None
        sheet, dim, start, end = _dimension_range(self.ctx, request, size)
        if self.sheet is None:
            self.sheet, self.row_count = sheet, sheet.row_count
        _check_deletion(sheet, dim, start, end, self.row_count)
        self.ranges.append((start, end))
        self.row_count -= end - start
        return {}

    def apply(self) -> None:
        """Delete every validated range."""
        if self.sheet is not None and self.ranges:
            self.sheet.delete_row_ranges(self.ranges)


def _row_deletion_sheet(request: Any) -> int | None:
    """The sheet id of a well-formed ``deleteDimension`` of ROWS (None: any other request)."""
    payload = request.get("deleteDimension") if isinstance(request, dict) else None
    rng = payload.get("range") if isinstance(payload, dict) else None
    if not isinstance(rng, dict) or rng.get("dimension") != "ROWS":
        return None
    sheet_id = rng.get("sheetId", 0)
    return sheet_id if isinstance(sheet_id, int) and not isinstance(sheet_id, bool) else None


def append_dimension(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """appendDimension."""
    sheet = ctx.sheet(request.get("sheetId", 0))
    length = int(request.get("length", 0))
    if length < 1:
        raise RequestError("length must be greater than 0")
    if request.get("dimension") == "ROWS":
        ctx.ensure_room(sheet, rows=length)
        sheet.row_count += length
    elif request.get("dimension") == "COLUMNS":
        ctx.ensure_room(sheet, cols=length)
        sheet.column_count += length
    else:
        raise RequestError("dimension must be ROWS or COLUMNS")
    return {}


def _set_cell(sheet: Sheet, row: int, col: int, cell: dict[str, Any], paths: list[str]) -> None:
    for path in paths:
        head = path.split(".", 1)[0]
        if head == "userEnteredValue":
            entered = cell.get("userEnteredValue") or {}
            if not isinstance(entered, dict):
                raise RequestError("userEnteredValue must be an object")
            if "formulaValue" in entered:
                sheet.set_raw(row, col, None)
                sheet.update_extra(row, col, formula=_cell_text(entered["formulaValue"]))
            else:
                value: Any = None
                if "stringValue" in entered:
                    value = _cell_text(entered["stringValue"]) or None
                elif "numberValue" in entered:
                    value = normalize_number(float(entered["numberValue"]))
                elif "boolValue" in entered:
                    value = bool(entered["boolValue"])
                sheet.set_raw(row, col, value)
                if sheet.extra(row, col) is not None:
                    sheet.update_extra(row, col, formula=None)
        elif head == "note":
            sheet.update_extra(row, col, note=cell.get("note") or None)
        elif head == "userEnteredFormat":
            given = cell.get("userEnteredFormat") or {}
            if path == "userEnteredFormat":
                sheet.update_extra(row, col, format=copy.deepcopy(given) or None)
            else:
                current = sheet.extra(row, col)
                fmt = copy.deepcopy(current.format or {}) if current else {}
                parts = path.split(".")[1:]
                node_src: Any = given
                node_dst = fmt
                for name in parts[:-1]:
                    node_src = node_src.get(name, {}) if isinstance(node_src, dict) else {}
                    node_dst = node_dst.setdefault(name, {})
                leaf = parts[-1]
                if isinstance(node_src, dict) and leaf in node_src:
                    node_dst[leaf] = copy.deepcopy(node_src[leaf])
                else:
                    node_dst.pop(leaf, None)
                sheet.update_extra(row, col, format=fmt or None)
        elif head == "dataValidation":
            rule = copy.deepcopy(cell.get("dataValidation")) or None
            sheet.update_extra(row, col, validation=rule)
        elif head in (
            "effectiveValue",
            "formattedValue",
            "effectiveFormat",
            "hyperlink",
            "textFormatRuns",
            "pivotTable",
        ):
            continue
        else:
            raise RequestError(f"Unknown field in fields mask: {path}")


@lru_cache(maxsize=256)
def _mask(fields: str) -> tuple[str, ...]:
    return tuple(mask_paths(parse_mask(fields)))


def _cell_paths(request: dict[str, Any]) -> list[str]:
    fields = request.get("fields")
    if not fields:
        raise RequestError("At least one field must be updated, but 'fields' is empty.")
    if fields == "*":
        return ["userEnteredValue", "userEnteredFormat", "note", "dataValidation"]
    return list(_mask(str(fields)))


def update_cells(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """updateCells (``start`` or ``range``), writing only the masked fields."""
    paths = _cell_paths(request)
    rows = request.get("rows") or []
    if "range" in request:
        sheet, b = grid_bounds(ctx, request["range"])
    elif "start" in request:
        start = request["start"] or {}
        sheet = ctx.sheet(start.get("sheetId", 0))
        r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
        width = max((len(r.get("values") or []) for r in rows), default=0)
        b = Bounds(r0, r0 + len(rows), c0, c0 + width)
        if r0 + len(rows) > sheet.row_count or c0 + width > sheet.column_count:
            raise RequestError(
                f"Range exceeds grid limits. Max rows: {sheet.row_count}, "
                f"max columns: {sheet.column_count}"
            )
    else:
        raise RequestError("Must specify at least one of start or range.")
    assert b.end_row is not None
    assert b.end_col is not None
    height, width = b.end_row - b.start_row, b.end_col - b.start_col
    if len(rows) > height:
        raise RequestError("Attempting to write row beyond the range.")
    for i in range(height):
        values = (rows[i].get("values") or []) if i < len(rows) else []
        if len(values) > width:
            raise RequestError("Attempting to write column beyond the range.")
        for j in range(width):
            if j >= len(values) and "range" not in request:
                break
            cell = values[j] if j < len(values) else {}
            _set_cell(sheet, b.start_row + i, b.start_col + j, cell or {}, paths)
    return {}


def repeat_cell(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """repeatCell: one CellData's masked fields over a whole range."""
    paths = _cell_paths(request)
    sheet, b = grid_bounds(ctx, request.get("range"))
    assert b.end_row is not None
    assert b.end_col is not None
    cell = request.get("cell") or {}
    for r in range(b.start_row, b.end_row):
        for c in range(b.start_col, b.end_col):
            _set_cell(sheet, r, c, cell, paths)
    return {}


def append_cells(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """appendCells: rows written after the last row with data, growing the grid."""
    paths = _cell_paths(request)
    sheet = ctx.sheet(request.get("sheetId", 0))
    rows = request.get("rows") or []
    start = sheet.used_rows()
    width = max((len(r.get("values") or []) for r in rows), default=0)
    ctx.ensure_room(
        sheet,
        rows=max(0, start + len(rows) - sheet.row_count),
        cols=max(0, width - sheet.column_count),
    )
    sheet.row_count = max(sheet.row_count, start + len(rows))
    sheet.column_count = max(sheet.column_count, width)
    for i, row in enumerate(rows):
        values = row.get("values") or []
        if paths == ["userEnteredValue"] and _append_plain_row(sheet, start + i, values):
            continue
        for j, cell in enumerate(values):
            _set_cell(sheet, start + i, j, cell or {}, paths)
    return {}


def _plain_value(cell: Any) -> Any:
    """The stored value of a CellData holding only a plain userEnteredValue, else _NOT_PLAIN."""
    if not cell:
        return None
    entered = cell.get("userEnteredValue") if isinstance(cell, dict) else _NOT_PLAIN
    if not entered:
        return None if entered is None or entered == {} else _NOT_PLAIN
    if not isinstance(entered, dict) or "formulaValue" in entered:
        return _NOT_PLAIN
    if "stringValue" in entered:
        return _cell_text(entered["stringValue"]) or None
    if "numberValue" in entered:
        return normalize_number(float(entered["numberValue"]))
    if "boolValue" in entered:
        return bool(entered["boolValue"])
    return None


def _cell_text(given: Any) -> str:
    """A string or formula written into one cell, refused above Google's 50,000 characters."""
    text = str(given)
    if len(text) > MAX_CELL_CHARS:
        raise RequestError(CELL_CHARS_MESSAGE)
    return text


_NOT_PLAIN: Any = object()


def _append_plain_row(sheet: Sheet, row: int, values: list[Any]) -> bool:
    """Write a row of plain values below the used rows by replacing its row list at once
    (those rows hold no values or formulas); False if a cell needs the general path."""
    line = [_plain_value(cell) for cell in values]
    if any(v is _NOT_PLAIN for v in line):
        return False
    while line and line[-1] is None:
        line.pop()
    rows = sheet.rows
    if row >= len(rows):
        if not line:
            return True
        rows.extend([] for _ in range(row - len(rows)))
        rows.append(line)
    else:
        rows[row] = line
    return True


def set_data_validation(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """setDataValidation (no rule: clear it)."""
    sheet, b = grid_bounds(ctx, request.get("range"))
    assert b.end_row is not None
    assert b.end_col is not None
    rule = request.get("rule")
    if rule is not None and not isinstance(rule.get("condition"), dict):
        raise RequestError("rule.condition is required")
    for r in range(b.start_row, b.end_row):
        for c in range(b.start_col, b.end_col):
            _set_cell(sheet, r, c, {"dataValidation": rule}, ["dataValidation"])
    return {}


def add_conditional_format_rule(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """addConditionalFormatRule."""
    rule = request.get("rule")
    if not isinstance(rule, dict) or not rule.get("ranges"):
        raise RequestError("rule.ranges is required")
    if not (rule.get("booleanRule") or rule.get("gradientRule")):
        raise RequestError("rule must have a booleanRule or a gradientRule")
    sheets = {grid_bounds(ctx, r)[0].sheet_id for r in rule["ranges"]}
    if len(sheets) != 1:
        raise RequestError("All ranges of a conditional format rule must be on the same sheet.")
    sheet = ctx.sheet(sheets.pop())
    index = int(request.get("index", 0))
    sheet.conditional_formats.insert(
        min(index, len(sheet.conditional_formats)), copy.deepcopy(rule)
    )
    return {}


def delete_conditional_format_rule(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """deleteConditionalFormatRule."""
    sheet = ctx.sheet(request.get("sheetId", 0))
    index = int(request.get("index", 0))
    if not 0 <= index < len(sheet.conditional_formats):
        raise RequestError(f"No conditional format on sheet {sheet.sheet_id} at index {index}")
    rule = sheet.conditional_formats.pop(index)
    return {"deleteConditionalFormatRule": {"rule": rule}}


def add_protected_range(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """addProtectedRange."""
    protected = copy.deepcopy(request.get("protectedRange") or {})
    sheet, b = grid_bounds(ctx, protected.get("range"))
    protected["range"] = grid_range_json(sheet.sheet_id, b)
    protected["protectedRangeId"] = ctx.workbook.next_protected_id
    ctx.workbook.next_protected_id += 1
    if not protected.get("warningOnly"):
        protected.setdefault("editors", {"users": [ctx.workbook.owner]})
    protected.setdefault("requestingUserCanEdit", True)
    sheet.protected_ranges.append(protected)
    return {"addProtectedRange": {"protectedRange": copy.deepcopy(protected)}}


def delete_protected_range(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """deleteProtectedRange."""
    pid = request.get("protectedRangeId")
    for shared in list(ctx.workbook.sheets):
        if any(pr["protectedRangeId"] == pid for pr in shared.protected_ranges):
            sheet = ctx.sheet(shared.sheet_id)
            sheet.protected_ranges = [
                pr for pr in sheet.protected_ranges if pr["protectedRangeId"] != pid
            ]
            return {}
    raise RequestError(f"No protected range with id: {pid}")


def _location(ctx: BatchContext, location: Any) -> dict[str, Any]:
    if not isinstance(location, dict):
        raise RequestError("developerMetadata.location is required")
    if location.get("spreadsheet"):
        return {"locationType": "SPREADSHEET", "spreadsheet": True}
    if "sheetId" in location:
        sheet = ctx.sheet(location["sheetId"], write=False)
        return {"locationType": "SHEET", "sheetId": sheet.sheet_id}
    if "dimensionRange" in location:
        dr = dict(location["dimensionRange"])
        ctx.sheet(dr.get("sheetId", 0), write=False)
        kind = "ROW" if dr.get("dimension") == "ROWS" else "COLUMN"
        return {"locationType": kind, "dimensionRange": dr}
    raise RequestError("developerMetadata.location must name a spreadsheet, sheet or range")


def create_developer_metadata(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """createDeveloperMetadata."""
    given = request.get("developerMetadata") or {}
    if not given.get("metadataKey"):
        raise RequestError("developerMetadata.metadataKey is required")
    visibility = given.get("visibility")
    if visibility not in ("DOCUMENT", "PROJECT"):
        raise RequestError("developerMetadata.visibility must be DOCUMENT or PROJECT")
    wb = ctx.workbook
    mid = int(given.get("metadataId") or 0) or wb.next_metadata_id
    if any(m["metadataId"] == mid for m in wb.developer_metadata):
        raise RequestError(f"Developer metadata with id {mid} already exists.")
    wb.next_metadata_id = max(wb.next_metadata_id, mid) + 1
    item = {
        "metadataId": mid,
        "metadataKey": str(given["metadataKey"]),
        "location": _location(ctx, given.get("location")),
        "visibility": visibility,
    }
    if given.get("metadataValue") is not None:
        item["metadataValue"] = str(given["metadataValue"])
    wb.developer_metadata.append(item)
    return {"createDeveloperMetadata": {"developerMetadata": copy.deepcopy(item)}}


def _matches(item: dict[str, Any], lookup: dict[str, Any]) -> bool:
    if "metadataId" in lookup and item["metadataId"] != int(lookup["metadataId"]):
        return False
    if "metadataKey" in lookup and item["metadataKey"] != lookup["metadataKey"]:
        return False
    if "metadataValue" in lookup and item.get("metadataValue") != lookup["metadataValue"]:
        return False
    return not ("visibility" in lookup and item["visibility"] != lookup["visibility"])


def delete_developer_metadata(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """deleteDeveloperMetadata (by a developerMetadataLookup data filter)."""
    lookup = (request.get("dataFilter") or {}).get("developerMetadataLookup")
    if not isinstance(lookup, dict) or not lookup:
        raise RequestError("dataFilter.developerMetadataLookup is required")
    wb = ctx.workbook
    deleted = [m for m in wb.developer_metadata if _matches(m, lookup)]
    wb.developer_metadata = [m for m in wb.developer_metadata if not _matches(m, lookup)]
    return {"deleteDeveloperMetadata": {"deletedDeveloperMetadata": deleted}}


def update_developer_metadata(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """updateDeveloperMetadata (key, value, visibility by data filters)."""
    given = request.get("developerMetadata") or {}
    paths = _fields(request, given)
    updated = []
    for data_filter in request.get("dataFilters") or []:
        lookup = (data_filter or {}).get("developerMetadataLookup") or {}
        for item in ctx.workbook.developer_metadata:
            if lookup and _matches(item, lookup):
                for path in paths:
                    if path in ("metadataKey", "metadataValue", "visibility"):
                        item[path] = given.get(path)
                    elif path == "location":
                        item["location"] = _location(ctx, given.get("location"))
                updated.append(copy.deepcopy(item))
    return {"updateDeveloperMetadata": {"developerMetadata": updated}}


def sort_range(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """sortRange (rows of the range, by one or more columns)."""
    sheet, b = grid_bounds(ctx, request.get("range"))
    assert b.end_row is not None
    specs = []
    for spec in request.get("sortSpecs") or [{"dimensionIndex": b.start_col}]:
        col = int(spec.get("dimensionIndex", 0))
        if not b.start_col <= col < (b.end_col or sheet.column_count):
            raise RequestError(f"sortSpecs dimensionIndex {col} is outside the range")
        specs.append((col, spec.get("sortOrder", "ASCENDING") != "DESCENDING"))
    if b.start_col != 0 or b.end_col != sheet.column_count:
        raise RequestError("The sandbox sorts whole rows only: the range must span all columns.")
    sheet.sort_rows(b.start_row, b.end_row, specs)
    return {}


def accepted_no_op(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """Requests the sandbox validates but does not model (widths, borders, merges, filters)."""
    for key in ("range", "dimensions"):
        if isinstance(request.get(key), dict):
            ctx.sheet(request[key].get("sheetId", 0), write=False)
    if "sheetId" in request:
        ctx.sheet(request["sheetId"], write=False)
    return {}


HANDLERS: dict[str, Callable[[BatchContext, dict[str, Any]], Reply]] = {
    "addSheet": add_sheet,
    "deleteSheet": delete_sheet,
    "updateSheetProperties": update_sheet_properties,
    "updateSpreadsheetProperties": update_spreadsheet_properties,
    "duplicateSheet": duplicate_sheet,
    "insertDimension": insert_dimension,
    "deleteDimension": delete_dimension,
    "appendDimension": append_dimension,
    "appendCells": append_cells,
    "updateCells": update_cells,
    "repeatCell": repeat_cell,
    "setDataValidation": set_data_validation,
    "addConditionalFormatRule": add_conditional_format_rule,
    "deleteConditionalFormatRule": delete_conditional_format_rule,
    "addProtectedRange": add_protected_range,
    "deleteProtectedRange": delete_protected_range,
    "createDeveloperMetadata": create_developer_metadata,
    "deleteDeveloperMetadata": delete_developer_metadata,
    "updateDeveloperMetadata": update_developer_metadata,
    "sortRange": sort_range,
    "updateDimensionProperties": accepted_no_op,
    "autoResizeDimensions": accepted_no_op,
    "updateBorders": accepted_no_op,
    "mergeCells": accepted_no_op,
    "unmergeCells": accepted_no_op,
    "setBasicFilter": accepted_no_op,
    "clearBasicFilter": accepted_no_op,
}


def batch_update(workbook: Workbook, body: Any, rng: random.Random) -> tuple[Workbook, list[Reply]]:
    """Apply a batch to a copy of ``workbook``; return the new workbook and the replies.

    Raises ApiError (nothing changed) if any request is invalid.
    """
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received.")
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise bad_request("Must specify at least one request.")
    for i, request in enumerate(requests):
        if not isinstance(request, dict) or not request:
            raise bad_request(f"Invalid requests[{i}]: No request set.")
        if len(request) > 1:
            raise bad_request(
                f"Invalid requests[{i}]: oneof field 'kind' is already set. Cannot set "
                f"'{list(request)[1]}'"
            )
        kind = next(iter(request))
        if kind not in HANDLERS:
            raise bad_request(
                f"Invalid JSON payload received. Unknown name \"{kind}\" at 'requests[{i}]': "
                "Cannot find field."
            )
    ctx = BatchContext(workbook.clone(sheets=False), rng, copy_on_write=True)
    replies: list[Reply] = []
    run: RowDeletionRun | None = None
    run_sheet: int | None = None
    for i, request in enumerate(requests):
        kind, payload = next(iter(request.items()))
        sheet_id = _row_deletion_sheet(request)
        if run is not None and sheet_id != run_sheet:
            run.apply()
            run = None
        if run is None and sheet_id is not None:
            following = requests[i + 1] if i + 1 < len(requests) else None
            if _row_deletion_sheet(following) == sheet_id:  # a run of two or more
                run, run_sheet = RowDeletionRun(ctx), sheet_id
        handler = run.add if run is not None else partial(HANDLERS[kind], ctx)
        try:
            if not isinstance(payload, dict):
                raise RequestError("request must be an object")
            replies.append(handler(payload))
            if run is None:  # row deletions never grow the grid
                ctx.check_limits()
        except RequestError as exc:
            raise bad_request(f"Invalid requests[{i}].{kind}: {exc}") from None
        except ApiError as exc:
            raise bad_request(f"Invalid requests[{i}].{kind}: {exc.message}") from None
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise bad_request(f"Invalid requests[{i}].{kind}: {exc}") from None
    if run is not None:
        run.apply()
    return ctx.workbook, replies
