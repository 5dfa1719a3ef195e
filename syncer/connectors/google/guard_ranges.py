"""Pure parts of the guard read: which ranges to re-read, and the fresh Snapshot they make.

The guard re-reads, per tab the plan involves, the header row, the key column and the
rows the plan touches (merged into spans). Each :class:`GuardPart` can be named as an A1
range (for a ``values.batchGet``, whose URL carries at most
:data:`~syncer.connectors.google.builders.MAX_GUARD_SPANS` spans in at most
:data:`~syncer.connectors.google.builders.MAX_QUERY_CHARS` characters: :func:`fits_url`)
or as a ``gridRange`` data filter (for a ``values.batchGetByDataFilter`` POST, which has
no such limit).
Touched rows forming more spans than a read may name are merged into fewer spans when
:func:`cheaper_spans` rates that cheaper than reading the tab whole; adjacent written
columns are one range (:func:`column_bands`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from syncer.a1 import column_letter
from syncer.connectors.google.builders import (
    MAX_GUARD_SPANS,
    MAX_QUERY_CHARS,
    SheetMeta,
    quote_tab,
    row_spans,
)
from syncer.connectors.google.read import fresh_table, key_texts, table_of_values
from syncer.connectors.tabular import guard_requests
from syncer.model import MoveRow, Plan, RemoveRow, SetCell, Snapshot, Table

PartKind = Literal["header", "key", "column", "rows", "all"]


@dataclass(frozen=True)
class GuardPart:
    """One range of a guard read: a tab's header row, key column, a row span, or all."""

    tab: str
    header_row: int
    key_pos: int | None
    kind: PartKind
    #: First and last sheet row (1-based, inclusive) of a ``rows`` part.
    first: int = 0
    last: int = 0
    #: The 0-based position of a ``column`` part's (first) column.
    col_pos: int | None = None
    #: How many adjacent columns a ``column`` part reads (one range for a band).
    col_count: int = 1
    #: For an ``all`` part: the written columns (0-based) to keep typed for every row.
    columns: tuple[int, ...] = ()

    def column_pos(self) -> int | None:
        """The column a ``key`` or ``column`` part reads."""
        return self.col_pos if self.kind == "column" else self.key_pos

    def a1(self) -> str:
        """The part as an A1 range of a ``values.batchGet``."""
        q = quote_tab(self.tab)
        if self.kind == "all":
            return q
        if self.kind == "header":
            return f"{q}!{self.header_row}:{self.header_row}"
        if self.kind in ("key", "column"):
            pos = self.column_pos()
            assert pos is not None
            letter = column_letter(pos)
            last = column_letter(pos + self.col_count - 1) if self.kind == "column" else letter
            return f"{q}!{letter}{self.header_row + 1}:{last}"
        return f"{q}!{self.first}:{self.last}"

    def grid_range(self, sheet_id: int) -> dict[str, Any]:
        """The part as a ``gridRange`` data filter (0-based, end-exclusive indexes)."""
        grid: dict[str, Any] = {"sheetId": sheet_id}
        if self.kind == "header":
            grid.update(startRowIndex=self.header_row - 1, endRowIndex=self.header_row)
        elif self.kind in ("key", "column"):
            pos = self.column_pos()
            assert pos is not None
            grid.update(
                startRowIndex=self.header_row,
                startColumnIndex=pos,
                endColumnIndex=pos + (self.col_count if self.kind == "column" else 1),
            )
        elif self.kind == "rows":
            grid.update(startRowIndex=self.first - 1, endRowIndex=self.last)
        return {"gridRange": grid}


def fits_url(parts: Sequence[GuardPart]) -> bool:
    """True when a ``values.batchGet`` may name ``parts`` in its URL: at most
    :data:`MAX_GUARD_SPANS` row spans and a query of at most :data:`MAX_QUERY_CHARS`
    characters once percent-encoded (as ``requests`` encodes it)."""
    if sum(p.kind == "rows" for p in parts) > MAX_GUARD_SPANS:
        return False
    return len(urlencode([("ranges", p.a1()) for p in parts])) <= MAX_QUERY_CHARS


def filter_body(parts: Sequence[GuardPart], meta: Mapping[str, SheetMeta]) -> dict[str, Any]:
    """The ``values.batchGetByDataFilter`` body reading ``parts`` as ``gridRange`` filters,
    rendered as the other reads are (values unformatted, dates as formatted text)."""
    return {
        "dataFilters": [p.grid_range(meta[p.tab].sheet_id) for p in parts],
        "valueRenderOption": "UNFORMATTED_VALUE",
        "dateTimeRenderOption": "FORMATTED_STRING",
        "majorDimension": "ROWS",
    }


