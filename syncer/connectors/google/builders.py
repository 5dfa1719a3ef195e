"""Pure building of Sheets request bodies: A1 names, the write batch.

Nothing here does I/O. :func:`build_writes` turns the operations the guard kept into
one ``spreadsheets.batchUpdate`` worth of requests (see docs/google.md): ``updateCells``
with *typed* values (``stringValue`` for text, so user text starting with ``=``, ``+``,
``-`` or ``@`` is never parsed; dates as serial numbers with a date format: see
:mod:`~syncer.connectors.google.cells`), ``appendCells`` for history rows, then
``deleteDimension`` of archived rows bottom-up; the errors tab is written by difference
(:mod:`~syncer.connectors.google.tab_diff`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from gspread.exceptions import NoValidUrlKeyFound
from gspread.utils import extract_id_from_url

from syncer.connectors.google.cells import cell_data, fields_for, row_data
from syncer.connectors.google.tab_diff import replace_requests, same_content
from syncer.errors import ConfigError
from syncer.guard import Resolved
from syncer.model import (
    AddColumn,
    AppendRow,
    CellValue,
    Dropped,
    EnsureTab,
    Operation,
    RemoveRow,
    ReplaceTab,
    SetCell,
    Snapshot,
    Table,
    WrittenCell,
)

#: History rows per ``appendCells`` request (keeps each request well under the limit).
APPEND_ROWS = 500
#: More touched-row spans than this and the guard cannot name them in a GET URL: it
#: sends them as gridRange filters of one batchGetByDataFilter POST instead.
MAX_GUARD_SPANS = 200
#: The longest ``ranges=…`` query a values.batchGet sends; longer, the same ranges go as
#: filters of a POST. Google documents no URL limit, but front ends refuse long ones
#: (clients report failures near 20,000 characters) and a tab name in Chinese costs 9
#: characters a character once percent-encoded: 200 one-row spans of ``客户管理台账``
#: make a 17,000-character URL. 8,000 is what common servers take (Apache: 8,190).
MAX_QUERY_CHARS = 8_000
#: More spans than this and the guard merges them under its cost model, or reads the tab
#: whole and types only what it checks. Up to here one-row ``gridRange`` filters read
#: faster than the whole tab (100k x 20, with the key and two written columns: 5,000
#: filters 1.09 s, 10,000 1.48 s, 15,000 1.88 s, the tab whole 1.86 s, docs/benchmarks.md);
#: 15,000 filters are a POST body of about 1.3 MB, under the 2 MB Google recommends.
MAX_FILTER_SPANS = 15_000


def spreadsheet_id(ref: str) -> str:
    """The spreadsheet id in ``ref``: an id, or a ``docs.google.com`` URL."""
    ref = ref.strip()
    if "/" not in ref:
        if not ref:
            raise ConfigError("source.spreadsheet is empty: give the spreadsheet's id or URL")
        return ref
    try:
        return str(extract_id_from_url(ref))
    except NoValidUrlKeyFound as exc:
        raise ConfigError(
            f"source.spreadsheet {ref!r} is not a spreadsheet URL; copy it from the browser "
            "(https://docs.google.com/spreadsheets/d/<id>/edit) or give the id alone"
        ) from exc


def quote_tab(title: str) -> str:
    """A tab title as an A1 sheet reference: ``'Sheet 1'`` (quotes doubled)."""
    return "'" + title.replace("'", "''") + "'"


def row_spans(
    rows: Iterable[int], max_spans: int = MAX_GUARD_SPANS
) -> list[tuple[int, int]] | None:
    """Sorted 1-based sheet rows merged into inclusive spans; None when too many spans."""
    spans: list[tuple[int, int]] = []
    for row in sorted(set(rows)):
        if spans and row <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], row)
        else:
            spans.append((row, row))
    return spans if len(spans) <= max_spans else None


@dataclass(frozen=True)
class SheetMeta:
    """One tab's structure: id, title and grid size."""

    sheet_id: int
    title: str
    rows: int
    cols: int


def parse_metadata(body: Mapping[str, Any]) -> dict[str, SheetMeta]:
    """Tabs by title from a ``spreadsheets.get`` body."""
    out: dict[str, SheetMeta] = {}
    for sheet in body.get("sheets", []):
        props = sheet.get("properties", {})
        grid = props.get("gridProperties", {})
        meta = SheetMeta(
            sheet_id=int(props.get("sheetId", 0)),
            title=str(props.get("title", "")),
            rows=int(grid.get("rowCount", 0)),
            cols=int(grid.get("columnCount", 0)),
        )
        out[meta.title] = meta
    return out


