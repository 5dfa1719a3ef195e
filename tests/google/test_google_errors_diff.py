"""The errors tab written by difference reads exactly as a full rewrite would."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncer.connectors.base import TabRequest
from syncer.connectors.google.builders import SheetMeta, build_writes
from syncer.connectors.google.tab_diff import replace_requests
from syncer.guard import Resolved
from syncer.model import CellValue, ReplaceTab, Snapshot, Table

from .conftest import MakeConnector, MakeSheet

ERRORS = "Errors"

#: What a line of the errors tab may hold: texts (CJK, ISO-date-like, padded), numbers,
#: booleans, dates, empties.
undated = st.one_of(
    st.none(),
    st.just(""),
    st.booleans(),
    st.integers(0, 10**6),  # within what the sandbox renders as a date
    st.floats(0, 1e6, allow_nan=False, width=32),
    st.text(alphabet="ab 基础信息校验错误缺少联系方式", max_size=6),
    st.sampled_from(["2024-03-01", "2024-03-01 09:05", "12", "TRUE", " x ", "行 3"]),
)
cell = st.one_of(
    undated,
    st.dates(date(1990, 1, 1), date(2030, 1, 1)),
    st.datetimes(datetime(1990, 1, 1), datetime(2030, 1, 1)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
)
lines = st.lists(st.lists(cell, max_size=5), max_size=7)
#: A few values, so that equal lines (which the matching must keep in order) are common;
#: no dates, which would leave date formats on cells that lines move away from (how a
#: value written there reads then depends on the format, not on the lines).
few = st.one_of(st.sampled_from([None, "a", "b"]), undated)


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
    op = ReplaceTab(ERRORS, _content(wanted), "errors")
    _written_like_a_rewrite(make_sheet, make_connector, op, [list(r) for r in _content(old)])


def _written_like_a_rewrite(
    make_sheet: MakeSheet, make_connector: MakeConnector, op: ReplaceTab, seeded: list[list[Any]]
) -> list[dict[str, Any]]:
    """Writes ``op`` over a tab holding ``seeded``, by difference and as a full rewrite,
    asserts that both read the same and leave the grid as large as the write needs and
    no larger, and returns the requests of the first."""
    got: list[Table] = []
    sent: list[dict[str, Any]] = []
    for by_difference in (True, False):
        sid = make_sheet({"Main": [["id"]], ERRORS: seeded})
        conn = make_connector(sid)
        snap = conn.read([TabRequest(ERRORS, 1)])
        seen = snap if by_difference else Snapshot({})
        grid = conn.metadata()[ERRORS].rows
        batch = build_writes([Resolved(op, None)], snap, conn.metadata(), seen)
        if batch.requests:
            conn.http.batch_update(conn.spreadsheet_id, {"requests": batch.requests})
        assert conn.metadata(refresh=True)[ERRORS].rows == max(grid, len(op.rows))
        sent = sent or batch.requests
        got.append(conn.read([TabRequest(ERRORS, 1)]).tables[ERRORS])
        conn.close()
    assert got[0].header == got[1].header
    assert got[0].rows == got[1].rows
    assert [[v.__class__ for v in r] for r in got[0].rows] == [
        [v.__class__ for v in r] for r in got[1].rows
    ]
    return sent


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    old=st.lists(st.lists(few, min_size=3, max_size=4), max_size=9),
    kept=st.lists(st.booleans(), min_size=9, max_size=9),
    came=st.lists(st.tuples(st.integers(0, 9), st.lists(few, max_size=4)), max_size=4),
    shifted=st.lists(st.integers(0, 9), max_size=9),
)
def test_lines_that_left_or_came_read_like_a_full_rewrite(
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    old: list[list[Any]],
    kept: list[bool],
    came: list[tuple[int, list[Any]]],
    shifted: list[int],
) -> None:
    """Lines removed, inserted and renumbered (column 1 shifting) between two cycles:
    written by difference, the tab reads as rewritten."""
    wanted = [list(line) for line, keep in zip(old, kept, strict=False) if keep]
    for at, line in came:
        wanted.insert(min(at, len(wanted)), line)
    for n, i in enumerate(shifted):
        if i < len(wanted) and len(wanted[i]) > 1:
            wanted[i][1] = n
    op = ReplaceTab(ERRORS, _content(wanted), "errors", shifting=(1,))
    _written_like_a_rewrite(make_sheet, make_connector, op, [list(r) for r in _content(old)])


def test_archived_lines_are_deleted_and_the_rest_renumbered(
    make_sheet: MakeSheet, make_connector: MakeConnector
) -> None:
    """Rows archived from a long tab: their lines are deleted, a new one inserted, and of
    the lines below only the row number is written."""
    old = [["Main", i, f"K{i}", f"missing phone {i % 7}"] for i in range(3, 603)]
    wanted = [[t, row - sum(1 for a in (50, 300) if a < row), k, p] for t, row, k, p in old]
    wanted = [line for line in wanted if line[2] not in ("K50", "K300")]
    wanted.insert(100, ["Main", 104, "K104", "a new problem"])
    op = ReplaceTab(ERRORS, _content(wanted), "errors", shifting=(1,))
    requests = _written_like_a_rewrite(
        make_sheet, make_connector, op, [list(r) for r in _content(old)]
    )
    kinds = [next(iter(r)) for r in requests]
    assert kinds.count("deleteDimension") == 2
    assert kinds.count("insertDimension") == 1
    body = [
        r["updateCells"] for r in requests if "updateCells" in r and r["updateCells"].get("rows")
    ]
    cells = sum(len(row["values"]) for u in body for row in u["rows"])
    assert cells < 600 + 4 * 3  # the row numbers, the new line and the header


def test_new_lines_between_others_are_inserted(
    make_sheet: MakeSheet, make_connector: MakeConnector
) -> None:
    """New findings between others: rows are inserted for them, and only they are
    written; the grid keeps its size."""
    old = [["Main", i, f"K{i}", "missing phone"] for i in range(3, 603)]
    wanted = [list(line) for line in old]
    for at in (300, 200, 100):
        wanted.insert(at, ["Main", at, f"N{at}", "a new problem"])
    op = ReplaceTab(ERRORS, _content(wanted), "errors", shifting=(1,))
    requests = _written_like_a_rewrite(
        make_sheet, make_connector, op, [list(r) for r in _content(old)]
    )
    assert [next(iter(r)) for r in requests].count("insertDimension") == 3
    body = [
        r["updateCells"] for r in requests if "updateCells" in r and r["updateCells"].get("rows")
    ]
    assert sum(len(row["values"]) for u in body for row in u["rows"]) <= 3 * 4 + 3


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
    from syncer.connectors.google.tab_diff import same_content
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
    assert same_content(table, wanted) == whole
