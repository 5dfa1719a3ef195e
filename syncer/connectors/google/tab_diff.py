"""Pure: the requests that make a robot-owned tab (the errors tab) show new content
by difference, so that a cycle that changed four findings writes four lines.

The tab as read is compared with the content wanted as a read would show it after the
write (:func:`as_read`); only the blocks of cells that differ are written
(:func:`replace_requests`). The errors tab lists findings in row order: when rows are
archived, their lines leave and every line below moves up, so positionally each of
those lines differs from the one read at its place. Lines are therefore matched first
(:func:`match_lines`) — equal but for the columns that follow the rows they describe
(``shifting``: the row number, a message naming rows) — and the tab is brought there by
deleting the lines that left and inserting the new ones; then only the cells that
really changed are written. Matching is greedy and keeps the order of both sides (each
new line takes the first unmatched read line equal to it after the last one matched),
which finds every match when lines only come and go in an ordered list; the cheapest
of a full rewrite, the positional difference and the matched one is sent.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from syncer.connectors.google.cells import row_data
from syncer.connectors.google.read import parse_cell, parse_values
from syncer.model import CellValue, Table, canonical

#: Cells whose read-back :func:`parse_values` gives (text, numbers, booleans, empty).
_PLAIN = frozenset({str, int, float, bool, type(None)})
#: What one more request costs in a write, in cells (its range and framing in the body).
REQUEST_CELLS = 4


class _Never:
    """A value no read ever gives: a cell whose read-back syncer cannot predict."""

    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0


_NEVER: Any = _Never()


def as_read(value: CellValue) -> Any:
    """What a read (UNFORMATTED_VALUE, dates FORMATTED_STRING, typed by
    :func:`~syncer.connectors.google.read.parse_cell`) shows after ``value`` was written
    into a cell with ``fields=userEnteredValue`` (as a tab rewrite does); :data:`_NEVER`
    when that depends on the cell's format (dates are written as bare serial numbers)."""
    kind = value.__class__
    if kind is str:
        return parse_cell(value)
    if value is None or kind is bool or kind is int or kind is float:
        return value
    if isinstance(value, date):  # a date format may or may not be on the cell already
        return _NEVER
    return parse_cell(str(value))


def _same_cells(read: Sequence[Any], shown: Sequence[CellValue]) -> bool:
    """True when a row read as ``shown`` equals ``read`` (as_read values), type-strict."""
    # C-level comparisons: the values (1 == 1.0 == True), then their types
    return (
        len(read) == len(shown)
        and tuple(read) == tuple(shown)
        and list(map(type, read)) == list(map(type, shown))
    )


def _read_back(new: Sequence[CellValue]) -> list[Any]:
    """What a read shows after ``new`` (a row) is written, trailing empties dropped
    (see :func:`as_read`)."""
    plain = all(v.__class__ in _PLAIN for v in new)
    read: list[Any] = parse_values(new) if plain else [as_read(v) for v in new]
    end = len(read)
    while end and read[end - 1] is None:
        end -= 1
    return read[:end] if end < len(read) else read


def _changed_span(read: Sequence[Any], shown: Sequence[CellValue]) -> tuple[int, int] | None:
    """The 0-based column span ``[lo, hi)`` where a row to write, as a read will show it
    (``read``: :func:`_read_back`), differs from ``shown`` (its place as read), or None
    when writing it changes nothing a read shows."""
    if _same_cells(read, shown):
        return None
    n, m = len(read), len(shown)
    after = [*read, *[None] * (m - n)] if n < m else read  # both as long as the longer
    before = [*shown, *[None] * (n - m)] if m < n else shown
    width = max(n, m)
    lo = 0
    while lo < width and after[lo].__class__ is before[lo].__class__ and after[lo] == before[lo]:
        lo += 1
    if lo == width:
        return None
    hi = width
    while after[hi - 1].__class__ is before[hi - 1].__class__ and after[hi - 1] == before[hi - 1]:
        hi -= 1
    return lo, hi


