"""Google's hard limits, checked before any write (pure).

Google refuses a whole ``batchUpdate`` that would make a sheet wider than 18,278
columns, a spreadsheet larger than 10,000,000 cells, or a cell longer than 50,000
characters. :func:`over_limits` finds the operations of a plan that would do that, so the
engine drops them with a reason naming the limit — and the rest of the cycle (say, the
archive) still goes through — instead of the batch failing as a whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import chain

from syncer.connectors.google.builders import SheetMeta
from syncer.model import (
    AddColumn,
    AppendRow,
    CellValue,
    Dropped,
    EnsureTab,
    MoveRow,
    Operation,
    Plan,
    ReplaceTab,
    SetCell,
    Snapshot,
)

MAX_COLUMNS = 18_278
MAX_CELLS = 10_000_000
MAX_CELL_CHARS = 50_000
#: The grid Google gives a new tab (rows, columns).
NEW_TAB = (1000, 26)


def _too_long(values: Iterable[CellValue]) -> bool:
    # the texts picked out first, their lengths taken at C speed (a ReplaceTab of the
    # errors tab has ~100k cells at 100k rows)
    texts = [v for v in values if isinstance(v, str)]
    return max(map(len, texts), default=0) > MAX_CELL_CHARS


def over_limits(plan: Plan, snapshot: Snapshot, meta: Mapping[str, SheetMeta]) -> list[Dropped]:
    """The operations of ``plan`` that would break one of Google's limits, with why."""
    dropped: list[Dropped] = []
    cells = sum(m.rows * m.cols for m in meta.values())
    width = {name: len(t.header) for name, t in snapshot.tables.items()}
    grid = {name: (m.rows, m.cols) for name, m in meta.items()}
    refused_columns: set[tuple[str, str]] = set()

    def drop(op: Operation, why: str) -> None:
        dropped.append(Dropped(op, f"{why}; it was not written"))

    for op in plan:
        if isinstance(op, EnsureTab) and op.tab not in grid:
            rows, cols = NEW_TAB[0], max(NEW_TAB[1], len(op.header))
            if cells + rows * cols > MAX_CELLS:
                drop(
                    op,
                    f"creating tab {op.tab!r} would exceed Google's limit of 10,000,000"
                    " cells per spreadsheet",
                )
                continue
            cells += rows * cols
            grid[op.tab] = (rows, cols)
            width[op.tab] = len(op.header)
        elif isinstance(op, AddColumn):
            rows, cols = grid.get(op.tab, NEW_TAB)
            need = width.get(op.tab, 0) + 1
            if need > MAX_COLUMNS:
                refused_columns.add((op.tab, op.column))
                drop(
                    op,
                    f"adding column {op.column!r} to {op.tab!r} would exceed Google's"
                    f" limit of {MAX_COLUMNS:,} columns per sheet",
                )
                continue
            grow = max(0, need - cols) * rows
            if cells + grow > MAX_CELLS:
                refused_columns.add((op.tab, op.column))
                drop(
                    op,
                    f"adding column {op.column!r} to {op.tab!r} would exceed Google's"
                    " limit of 10,000,000 cells per spreadsheet",
                )
                continue
            cells += grow
            width[op.tab] = need
            grid[op.tab] = (rows, max(cols, need))
        elif isinstance(op, SetCell):
            if (op.tab, op.column) in refused_columns:
                drop(op, f"column {op.column!r} of {op.tab!r} could not be added")
            elif _too_long([op.value]):
                drop(
                    op,
                    f"the value for {op.tab}!{op.column} is longer than Google's limit of"
                    f" {MAX_CELL_CHARS:,} characters per cell",
                )
        elif isinstance(op, MoveRow | AppendRow):
            tab = op.history_tab if isinstance(op, MoveRow) else op.tab
            values = [v for _, v in op.values]
            if _too_long(values):
                drop(
                    op,
                    f"a value of this row is longer than Google's limit of"
                    f" {MAX_CELL_CHARS:,} characters per cell",
                )
                continue
            rows, cols = grid.get(tab, NEW_TAB)
            if cells + cols > MAX_CELLS:
                drop(
                    op,
                    f"appending to {tab!r} would exceed Google's limit of 10,000,000"
                    " cells per spreadsheet",
                )
                continue
            cells += cols
            grid[tab] = (rows + 1, cols)
        elif isinstance(op, ReplaceTab) and _too_long(chain.from_iterable(op.rows)):
            drop(
                op,
                f"a cell of {op.tab!r} is longer than Google's limit of"
                f" {MAX_CELL_CHARS:,} characters per cell",
            )
    return dropped
