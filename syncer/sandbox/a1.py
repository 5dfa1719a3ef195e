"""A1 notation: parse ranges like ``'My Sheet'!A2:Z``, ``A:C``, ``2:5``, ``客户`` and format them.

Rows and columns are 0-based here; ends are exclusive; ``None`` means "to the grid's edge".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_COLUMNS = 18278  # column ZZZ
MAX_ROWS = 10_000_000

_ENDPOINT = re.compile(r"([A-Za-z]{1,3})?([0-9]+)?")
_PLAIN_TITLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CELL_LIKE = re.compile(r"[A-Za-z]{1,3}[0-9]+|[A-Za-z]{1,3}|[0-9]+|R[0-9]*C[0-9]*", re.I)


class A1Error(ValueError):
    """The text is not an A1 range."""


@dataclass(frozen=True)
class Bounds:
    """A rectangle of a sheet: 0-based starts, exclusive ends, ``None`` ends are open."""

    start_row: int
    end_row: int | None
    start_col: int
    end_col: int | None

    def clip(self, rows: int, cols: int) -> Bounds:
        """The same rectangle with open ends closed at a grid of ``rows`` x ``cols``."""
        return Bounds(
            self.start_row,
            rows if self.end_row is None else self.end_row,
            self.start_col,
            cols if self.end_col is None else self.end_col,
        )


@dataclass(frozen=True)
class ParsedRange:
    """A parsed A1 range: an optional sheet title and optional bounds (None: whole sheet)."""

    sheet: str | None
    bounds: Bounds | None
    text: str


def column_index(letters: str) -> int:
    """0-based index of a column given by letters (``A`` -> 0, ``AA`` -> 26)."""
    if not letters or not letters.isascii() or not letters.isalpha():
        raise A1Error(f"not a column: {letters!r}")
    index = 0
    for ch in letters.upper():
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def column_letters(index: int) -> str:
    """Column letters for a 0-based index (0 -> ``A``, 26 -> ``AA``)."""
    if index < 0:
        raise A1Error(f"negative column index {index}")
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def quote_title(title: str) -> str:
    """A sheet title as it appears in a range: quoted unless plain (``'My Sheet'``)."""
    if _PLAIN_TITLE.fullmatch(title) and not _CELL_LIKE.fullmatch(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def _split_sheet(text: str) -> tuple[str | None, str]:
    if text.startswith("'"):
        i = 1
        title = []
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    title.append("'")
                    i += 2
                    continue
                rest = text[i + 1 :]
                if rest == "":
                    return "".join(title), ""
                if not rest.startswith("!"):
                    raise A1Error(text)
                return "".join(title), rest[1:]
            title.append(ch)
            i += 1
        raise A1Error(text)
    if "!" in text:
        sheet, _, cells = text.rpartition("!")
        if not sheet:
            raise A1Error(text)
        return sheet, cells
    return None, text


def _endpoint(part: str) -> tuple[int | None, int | None]:
    m = _ENDPOINT.fullmatch(part)
    if not m or not part:
        raise A1Error(part)
    col = column_index(m.group(1)) if m.group(1) else None
    row = int(m.group(2)) - 1 if m.group(2) else None
    if row is not None and not 0 <= row < MAX_ROWS:
        raise A1Error(part)
    if col is not None and col >= MAX_COLUMNS:
        raise A1Error(part)
    return col, row


def parse_cells(cells: str) -> Bounds:
    """Bounds of the cell part of a range (``A1``, ``A1:B2``, ``A:C``, ``A2:Z``, ``2:5``)."""
    first, sep, second = cells.partition(":")
    c1, r1 = _endpoint(first.strip())
    if not sep:
        if c1 is None or r1 is None:
            raise A1Error(cells)
        return Bounds(r1, r1 + 1, c1, c1 + 1)
    c2, r2 = _endpoint(second.strip())
    # A column-only endpoint cannot pair with a row-only one ("A:5").
    if (c1 is None and r2 is None) or (r1 is None and c2 is None):
        raise A1Error(cells)
    if c1 is not None and c2 is not None and c2 < c1:
        c1, c2 = c2, c1
    if r1 is not None and r2 is not None and r2 < r1:
        r1, r2 = r2, r1
    return Bounds(
        start_row=r1 if r1 is not None else 0,
        end_row=r2 + 1 if r2 is not None else None,
        start_col=c1 if c1 is not None else 0,
        end_col=c2 + 1 if c2 is not None else None,
    )


def parse_range(text: str) -> ParsedRange:
    """Parse a range. Text without ``!`` that is not a cell range is taken as a sheet title."""
    if not text or not text.strip():
        raise A1Error(text)
    sheet, cells = _split_sheet(text)
    if sheet is None:
        try:
            return ParsedRange(None, parse_cells(cells), text)
        except A1Error:
            return ParsedRange(cells, None, text)
    if cells == "":
        return ParsedRange(sheet, None, text)
    return ParsedRange(sheet, parse_cells(cells), text)


def format_bounds(bounds: Bounds) -> str:
    """The cell part of a closed rectangle (``A1`` or ``A1:C3``)."""
    if bounds.end_row is None or bounds.end_col is None:
        raise A1Error("open bounds cannot be formatted as a closed rectangle")
    first = f"{column_letters(bounds.start_col)}{bounds.start_row + 1}"
    last = f"{column_letters(bounds.end_col - 1)}{bounds.end_row}"
    if bounds.end_row - bounds.start_row == 1 and bounds.end_col - bounds.start_col == 1:
        return first
    return f"{first}:{last}"


def format_range(title: str, bounds: Bounds) -> str:
    """A full range with a (quoted when needed) sheet title: ``'My Sheet'!A1:C3``."""
    return f"{quote_title(title)}!{format_bounds(bounds)}"
