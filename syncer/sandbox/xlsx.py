"""Workbooks to and from .xlsx (openpyxl) and CSV: seeding the sandbox and files.export."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.comments import Comment

from syncer.sandbox.a1 import Bounds
from syncer.sandbox.formula import workbook_evaluator
from syncer.sandbox.state import DEFAULT_COLS, DEFAULT_ROWS, Sheet, Workbook
from syncer.sandbox.values import Parsed, from_serial, typed_to_parsed

_DATE_TYPES = ("DATE", "TIME", "DATE_TIME")


def _parsed_from_excel(cell: Any) -> Parsed:
    """A cell of an .xlsx file as a stored cell: only a formula cell (``<f>``) is a
    formula; a text cell starting with ``=`` stays text, as Google imports it."""
    value = cell.value
    if cell.data_type == "f":
        text = getattr(value, "text", value)  # an array formula holds its text
        return typed_to_parsed(text if isinstance(text, str) else str(value), formula=True)
    return typed_to_parsed(value, formula=False, midnight_is_date=True)


def sheets_from_xlsx(path: Path, first_id: int, next_id: Any) -> list[Sheet]:
    """Sheets read from an .xlsx file (values, formulas, dates, comments as notes)."""
    book = openpyxl.load_workbook(path, data_only=False)
    sheets: list[Sheet] = []
    for index, ws in enumerate(book.worksheets):
        sheet = Sheet(
            first_id if index == 0 else next_id(),
            ws.title,
            max(DEFAULT_ROWS, ws.max_row),
            max(DEFAULT_COLS, ws.max_column),
        )
        for r, row in enumerate(ws.iter_rows()):
            for c, cell in enumerate(row):
                parsed = _parsed_from_excel(cell)
                if parsed.value is not None or parsed.formula is not None:
                    sheet.write(r, c, parsed)
                if cell.comment is not None and cell.comment.text:
                    sheet.set_note(r, c, cell.comment.text)
        sheet.frozen_rows = (ws.freeze_panes and ws[ws.freeze_panes].row - 1) or 0
        sheets.append(sheet)
    return sheets


def to_xlsx(workbook: Workbook) -> bytes:
    """The workbook as .xlsx bytes (files.export)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet in workbook.sheets:
        ws = book.create_sheet(sheet.title[:31])
        for r in range(sheet.stored_rows()):
            cells = sheet.rows[r] if r < len(sheet.rows) else []
            extras = sheet.extras.get(r, {})
            for c in range(max(len(cells), max(extras, default=-1) + 1)):
                value = cells[c] if c < len(cells) else None
                ex = extras.get(c)
                target = ws.cell(row=r + 1, column=c + 1)
                nf = (ex.format or {}).get("numberFormat") if ex else None
                if ex is not None and ex.formula is not None:
                    target.value = ex.formula
                elif (
                    nf
                    and nf.get("type") in _DATE_TYPES
                    and isinstance(value, int | float)
                    and not isinstance(value, bool)
                ):
                    target.value = from_serial(value)
                    target.number_format = str(nf.get("pattern", "yyyy-mm-dd"))
                elif isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
                    target.value = value
                    target.data_type = "s"
                else:
                    target.value = value
                if ex is not None and ex.note:
                    target.comment = Comment(ex.note, "syncer sandbox")
        if sheet.frozen_rows:
            ws.freeze_panes = ws.cell(row=sheet.frozen_rows + 1, column=1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_csv(workbook: Workbook) -> bytes:
    """The first sheet as CSV of formatted values (files.export, like Google)."""
    sheet = workbook.sheets[0]
    evaluate = workbook_evaluator(workbook)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    grid = Bounds(0, sheet.row_count, 0, sheet.column_count)
    for line in sheet.render(grid, "FORMATTED_VALUE", "SERIAL_NUMBER", evaluate):
        writer.writerow(line)
    return out.getvalue().encode("utf-8")
