"""An in-memory workbook: the fast connector for tests and demos.

The workbook is ``{tab: [row, ...]}`` where ``row`` is a list of cell values and the
first list is sheet row 1 (header rows included). The change token is a revision
counter bumped on every change, by the robot or by a test simulating a person.

Tests drive it like a person would: :meth:`MemoryConnector.set_cell`,
:meth:`insert_row`, :meth:`delete_row` (between any two stages of a cycle through the
test wrapper in ``tests/``). A write refuses to land when the workbook changed after
the guard read (:class:`~syncer.errors.SourceChanged`), as the xlsx connector does.
``reads`` and ``writes`` count calls, as a remote source would count API calls.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

from syncer.connectors.base import Connector, Progress, TabRequest
from syncer.connectors.tabular import apply_kept, guard_requests, table_from_rows
from syncer.errors import SourceChanged, SourceNotFound
from syncer.guard import Resolved
from syncer.model import CellValue, Plan, Snapshot, Table, Written


class MemoryBook:
    """A ``{tab: rows}`` workbook as an :class:`~syncer.connectors.tabular.EditableBook`."""

    def __init__(self, tabs: dict[str, list[list[CellValue]]]) -> None:
        self.tabs = tabs

    def has_tab(self, tab: str) -> bool:
        """True when ``tab`` exists."""
        return tab in self.tabs

    def create_tab(self, tab: str) -> None:
        """Add an empty tab."""
        self.tabs[tab] = []

    def get(self, tab: str, row: int, col: int) -> CellValue:
        """One cell (1-based), None beyond the data."""
        rows = self.tabs[tab]
        if row > len(rows) or col > len(rows[row - 1]):
            return None
        return rows[row - 1][col - 1]

    def set(self, tab: str, row: int, col: int, value: CellValue) -> None:
        """Write one cell, growing the grid as needed."""
        rows = self.tabs[tab]
        while len(rows) < row:
            rows.append([])
        line = rows[row - 1]
        while len(line) < col:
            line.append(None)
        line[col - 1] = value

    def is_formula(self, tab: str, row: int, col: int) -> bool:
        """An in-memory workbook holds values only."""
        return False

    def extent(self, tab: str) -> tuple[int, int]:
        """(rows, columns) spanned by the tab's cells."""
        rows = self.tabs[tab]
        return len(rows), max((len(r) for r in rows), default=0)

    def delete_rows(self, tab: str, rows: Sequence[int]) -> None:
        """Remove sheet rows, highest first."""
        for row in sorted(rows, reverse=True):
            del self.tabs[tab][row - 1]

    def values(self, tab: str) -> list[list[CellValue]]:
        """The tab's rows."""
        return self.tabs[tab]


class MemoryConnector(Connector):
    """A workbook held in memory. ``tabs`` is copied; the connector owns its copy."""

    kind = "memory"
    atomic_writes = True

    def __init__(
        self,
        tabs: Mapping[str, Sequence[Sequence[CellValue]]] | None = None,
        *,
        name: str = "memory",
    ) -> None:
        self.name = name
        self.workbook: dict[str, list[list[CellValue]]] = {
            tab: [list(row) for row in rows] for tab, rows in (tabs or {}).items()
        }
        self.revision = 0
        self.reads = 0
        self.writes = 0
        self._reread_at: int | None = None
        self._sheet_ids = {tab: i for i, tab in enumerate(self.workbook)}

    # --- what a person does -------------------------------------------------------------

    def set_cell(self, tab: str, row: int, col: int | str, value: CellValue) -> None:
        """A person edits one cell: 1-based ``row``; ``col`` is a 1-based number or a
        header name (looked up in the first row that holds it)."""
        book = MemoryBook(self.workbook)
        book.set(tab, row, self._col(tab, col), value)
        self.revision += 1

    def insert_row(self, tab: str, row: int, values: Sequence[CellValue]) -> None:
        """Insert a row so that it becomes sheet row ``row``."""
        self.workbook[tab].insert(row - 1, list(values))
        self.revision += 1

    def delete_row(self, tab: str, row: int) -> None:
        """Delete sheet row ``row``."""
        del self.workbook[tab][row - 1]
        self.revision += 1

    def add_tab(self, tab: str, rows: Sequence[Sequence[CellValue]] = ()) -> None:
        """Create (or replace) a tab."""
        self.workbook[tab] = [list(r) for r in rows]
        self._sheet_ids.setdefault(tab, len(self._sheet_ids))
        self.revision += 1

    def rows(self, tab: str) -> list[list[CellValue]]:
        """A copy of a tab's rows (sheet row 1 first), trailing empty cells trimmed."""
        out = [list(r) for r in self.workbook[tab]]
        for r in out:
            while r and r[-1] is None:
                r.pop()
        return out

    def _col(self, tab: str, col: int | str) -> int:
        if isinstance(col, int):
            return col
        for row in self.workbook[tab]:
            if col in row:
                return row.index(col) + 1
        raise KeyError(f"no column {col!r} in tab {tab!r}")

    # --- Connector ---------------------------------------------------------------------

    def describe(self) -> str:
        """``in-memory workbook NAME``."""
        return f"in-memory workbook {self.name}"

    def write_calls(self) -> int:
        """Writes so far."""
        return self.writes

    def calls_made(self) -> int:
        """Reads and writes so far."""
        return self.reads + self.writes

    def change_token(self) -> str | None:
        """The revision counter."""
        return str(self.revision)

    def read(self, tabs: Sequence[TabRequest]) -> Snapshot:
        """The requested tabs that exist."""
        self.reads += 1
        return self._snapshot(tabs)

    def _snapshot(self, tabs: Sequence[TabRequest]) -> Snapshot:
        tables: dict[str, Table] = {}
        for req in tabs:
            rows = self.workbook.get(req.name)
            if rows is not None:
                tables[req.name] = table_from_rows(
                    req.name, req.header_row, copy.deepcopy(rows), self._sheet_ids.get(req.name)
                )
        return Snapshot(tables=tables, change_token=str(self.revision))

    def reread(self, plan: Plan, snapshot: Snapshot) -> Snapshot:
        """Every tab the plan involves, as it is now (one read)."""
        if not self.workbook and snapshot.tables:
            raise SourceNotFound(f"in-memory workbook {self.name!r} has no tabs any more")
        fresh = self.read(guard_requests(plan, snapshot))
        self._reread_at = self.revision
        return fresh

    def write(
        self,
        kept: Sequence[Resolved],
        fresh: Snapshot,
        snapshot: Snapshot,
        progress: Progress | None = None,
    ) -> Written:
        """Apply ``kept`` to a copy and install it in one step (one write call); a
        workbook changed since the guard read raises :class:`SourceChanged`."""
        if self._reread_at is not None and self._reread_at != self.revision:
            raise SourceChanged(
                f"in-memory workbook {self.name!r} changed after the guard read; nothing was"
                " written"
            )
        work = copy.deepcopy(self.workbook)
        outcome = apply_kept(MemoryBook(work), fresh, kept)
        written = Written(
            applied=outcome.applied, dropped=outcome.dropped, incidents=outcome.incidents
        )
        if outcome.applied:
            self.workbook = work
            for tab in work:
                self._sheet_ids.setdefault(tab, len(self._sheet_ids))
            self.revision += 1
            self.writes += 1
            if progress is not None:
                progress(1, 1)
        return written
