"""Spreadsheet resources as Sheets API v4 JSON: properties, sheets, grid data, cells."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from syncer.sandbox.a1 import Bounds
from syncer.sandbox.formula import workbook_evaluator
from syncer.sandbox.state import Extra, Sheet, Workbook
from syncer.sandbox.values import Value, render_value

DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
    },
}


def sheet_properties(workbook: Workbook, sheet: Sheet) -> dict[str, Any]:
    """A sheet's SheetProperties."""
    grid: dict[str, Any] = {"rowCount": sheet.row_count, "columnCount": sheet.column_count}
    if sheet.frozen_rows:
        grid["frozenRowCount"] = sheet.frozen_rows
    if sheet.frozen_cols:
        grid["frozenColumnCount"] = sheet.frozen_cols
    props: dict[str, Any] = {
        "sheetId": sheet.sheet_id,
        "title": sheet.title,
        "index": workbook.sheets.index(sheet),
        "sheetType": "GRID",
        "gridProperties": grid,
    }
    if sheet.hidden:
        props["hidden"] = True
    if sheet.tab_color:
        props["tabColor"] = copy.deepcopy(sheet.tab_color)
        props["tabColorStyle"] = {"rgbColor": copy.deepcopy(sheet.tab_color)}
    return props


def spreadsheet_properties(workbook: Workbook) -> dict[str, Any]:
    """The SpreadsheetProperties."""
    return {
        "title": workbook.title,
        "locale": workbook.locale,
        "autoRecalc": "ON_CHANGE",
        "timeZone": workbook.time_zone,
        "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
    }


def metadata_json(item: dict[str, Any]) -> dict[str, Any]:
    """A DeveloperMetadata resource (stored items already have Google's shape)."""
    return copy.deepcopy(item)


def extended_value(value: Value, formula: str | None) -> dict[str, Any] | None:
    """An ExtendedValue for a stored value (or formula)."""
    if formula is not None:
        return {"formulaValue": formula}
    if value is None:
        return None
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    return {"numberValue": value}


_ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#ERROR!")


def cell_json(value: Value, extra: Extra | None, computed: Value = None) -> dict[str, Any]:
    """A CellData resource (``computed``: the value of a formula cell)."""
    cell: dict[str, Any] = {}
    formula = extra.formula if extra else None
    entered = extended_value(value, formula)
    if entered is not None:
        cell["userEnteredValue"] = entered
    if formula is not None:
        value = computed
    if formula is not None and isinstance(value, str) and value in _ERROR_CODES:
        cell["effectiveValue"] = {"errorValue": {"type": "ERROR", "message": value}}
        cell["formattedValue"] = value
        effective = None
    else:
        effective = extended_value(value, None)
    if effective is not None:
        cell["effectiveValue"] = effective
        nf = extra.format.get("numberFormat") if extra and extra.format else None
        cell["formattedValue"] = render_value(value, None, nf, "FORMATTED_VALUE", "SERIAL_NUMBER")
    if extra is not None:
        if extra.format:
            cell["userEnteredFormat"] = copy.deepcopy(extra.format)
            effective_format = copy.deepcopy(DEFAULT_FORMAT)
            effective_format.update(copy.deepcopy(extra.format))
            cell["effectiveFormat"] = effective_format
        if extra.note:
            cell["note"] = extra.note
        if extra.validation:
            cell["dataValidation"] = copy.deepcopy(extra.validation)
    return cell


def grid_data(
    sheet: Sheet, bounds: Bounds, evaluate: Callable[[Sheet, int, int], Value] | None = None
) -> dict[str, Any]:
    """A GridData resource for closed bounds; trailing empty rows and cells are left out."""
    assert bounds.end_row is not None
    assert bounds.end_col is not None
    row_data: list[dict[str, Any]] = []
    for r in range(bounds.start_row, bounds.end_row):
        cells: list[dict[str, Any]] = []
        for c in range(bounds.start_col, bounds.end_col):
            extra = sheet.extra(r, c)
            computed = (
                evaluate(sheet, r, c)
                if evaluate is not None and extra is not None and extra.formula is not None
                else None
            )
            cells.append(cell_json(sheet.value(r, c), extra, computed))
        while cells and not cells[-1]:
            cells.pop()
        row_data.append({"values": cells} if cells else {})
    while row_data and not row_data[-1]:
        row_data.pop()
    data: dict[str, Any] = {
        "rowMetadata": [{"pixelSize": 21} for _ in range(bounds.end_row - bounds.start_row)],
        "columnMetadata": [{"pixelSize": 100} for _ in range(bounds.end_col - bounds.start_col)],
    }
    if bounds.start_row:
        data["startRow"] = bounds.start_row
    if bounds.start_col:
        data["startColumn"] = bounds.start_col
    if row_data:
        data["rowData"] = row_data
    return data


def grid_range_json(sheet_id: int, bounds: Bounds) -> dict[str, Any]:
    """A GridRange for bounds (open ends left out, zero starts left out, like Google)."""
    out: dict[str, Any] = {"sheetId": sheet_id}
    if bounds.start_row:
        out["startRowIndex"] = bounds.start_row
    if bounds.end_row is not None:
        out["endRowIndex"] = bounds.end_row
    if bounds.start_col:
        out["startColumnIndex"] = bounds.start_col
    if bounds.end_col is not None:
        out["endColumnIndex"] = bounds.end_col
    return out


def sheet_json(
    workbook: Workbook, sheet: Sheet, data_bounds: list[Bounds] | None
) -> dict[str, Any]:
    """A Sheet resource; ``data_bounds`` (closed) adds GridData."""
    out: dict[str, Any] = {"properties": sheet_properties(workbook, sheet)}
    if data_bounds is not None:
        evaluate = workbook_evaluator(workbook)
        out["data"] = [grid_data(sheet, b, evaluate) for b in data_bounds]
    if sheet.conditional_formats:
        out["conditionalFormats"] = copy.deepcopy(sheet.conditional_formats)
    if sheet.protected_ranges:
        out["protectedRanges"] = copy.deepcopy(sheet.protected_ranges)
    located = [
        metadata_json(m)
        for m in workbook.developer_metadata
        if m["location"].get("sheetId") == sheet.sheet_id
        or m["location"].get("dimensionRange", {}).get("sheetId") == sheet.sheet_id
    ]
    if located:
        out["developerMetadata"] = located
    return out


def spreadsheet_json(
    workbook: Workbook,
    sheets: list[Sheet],
    data: dict[int, list[Bounds]] | None,
    base_url: str,
) -> dict[str, Any]:
    """A Spreadsheet resource (``data``: closed bounds per sheet id when grid data is asked)."""
    out: dict[str, Any] = {
        "spreadsheetId": workbook.spreadsheet_id,
        "properties": spreadsheet_properties(workbook),
        "sheets": [
            sheet_json(workbook, s, None if data is None else data.get(s.sheet_id, []))
            for s in sheets
        ],
        "spreadsheetUrl": f"{base_url}/spreadsheets/d/{workbook.spreadsheet_id}/edit",
    }
    top = [
        metadata_json(m) for m in workbook.developer_metadata if m["location"].get("spreadsheet")
    ]
    if top:
        out["developerMetadata"] = top
    return out
