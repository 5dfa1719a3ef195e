"""CellData written by batchUpdate (updateCells, repeatCell, appendCells): the masked
fields of one cell, and the fast path for rows of plain values."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from syncer.sandbox.batch_context import RequestError
from syncer.sandbox.fieldmask import mask_paths, parse_mask
from syncer.sandbox.limits import CELL_CHARS_MESSAGE, MAX_CELL_CHARS
from syncer.sandbox.state import Sheet
from syncer.sandbox.values import normalize_number


def set_cell(sheet: Sheet, row: int, col: int, cell: dict[str, Any], paths: list[str]) -> None:
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
            current = sheet.extra(row, col)
            if not given and (current is None or not current.format):
                continue  # clearing a format the cell does not have
            if path == "userEnteredFormat":
                sheet.update_extra(row, col, format=copy.deepcopy(given) or None)
            else:
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


def cell_paths(request: dict[str, Any]) -> list[str]:
    fields = request.get("fields")
    if not fields:
        raise RequestError("At least one field must be updated, but 'fields' is empty.")
    if fields == "*":
        return ["userEnteredValue", "userEnteredFormat", "note", "dataValidation"]
    return list(_mask(str(fields)))


def plain_value(cell: Any) -> Any:
    """The stored value of a CellData holding only a plain userEnteredValue, else NOT_PLAIN."""
    if not cell:
        return None
    entered = cell.get("userEnteredValue") if isinstance(cell, dict) else NOT_PLAIN
    if not entered:
        return None if entered is None or entered == {} else NOT_PLAIN
    if not isinstance(entered, dict) or "formulaValue" in entered:
        return NOT_PLAIN
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


NOT_PLAIN: Any = object()


def append_plain_row(sheet: Sheet, row: int, values: list[Any]) -> bool:
    """Write a row of plain values below the used rows by replacing its row list at once
    (those rows hold no values or formulas); False if a cell needs the general path."""
    line = [plain_value(cell) for cell in values]
    if any(v is NOT_PLAIN for v in line):
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
