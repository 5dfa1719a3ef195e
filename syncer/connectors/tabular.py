"""What grid-shaped connectors (memory, xlsx) share: turning sheet rows into a
:class:`~syncer.model.Table`, and applying guarded operations to an editable workbook.

A connector wraps its storage in an :class:`EditableBook` (1-based rows and columns);
:func:`apply_kept` then applies the operations the guard kept, in a safe order:
tabs and columns first, cell writes next, history appends, and only then the removal of
moved rows from the main tab, bottom-up so the remaining indexes stay right.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from syncer.connectors.base import TabRequest
from syncer.guard import Resolved
from syncer.model import (
    AddColumn,
    AppendRow,
    CellValue,
    Dropped,
    EnsureTab,
    MoveRow,
    Operation,
    Plan,
    RemoveRow,
    ReplaceTab,
    SetCell,
    Snapshot,
    Table,
    is_blank,
)


def header_text(value: CellValue) -> str:
    """A header cell as a column name: its text, stripped ("" when empty)."""
    return "" if value is None else str(value).strip()


def trim_row(row: Sequence[CellValue]) -> tuple[CellValue, ...]:
    """``row`` without its trailing empty cells."""
    end = len(row)
    while end and is_blank(row[end - 1]):
        end -= 1
    return tuple(row[:end])


def table_from_rows(
    name: str,
    header_row: int,
    rows: Sequence[Sequence[CellValue]],
    sheet_id: int | None = None,
) -> Table:
    """A Table from a tab's rows (``rows[0]`` is sheet row 1).

    Rows above ``header_row`` (title rows) are skipped; trailing blank rows are dropped
    and each row loses its trailing empty cells. A tab shorter than its header row has
    an empty header and no rows.
    """
    if len(rows) < header_row:
        return Table(name=name, header_row=header_row, header=(), rows=(), sheet_id=sheet_id)
    header = tuple(header_text(v) for v in trim_row(rows[header_row - 1]))
    data = [trim_row(r) for r in rows[header_row:]]
    while data and not data[-1]:
        data.pop()
    return Table(
        name=name, header_row=header_row, header=header, rows=tuple(data), sheet_id=sheet_id
    )


def guard_requests(plan: Plan, snapshot: Snapshot) -> list[TabRequest]:
    """The tabs a guard read needs: every tab of the snapshot plus any tab the plan names."""
    requests = {name: TabRequest(name, t.header_row) for name, t in snapshot.tables.items()}
    for op in plan:
        tabs = [op.tab, op.history_tab] if isinstance(op, MoveRow) else [op.tab]
        for tab in tabs:
            requests.setdefault(tab, TabRequest(tab, 1))
    return list(requests.values())


class EditableBook(Protocol):
    """A workbook being edited in place; rows and columns are 1-based."""

    def has_tab(self, tab: str) -> bool:
        """True when ``tab`` exists."""

    def create_tab(self, tab: str) -> None:
        """Add an empty tab named ``tab``."""

    def get(self, tab: str, row: int, col: int) -> CellValue:
        """The value in one cell (None when empty)."""

    def set(self, tab: str, row: int, col: int, value: CellValue) -> None:
        """Write one cell (user text is always stored as text, never as a formula)."""

    def is_formula(self, tab: str, row: int, col: int) -> bool:
        """True when the cell holds a formula (the robot never overwrites one)."""

    def extent(self, tab: str) -> tuple[int, int]:
        """(rows, columns) spanned by the tab's non-empty cells."""

    def delete_rows(self, tab: str, rows: Sequence[int]) -> None:
        """Remove sheet rows ``rows`` (sorted, highest first)."""

    def values(self, tab: str) -> list[list[CellValue]]:
        """Every row of the tab as stored now (sheet row 1 first)."""


@dataclass
class ApplyOutcome:
    """What :func:`apply_kept` did."""

    applied: list[Operation] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)


@dataclass
class _TabState:
    header_row: int
    header: list[str]
    next_row: int


def _tab_states(fresh: Snapshot) -> dict[str, _TabState]:
    return {
        name: _TabState(t.header_row, list(t.header), t.sheet_row(len(t.rows)))
        for name, t in fresh.tables.items()
    }


def _phase(op: Operation) -> int:
    if isinstance(op, EnsureTab):
        return 0
    if isinstance(op, AddColumn):
        return 1
    if isinstance(op, MoveRow | AppendRow | RemoveRow):
        return 3
    return 2