@dataclass
class WriteBatch:
    """What :func:`build_writes` decided: the requests, and the fate of each operation."""

    new_tabs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    applied: list[Operation] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    #: Every row-addressed cell write, at the guard read's positions.
    cells: list[WrittenCell] = field(default_factory=list)
    #: tab → fresh data-row indexes removed from it.
    removed: dict[str, set[int]] = field(default_factory=dict)
    #: tab → keys appended to it, in order.
    appended: dict[str, list[str]] = field(default_factory=dict)
    #: The row deletions, kept apart from ``requests``: (tab, sheet id, sheet row).
    removals: list[tuple[str, int, int]] = field(default_factory=list)

    def removal_requests(self) -> list[dict[str, Any]]:
        """``deleteDimension`` requests for :attr:`removals`, bottom-up per tab."""
        return deletion_requests((sid, row) for _tab, sid, row in self.removals)


@dataclass
class _Tab:
    meta: SheetMeta | None
    header_row: int
    header: list[str]
    grid_rows: int
    grid_cols: int
    #: the header's names, for lookups
    names: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.names = set(self.header)


def _op_phase(op: Operation) -> int:
    return {
        "ensure_tab": 0,
        "add_column": 1,
        "set_cell": 2,
        "replace_tab": 2,
        "move_row": 3,
        "append_row": 3,
        "remove_row": 3,
    }[op.kind]


def deletion_requests(rows: Iterable[tuple[int, int]]) -> list[dict[str, Any]]:
    """``deleteDimension`` requests removing (sheet id, 1-based sheet row) pairs, merged
    into spans and ordered bottom-up per sheet so no deletion shifts a later one."""
    by_sheet: dict[int, set[int]] = {}
    for sid, row in rows:
        by_sheet.setdefault(sid, set()).add(row)
    return [
        delete_rows(sid, start, end)
        for sid, found in by_sheet.items()
        for start, end in reversed(row_spans(found, max_spans=len(found)) or [])
    ]


@dataclass(frozen=True)
class PreparedTab:
    """A robot-owned tab's requests (:class:`ReplaceTab`) worked out ahead of
    :func:`build_writes`, from the operation, the tab as read, its sheet id and its grid
    size: used only where all four are the same then."""

    op: ReplaceTab
    old: Table | None
    sheet_id: int
    grid: tuple[int, int]
    #: the tab already shows the operation's rows: nothing to write
    same: bool
    requests: list[dict[str, Any]]

    def made_from(self, op: ReplaceTab, old: Table | None, sheet_id: int) -> bool:
        """True when this was worked out for ``op`` on ``old`` in sheet ``sheet_id``."""
        return self.op is op and self.old is old and self.sheet_id == sheet_id


def _width(rows: Sequence[Sequence[CellValue]]) -> int:
    return max([1, *(len(r) for r in rows)])


def prepare_replacements(
    ops: Sequence[Operation], snapshot: Snapshot, meta: Mapping[str, SheetMeta]
) -> dict[int, PreparedTab]:
    """Pure: for each :class:`ReplaceTab` of ``ops`` on an existing tab (by ``id``), the
    requests :func:`build_writes` makes for it, on the grid ``meta`` gives grown to fit
    its rows. They depend on the plan and the read alone, not on the guard (which always
    keeps a ReplaceTab), so the connector works them out while the guard read is on the
    wire."""
    out: dict[int, PreparedTab] = {}
    for op in ops:
        if not isinstance(op, ReplaceTab) or op.tab not in meta:
            continue
        m, old = meta[op.tab], snapshot.get(op.tab)
        grid = (max(m.rows, len(op.rows)), max(m.cols, _width(op.rows)))
        same = old is not None and same_content(old, op.rows)
        requests = [] if same else replace_requests(m.sheet_id, *grid, old, op.rows, op.shifting)
        out[id(op)] = PreparedTab(op, old, m.sheet_id, grid, same, requests)
    return out


