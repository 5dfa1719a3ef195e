"""Finding a tab's header row, skipping merged title rows (pure).

A header is the first row, among the first :data:`LOOK` rows, that names at least two
columns and at least half as many as the widest row nearby, holds only text (no
numbers, no dates), and is not covered by a merged range three or more columns wide
(the ``客户信息管理_销售部_2024`` title row of the common template).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from syncer.a1 import column_letter
from syncer.infer.grid import Block, TabGrid
from syncer.model import CellValue, canonical, is_blank
from syncer.values import parse_date, parse_number

#: Rows searched for the header.
LOOK = 15
#: Rows looked at to learn how wide the table is.
WIDTH_ROWS = 60


@dataclass(frozen=True)
class HeaderGuess:
    """The header's 1-based sheet row and why."""

    row: int
    reason: str
    review: bool = False


def _filled(row: Sequence[CellValue]) -> list[CellValue]:
    return [v for v in row if not is_blank(v)]


def _title_merge(merges: Sequence[Block], r: int, row: Sequence[CellValue]) -> Block | None:
    """A merge at least 3 columns wide covering row ``r`` and holding a filled cell."""
    for block in merges:
        if not block.covers_row(r) or (block.width is not None and block.width < 3):
            continue
        if any(block.covers_col(c) for c, v in enumerate(row) if not is_blank(v)):
            return block
    return None


def _looks_like_data(value: CellValue) -> bool:
    if not isinstance(value, str):
        return True
    return parse_number(value) is not None or parse_date(value) is not None


def _shown(value: CellValue, limit: int = 30) -> str:
    text = canonical(value).strip().replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def find_header(tab: TabGrid) -> HeaderGuess | None:
    """The header row of ``tab``; None when the tab has no rows at all."""
    rows = tab.rows
    if not any(_filled(r) for r in rows[:LOOK]):
        return None
    widest = max(len(_filled(r)) for r in rows[:WIDTH_ROWS])
    skipped: list[str] = []
    for r, row in enumerate(rows[:LOOK]):
        filled = _filled(row)
        merge = _title_merge(tab.merges, r, row)
        if merge is not None:
            end = "" if merge.end_col is None else column_letter(merge.end_col - 1)
            where = f"{column_letter(merge.start_col)}{r + 1}:{end}{r + 1}"
            skipped.append(f"row {r + 1} is a merged title ({where}: {_shown(filled[0])})")
            continue
        if not filled:
            skipped.append(f"row {r + 1} is blank")
            continue
        data_like = sum(1 for v in filled if _looks_like_data(v))
        if len(filled) < max(2, widest / 2) or data_like * 5 > len(filled):
            what = "a title" if len(filled) == 1 else "not a header"
            skipped.append(f"row {r + 1} is {what} ({_shown(filled[0])})")
            continue
        if r == 0:
            return HeaderGuess(1, f"the first row names {len(filled)} columns")
        return HeaderGuess(r + 1, "; ".join(skipped))
    first = next(r for r, row in enumerate(rows[:LOOK]) if _filled(row))
    return HeaderGuess(
        first + 1, "REVIEW: no row looks like a header; using the first non-blank row", True
    )