def written_columns(plan: Plan) -> dict[str, set[str]]:
    """Per tab, the columns the plan's cell writes go to."""
    out: dict[str, set[str]] = {}
    for op in plan:
        if isinstance(op, SetCell):
            out.setdefault(op.tab, set()).add(op.column)
    return out


def touched_rows(plan: Plan) -> dict[str, tuple[set[int], set[str]]]:
    """Per tab, the sheet rows (as read) and the keys of the rows the plan writes."""
    out: dict[str, tuple[set[int], set[str]]] = {}
    for op in plan:
        if isinstance(op, SetCell | MoveRow | RemoveRow):
            rows, keys = out.setdefault(op.tab, (set(), set()))
            rows.add(op.target.row)
            if op.target.key:
                keys.add(op.target.key)
    return out


def guard_parts(
    plan: Plan,
    snapshot: Snapshot,
    meta: Mapping[str, SheetMeta],
    key_column: str | None,
    max_spans: int | None,
    touched: Mapping[str, tuple[set[int], set[str]]] | None = None,
) -> list[GuardPart]:
    """The ranges a guard read needs, for every tab that exists.

    With ``max_spans`` set, a tab whose touched rows form more spans than that is read
    whole (one ``all`` part); with ``None`` the spans are always listed. Besides the key
    column, every column the plan writes is read whole: should rows move between this
    read and the write, the verify stage knows what any cell syncer's write could land
    on held just before it. ``touched``: :func:`touched_rows` of ``plan``, when the
    caller has it.
    """
    by_tab = touched if touched is not None else touched_rows(plan)
    touched_at = {tab: rows for tab, (rows, _keys) in by_tab.items()}
    columns = written_columns(plan)
    parts: list[GuardPart] = []
    key = plan.key_column or key_column
    for req in guard_requests(plan, snapshot):
        if req.name not in meta:
            continue
        old = snapshot.get(req.name)
        header_row = old.header_row if old else req.header_row
        key_pos = old.index_of(key) if old and key else None
        rows = touched_at.get(req.name)
        limit = max_spans if max_spans is not None else len(rows or ())
        every = (row_spans(rows, max_spans=len(rows)) or []) if rows else []
        spans: list[tuple[int, int]] | None = every if len(every) <= limit else None
        written = tuple(
            sorted(
                pos
                for name in columns.get(req.name, ())
                if old and (pos := old.index_of(name)) is not None and pos != key_pos
            )
        )
        if spans is None and rows and limit and old is not None and key_pos is not None:
            spans = cheaper_spans(
                every,
                limit,
                width=max(len(old.header), 1),
                tab_rows=header_row + len(old.rows),
                columns=1 + len(written),
            )
        if spans is None:
            parts.append(GuardPart(req.name, header_row, key_pos, "all", columns=written))
            continue
        parts.append(GuardPart(req.name, header_row, key_pos, "header"))
        if key_pos is not None:
            parts.append(GuardPart(req.name, header_row, key_pos, "key"))
            parts.extend(
                GuardPart(req.name, header_row, key_pos, "column", col_pos=first, col_count=n)
                for first, n in column_bands(written)
            )
        parts.extend(
            GuardPart(req.name, header_row, key_pos, "rows", start, end) for start, end in spans
        )
    return parts