def header_layout(
    fresh: Snapshot, meta: Mapping[str, SheetMeta]
) -> dict[str, tuple[int, tuple[str, ...]]]:
    """All :func:`build_writes` takes from the guard read: each tab's header row and
    header, for the tabs of ``meta`` the read holds."""
    return {
        title: (table.header_row, table.header)
        for title in meta
        if (table := fresh.get(title)) is not None
    }


def build_writes(
    kept: Sequence[Resolved],
    fresh: Snapshot,
    meta: Mapping[str, SheetMeta],
    snapshot: Snapshot,
    prepared: Mapping[int, PreparedTab] | None = None,
) -> WriteBatch:
    """Pure: the ``spreadsheets.batchUpdate`` requests for the guard's kept operations.

    Row numbers come from ``kept`` (where the guard found each row), headers from
    ``fresh`` (the guard read: only its :func:`header_layout`). Order: grid growth,
    header and cell writes, the errors tab, history appends; the row deletions are listed
    apart in ``removals`` (see :meth:`WriteBatch.removal_requests`) and go last, so
    earlier requests never address rows a deletion shifted and every prefix of the batch
    is safe. Tabs missing from ``meta`` are listed in ``new_tabs`` and must exist (with
    their ids in ``meta``) before calling this again.
    """
    out = WriteBatch()
    layout = header_layout(fresh, meta)
    tabs: dict[str, _Tab] = {}
    for title, m in meta.items():
        header_row, header = layout.get(title, (1, ()))
        tabs[title] = _Tab(m, header_row, list(header), m.rows, m.cols)
    grow: list[dict[str, Any]] = []
    cells: list[dict[str, Any]] = []
    replace: list[dict[str, Any]] = []
    appends: dict[int, list[list[CellValue]]] = {}  # history sheet id → rows, in order

    def need_tab(title: str, header: Iterable[str]) -> _Tab | None:
        tab = tabs.get(title)
        if tab is None:
            out.new_tabs.setdefault(title, tuple(header))
        return tab

    def fit(tab: _Tab, rows: int, cols: int) -> None:
        assert tab.meta is not None
        sizes = (("COLUMNS", cols, tab.grid_cols), ("ROWS", rows, tab.grid_rows))
        for dimension, want, have in sizes:
            if want > have:
                grow.append(
                    {
                        "appendDimension": {
                            "sheetId": tab.meta.sheet_id,
                            "dimension": dimension,
                            "length": want - have,
                        }
                    }
                )
        tab.grid_cols = max(tab.grid_cols, cols)
        tab.grid_rows = max(tab.grid_rows, rows)

    def write_cell(tab: _Tab, row: int, col: int, value: CellValue) -> None:
        assert tab.meta is not None
        fit(tab, row, col)
        cells.append(update_cell(tab.meta.sheet_id, row, col, value))

    def add_header(tab: _Tab, column: str) -> None:
        if column in tab.names:
            return
        while tab.header and not tab.header[-1]:
            tab.header.pop()
        tab.header.append(column)
        tab.names.add(column)
        write_cell(tab, tab.header_row, len(tab.header), column)

    def add_headers(tab: _Tab, values: Sequence[tuple[str, CellValue]]) -> None:
        """The header cells for the columns of ``values`` ``tab`` lacks (one set lookup
        per column when it has them all: thousands of moved rows name the same ones)."""
        if not tab.names.issuperset(map(itemgetter(0), values)):
            for column, _ in values:
                add_header(tab, column)

    ordered = sorted(kept, key=lambda r: _op_phase(r.op))
    for resolved in ordered:
        op = resolved.op
        if isinstance(op, EnsureTab):
            if need_tab(op.tab, op.header) is None:
                continue
            out.applied.append(op)
        elif isinstance(op, AddColumn):
            tab = tabs.get(op.tab)
            if tab is None:
                out.dropped.append(Dropped(op, f"tab {op.tab!r} does not exist"))
                continue
            add_header(tab, op.column)
            out.applied.append(op)
        elif isinstance(op, SetCell):
            tab = tabs.get(op.tab)
            if tab is None:
                out.dropped.append(Dropped(op, f"tab {op.tab!r} does not exist"))
            elif resolved.index is None:
                out.dropped.append(
                    Dropped(op, f"row of {op.target.key or op.target.row!r} not found")
                )
            elif op.column not in tab.header:
                out.dropped.append(
                    Dropped(op, f"column {op.column!r} is not in the header of {op.tab!r}")
                )
            else:
                row = tab.header_row + 1 + resolved.index
                col = tab.header.index(op.column) + 1
                write_cell(tab, row, col, op.value)
                out.cells.append(WrittenCell(op.tab, row, col, op))
                out.applied.append(op)
        elif isinstance(op, ReplaceTab):
            tab = need_tab(op.tab, ())
            if tab is None:
                continue
            assert tab.meta is not None
            old = snapshot.get(op.tab)
            ready = prepared.get(id(op)) if prepared else None
            if ready is not None and not ready.made_from(op, old, tab.meta.sheet_id):
                ready = None
            if ready is not None:
                same = ready.same
            else:
                same = old is not None and same_content(old, op.rows)
            if same:  # the tab already shows these rows
                out.applied.append(op)
                continue
            fit(tab, len(op.rows), _width(op.rows))
            if ready is not None and ready.grid == (tab.grid_rows, tab.grid_cols):
                replace.extend(ready.requests)
            else:
                replace.extend(
                    replace_requests(
                        tab.meta.sheet_id, tab.grid_rows, tab.grid_cols, old, op.rows, op.shifting
                    )
                )
            out.applied.append(op)
        elif isinstance(op, AppendRow):
            target = need_tab(op.tab, (c for c, _ in op.values))
            if target is None:
                continue
            assert target.meta is not None
            add_headers(target, op.values)
            by_column = dict(op.values)
            appends.setdefault(target.meta.sheet_id, []).append(
                [by_column.get(c) for c in target.header]
            )
            if op.key:
                out.appended.setdefault(op.tab, []).append(op.key)
            out.applied.append(op)
        elif isinstance(op, RemoveRow):
            tab = tabs.get(op.tab)
            if tab is None or tab.meta is None or resolved.index is None:
                out.dropped.append(Dropped(op, f"row of {op.target.key!r} not found"))
                continue
            out.removed.setdefault(op.tab, set()).add(resolved.index)
            out.removals.append((op.tab, tab.meta.sheet_id, tab.header_row + 1 + resolved.index))
            out.applied.append(op)
        else:
            main = tabs.get(op.tab)
            history = need_tab(op.history_tab, (c for c, _ in op.values))
            if history is None:
                continue
            if main is None or main.meta is None or resolved.index is None:
                out.dropped.append(Dropped(op, f"row of {op.target.key!r} not found"))
                continue
            assert history.meta is not None
            add_headers(history, op.values)
            by_column = dict(op.values)
            values = [by_column.get(c) for c in history.header]
            appends.setdefault(history.meta.sheet_id, []).append(values)
            if op.target.key:
                out.appended.setdefault(op.history_tab, []).append(op.target.key)
            out.removed.setdefault(op.tab, set()).add(resolved.index)
            out.removals.append((op.tab, main.meta.sheet_id, main.header_row + 1 + resolved.index))
            out.applied.append(op)
    if out.new_tabs:
        return out
    appended = [
        append_rows(sid, rows[i : i + APPEND_ROWS])
        for sid, rows in appends.items()
        for i in range(0, len(rows), APPEND_ROWS)
    ]
    out.requests = [*grow, *cells, *replace, *appended]
    return out


def update_cell(sheet_id: int, row: int, col: int, value: CellValue) -> dict[str, Any]:
    """An ``updateCells`` writing ``value`` typed into one cell (1-based row and column);
    ``None`` clears the value."""
    data = cell_data(value)
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row - 1, "columnIndex": col - 1},
            "rows": [{"values": [data]}],
            "fields": fields_for([data]),
        }
    }


def append_rows(sheet_id: int, rows: Sequence[Sequence[CellValue]]) -> dict[str, Any]:
    """One ``appendCells`` adding ``rows`` of typed cells, in order, below the last row."""
    data = [row_data(r) for r in rows]
    return {
        "appendCells": {
            "sheetId": sheet_id,
            "rows": data,
            "fields": fields_for(c for r in data for c in r["values"]),
        }
    }


def delete_rows(sheet_id: int, first: int, last: int) -> dict[str, Any]:
    """A ``deleteDimension`` of sheet rows ``first``..``last`` (1-based, inclusive)."""
    return {
        "deleteDimension": {
            "range": {
                "sheetId": sheet_id,
                "dimension": "ROWS",
                "startIndex": first - 1,
                "endIndex": last,
            }
        }
    }
