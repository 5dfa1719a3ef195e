"""The common tutorial approach to the same job, for the benchmark baseline.

Given the plan syncer computed for a cycle, apply it the way most gspread scripts do:
read each tab with ``get_all_values()``, then one ``update_cell`` per annotation or
timestamp, and for each archived row one ``append_row`` to the history tab followed by
one ``delete_rows`` on the main tab (bottom-up, so earlier deletions do not shift later
ones). The errors tab is cleared and rewritten with ``update``. Nothing is guarded.

``max_ops`` bounds the run (the naive script at 1k+ rows needs minutes under a 60/min
quota); the caller extrapolates from the operations it did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gspread

from syncer.model import (
    AddColumn,
    CellValue,
    EnsureTab,
    MoveRow,
    Plan,
    ReplaceTab,
    SetCell,
    Snapshot,
    canonical,
)


@dataclass
class NaiveResult:
    """How many plan operations the naive script applied, of how many."""

    done: int
    total: int


def _text(value: CellValue) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return canonical(value)


def naive_read(client: gspread.Client, spreadsheet_id: str, tabs: Sequence[str]) -> None:
    """What tutorials do to read: open the spreadsheet, ``get_all_values`` per tab."""
    sh = client.open_by_key(spreadsheet_id)
    titles = {ws.title for ws in sh.worksheets()}
    for tab in tabs:
        if tab in titles:
            sh.worksheet(tab).get_all_values()


def naive_apply(
    client: gspread.Client,
    spreadsheet_id: str,
    plan: Plan,
    snapshot: Snapshot,
    *,
    max_ops: int | None = None,
) -> NaiveResult:
    """Apply ``plan`` cell by cell and row by row; stop after ``max_ops`` operations."""
    sh = client.open_by_key(spreadsheet_id)
    done = 0
    total = sum(1 for op in plan if isinstance(op, SetCell | MoveRow | ReplaceTab))
    limit = total if max_ops is None else max_ops
    moves: list[MoveRow] = []
    titles = {ws.title for ws in sh.worksheets()}
    added: dict[str, list[str]] = {}
    for op in plan:
        if done >= limit:
            break
        if isinstance(op, EnsureTab):
            if op.tab not in titles:
                ws = sh.add_worksheet(op.tab, rows=1000, cols=max(26, len(op.header)))
                ws.append_row(list(op.header))
                titles.add(op.tab)
        elif isinstance(op, AddColumn):
            table = snapshot.get(op.tab)
            width = len(table.header) if table else 0
            cols = added.setdefault(op.tab, [])
            cols.append(op.column)
            sh.worksheet(op.tab).update_cell(
                table.header_row if table else 1, width + len(cols), op.column
            )
        elif isinstance(op, SetCell):
            table = snapshot.get(op.tab)
            if table is None:
                continue
            pos = table.index_of(op.column)
            extra = added.get(op.tab, [])
            if pos is not None:
                col = pos + 1
            elif op.column in extra:
                col = len(table.header) + extra.index(op.column) + 1
            else:
                continue
            sh.worksheet(op.tab).update_cell(op.target.row, col, _text(op.value))
            done += 1
        elif isinstance(op, ReplaceTab):
            if op.tab not in titles:
                width = max([26, *(len(r) for r in op.rows)])
                sh.add_worksheet(op.tab, rows=max(1000, len(op.rows)), cols=width)
                titles.add(op.tab)
            ws = sh.worksheet(op.tab)
            ws.clear()
            ws.update([[_text(v) for v in row] for row in op.rows], "A1")
            done += 1
        elif isinstance(op, MoveRow):
            moves.append(op)
    main_ws: dict[str, Any] = {}
    for op in sorted(moves, key=lambda m: -m.target.row):
        if done >= limit:
            break
        hist = sh.worksheet(op.history_tab)
        hist.append_row([_text(v) for _, v in op.values], value_input_option="RAW")
        ws = main_ws.setdefault(op.tab, sh.worksheet(op.tab))
        ws.delete_rows(op.target.row)
        done += 1
    return NaiveResult(done=done, total=total)
