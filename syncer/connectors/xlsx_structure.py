"""Deleting worksheet rows with everything addressed by row.

openpyxl's ``Worksheet.delete_rows`` shifts cells only: merged ranges, row heights and
hidden/outline flags, page breaks, conditional formats, data validations, the
auto-filter, tables and hyperlink anchors stay at their old row numbers and end up over
other rows. Here they move with their rows, as in Google Sheets: a range keeps exactly
the surviving rows it covered (see :mod:`syncer.connectors.xlsx_rows`). A
conditional-format formula is re-anchored to its range's new top-left cell (relative
references follow the range).
Comments need nothing: openpyxl anchors them at their cell when it saves. Not
rewritten: formulas in cells and absolute references (``$C$2``) to moved rows, print
areas, print titles and defined names (ledgers do not use them for customer rows).
"""

from __future__ import annotations

from typing import Any

from openpyxl.formatting.formatting import ConditionalFormatting, ConditionalFormattingList
from openpyxl.formula.tokenizer import TokenizerError
from openpyxl.formula.translate import Translator
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.worksheet.cell_range import MultiCellRange

from syncer.connectors.xlsx_rows import shift_range, shift_ranges, shift_row


def delete_run(ws: Any, start: int, count: int) -> None:
    """Delete sheet rows ``start``..``start+count-1`` of ``ws`` and move its structure."""
    merges = _unmerge_from(ws, start)
    ws.delete_rows(start, count)
    for coord in merges:
        moved = shift_range(coord, start, count)
        if moved is not None and ":" in moved:
            ws.merge_cells(moved)
    _move_row_dimensions(ws, start, count)
    _move_conditional_formats(ws, start, count)
    _move_validations(ws, start, count)
    _move_filters_and_tables(ws, start, count)
    _reanchor_hyperlinks(ws, start)


def _unmerge_from(ws: Any, start: int) -> list[str]:
    """Unmerge every merged range reaching row ``start`` or below; their coordinates.
    (A merge's hidden cells must not be shifted as cells: it is re-made after.)"""
    affected = [str(r.coord) for r in ws.merged_cells.ranges if r.max_row >= start]
    for coord in affected:
        ws.unmerge_cells(coord)
    return affected


def _move_row_dimensions(ws: Any, start: int, count: int) -> None:
    """Heights, hidden and outline flags and page breaks follow their rows; deleted
    rows' go."""
    dims = ws.row_dimensions
    for old in sorted(k for k in list(dims.keys()) if k >= start):
        dim = dims.pop(old)
        new = shift_row(old, start, count)
        if new is not None:
            dim.index = new
            dims[new] = dim
    breaks = []
    for brk in ws.row_breaks.brk:
        row = shift_row(int(brk.id or 0), start, count)
        if row is not None:
            brk.id = row
            breaks.append(brk)
    ws.row_breaks.brk = breaks


def _move_conditional_formats(ws: Any, start: int, count: int) -> None:
    """Each conditional format's ranges shrink or move; one left with no rows goes."""
    moved = ConditionalFormattingList()
    for cf in ws.conditional_formatting:
        old = str(cf.sqref)
        new = shift_ranges(old, start, count)
        if not new:
            continue
        delta = _top_row(new) - _top_row(old)
        for rule in cf.rules:
            if delta and rule.formula:
                rule.formula = [_reanchor(f, old, delta) for f in rule.formula]
            moved._cf_rules.setdefault(_cf_key(new, cf), []).append(rule)
    moved.max_priority = ws.conditional_formatting.max_priority
    ws.conditional_formatting = moved


def _cf_key(sqref: str, like: Any) -> Any:
    """A ConditionalFormatting for ``sqref`` carrying ``like``'s pivot flag."""
    return ConditionalFormatting(sqref=sqref, pivot=like.pivot)


def _top_row(sqref: str) -> int:
    """The first row of an sqref's first range (1 for whole columns)."""
    _, min_row, _, _ = range_boundaries(sqref.split()[0].replace("$", ""))
    return int(min_row or 1)


def _reanchor(formula: str, sqref: str, delta: int) -> str:
    """``formula``'s relative references moved ``delta`` rows with its range's top."""
    min_col, min_row, _, _ = range_boundaries(sqref.split()[0].replace("$", ""))
    origin = f"{_col(min_col)}{min_row or 1}"
    dest = f"{_col(min_col)}{(min_row or 1) + delta}"
    try:
        return str(Translator("=" + formula, origin=origin).translate_formula(dest))[1:]
    except TokenizerError:
        return formula  # a formula openpyxl cannot parse is kept as a person wrote it


def _col(index: int | None) -> str:
    """A column letter (``A`` for whole rows)."""
    return str(get_column_letter(index or 1))


def _move_validations(ws: Any, start: int, count: int) -> None:
    """Each data validation's ranges shrink or move; one left with no rows goes."""
    dvs = ws.data_validations.dataValidation
    kept = []
    for dv in dvs:
        new = shift_ranges(str(dv.sqref), start, count)
        if new:
            dv.sqref = MultiCellRange(new)
            kept.append(dv)
    ws.data_validations.dataValidation = kept


def _move_filters_and_tables(ws: Any, start: int, count: int) -> None:
    """The auto-filter and each table's range follow their rows."""
    if ws.auto_filter.ref:
        ws.auto_filter.ref = shift_range(ws.auto_filter.ref, start, count)
    for name in list(ws.tables.keys()):
        table = ws.tables[name]
        ref = shift_range(table.ref, start, count)
        if ref is None or ":" not in ref:
            del ws.tables[name]  # its header and rows are gone: Excel drops it too
            continue
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        if max_row == min_row and table.headerRowCount:
            # Excel keeps one (empty) data row under a table's header
            ref = f"{_col(min_col)}{min_row}:{_col(max_col)}{min_row + 1}"
        table.ref = ref
        if table.autoFilter is not None and table.autoFilter.ref:
            table.autoFilter.ref = shift_range(table.autoFilter.ref, start, count)


def _reanchor_hyperlinks(ws: Any, start: int) -> None:
    """A hyperlink is anchored by coordinate: point moved cells' links at their cells."""
    for (row, _), cell in ws._cells.items():
        link = getattr(cell, "_hyperlink", None)
        if row >= start and link is not None:
            link.ref = cell.coordinate
