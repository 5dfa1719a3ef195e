"""What ``syncer init`` reads from a spreadsheet, whatever it came from.

A :class:`SourceBook` holds every tab as typed rows (``rows[0]`` is sheet row 1, values as
the connectors deliver them), plus the little structure inference needs: merged ranges,
data-validation rules (already resolved: a dropdown over a range lists that range's
values) and number-format kinds of the sampled cells. The readers
(:mod:`~syncer.infer.xlsx_source`, :mod:`~syncer.infer.google_source`) fill it; the
pure inference works on it alone. Coordinates are 0-based, end-exclusive, like a Sheets
``GridRange``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from syncer.a1 import column_index
from syncer.model import CellValue, canonical, is_blank

ValidationKind = Literal[
    "list", "range", "number", "integer", "text_length", "date", "boolean", "email", "url"
]
#: Number-format kinds, as the Sheets API names them (``CURRENCY``, ``DATE`` …).
FormatKind = Literal["DATE", "DATE_TIME", "TIME", "CURRENCY", "PERCENT", "NUMBER", "TEXT"]


@dataclass(frozen=True)
class Validation:
    """A data-validation rule as inference sees it.

    ``list``/``range`` carry the allowed ``values`` (``source`` names the range of a range
    rule); ``number``/``integer`` carry bounds; ``text_length`` carries ``maximum``.
    """

    kind: ValidationKind
    values: tuple[str, ...] = ()
    source: str = ""
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Block:
    """A rectangle of cells (0-based, end-exclusive; ``None`` ends are open)."""

    start_row: int
    end_row: int | None
    start_col: int
    end_col: int | None

    def covers_row(self, row: int) -> bool:
        """True when sheet row index ``row`` (0-based) is inside the block."""
        return self.start_row <= row and (self.end_row is None or row < self.end_row)

    def covers_col(self, col: int) -> bool:
        """True when column index ``col`` (0-based) is inside the block."""
        return self.start_col <= col and (self.end_col is None or col < self.end_col)

    @property
    def width(self) -> int | None:
        """Columns spanned (None when open to the right)."""
        return None if self.end_col is None else self.end_col - self.start_col


@dataclass(frozen=True)
class RuleRange:
    """A validation rule applied to a block of cells."""

    validation: Validation
    block: Block


@dataclass(frozen=True)
class CellFormat:
    """The number-format kind of one sampled cell."""

    row: int
    col: int
    kind: FormatKind


@dataclass(frozen=True)
class TabGrid:
    """One tab: its rows and what the sheet says about them."""

    title: str
    rows: tuple[tuple[CellValue, ...], ...]
    merges: tuple[Block, ...] = ()
    validations: tuple[RuleRange, ...] = ()
    formats: tuple[CellFormat, ...] = ()
    hidden: bool = False


@dataclass(frozen=True)
class SourceBook:
    """A whole spreadsheet as read by ``syncer init``.

    ``kind`` is the connector (``xlsx`` / ``google``), ``ref`` what the user gave (path,
    id or URL); ``calls`` counts the API calls (or file loads) the read made.
    """

    kind: Literal["xlsx", "google"]
    ref: str
    title: str
    tabs: tuple[TabGrid, ...]
    time_zone: str | None = None
    calls: Mapping[str, int] = field(default_factory=dict)

    def tab(self, title: str) -> TabGrid | None:
        """The tab named ``title``, or None."""
        return next((t for t in self.tabs if t.title == title), None)


# --- ranges named by validation rules ---------------------------------------------------

_SHEET_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!(.+)$")


def split_reference(text: str, default_tab: str) -> tuple[str, str]:
    """``'字典'!$A$2:$A$8`` → (``字典``, ``$A$2:$A$8``); a bare range is on ``default_tab``."""
    text = text.strip().lstrip("=").strip()
    found = _SHEET_REF.match(text)
    if found is None:
        return default_tab, text
    tab = found.group(1).replace("''", "'") if found.group(1) is not None else found.group(2)
    return tab.strip(), found.group(3)


_A1 = re.compile(r"([A-Z]{0,3})(\d{0,7})(?::([A-Z]{0,3})(\d{0,7}))?")


def block_of(a1: str) -> Block | None:
    """A1 text (``$A$2:$A$8``, ``A:A``, ``A2:A``, ``B3``) → a Block, or None when it does
    not parse. A single cell is a 1×1 block; open ends stay open."""
    found = _A1.fullmatch(a1.replace("$", "").strip().upper())
    if found is None:
        return None
    col1, row1, col2, row2 = found.groups()
    if not col1 and not row1:
        return None
    if col2 is None and row2 is None:  # one cell (or a bare column / row)
        col2, row2 = col1, row1
    start_col = column_index(col1) if col1 else 0
    end_col = column_index(col2) + 1 if col2 else None
    start_row = int(row1) - 1 if row1 else 0
    end_row = int(row2) if row2 else None
    if start_row < 0 or (end_col is not None and end_col <= start_col):
        return None
    if end_row is not None and end_row <= start_row:
        return None
    return Block(start_row, end_row, start_col, end_col)


def values_in(rows: Sequence[Sequence[CellValue]], block: Block) -> tuple[str, ...]:
    """The distinct non-empty texts of ``block`` in ``rows``, in sheet order."""
    found: dict[str, None] = {}
    end_row = len(rows) if block.end_row is None else min(block.end_row, len(rows))
    for r in range(block.start_row, end_row):
        row = rows[r]
        end_col = len(row) if block.end_col is None else min(block.end_col, len(row))
        for c in range(block.start_col, end_col):
            value = row[c]
            if not is_blank(value):
                found.setdefault(canonical(value).strip(), None)
    return tuple(found)


def resolve_range(
    reference: str,
    default_tab: str,
    tabs: Mapping[str, Sequence[Sequence[CellValue]]],
) -> Validation | None:
    """A ``range`` validation listing the values of ``reference``; None when it cannot be
    resolved (an unknown tab, a range that does not parse, or no values there)."""
    tab, a1 = split_reference(reference, default_tab)
    rows = tabs.get(tab)
    block = block_of(a1)
    if rows is None or block is None:
        return None
    values = values_in(rows, block)
    if not values:
        return None
    shown = f"{tab}!{a1.replace('$', '')}"
    return Validation("range", values=values, source=shown)