def _blocks(
    backs: Sequence[Sequence[Any]], shown: Sequence[Sequence[Any]]
) -> tuple[list[list[int]], int]:
    """The blocks ``[first row, last row, lo, hi]`` (0-based, ``hi`` exclusive) whose
    cells differ between the rows to write, as a read will show them (``backs``), and
    ``shown`` (what each row's place reads now), runs of consecutive lines merged while
    a merged block costs no more than separate requests; and what writing them costs,
    in cells."""
    runs: list[list[int]] = []
    for r, back in enumerate(backs):
        span = _changed_span(back, shown[r] if r < len(shown) else ())
        if span is None:
            continue
        lo, hi = span
        if runs and runs[-1][1] == r - 1 and (runs[-1][2], runs[-1][3]) == span:
            runs[-1][1] = r
        else:
            runs.append([r, r, lo, hi])
    blocks: list[list[int]] = []
    for first, last, lo, hi in runs:  # merge neighbouring runs while that is cheaper
        if blocks:
            bfirst, blast, blo, bhi = blocks[-1]
            alone = (blast - bfirst + 1) * (bhi - blo) + (last - first + 1) * (hi - lo)
            merged = (last - bfirst + 1) * (max(hi, bhi) - min(lo, blo))
            if merged <= alone + REQUEST_CELLS:
                blocks[-1] = [bfirst, last, min(lo, blo), max(hi, bhi)]
                continue
        blocks.append([first, last, lo, hi])
    return blocks, sum((b[1] - b[0] + 1) * (b[3] - b[2]) + REQUEST_CELLS for b in blocks)


def _runs(indexes: Sequence[int]) -> list[tuple[int, int]]:
    """Ascending indexes as ``(first, count)`` runs of consecutive ones."""
    out: list[tuple[int, int]] = []
    for i in indexes:
        if out and i == out[-1][0] + out[-1][1]:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((i, 1))
    return out