def apply_kept(book: EditableBook, fresh: Snapshot, kept: Iterable[Resolved]) -> ApplyOutcome:
    """Apply the guard's kept operations to ``book`` (whose content is ``fresh``).

    Rows move by appending to the history tab first and removing from the main tab
    last; the engine's reconciliation checks placement from every cycle's read."""
    out = ApplyOutcome()
    tabs = _tab_states(fresh)
    ordered = sorted(kept, key=lambda r: _phase(r.op))  # stable: plan order within a phase
    removals: dict[str, list[int]] = {}
    for resolved in ordered:
        op = resolved.op
        if isinstance(op, EnsureTab):
            _ensure_tab(book, tabs, op.tab, op.header)
            out.applied.append(op)
        elif isinstance(op, AddColumn):
            state = tabs.get(op.tab)
            if state is None:
                out.dropped.append(Dropped(op, f"tab {op.tab!r} does not exist"))
                continue
            if op.column not in state.header:
                state.header.append(op.column)
                book.set(op.tab, state.header_row, len(state.header), op.column)
            out.applied.append(op)
        elif isinstance(op, SetCell):
            reason = _set_cell(book, tabs, op, resolved.index)
            if reason:
                out.dropped.append(Dropped(op, reason))
            else:
                out.applied.append(op)
        elif isinstance(op, ReplaceTab):
            _replace_tab(book, tabs, op)
            out.applied.append(op)
        elif isinstance(op, AppendRow):
            _ensure_tab(book, tabs, op.tab, tuple(c for c, _ in op.values))
            _append_values(book, tabs[op.tab], op.tab, op.values)
            out.applied.append(op)
        elif isinstance(op, RemoveRow):
            state = tabs.get(op.tab)
            if resolved.index is None or state is None:
                out.dropped.append(Dropped(op, f"row of {op.target.key!r} not found"))
                continue
            removals.setdefault(op.tab, []).append(state.header_row + 1 + resolved.index)
            out.applied.append(op)
        else:
            main = tabs.get(op.tab)
            if resolved.index is None or main is None:
                out.dropped.append(Dropped(op, f"row of {op.target.key!r} not found"))
                continue
            _ensure_tab(book, tabs, op.history_tab, tuple(c for c, _ in op.values))
            _append_values(book, tabs[op.history_tab], op.history_tab, op.values)
            removals.setdefault(op.tab, []).append(main.header_row + 1 + resolved.index)
            out.applied.append(op)
    for tab, rows in removals.items():
        book.delete_rows(tab, sorted(set(rows), reverse=True))
    return out


def _ensure_tab(
    book: EditableBook, tabs: dict[str, _TabState], tab: str, header: Sequence[str]
) -> None:
    if tab in tabs:
        return
    if not book.has_tab(tab):
        book.create_tab(tab)
        for col, name in enumerate(header, start=1):
            book.set(tab, 1, col, name)
        tabs[tab] = _TabState(1, list(header), 2)
        return
    # Created by someone since the read: take its header as it is now.
    n_rows, n_cols = book.extent(tab)
    names = [header_text(book.get(tab, 1, c)) for c in range(1, n_cols + 1)]
    tabs[tab] = _TabState(1, names, max(n_rows, 1) + 1)


def _set_cell(
    book: EditableBook, tabs: dict[str, _TabState], op: SetCell, index: int | None
) -> str | None:
    state = tabs.get(op.tab)
    if state is None:
        return f"tab {op.tab!r} does not exist"
    if index is None:
        return f"row of {op.target.key or op.target.row!r} not found"
    if op.column not in state.header:
        return f"column {op.column!r} is not in the header of {op.tab!r}"
    row = state.header_row + 1 + index
    col = state.header.index(op.column) + 1
    if book.is_formula(op.tab, row, col):
        return f"{op.tab}!{op.column} row {row} holds a formula; the robot never overwrites one"
    book.set(op.tab, row, col, op.value)
    return None


def _append_values(
    book: EditableBook,
    state: _TabState,
    tab: str,
    values: Sequence[tuple[str, CellValue]],
) -> None:
    row = state.next_row
    for column, value in values:
        if column not in state.header:
            state.header.append(column)
            book.set(tab, state.header_row, len(state.header), column)
        if value is not None:
            book.set(tab, row, state.header.index(column) + 1, value)
    state.next_row += 1


def _replace_tab(book: EditableBook, tabs: dict[str, _TabState], op: ReplaceTab) -> None:
    if not book.has_tab(op.tab):
        book.create_tab(op.tab)
    old_rows, old_cols = book.extent(op.tab)
    width = max([old_cols, *(len(r) for r in op.rows)])
    for r in range(1, max(old_rows, len(op.rows)) + 1):
        values = op.rows[r - 1] if r <= len(op.rows) else ()
        for c in range(1, width + 1):
            value = values[c - 1] if c <= len(values) else None
            if value is not None or (r <= old_rows and c <= old_cols):
                if r <= old_rows and c <= old_cols:
                    now = book.get(op.tab, r, c)
                    # only the cells that change: a line already right is left alone
                    if (
                        now.__class__ is value.__class__
                        and now == value
                        and not book.is_formula(op.tab, r, c)
                    ):
                        continue
                book.set(op.tab, r, c, value)
    header = [header_text(v) for v in op.rows[0]] if op.rows else []
    tabs[op.tab] = _TabState(1, header, len(op.rows) + 1)
