"""Typing value ranges into Tables, and the guard's ranges (A1 and gridRange)."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.connectors.base import TabRequest
from syncer.connectors.google.bodies import MAX_BODY_BYTES
from syncer.connectors.google.builders import (
    MAX_FILTER_SPANS,
    MAX_QUERY_CHARS,
    SheetMeta,
    row_spans,
)
from syncer.connectors.google.guard_ranges import (
    GuardPart,
    cheaper_spans,
    column_bands,
    filter_body,
    guard_parts,
    guard_snapshot,
    merge_spans,
)
from syncer.connectors.google.read import (
    fresh_table,
    key_texts,
    parse_cell,
    parse_row,
    table_of_values,
)
from syncer.connectors.tabular import table_from_rows
from syncer.engine import run_cycle
from syncer.model import (
    ColumnRows,
    MoveRow,
    Plan,
    RowRef,
    Snapshot,
    Table,
    canonical,
    is_blank,
    same_row,
)
from syncer.sandbox import SandboxServer
from syncer.state import StateStore
from syncer.table_cache import cell_text

from .conftest import HEADER, MakeConnector, MakeSheet, customer_rows, ledger_for

#: What a values.batchGet can hold: JSON scalars, with date-like texts well represented.
json_cell = st.one_of(
    st.none(),
    st.just(""),
    st.just("  "),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.dates().map(date.isoformat),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M")),
    st.sampled_from(["2024-13-01", "2024-02-30", "abcd-ef-ghij", "2024-03-01 25:00"]),
)


@given(st.lists(json_cell, max_size=8))
def test_parse_row_types_like_parse_cell(row: list[Any]) -> None:
    """The fast row parser gives parse_cell's value for every cell, trailing empties cut."""
    typed = [parse_cell(v) for v in row]
    while typed and is_blank(typed[-1]):
        typed.pop()
    assert parse_row(row) == tuple(typed)


@given(st.lists(st.lists(json_cell, max_size=6), max_size=8), st.integers(1, 3))
def test_table_of_values_equals_the_two_pass_build(
    values: list[list[Any]], header_row: int
) -> None:
    """One-pass Table building matches table_from_rows over parse_cell of every cell."""
    two_pass = table_from_rows("t", header_row, [[parse_cell(v) for v in r] for r in values], 4)
    assert table_of_values("t", header_row, values, 4) == two_pass


def test_iso_texts_become_dates_and_others_stay_text() -> None:
    """ISO dates and date-times are typed; other date displays and bad dates stay text."""
    row = ["2024-03-01", "2024-03-01 09:05", "2024/3/1", "2024-02-30", 5, True, ""]
    assert parse_row(row) == (
        date(2024, 3, 1),
        datetime(2024, 3, 1, 9, 5),
        "2024/3/1",
        "2024-02-30",
        5,
        True,
    )


def test_guard_parts_name_spans_in_a1_or_as_grid_ranges() -> None:
    """Few spans stay A1 ranges; over the limit the tab is read whole, unless unlimited."""
    rows = tuple((f"K{i}", "x") for i in range(10))
    main = Table("Main", 1, ("id", "name"), rows, sheet_id=3)
    snap = Snapshot({"Main": main})
    ops = tuple(
        MoveRow(
            tab="Main",
            target=RowRef(f"K{i}", main.sheet_row(i)),
            history_tab="History",
            values=(("id", f"K{i}"),),
            reason="lost",
            rule="archive",
        )
        for i in (0, 2, 4)
    )
    plan = Plan("t", ops, key_column="id")
    meta = {"Main": SheetMeta(3, "Main", 100, 5)}
    parts = guard_parts(plan, snap, meta, "id", 200)
    assert [p.a1() for p in parts] == [
        "'Main'!1:1",
        "'Main'!A2:A",
        "'Main'!2:2",
        "'Main'!4:4",
        "'Main'!6:6",
    ]
    assert [p.kind for p in guard_parts(plan, snap, meta, "id", 2)] == ["all"]
    unlimited = guard_parts(plan, snap, meta, "id", None)
    assert len(unlimited) == 5
    assert unlimited[1].grid_range(3) == {
        "gridRange": {"sheetId": 3, "startRowIndex": 1, "startColumnIndex": 0, "endColumnIndex": 1}
    }
    assert GuardPart("Main", 1, 0, "rows", 4, 6).grid_range(3) == {
        "gridRange": {"sheetId": 3, "startRowIndex": 3, "endRowIndex": 6}
    }


