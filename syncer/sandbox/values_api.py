"""The spreadsheets.values endpoints: get, batchGet, update, batchUpdate, append, clear."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from syncer.sandbox.a1 import A1Error, Bounds, column_letters, format_range, parse_range
from syncer.sandbox.errors import bad_request
from syncer.sandbox.formula import workbook_evaluator
from syncer.sandbox.limits import (
    CELL_CHARS_MESSAGE,
    CELLS_MESSAGE,
    COLUMNS_MESSAGE,
    MAX_CELLS,
    MAX_COLUMNS,
    too_long,
)
from syncer.sandbox.state import Sheet, Workbook
from syncer.sandbox.values import (
    DATE_TIME_RENDER_OPTIONS,
    VALUE_INPUT_OPTIONS,
    VALUE_RENDER_OPTIONS,
    DateTimeRenderOption,
    ValueInputOption,
    ValueRenderOption,
    parse_input,
)

Params = Mapping[str, list[str]]


@dataclass(frozen=True)
class Target:
    """A range resolved against a workbook: its sheet and closed bounds."""

    sheet: Sheet
    bounds: Bounds  # closed
    anchor: bool  # a single cell given as the start of a write (data may extend from it)
    text: str
    workbook: Workbook | None = None  # for formulas that refer to other cells


def grid_error(sheet: Sheet, bounds: Bounds) -> Exception:
    """The 400 Google answers for a range outside the grid."""
    return bad_request(
        f"Range ({format_range(sheet.title, bounds)}) exceeds grid limits. "
        f"Max rows: {sheet.row_count}, max columns: {sheet.column_count}"
    )


def resolve(workbook: Workbook, text: str) -> Target:
    """Resolve an A1 range; unknown sheets and bad syntax answer ``Unable to parse range``."""
    try:
        parsed = parse_range(text)
    except A1Error:
        raise bad_request(f"Unable to parse range: {text}") from None
    if parsed.sheet is None:
        titled = workbook.sheet_by_title(text)
        if titled is not None:
            sheet, bounds = titled, None
        else:
            sheet, bounds = workbook.sheets[0], parsed.bounds
    else:
        found = workbook.sheet_by_title(parsed.sheet)
        if found is None:
            raise bad_request(f"Unable to parse range: {text}")
        sheet, bounds = found, parsed.bounds
    if bounds is None:
        whole = Bounds(0, sheet.row_count, 0, sheet.column_count)
        return Target(sheet, whole, False, text, workbook)
    closed = bounds.clip(sheet.row_count, sheet.column_count)
    anchor = bounds.end_row == bounds.start_row + 1 and bounds.end_col == bounds.start_col + 1
    assert closed.end_row is not None
    assert closed.end_col is not None
    if (
        closed.end_row > sheet.row_count
        or closed.end_col > sheet.column_count
        or (closed.start_row >= sheet.row_count or closed.start_col >= sheet.column_count)
    ):
        raise grid_error(sheet, closed)
    return Target(sheet, closed, anchor, text, workbook)


def _one(params: Params, name: str, default: str | None = None) -> str | None:
    values = params.get(name)
    return values[0] if values else default


def _option(params: Params, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = _one(params, name, default) or default
    if value not in allowed:
        raise bad_request(f"Invalid value at '{_snake(name)}' ({_type_name(name)}), \"{value}\"")
    return value


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name)


def _type_name(name: str) -> str:
    return {
        "valueRenderOption": "type.googleapis.com/google.apps.sheets.v4.ValueRenderOption",
        "dateTimeRenderOption": "type.googleapis.com/google.apps.sheets.v4.DateTimeRenderOption",
        "valueInputOption": "type.googleapis.com/google.apps.sheets.v4.ValueInputOption",
        "majorDimension": "type.googleapis.com/google.apps.sheets.v4.Dimension",
        "insertDataOption": "type.googleapis.com/google.apps.sheets.v4.InsertDataOption",
    }.get(name, "TYPE_ENUM")


def _transpose(rows: list[list[Any]]) -> list[list[Any]]:
    width = max((len(r) for r in rows), default=0)
    cols = [[r[c] if c < len(r) else "" for r in rows] for c in range(width)]
    for col in cols:
        while col and col[-1] == "":
            col.pop()
    while cols and not cols[-1]:
        cols.pop()
    return cols


def read_range(
    target: Target, render: ValueRenderOption, date_render: DateTimeRenderOption, major: str
) -> dict[str, Any]:
    """A ValueRange for a resolved target."""
    evaluate = workbook_evaluator(target.workbook) if target.workbook is not None else None
    rows = target.sheet.render(target.bounds, render, date_render, evaluate)
    if major == "COLUMNS":
        rows = _transpose(rows)
    out: dict[str, Any] = {
        "range": format_range(target.sheet.title, target.bounds),
        "majorDimension": major,
    }
    if rows:
        out["values"] = rows
    return out


def _read_options(params: Params) -> tuple[ValueRenderOption, DateTimeRenderOption, str]:
    render = _option(params, "valueRenderOption", VALUE_RENDER_OPTIONS, "FORMATTED_VALUE")
    date_render = _option(params, "dateTimeRenderOption", DATE_TIME_RENDER_OPTIONS, "SERIAL_NUMBER")
    major = _option(params, "majorDimension", ("ROWS", "COLUMNS", "DIMENSION_UNSPECIFIED"), "ROWS")
    return (
        cast(ValueRenderOption, render),
        cast(DateTimeRenderOption, date_render),
        "ROWS" if major == "DIMENSION_UNSPECIFIED" else major,
    )


def values_get(workbook: Workbook, range_text: str, params: Params) -> dict[str, Any]:
    """spreadsheets.values.get."""
    render, date_render, major = _read_options(params)
    return read_range(resolve(workbook, range_text), render, date_render, major)


def values_batch_get(workbook: Workbook, params: Params) -> dict[str, Any]:
    """spreadsheets.values.batchGet."""
    render, date_render, major = _read_options(params)
    targets = [resolve(workbook, text) for text in params.get("ranges", [])]
    out: dict[str, Any] = {"spreadsheetId": workbook.spreadsheet_id}
    if targets:
        out["valueRanges"] = [read_range(t, render, date_render, major) for t in targets]
    return out


# -- writes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """A validated write: where, and the rows (row-major) to put there."""

    target: Target
    rows: list[list[Any]]
    option: ValueInputOption
    bounds: Bounds  # closed: exactly the rectangle written


def _rows_of(body: Mapping[str, Any], where: str) -> list[list[Any]]:
    values = body.get("values", [])
    if values is None:
        values = []
    if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
        raise bad_request(
            f"Invalid value at '{where}values' (type.googleapis.com/google.protobuf.ListValue)"
        )
    for row in values:
        for cell in row:
            if isinstance(cell, dict | list):
                raise bad_request(
                    f"Invalid values[{values.index(row)}][{row.index(cell)}]: "
                    f"{'struct_value' if isinstance(cell, dict) else 'list_value'} {cell}"
                )
        if too_long(row):
            # Google names the data entry of a batch: "Invalid data[4]: Your input …"
            raise bad_request(
                f"Invalid {where[:-1]}: {CELL_CHARS_MESSAGE}" if where else CELL_CHARS_MESSAGE
            )
    major = body.get("majorDimension", "ROWS") or "ROWS"
    if major not in ("ROWS", "COLUMNS", "DIMENSION_UNSPECIFIED"):
        raise bad_request(f"Invalid value at '{where}major_dimension', \"{major}\"")
    if major == "COLUMNS":
        width = max((len(c) for c in values), default=0)
        values = [[c[r] if r < len(c) else None for c in values] for r in range(width)]
    return cast(list[list[Any]], values)


def plan_write(
    workbook: Workbook,
    range_text: str,
    body: Mapping[str, Any],
    option: ValueInputOption,
    where: str = "",
) -> Write:
    """Validate one write completely (range, shape, grid) without changing anything."""
    body_range = body.get("range")
    if body_range and body_range != range_text:
        raise bad_request(
            f"Requested range [{range_text}] and the range in the request body "
            f"[{body_range}] must be the same."
        )
    target = resolve(workbook, range_text)
    rows = _rows_of(body, where)
    height = len(rows)
    width = max((len(r) for r in rows), default=0)
    b = target.bounds
    assert b.end_row is not None
    assert b.end_col is not None
    if not target.anchor:
        if height > b.end_row - b.start_row:
            raise bad_request(
                f"Requested writing within range [{range_text}], but tried writing to row "
                f"[{b.start_row + height}]"
            )
        if width > b.end_col - b.start_col:
            raise bad_request(
                f"Requested writing within range [{range_text}], but tried writing to column "
                f"[{column_letters(b.start_col + width - 1)}]"
            )
    written = Bounds(
        b.start_row, b.start_row + max(height, 1), b.start_col, b.start_col + max(width, 1)
    )
    sheet = target.sheet
    assert written.end_row is not None
    assert written.end_col is not None
    if written.end_row > sheet.row_count or written.end_col > sheet.column_count:
        raise grid_error(sheet, written)
    return Write(target, rows, option, written)


def apply_write(write: Write) -> dict[str, Any]:
    """Perform a validated write; returns the UpdateValuesResponse counts."""
    sheet = write.target.sheet
    b = write.bounds
    cells = 0
    width = 0
    for i, row in enumerate(write.rows):
        for j, raw in enumerate(row):
            if raw is None:
                continue
            sheet.write(b.start_row + i, b.start_col + j, parse_input(raw, write.option))
            cells += 1
        width = max(width, len(row))
    out: dict[str, Any] = {"updatedRange": format_range(sheet.title, b)}
    if cells:
        out.update(
            updatedRows=sum(1 for r in write.rows if any(v is not None for v in r)),
            updatedColumns=width,
            updatedCells=cells,
        )
    return out


def _input_option(value: Any) -> ValueInputOption:
    if value not in VALUE_INPUT_OPTIONS:
        if value in (None, "", "INPUT_VALUE_OPTION_UNSPECIFIED"):
            raise bad_request("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        raise bad_request(
            f"Invalid value at 'value_input_option' ({_type_name('valueInputOption')}), \"{value}\""
        )
    return cast(ValueInputOption, value)


def _with_response_values(
    out: dict[str, Any], write: Write, include: bool, params: Mapping[str, Any]
) -> dict[str, Any]:
    if include:
        render = params.get("responseValueRenderOption") or "FORMATTED_VALUE"
        date_render = params.get("responseDateTimeRenderOption") or "SERIAL_NUMBER"
        if render not in VALUE_RENDER_OPTIONS or date_render not in DATE_TIME_RENDER_OPTIONS:
            raise bad_request("Invalid response render option")
        render = cast(ValueRenderOption, render)
        date_render = cast(DateTimeRenderOption, date_render)
        target = Target(
            write.target.sheet, write.bounds, False, write.target.text, write.target.workbook
        )
        out["updatedData"] = read_range(target, render, date_render, "ROWS")
    return out


def values_update(
    workbook: Workbook, range_text: str, params: Params, body: Mapping[str, Any]
) -> dict[str, Any]:
    """spreadsheets.values.update."""
    option = _input_option(_one(params, "valueInputOption"))
    write = plan_write(workbook, range_text, body, option)
    out = {"spreadsheetId": workbook.spreadsheet_id, **apply_write(write)}
    flat = {k: v[0] for k, v in params.items() if v}
    return _with_response_values(out, write, flat.get("includeValuesInResponse") == "true", flat)


def values_batch_update(workbook: Workbook, body: Mapping[str, Any]) -> dict[str, Any]:
    """spreadsheets.values.batchUpdate: every range validated before any is written."""
    option = _input_option(body.get("valueInputOption"))
    data = body.get("data") or []
    if not isinstance(data, list):
        raise bad_request("Invalid value at 'data'")
    writes = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not item.get("range"):
            raise bad_request(f"Invalid data[{i}]: range is required")
        writes.append(plan_write(workbook, item["range"], item, option, f"data[{i}]."))
    responses = []
    include = bool(body.get("includeValuesInResponse"))
    for write in writes:
        out = {"spreadsheetId": workbook.spreadsheet_id, **apply_write(write)}
        responses.append(_with_response_values(out, write, include, body))
    result: dict[str, Any] = {"spreadsheetId": workbook.spreadsheet_id}
    written = [r for r in responses if r.get("updatedCells")]
    if written:
        result.update(
            totalUpdatedRows=sum(r["updatedRows"] for r in written),
            totalUpdatedColumns=sum(r["updatedColumns"] for r in written),
            totalUpdatedCells=sum(r["updatedCells"] for r in written),
            totalUpdatedSheets=len(
                {
                    w.target.sheet.sheet_id
                    for w, r in zip(writes, responses, strict=True)
                    if r.get("updatedCells")
                }
            ),
        )
    if responses:
        result["responses"] = responses
    return result


def _table(sheet: Sheet, bounds: Bounds, single: bool) -> tuple[int, int, int, int] | None:
    """(first row, end row, first column, end column) of the first table in bounds, if any.

    A table is a run of consecutive rows with content in the searched columns. A multi-cell
    range is searched for its first such row; a single cell only finds a table when that
    cell itself has content (so appending at an empty ``A5`` writes at A5, as gspread's
    ``insert_rows`` and ``insert_cols`` rely on), spanning to the grid's right edge.
    """
    assert bounds.end_row is not None
    assert bounds.end_col is not None
    if single and not sheet.has_content(bounds.start_row, bounds.start_col):
        return None
    c0 = bounds.start_col
    c1 = sheet.column_count if single else bounds.end_col
    last = bounds.start_row + 1 if single else bounds.end_row
    first = next(
        (
            r
            for r in range(bounds.start_row, min(last, sheet.stored_rows()))
            if sheet.row_filled(r, c0, c1)
        ),
        None,
    )
    if first is None:
        return None
    end = first
    while end < sheet.row_count and sheet.row_filled(end, c0, c1):
        end += 1
    left, right = c1, c0
    for r in range(first, end):
        span = sheet.row_span(r, c0, c1)
        if span is not None:
            left, right = min(left, span[0]), max(right, span[1])
    return first, end, left, right


def values_append(
    workbook: Workbook, range_text: str, params: Params, body: Mapping[str, Any]
) -> dict[str, Any]:
    """spreadsheets.values.append: find the table in the range, write below it, grow the grid."""
    option = _input_option(_one(params, "valueInputOption"))
    insert = _option(params, "insertDataOption", ("OVERWRITE", "INSERT_ROWS"), "OVERWRITE")
    target = resolve(workbook, range_text)
    rows = _rows_of(body, "")
    sheet = target.sheet
    table = _table(sheet, target.bounds, target.anchor)
    if table is None:
        start_row, start_col = target.bounds.start_row, target.bounds.start_col
    else:
        start_row, start_col = table[1], table[2]
    height = max(len(rows), 1)
    width = max(max((len(r) for r in rows), default=0), 1)
    extra_rows = max(0, start_row + height - sheet.row_count)
    extra_cols = max(0, start_col + width - sheet.column_count)
    added = height if insert == "INSERT_ROWS" else extra_rows
    if sheet.column_count + extra_cols > MAX_COLUMNS:
        raise bad_request(COLUMNS_MESSAGE)
    if (
        workbook.cell_count()
        + added * (sheet.column_count + extra_cols)
        + (extra_cols * sheet.row_count)
        > MAX_CELLS
    ):
        raise bad_request(CELLS_MESSAGE)
    if insert == "INSERT_ROWS" and rows:
        if start_row < sheet.row_count:
            sheet.insert_rows(start_row, height)
        else:
            sheet.row_count += height
    elif extra_rows:
        sheet.row_count += extra_rows
    if extra_cols:
        sheet.column_count += extra_cols
    written = Bounds(start_row, start_row + height, start_col, start_col + width)
    write = Write(Target(sheet, written, False, range_text, workbook), rows, option, written)
    updates = {"spreadsheetId": workbook.spreadsheet_id, **apply_write(write)}
    out: dict[str, Any] = {"spreadsheetId": workbook.spreadsheet_id}
    if table is not None:
        out["tableRange"] = format_range(
            sheet.title, Bounds(table[0], table[1], table[2], table[3])
        )
    flat = {k: v[0] for k, v in params.items() if v}
    out["updates"] = _with_response_values(
        updates, write, flat.get("includeValuesInResponse") == "true", flat
    )
    return out


def values_clear(workbook: Workbook, range_text: str) -> dict[str, Any]:
    """spreadsheets.values.clear: values and formulas go, formats and notes stay."""
    target = resolve(workbook, range_text)
    target.sheet.clear_values(target.bounds)
    return {
        "spreadsheetId": workbook.spreadsheet_id,
        "clearedRange": format_range(target.sheet.title, target.bounds),
    }


def values_batch_clear(workbook: Workbook, body: Mapping[str, Any]) -> dict[str, Any]:
    """spreadsheets.values.batchClear: all ranges resolved before any is cleared."""
    ranges = body.get("ranges") or []
    if not isinstance(ranges, list):
        raise bad_request("Invalid value at 'ranges'")
    targets = [resolve(workbook, str(text)) for text in ranges]
    for target in targets:
        target.sheet.clear_values(target.bounds)
    out: dict[str, Any] = {"spreadsheetId": workbook.spreadsheet_id}
    if targets:
        out["clearedRanges"] = [format_range(t.sheet.title, t.bounds) for t in targets]
    return out


# -- batchGetByDataFilter -------------------------------------------------------------------


def _grid_range_target(workbook: Workbook, grid: Mapping[str, Any], where: str) -> Target:
    """Resolve a GridRange (``sheetId`` and optional 0-based, end-exclusive indexes)."""
    try:
        sheet_id = int(grid.get("sheetId", 0))
        indexes = {
            name: (None if grid.get(name) is None else int(grid[name]))
            for name in ("startRowIndex", "endRowIndex", "startColumnIndex", "endColumnIndex")
        }
    except (TypeError, ValueError):
        raise bad_request(f"Invalid {where}.gridRange: indexes must be integers") from None
    sheet = workbook.sheet_by_id(sheet_id)
    if sheet is None:
        raise bad_request(f"Invalid {where}: No grid with id: {sheet_id}")
    start_row = indexes["startRowIndex"] or 0
    start_col = indexes["startColumnIndex"] or 0
    end_row = sheet.row_count if indexes["endRowIndex"] is None else indexes["endRowIndex"]
    end_col = sheet.column_count if indexes["endColumnIndex"] is None else indexes["endColumnIndex"]
    if min(start_row, start_col) < 0 or end_row < start_row or end_col < start_col:
        raise bad_request(f"Invalid {where}.gridRange: start index after end index")
    bounds = Bounds(start_row, end_row, start_col, end_col)
    if end_row > sheet.row_count or end_col > sheet.column_count:
        raise grid_error(sheet, bounds)
    return Target(sheet, bounds, False, format_range(sheet.title, bounds), workbook)


def _filter_target(workbook: Workbook, data_filter: Any, where: str) -> Target:
    if not isinstance(data_filter, Mapping):
        raise bad_request(f"Invalid JSON payload received. {where} must be an object.")
    kinds = [k for k in ("a1Range", "gridRange", "developerMetadataLookup") if k in data_filter]
    if len(kinds) != 1:
        raise bad_request(f"Invalid {where}: exactly one of a1Range, gridRange must be set")
    if kinds[0] == "a1Range":
        return resolve(workbook, str(data_filter["a1Range"]))
    if kinds[0] == "gridRange":
        grid = data_filter["gridRange"]
        if not isinstance(grid, Mapping):
            raise bad_request(
                f"Invalid JSON payload received. {where}.gridRange must be an object."
            )
        return _grid_range_target(workbook, grid, where)
    raise bad_request(
        f"Invalid {where}: developerMetadataLookup filters are not supported by the sandbox"
    )


def values_batch_get_by_data_filter(workbook: Workbook, body: Mapping[str, Any]) -> dict[str, Any]:
    """spreadsheets.values.batchGetByDataFilter (``a1Range`` and ``gridRange`` filters).

    Options come in the JSON body; each answer carries the filter that selected it.
    """
    options = {
        name: [str(body[name])]
        for name in ("majorDimension", "valueRenderOption", "dateTimeRenderOption")
        if body.get(name) is not None
    }
    render, date_render, major = _read_options(options)
    filters = body.get("dataFilters") or []
    if not isinstance(filters, list):
        raise bad_request("Invalid JSON payload received. 'data_filters' must be a list.")
    targets = [_filter_target(workbook, f, f"dataFilters[{i}]") for i, f in enumerate(filters)]
    out: dict[str, Any] = {"spreadsheetId": workbook.spreadsheet_id}
    if targets:
        out["valueRanges"] = [
            {"valueRange": read_range(t, render, date_render, major), "dataFilters": [f]}
            for t, f in zip(targets, filters, strict=True)
        ]
    return out
