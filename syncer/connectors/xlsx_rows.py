"""Where a workbook's row-addressed ranges go when rows are deleted.

Pure functions, used by :class:`syncer.connectors.xlsx.WorksheetBook` to move merged
ranges, conditional formats, data validations, filters and tables with their rows, as
Google Sheets does for a ``deleteDimension``: a range keeps exactly the surviving rows
it covered, shrinks when some of its rows go, and disappears when all of them go.
Whole-column ranges (``C:C``) are not affected by deleting rows.
"""

from __future__ import annotations

from openpyxl.utils.cell import get_column_letter, range_boundaries


def shift_row(row: int, start: int, count: int) -> int | None:
    """Where sheet row ``row`` is after deleting rows ``start``..``start+count-1``
    (``None`` when it is one of them)."""
    if row < start:
        return row
    if row < start + count:
        return None
    return row - count


def shift_span(lo: int, hi: int, start: int, count: int) -> tuple[int, int] | None:
    """The rows ``lo``..``hi`` after deleting ``count`` rows from ``start``: the span of
    the rows that survive (they stay contiguous), or ``None`` when none survive."""
    end = start + count - 1
    if hi < start:
        return lo, hi
    if lo > end:
        return lo - count, hi - count
    new_lo = lo if lo < start else start
    new_hi = hi - count if hi > end else start - 1
    if new_hi < new_lo:
        return None
    return new_lo, new_hi


def shift_range(coord: str, start: int, count: int) -> str | None:
    """An A1 range (``B3:D9``, ``C7``, ``C:C``, ``4:9``) after deleting rows; ``None``
    when all its rows are deleted."""
    min_col, min_row, max_col, max_row = range_boundaries(coord.replace("$", ""))
    if min_row is None or max_row is None:
        return coord  # whole columns: deleting rows leaves them whole
    span = shift_span(min_row, max_row, start, count)
    if span is None:
        return None
    lo, hi = span
    if min_col is None or max_col is None:
        return f"{lo}:{hi}"  # whole rows
    first = f"{get_column_letter(min_col)}{lo}"
    last = f"{get_column_letter(max_col)}{hi}"
    return first if first == last else f"{first}:{last}"


def shift_ranges(sqref: str, start: int, count: int) -> str:
    """A space-separated list of ranges (an ``sqref``) after deleting rows; ranges that
    lose all their rows are dropped, so the result may be empty."""
    kept = (shift_range(part, start, count) for part in sqref.split())
    return " ".join(part for part in kept if part is not None)


def runs(rows: set[int] | list[int] | tuple[int, ...]) -> list[tuple[int, int]]:
    """Rows to delete as ``(start, count)`` runs of contiguous rows, highest first, so
    that deleting them in order never moves a run not yet deleted."""
    ordered = sorted(set(rows), reverse=True)
    out: list[tuple[int, int]] = []
    for row in ordered:
        if out and out[-1][0] == row + 1:
            out[-1] = (row, out[-1][1] + 1)
        else:
            out.append((row, 1))
    return out
