"""Sheet properties as batchUpdate writes them (addSheet, updateSheetProperties): titles,
index, visibility, tab colour, grid size and frozen rows/columns, by field mask."""

from __future__ import annotations

import copy
from typing import Any

from syncer.sandbox.batch_context import BatchContext, RequestError
from syncer.sandbox.fieldmask import mask_paths, parse_mask
from syncer.sandbox.state import Sheet


def title_free(ctx: BatchContext, title: str, ignore: Sheet | None = None) -> None:
    """Fail unless ``title`` is a usable name no other sheet has (case-insensitive)."""
    if not title or not title.strip():
        raise RequestError("Sheet name cannot be empty.")
    for sheet in ctx.workbook.sheets:
        if sheet is not ignore and sheet.title.lower() == title.lower():
            raise RequestError(
                f'A sheet with the name "{title}" already exists. Please enter another name.'
            )


def apply_properties(
    ctx: BatchContext, sheet: Sheet, props: dict[str, Any], paths: list[str]
) -> None:
    """Write the ``paths`` of ``props`` (SheetProperties) onto ``sheet``."""
    grid = props.get("gridProperties") or {}
    for path in paths:
        if path == "title":
            title_free(ctx, str(props.get("title", "")), ignore=sheet)
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


def all_paths(props: dict[str, Any]) -> list[str]:
    """Every field path set in ``props`` (as the mask ``*`` means)."""
    paths = [k for k in props if k != "gridProperties"]
    paths += [f"gridProperties.{k}" for k in props.get("gridProperties") or {}]
    return paths


def fields_of(request: dict[str, Any], source: dict[str, Any]) -> list[str]:
    """The field paths a request's ``fields`` mask names (``*``: all set in ``source``)."""
    fields = request.get("fields")
    if not fields:
        raise RequestError("At least one field must be updated, but 'fields' is empty.")
    if fields == "*":
        return all_paths(source)
    return mask_paths(parse_mask(str(fields)))
