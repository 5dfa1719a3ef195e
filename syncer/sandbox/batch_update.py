"""spreadsheets.batchUpdate: every request applied to a copy; the copy replaces the original
only if all of them succeed (all or nothing), with one reply per request.

One handler per request kind, gathered in :data:`HANDLERS`; what they share is in
``batch_context.py`` and the cell writes of updateCells/repeatCell/appendCells in
``cell_data.py``. After each request the workbook must still be within Google's limits.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from functools import partial
from typing import Any

from syncer.sandbox.a1 import Bounds
from syncer.sandbox.batch_context import BatchContext, Reply, RequestError, grid_bounds
from syncer.sandbox.cell_data import append_plain_row, cell_paths, set_cell
from syncer.sandbox.errors import ApiError, bad_request
from syncer.sandbox.protection import ProtectedEdit, check_request
from syncer.sandbox.sheet_props import all_paths, apply_properties, fields_of, title_free
from syncer.sandbox.sheets_json import sheet_properties
from syncer.sandbox.state import DEFAULT_COLS, DEFAULT_ROWS, Sheet, Workbook

__all__ = ["HANDLERS", "BatchContext", "RequestError", "batch_update", "grid_bounds"]


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
    title_free(ctx, str(title))
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
    apply_properties(ctx, sheet, rest, all_paths(rest))
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
    apply_properties(ctx, sheet, props, fields_of(request, props))
    return {}


def update_spreadsheet_properties(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """updateSpreadsheetProperties (title, locale, timeZone)."""
    props = request.get("properties") or {}
    for path in fields_of(request, props):
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
    title_free(ctx, twin.title)
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


def update_cells(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """updateCells (``start`` or ``range``), writing only the masked fields."""
    paths = cell_paths(request)
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
            set_cell(sheet, b.start_row + i, b.start_col + j, cell or {}, paths)
    return {}


def repeat_cell(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """repeatCell: one CellData's masked fields over a whole range."""
    paths = cell_paths(request)
    sheet, b = grid_bounds(ctx, request.get("range"))
    assert b.end_row is not None
    assert b.end_col is not None
    cell = request.get("cell") or {}
    for r in range(b.start_row, b.end_row):
        for c in range(b.start_col, b.end_col):
            set_cell(sheet, r, c, cell, paths)
    return {}


def append_cells(ctx: BatchContext, request: dict[str, Any]) -> Reply:
    """appendCells: rows written after the last row with data, growing the grid."""
    paths = cell_paths(request)
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
    plain = "userEnteredValue" in paths
    rest = [p for p in paths if p != "userEnteredValue"]
    for i, row in enumerate(rows):
        values = row.get("values") or []
        if plain and append_plain_row(sheet, start + i, values):
            # Below the used rows: the values are in; the other masked fields only matter
            # where a cell gives them or has extras to clear.
            for j, cell in enumerate(values if rest else ()):
                given = bool(cell) and any(k != "userEnteredValue" for k in cell)
                if given or sheet.extra(start + i, j) is not None:
                    set_cell(sheet, start + i, j, cell or {}, rest)
            continue
        for j, cell in enumerate(values):
            set_cell(sheet, start + i, j, cell or {}, paths)
    return {}


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
            set_cell(sheet, r, c, {"dataValidation": rule}, ["dataValidation"])
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
    asked = protected.get("range")
    sheet, _ = grid_bounds(ctx, asked)  # checked against the grid …
    assert isinstance(asked, dict)
    # … but kept as asked: an open end covers rows and columns added later, as in Google
    # (zero starts left out, like Google).
    starts, ends = ("startRowIndex", "startColumnIndex"), ("endRowIndex", "endColumnIndex")
    kept = {k: int(asked[k]) for k in starts if asked.get(k)}
    kept |= {k: int(asked[k]) for k in ends if asked.get(k) is not None}
    protected["range"] = {"sheetId": sheet.sheet_id, **kept}
    if not kept and any(set(pr["range"]) == {"sheetId"} for pr in sheet.protected_ranges):
        raise RequestError(f'Sheet "{sheet.title}" already has sheet protection.')
    protected["protectedRangeId"] = ctx.workbook.next_protected_id
    ctx.workbook.next_protected_id += 1
    if not protected.get("warningOnly"):
        # Google lists the owner and whoever adds the protection as its editors.
        users = [ctx.workbook.owner, *([ctx.user] if ctx.user else [])]
        protected.setdefault("editors", {"users": list(dict.fromkeys(users))})
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
    paths = fields_of(request, given)
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


#: Request kinds that can grow a grid (checked against Google's limits after each).
GROWING = frozenset(
    {
        "addSheet",
        "updateSheetProperties",
        "duplicateSheet",
        "insertDimension",
        "appendDimension",
        "appendCells",
    }
)


def batch_update(
    workbook: Workbook, body: Any, rng: random.Random, user: str | None = None
) -> tuple[Workbook, list[Reply]]:
    """Apply a batch to a copy of ``workbook``; return the new workbook and the replies.

    Raises ApiError (nothing changed) if any request is invalid, or if one would edit a
    range protected from ``user`` (see ``protection.py``).
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
    ctx = BatchContext(workbook.clone(sheets=False), rng, copy_on_write=True, user=user)
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
            check_request(ctx.workbook, kind, payload, user)
            replies.append(handler(payload))
            if kind in GROWING:
                ctx.check_limits()
        except RequestError as exc:
            raise bad_request(f"Invalid requests[{i}].{kind}: {exc}") from None
        except ProtectedEdit:
            raise
        except ApiError as exc:
            raise bad_request(f"Invalid requests[{i}].{kind}: {exc.message}") from None
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise bad_request(f"Invalid requests[{i}].{kind}: {exc}") from None
    if run is not None:
        run.apply()
    return ctx.workbook, replies