def column_bands(positions: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted column positions as (first, count) runs of adjacent columns: adjacent
    written columns are read as one range (the same cells, one range fewer)."""
    bands: list[tuple[int, int]] = []
    for pos in sorted(set(positions)):
        if bands and pos == bands[-1][0] + bands[-1][1]:
            bands[-1] = (bands[-1][0], bands[-1][1] + 1)
        else:
            bands.append((pos, 1))
    return bands


#: The read cost model, in cells read, measured on the sandbox at 100k x 20
#: (docs/benchmarks.md, "Guard spans, measured again"): each row a range covers costs
#: about as much as 4 cells besides its cells, and each range of a multi-range read about
#: 100 cells, whatever the size of its tab.
ROW_CELLS = 4
RANGE_CELLS = 100


def read_cost(rows: int, width: int) -> float:
    """What one range of ``rows`` x ``width`` cells costs."""
    return RANGE_CELLS + rows * (ROW_CELLS + width)


def merge_spans(spans: Sequence[tuple[int, int]], limit: int, width: int) -> list[tuple[int, int]]:
    """``spans`` (sorted, disjoint) merged over the gaps whose rows cost less to read than
    one more range, then over the smallest gaps until at most ``limit`` are left. Every
    row of ``spans`` stays inside a merged span."""
    if not spans:
        return []
    gaps = sorted((spans[i + 1][0] - spans[i][1] - 1, i) for i in range(len(spans) - 1))
    must = max(0, len(spans) - max(limit, 1))
    merge: set[int] = set()
    for n, (gap, i) in enumerate(gaps):
        if n < must or gap * (ROW_CELLS + width) <= RANGE_CELLS:
            merge.add(i)
        else:
            break
    out = [spans[0]]
    for i in range(1, len(spans)):
        if i - 1 in merge:
            out[-1] = (out[-1][0], spans[i][1])
        else:
            out.append(spans[i])
    return out


def cheaper_spans(
    spans: Sequence[tuple[int, int]], limit: int, width: int, tab_rows: int, columns: int
) -> list[tuple[int, int]] | None:
    """Spans merged to fit ``limit`` (:func:`merge_spans`) when the guard read they make —
    header, ``columns`` whole columns and the merged spans — costs less than reading the
    tab whole (:func:`read_cost`); None (read it whole) otherwise."""
    merged = merge_spans(spans, limit, width)
    if len(merged) > limit:
        return None
    cost = read_cost(1, width) + columns * read_cost(tab_rows, 1)
    cost += sum(read_cost(last - first + 1, width) for first, last in merged)
    return merged if cost < read_cost(tab_rows, width) else None


def row_parts(tab: str, header_row: int, rows: Collection[int], max_spans: int) -> list[GuardPart]:
    """The parts re-reading ``rows`` (1-based sheet rows) of ``tab``: its header and row
    spans, or the whole tab when the spans are more than ``max_spans``."""
    spans = row_spans(rows, max_spans=max_spans)
    if spans is None:
        return [GuardPart(tab, header_row, None, "all")]
    return [
        GuardPart(tab, header_row, None, "header"),
        *(GuardPart(tab, header_row, None, "rows", first, last) for first, last in spans),
    ]


def guard_snapshot(
    parts: Sequence[GuardPart],
    values: Sequence[Sequence[Sequence[Any]]],
    meta: Mapping[str, SheetMeta],
    touched: Mapping[str, tuple[set[int], set[str]]] | None = None,
) -> Snapshot:
    """The fresh Snapshot a guard read makes: ``values[i]`` answers ``parts[i]``.

    A tab read whole (an ``all`` part) is typed only where the guard looks: the header,
    the key column, and the rows at a ``touched`` position or holding a ``touched``
    key (see :func:`touched_rows`); with no ``touched`` it is typed in full."""
    header: dict[str, Sequence[Any]] = {}
    keys: dict[str, Sequence[Sequence[Any]]] = {}
    extra: dict[str, dict[int, Sequence[Sequence[Any]]]] = {}
    rows: dict[str, dict[int, Sequence[Any]]] = {}
    tables: dict[str, Table] = {}
    first: dict[str, GuardPart] = {}
    for part, vals in zip(parts, values, strict=True):
        first.setdefault(part.tab, part)
        if part.kind == "all":
            sid = meta[part.tab].sheet_id
            wanted = None if touched is None else touched.get(part.tab, (set(), set()))
            if wanted is None or part.key_pos is None:
                tables[part.tab] = table_of_values(part.tab, part.header_row, vals, sid)
            else:
                tables[part.tab] = _lean_table(part, vals, sid, *wanted)
        elif part.kind == "header":
            header[part.tab] = vals[0] if vals else []
        elif part.kind == "key":
            keys[part.tab] = vals
        elif part.kind == "column":
            assert part.col_pos is not None
            found_columns = extra.setdefault(part.tab, {})
            if part.col_count == 1:
                found_columns[part.col_pos] = vals
            else:  # a band of adjacent columns: one value range per column
                for i in range(part.col_count):
                    found_columns[part.col_pos + i] = [[r[i]] if len(r) > i else [] for r in vals]
        else:
            found = rows.setdefault(part.tab, {})
            for offset, row in enumerate(vals):
                found[part.first + offset] = row
    for tab, part in first.items():
        if tab in tables:
            continue
        tables[tab] = fresh_table(
            tab,
            part.header_row,
            header.get(tab, []),
            part.key_pos,
            keys.get(tab, []),
            rows.get(tab, {}),
            meta[tab].sheet_id,
            extra.get(tab, {}),
        )
    return Snapshot(tables=tables, change_token=None)


def _lean_table(
    part: GuardPart, vals: Sequence[Sequence[Any]], sheet_id: int, rows: set[int], keys: set[str]
) -> Table:
    """A whole-tab guard read typed only at the header, key column and wanted rows."""
    hr, kp = part.header_row, part.key_pos
    assert kp is not None
    below = vals[hr:]
    column = [[r[kp]] if len(r) > kp else [] for r in below]
    texts = key_texts(column)
    full = {
        hr + 1 + i: row
        for i, row in enumerate(below)
        if hr + 1 + i in rows or (i < len(texts) and texts[i] in keys)
    }
    header = vals[hr - 1] if len(vals) >= hr else []
    extra = {pos: [[r[pos]] if len(r) > pos else [] for r in below] for pos in part.columns}
    return fresh_table(part.tab, hr, header, kp, column, full, sheet_id, extra)