def _dimension(kind: str, sheet_id: int, start: int, count: int) -> dict[str, Any]:
    """An ``insertDimension`` or ``deleteDimension`` of ``count`` rows from row index
    ``start`` (0-based)."""
    rng = {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": start, "endIndex": start + count}
    return {kind: {"range": rng}}


def replace_requests(
    sheet_id: int,
    grid_rows: int,
    grid_cols: int,
    old: Table | None,
    rows: Sequence[Sequence[CellValue]],
    shifting: Sequence[int] = (),
) -> list[dict[str, Any]]:
    """The requests that make a robot-owned tab show ``rows`` (header first).

    A full rewrite is one ``updateCells`` over the whole grid. When the tab was read
    (``old``, header on row 1), only the cells whose read would change are written —
    blocks of consecutive lines over the columns that differ (:func:`_blocks`) — plus
    one clearing the lines past the new end; the header line is always written.

    Given ``shifting`` columns, when lines left or came between others, the lines are
    matched first, ignoring those columns (:func:`match_lines`): the lines that left are
    deleted, blank rows inserted for those that came, and the cells written by
    difference against the read line now at each place. The tab then reads exactly as
    after a full rewrite; the cheapest of the three ways is sent.
    """

    def full() -> list[dict[str, Any]]:
        return [
            {
                "updateCells": {
                    "range": {
                        "sheetId": sheet_id,
                        "startRowIndex": 0,
                        "endRowIndex": grid_rows,
                        "startColumnIndex": 0,
                        "endColumnIndex": grid_cols,
                    },
                    "rows": [row_data(r) for r in rows],
                    "fields": "userEnteredValue",
                }
            }
        ]

    if old is None or old.header_row != 1:
        return full()
    width = max([1, *(len(r) for r in rows)])
    full_cost = len(rows) * width + REQUEST_CELLS
    # Never equal to what is written, even to an unpredictable cell (a comparison of
    # sequences takes the same object as equal): the header line is always written.
    header: Sequence[Any] = tuple(_Never() for _ in range(max(len(old.header), 1)))
    shown = [header, *old.rows]
    backs = [_read_back(r) for r in rows]  # each row as a read will show it
    moves: list[dict[str, Any]] = []
    end, clear = 0, False
    matched = match_lines(old.rows, backs[1:], shifting) if shifting else None
    # Deleting rows must leave the grid a row below the header (Google refuses to
    # delete every row that is not frozen).
    if matched is None or grid_rows - len(matched.gone) <= 1:
        blocks, cost = _blocks(backs, shown)
        end = len(shown)
        while end > len(rows) and not any(v is not None for v in shown[end - 1]):
            end -= 1
        clear = end > len(rows)
        cost += REQUEST_CELLS if clear else 0
    else:  # positionally, every line after the first that left or came would differ
        blocks, cost = _blocks(backs, [header, *matched.shown])
        gone, inserted = _runs(matched.gone), _runs(matched.inserted)
        cost += REQUEST_CELLS * (len(gone) + len(inserted) + 1)
        if cost < full_cost:
            moves = [
                *(_dimension("deleteDimension", sheet_id, 1 + i, n) for i, n in reversed(gone)),
                *(_dimension("insertDimension", sheet_id, 1 + j, n) for j, n in inserted),
            ]
            # The grid keeps its size (``grid_rows``, which holds every line): blank rows
            # are added at its end, or blank rows past its end removed.
            net = len(matched.inserted) - len(matched.gone)
            if net < 0:
                moves.append(
                    {"appendDimension": {"sheetId": sheet_id, "dimension": "ROWS", "length": -net}}
                )
            elif net > 0:
                moves.append(_dimension("deleteDimension", sheet_id, grid_rows, net))
    if cost >= full_cost:
        return full()
    out: list[dict[str, Any]] = moves
    for first, last, lo, hi in blocks:
        data = [
            row_data([rows[r][c] if c < len(rows[r]) else None for c in range(lo, hi)])
            for r in range(first, last + 1)
        ]
        out.append(
            {
                "updateCells": {
                    "range": {
                        "sheetId": sheet_id,
                        "startRowIndex": first,
                        "endRowIndex": last + 1,
                        "startColumnIndex": lo,
                        "endColumnIndex": hi,
                    },
                    "rows": data,
                    "fields": "userEnteredValue",
                }
            }
        )
    if clear:
        out.append(
            {
                "updateCells": {
                    "range": {
                        "sheetId": sheet_id,
                        "startRowIndex": len(rows),
                        "endRowIndex": min(end, grid_rows),
                        "startColumnIndex": 0,
                        "endColumnIndex": grid_cols,
                    },
                    "fields": "userEnteredValue",
                }
            }
        )
    return out


def same_content(table: Table, rows: Sequence[Sequence[CellValue]]) -> bool:
    """True when a tab read as ``table`` already shows ``rows`` (header first), compared
    as canonical text without trailing empty cells or rows. Stops at the first
    difference: a tab that lost or gained lines costs no comparison at all."""
    current = [table.header, *table.rows]
    n = _content_rows(current)
    if n != _content_rows(rows):
        return False
    return all(_texts(a) == _texts(b) for a, b in zip(current[:n], rows[:n], strict=True))


def _texts(row: Sequence[CellValue]) -> list[str]:
    out = [canonical(v) for v in row]
    while out and not out[-1]:
        out.pop()
    return out


def _content_rows(rows: Sequence[Sequence[CellValue]]) -> int:
    """How many of ``rows`` are left once trailing rows of empty cells are dropped."""
    n = len(rows)
    while n and not any(canonical(v) for v in rows[n - 1]):
        n -= 1
    return n


@dataclass(frozen=True)
class LineMatch:
    """How read lines become wanted lines (indexes count data lines, from 0).

    ``gone``: read lines to delete (ascending); ``inserted``: wanted lines to insert as
    new blank rows before writing them (ascending; each one before some matched line);
    ``shown``: for each wanted line, the read line that will sit at its place once
    ``gone`` are deleted and ``inserted`` inserted (``()`` for a line that will be blank).
    """

    gone: list[int]
    inserted: list[int]
    shown: list[Sequence[Any]]


def _kept(shifting: Sequence[int]) -> list[slice]:
    """The slices of a line that leave out the ``shifting`` columns."""
    cuts, start = [], 0
    for c in sorted(set(shifting)):
        if c > start:
            cuts.append(slice(start, c))
        start = c + 1
    return [*cuts, slice(start, None)]


def _line_key(values: Sequence[Any], kept: Sequence[slice]) -> tuple[Any, ...]:
    """A line's values (as read, trailing empties dropped) but for the shifting
    columns. (Equal values of different types, ``1`` and ``1.0``, only match two lines:
    the cells written after are compared type-strict.)"""
    line, key = tuple(values), ()
    for cut in kept:
        key += line[cut]
    return key


def match_lines(
    read: Sequence[Sequence[Any]], wanted: Sequence[Sequence[Any]], shifting: Sequence[int]
) -> LineMatch | None:
    """The matching of ``wanted`` lines (as a read will show them: :func:`_read_back`)
    with ``read`` lines (see the module doc); None when no line left or came in between
    others, so positions already line up. The lines up to the first that differs are
    their own partners."""
    same = 0
    while same < min(len(read), len(wanted)) and _same_cells(wanted[same], read[same]):
        same += 1
    kept = _kept(shifting)
    where: dict[tuple[Any, ...], list[int]] = {}
    for i in range(same, len(read)):
        where.setdefault(_line_key(read[i], kept), []).append(i)
    last = same - 1
    partner: list[int | None] = list(range(same))
    for line in wanted[same:]:
        places = where.get(_line_key(line, kept))
        found: int | None = None
        if places:
            at = bisect_right(places, last)
            if at < len(places):
                found = last = places[at]
        partner.append(found)
    matched = {i for i in partner if i is not None}
    gone = [i for i in range(len(read)) if i not in matched]
    last_wanted = max((j for j, i in enumerate(partner) if i is not None), default=-1)
    inserted = [j for j, i in enumerate(partner) if i is None and j < last_wanted]
    if not gone and not inserted:
        return None
    shown: list[Sequence[Any]] = [() if i is None else read[i] for i in partner]
    return LineMatch(gone, inserted, shown)
