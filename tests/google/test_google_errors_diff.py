"""The errors tab written by difference reads exactly as a full rewrite would."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncer.connectors.base import TabRequest
from syncer.connectors.google.builders import SheetMeta, build_writes, replace_requests
from syncer.guard import Resolved
from syncer.model import CellValue, ReplaceTab, Snapshot, Table

from .conftest import MakeConnector, MakeSheet

ERRORS = "Errors"

#: What a line of the errors tab may hold: texts (CJK, ISO-date-like, padded), numbers,
#: booleans, dates, empties.
cell = st.one_of(
    st.none(),
    st.just(""),
    st.booleans(),
    st.integers(0, 10**6),  # within what the sandbox renders as a date
    st.floats(0, 1e6, allow_nan=False, width=32),
    st.text(alphabet="ab 基础信息校验错误缺少联系方式", max_size=6),
    st.sampled_from(["2024-03-01", "2024-03-01 09:05", "12", "TRUE", " x ", "行 3"]),
    st.dates(date(1990, 1, 1), date(2030, 1, 1)),
    st.datetimes(datetime(1990, 1, 1), datetime(2030, 1, 1)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
)
lines = st.lists(st.lists(cell, max_size=5), max_size=7)


def _content(rows: list[list[Any]]) -> tuple[tuple[CellValue, ...], ...]:
    """Tab content as ReplaceTab carries it: a header line first."""
    return (("tab", "row", "problem"), *(tuple(r) for r in rows))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(old=lines, new=lines, edits=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4))))
def test_diff_write_reads_like_a_full_rewrite(
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    old: list[list[Any]],
    new: list[list[Any]],
    edits: list[tuple[int, int]],
) -> None:
    """Random old and new tab contents: written by difference, the tab reads as rewritten."""
    wanted = list(new)
    for r, c in edits:  # lines partly equal to the old ones, as between two cycles
        if r < len(old) and r < len(wanted):
            wanted[r] = [*old[r][:c], *wanted[r][c:]]
    seeded = [list(line) for line in _content(old)]
    op = ReplaceTab(ERRORS, _content(wanted), "errors")
    got: list[Table] = []
    for by_difference in (True, False):
        sid = make_sheet({"Main": [["id"]], ERRORS: seeded})
        conn = make_connector(sid)
        snap = conn.read([TabRequest(ERRORS, 1)])
        seen = snap if by_difference else Snapshot({})
        batch = build_writes([Resolved(op, None)], snap, conn.metadata(), seen)
        if batch.requests:
            conn.http.batch_update(conn.spreadsheet_id, {"requests": batch.requests})
        got.append(conn.read([TabRequest(ERRORS, 1)]).tables[ERRORS])
        conn.close()
    assert got[0].header == got[1].header
    assert got[0].rows == got[1].rows
    assert [[v.__class__ for v in r] for r in got[0].rows] == [
        [v.__class__ for v in r] for r in got[1].rows
    ]


def test_four_changed_lines_of_a_long_tab_write_four_lines() -> None:
    """A long tab where a few lines changed is written as those lines, not rewritten."""
    header = ("tab", "row", "key", "problem")
    old_rows = tuple(("Main", i, f"K{i}", f"missing phone {i}") for i in range(3, 2003))
    old = Table(ERRORS, 1, header, old_rows, sheet_id=9)
    rows = [header, *old_rows]
    for i in (10, 500, 1500):
        rows[i] = (*rows[i][:3], "fixed")
    rows = rows[:-1]  # one line fewer: the last is cleared
    requests = replace_requests(9, 3000, 4, old, rows)
    written = sum(len(r["updateCells"].get("rows", [])) for r in requests)
    assert written <= 5
    assert requests[-1]["updateCells"]["range"]["startRowIndex"] == len(rows)
    assert "rows" not in requests[-1]["updateCells"]


def test_shifted_row_numbers_write_one_column() -> None:
    """Lines whose only change is their row number are written as that column alone."""
    header = ("tab", "row", "key", "problem")
    old_rows = tuple(("Main", i, f"K{i}", "missing phone") for i in range(3, 1003))
    old = Table(ERRORS, 1, header, old_rows, sheet_id=9)
    rows = [header, *(("Main", i - 1, f"K{i}", "missing phone") for i in range(3, 1003))]
    requests = replace_requests(9, 2000, 4, old, rows)
    ranges = [r["updateCells"]["range"] for r in requests]
    body = [r for r in ranges if r["endRowIndex"] - r["startRowIndex"] > 1]
    assert [(r["startColumnIndex"], r["endColumnIndex"]) for r in body] == [(1, 2)]


def test_no_snapshot_means_a_full_rewrite() -> None:
    """Without the tab as read, the tab is rewritten whole over the grid."""
    meta = {ERRORS: SheetMeta(9, ERRORS, 10, 3)}
    op = ReplaceTab(ERRORS, (("tab",), ("x",)), "errors")
    batch = build_writes([Resolved(op, None)], Snapshot({}), meta, Snapshot({}))
    rng = batch.requests[0]["updateCells"]["range"]
    assert (rng["endRowIndex"], rng["endColumnIndex"]) == (10, 3)


_cells = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "a", "a ", "b"]),
    st.integers(0, 3),
    st.sampled_from([datetime(2024, 5, 1, 9, 0), date(2024, 5, 1)]),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    have=st.lists(st.lists(_cells, max_size=5), min_size=1, max_size=6),
    wanted=st.lists(st.lists(_cells, max_size=5), max_size=6),
)
def test_same_content_stops_early_but_agrees_with_the_whole(
    have: list[list[CellValue]], wanted: list[list[CellValue]]
) -> None:
    """A rewrite is skipped exactly when every line, compared as canonical text without
    trailing blanks, is already shown; the comparison stops at the first difference."""
    from syncer.connectors.google.builders import _same_content
    from syncer.model import canonical

    def norm(rows: list[list[CellValue]]) -> list[list[str]]:
        out = [[canonical(v) for v in r] for r in rows]
        for r in out:
            while r and not r[-1]:
                r.pop()
        while out and not out[-1]:
            out.pop()
        return out

    table = Table(
        name="E",
        header_row=1,
        header=tuple(map(canonical, have[0])),
        rows=tuple(map(tuple, have[1:])),
    )
    whole = norm([list(table.header), *map(list, table.rows)]) == norm(wanted)
    assert _same_content(table, wanted) == whole