def test_scattered_archives_are_guarded_by_one_data_filter_read(
    tmp_path: Path, make_sheet: MakeSheet, make_connector: MakeConnector
) -> None:
    """More touched spans than a URL holds: one batchGetByDataFilter, no whole-tab re-read."""
    sid = make_sheet({"Main": customer_rows(600, lost_every=2), "History": [HEADER[:6]]})
    conn = make_connector(sid, lock=False)  # the guard read's own paths (no write lock)
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        result = run_cycle(ledger_for(sid), conn, store, datetime(2026, 3, 2, tzinfo=UTC))
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    assert result.archived == 300
    assert conn.calls["values.batchGetByDataFilter"] == 1
    assert conn.calls["values.batchGet"] == 1  # the read (the write's answer holds the keys)


def test_a_guard_read_whose_url_would_be_long_goes_as_filters(
    tmp_path: Path, make_sheet: MakeSheet, make_connector: MakeConnector, sandbox: SandboxServer
) -> None:
    """Fewer spans than the count limit, but a Chinese tab name (9 characters a character
    in a URL): the guard read goes as one batchGetByDataFilter, and no GET of the cycle
    carries a query longer than MAX_QUERY_CHARS."""
    main = "客户管理台账"
    sid = make_sheet({main: customer_rows(300, lost_every=2), "History": [HEADER[:6]]})
    conn = make_connector(sid, lock=False)  # the guard read's own paths (no write lock)
    ledger = ledger_for(sid, tabs={"main": main, "history": "History", "errors": "Errors"})
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    sandbox.clear_log()
    try:
        result = run_cycle(ledger, conn, store, datetime(2026, 3, 2, tzinfo=UTC))
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    assert result.archived == 150
    assert conn.calls["values.batchGetByDataFilter"] == 1
    gets = [r.query for r in sandbox.request_log if r.method == "GET" and r.spreadsheet_id == sid]
    assert gets
    assert max(len(q) for q in gets) <= MAX_QUERY_CHARS


def fresh_table_reference(
    header_row: int,
    header_values: list[Any],
    key_pos: int | None,
    key_values: list[list[Any]],
    full_rows: dict[int, list[Any]],
) -> Table:
    """The guard's fresh Table built the slow, obvious way: a grid, then table_from_rows."""
    n = max([len(key_values), *(r - header_row for r in full_rows)])
    grid: list[list[Any]] = [[] for _ in range(header_row - 1)]
    grid.append([parse_cell(v) for v in header_values])
    for i in range(n):
        if header_row + 1 + i in full_rows:
            grid.append([parse_cell(v) for v in full_rows[header_row + 1 + i]])
        elif key_pos is not None and i < len(key_values) and key_values[i]:
            grid.append([None] * key_pos + [parse_cell(key_values[i][0])])
        else:
            grid.append([])
    return table_from_rows("t", header_row, grid, 2)


@given(
    st.integers(1, 3),
    st.lists(json_cell, max_size=5),
    st.one_of(st.none(), st.integers(0, 3)),
    st.lists(st.lists(json_cell, max_size=1), max_size=8),
    st.dictionaries(st.integers(2, 14), st.lists(json_cell, max_size=5), max_size=4),
)
def test_fresh_table_matches_the_reference_build(
    header_row: int,
    header_values: list[Any],
    key_pos: int | None,
    key_values: list[list[Any]],
    full_rows: dict[int, list[Any]],
) -> None:
    """The one-pass guard Table equals the grid-then-table_from_rows construction."""
    full = {r: v for r, v in full_rows.items() if r > header_row}
    expected = fresh_table_reference(header_row, header_values, key_pos, key_values, full)
    got = fresh_table("t", header_row, header_values, key_pos, key_values, full, 2)
    assert replace(got, whole_columns=None) == expected
    names = expected.header
    assert got.whole_columns == (
        frozenset({names[key_pos]}) if key_pos is not None and key_pos < len(names) else frozenset()
    )


def test_fresh_table_carries_the_written_columns_of_rows_not_reread() -> None:
    """Rows not re-read keep their key and every column read whole, and say which."""
    got = fresh_table(
        "t",
        1,
        ["id", "name", "stamp"],
        0,
        [["A"], ["B"], ["C"]],
        {3: ["B", "bee", "x"]},
        2,
        {2: [["s1"], ["x"], []]},
    )
    assert got.rows == (("A", None, "s1"), ("B", "bee", "x"), ("C",))
    assert got.whole_columns == frozenset({"id", "stamp"})
    assert (got.known(0, "stamp"), got.known(0, "name"), got.known(1, "name")) == (
        True,
        False,
        True,
    )


@given(st.lists(st.lists(json_cell, max_size=1), max_size=10))
def test_key_texts_match_the_tables_key_column(column: list[list[Any]]) -> None:
    """The post-write key check's fast path gives the Table's key column as the texts rows
    are known by (canonical, spaces around them removed), trailing blanks dropped."""
    rows = [["id"], *([parse_cell(r[0])] if r else [] for r in column)]
    table = table_from_rows("t", 1, rows)
    texts = [cell_text(v) for v in table.column_values("id")]
    while texts and not texts[-1]:
        texts.pop()
    assert key_texts(column) == texts


#: A span limit small enough for a quick test sheet to pass it.
LIMIT = 1000


def test_spans_all_over_the_tab_are_guarded_by_one_whole_tab_read(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over the span limit (here 1,000), one row in two: the tab is read whole once, and
    the cycle is right."""
    monkeypatch.setattr("syncer.connectors.google.connector.MAX_FILTER_SPANS", LIMIT)
    n = 2 * (LIMIT + 50)
    sid = make_sheet({"Main": customer_rows(n, lost_every=2), "History": [HEADER[:6]]})
    conn = make_connector(sid, lock=False)  # the guard read's own paths (no write lock)
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        result = run_cycle(ledger_for(sid), conn, store, datetime(2026, 3, 2, tzinfo=UTC))
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    assert result.archived == n // 2
    assert conn.calls["values.batchGetByDataFilter"] == 0
    assert conn.calls["values.batchGet"] == 2  # read, whole-tab guard (the write returns keys)
    left = conn.read([TabRequest("Main")]).tables["Main"]
    assert [r[3] for r in left.rows] == ["active"] * (n // 2)


def test_lean_whole_tab_guard_types_exactly_the_rows_it_checks() -> None:
    """A whole-tab guard read types the touched rows (by position or key) in full, and
    every other row only by its key."""
    values: list[list[Any]] = [["id", "name"]] + [[f"K{i}", f"n{i}"] for i in range(8)]
    part = GuardPart("Main", 1, 0, "all")
    meta = {"Main": SheetMeta(3, "Main", 100, 5)}
    lean = guard_snapshot([part], [values], meta, {"Main": ({3}, {"K6"})}).tables["Main"]
    full = table_of_values("Main", 1, values, 3)
    assert lean.header == full.header
    assert [lean.rows[i] == full.rows[i] for i in range(8)] == [i in (1, 6) for i in range(8)]
    assert [lean.rows[i][0] for i in range(8)] == [f"K{i}" for i in range(8)]


@given(st.sets(st.integers(3, 3000), min_size=1, max_size=400), st.integers(1, 50))
def test_merged_spans_cover_every_touched_row(rows: set[int], limit: int) -> None:
    """Merging spans under the cost model keeps every touched row inside a span, in order,
    and never leaves more spans than the limit."""
    spans = row_spans(rows, max_spans=len(rows)) or []
    merged = merge_spans(spans, limit, width=20)
    assert len(merged) <= limit
    assert all(a[1] < b[0] for a, b in itertools.pairwise(merged))
    assert all(any(first <= r <= last for first, last in merged) for r in rows)


def test_clustered_rows_are_merged_and_spread_rows_read_whole() -> None:
    """1,500 touched rows in five clusters make five spans; 2% of a 100k tab spread all
    over it (one row in 50) are read as their own rows; one row in three all over it is
    cheaper to read whole."""
    clustered = {start + 2 * i for start in range(1000, 90_000, 20_000) for i in range(300)}
    spans = row_spans(clustered, max_spans=len(clustered)) or []
    assert len(spans) == 1500
    merged = cheaper_spans(spans, MAX_FILTER_SPANS, width=20, tab_rows=100_002, columns=2)
    assert merged is not None
    assert len(merged) == 5
    two_percent = row_spans(range(3, 100_003, 50), max_spans=10**6) or []
    merged = cheaper_spans(two_percent, MAX_FILTER_SPANS, width=20, tab_rows=100_002, columns=2)
    assert merged == two_percent
    third = row_spans(range(3, 100_003, 3), max_spans=10**6) or []
    assert cheaper_spans(third, MAX_FILTER_SPANS, width=20, tab_rows=100_002, columns=2) is None


def test_most_filters_a_guard_read_names_fit_a_request_body() -> None:
    """The largest gridRange guard read (worst-case sheet id and rows) fits under 2 MB."""
    top = 10_000_000  # Google's cell limit: no row number is larger
    meta = {"Main": SheetMeta(2**31 - 1, "Main", top, 20)}
    parts = [
        GuardPart("Main", 1, 0, "header"),
        GuardPart("Main", 1, 0, "key"),
        GuardPart("Main", 1, 0, "column", col_pos=5, col_count=2),
        *(GuardPart("Main", 1, 0, "rows", r, r) for r in range(top - MAX_FILTER_SPANS, top)),
    ]
    body = json.dumps(filter_body(parts, meta)).encode()  # as requests sends ``json=``
    assert len(body) < MAX_BODY_BYTES


def test_clustered_archives_are_guarded_by_merged_spans(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over the span limit (here 1,000) with the spans close together: one batchGet of
    merged spans, not the whole tab, and the cycle is right."""
    monkeypatch.setattr("syncer.connectors.google.connector.MAX_FILTER_SPANS", LIMIT)
    rows = customer_rows(12_000)
    lost = range(1, 2 * (LIMIT + 50), 2)
    for i in lost:
        rows[i][3] = "lost"
    sid = make_sheet({"Main": rows, "History": [HEADER[:6]]})
    conn = make_connector(sid, lock=False)  # the guard read's own paths (no write lock)
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        result = run_cycle(ledger_for(sid), conn, store, datetime(2026, 3, 2, tzinfo=UTC))
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    assert result.archived == len(lost)
    assert conn.calls["values.batchGetByDataFilter"] == 0
    assert conn.calls["values.batchGet"] == 2  # read, merged-span guard (the write returns keys)
    reads = [r for r in clean_sandbox.request_log if r.path.endswith("values:batchGet")]
    guard = unquote(reads[1].query)
    assert "'Main'!2:" in guard  # the merged span from the first touched row …
    assert "ranges='Main'&" not in guard
    assert not guard.endswith("ranges='Main'")
    left = conn.read([TabRequest("Main")]).tables["Main"]
    assert len(left.rows) == 12_000 - len(lost)
    assert all(r[3] == "active" for r in left.rows)


@given(st.lists(st.lists(json_cell, max_size=4), max_size=8))
def test_a_band_of_adjacent_columns_reads_like_single_columns(grid: list[list[Any]]) -> None:
    """Adjacent written columns read as one range give the fresh Table that reading each
    column alone gives."""
    meta = {"Main": SheetMeta(3, "Main", 100, 5)}
    header = ["id", "a", "b", "c"]
    below = [row[:4] for row in grid]

    def column(pos: int) -> list[list[Any]]:
        cells = [[r[pos]] if len(r) > pos and r[pos] not in ("", None) else [] for r in below]
        while cells and not cells[-1]:
            cells.pop()
        return cells

    band_rows = [r[1:3] for r in below]
    while band_rows and not any(v not in ("", None) for v in band_rows[-1]):
        band_rows.pop()
    base = [GuardPart("Main", 1, 0, "header"), GuardPart("Main", 1, 0, "key")]
    single = [GuardPart("Main", 1, 0, "column", col_pos=p) for p in (1, 2)]
    band = [GuardPart("Main", 1, 0, "column", col_pos=1, col_count=2)]
    one = guard_snapshot([*base, *single], [[header], column(0), column(1), column(2)], meta)
    two = guard_snapshot([*base, *band], [[header], column(0), band_rows], meta)
    assert one.tables["Main"] == two.tables["Main"]
    assert band[0].a1() == "'Main'!B2:C"
    assert band[0].grid_range(3)["gridRange"]["endColumnIndex"] == 3
    assert column_bands([5, 1, 2, 7, 6]) == [(1, 2), (5, 3)]


def fresh_table_per_row(
    header_row: int,
    header_values: list[Any],
    key_pos: int | None,
    key_values: list[list[Any]],
    full_rows: dict[int, list[Any]],
    columns: dict[int, list[list[Any]]],
) -> Table:
    """The guard's fresh Table built row by row, cell by cell (the previous build)."""
    n = max([len(key_values), *(len(v) for v in columns.values())])
    if full_rows:
        n = max(n, max(full_rows) - header_row)
    header = tuple(str(v).strip() if v is not None else "" for v in parse_row(header_values))
    whole = {key_pos: key_values} if key_pos is not None else {}
    whole.update(columns)
    typed = {pos: [parse_cell(c[0] if c else None) for c in vals] for pos, vals in whole.items()}
    width = max(typed, default=-1) + 1
    rows: list[tuple[Any, ...]] = []
    for i in range(n):
        full = full_rows.get(header_row + 1 + i)
        if full is not None:
            rows.append(parse_row(full))
            continue
        cells: list[Any] = [None] * width
        for pos, values in typed.items():
            if i < len(values) and not is_blank(values[i]):
                cells[pos] = values[i]
        while cells and cells[-1] is None:
            cells.pop()
        rows.append(tuple(cells))
    while rows and not rows[-1]:
        rows.pop()
    names = frozenset(header[p] for p in typed if p < len(header))
    return Table("t", header_row, header, tuple(rows), sheet_id=2, whole_columns=names)


one_cell = st.lists(st.one_of(json_cell, st.just("\u3000"), st.just("客户")), max_size=1)


@given(
    st.integers(1, 3),
    st.lists(json_cell, max_size=5),
    st.one_of(st.none(), st.integers(0, 3)),
    st.lists(one_cell, max_size=8),
    st.dictionaries(st.integers(2, 14), st.lists(json_cell, max_size=5), max_size=4),
    st.dictionaries(st.integers(0, 6), st.lists(one_cell, max_size=9), max_size=3),
)
def test_columnwise_fresh_table_equals_the_per_row_build(
    header_row: int,
    header_values: list[Any],
    key_pos: int | None,
    key_values: list[list[Any]],
    full_rows: dict[int, list[Any]],
    columns: dict[int, list[list[Any]]],
) -> None:
    """The column-wise guard Table equals the row-by-row build, whole columns included."""
    full = {r: v for r, v in full_rows.items() if r > header_row}
    extra = {p: v for p, v in columns.items() if p != key_pos}
    want = fresh_table_per_row(header_row, header_values, key_pos, key_values, full, extra)
    got = fresh_table("t", header_row, header_values, key_pos, key_values, full, 2, extra)
    assert got == want
    assert [[v.__class__ for v in r] for r in got.rows] == [
        [v.__class__ for v in r] for r in want.rows
    ]


@given(
    st.integers(1, 3),
    st.one_of(st.none(), st.integers(0, 3)),
    st.lists(one_cell, max_size=8),
    st.dictionaries(st.integers(2, 14), st.lists(json_cell, max_size=5), max_size=4),
    st.dictionaries(st.integers(0, 6), st.lists(one_cell, max_size=9), max_size=3),
    st.integers(-12, 12),
    st.integers(-12, 12),
)
def test_column_rows_read_like_the_tuple_of_rows(
    header_row: int,
    key_pos: int | None,
    key_values: list[list[Any]],
    full_rows: dict[int, list[Any]],
    columns: dict[int, list[list[Any]]],
    start: int,
    stop: int,
) -> None:
    """A guard Table's rows answer columns, indexes, slices, equality and hash as the
    tuple of rows they stand for."""
    full = {r: v for r, v in full_rows.items() if r > header_row}
    extra = {p: v for p, v in columns.items() if p != key_pos}
    got = fresh_table("t", header_row, [], key_pos, key_values, full, 2, extra).rows
    want = fresh_table_per_row(header_row, [], key_pos, key_values, full, extra).rows
    assert isinstance(got, ColumnRows)
    for pos in range(8):
        assert got.column(pos) == [r[pos] if pos < len(r) else None for r in want]
    assert got[start:stop] == want[start:stop]
    assert [got[i] for i in range(-len(want), len(want))] == [
        want[i] for i in range(-len(want), len(want))
    ]
    with pytest.raises(IndexError):
        got[len(want)]
    assert got == want
    assert hash(got) == hash(want)
    assert len(got) == len(want)


_LOOKALIKES = st.sampled_from([None, "1", 1, 1.0, True, "TRUE", False, "甲", "乙"])


@given(
    before=st.lists(_LOOKALIKES, min_size=1, max_size=4),
    after=st.lists(_LOOKALIKES, min_size=1, max_size=4),
    copy=st.booleans(),
    mine=st.sets(st.sampled_from(["a", "b", "c"])),
    renamed=st.booleans(),
)
def test_a_row_is_still_in_place_exactly_when_its_texts_agree(
    before: list[Any], after: list[Any], copy: bool, mine: set[str], renamed: bool
) -> None:
    """Before a removal, a row re-read counts as unchanged exactly when its canonical
    text in each of the first read's columns but those syncer wrote, found by name in
    each read, is the same; lookalike values and a renamed column included."""
    header = ("a", "b", "c", "d")
    first = Table("T", 1, header, (tuple(before),))
    later = tuple(before) if copy else tuple(after)
    second = Table("T", 1, ("a", "b", "x", "d") if renamed else header, (later,))
    columns = [c for c in header if c not in mine]
    expected = _texts_by_name(first, columns) == _texts_by_name(second, columns)
    assert same_row(first, 0, second, 0, mine) == expected


def _texts_by_name(table: Table, columns: list[str]) -> list[str]:
    """The canonical text of each of ``columns`` in ``table``'s first row, found by name
    ("" when the header lacks it or the row is shorter)."""
    row = table.rows[0]
    out = []
    for column in columns:
        pos = table.header.index(column) if column in table.header else len(row)
        out.append(canonical(row[pos] if pos < len(row) else None))
    return out
