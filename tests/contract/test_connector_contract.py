"""The behaviour every connector promises (run once per connector in HARNESSES)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest

from syncer.connectors.base import KeyColumn, TabRequest
from syncer.model import (
    AddColumn,
    CellValue,
    EnsureTab,
    MoveRow,
    Operation,
    Plan,
    ReplaceTab,
    RowRef,
    SetCell,
    Snapshot,
    Table,
)

from .conftest import Harness, Tabs

MAIN, HISTORY, ERRORS = "客户信息", "客户历史库", "校验错误"
HEADER = ["客户编号", "客户名称", "合作状态", "首次接触时间", "合同金额(元)"]
ROWS: list[list[CellValue]] = [
    ["XS2024001", "甲公司", "合作中", date(2024, 3, 1), 1000],
    ["XS2024002", "乙公司", "流失客户", date(2024, 1, 5), 0.5],
    ["XS2024003", "丙公司", "意向客户", date(2024, 2, 1), None],
    ["XS2024004", "丁公司", "流失客户", datetime(2023, 12, 1, 14, 30), 200],
]
SEED: Tabs = {
    MAIN: [["客户信息管理_销售部_2024"], HEADER, *ROWS],
    "备注": [["note"], ["keep me"]],
}
REQUESTS = [TabRequest(MAIN, 2), TabRequest(HISTORY, 1), TabRequest(ERRORS, 1)]

MakeHarness = Callable[[Tabs], Harness]


def ref(table: Table, key: str) -> RowRef:
    """The RowRef of the row holding ``key``, as a planner would build it."""
    (index,) = table.find_key("客户编号", key)
    return RowRef(key, table.sheet_row(index))


def set_cell(snap: Snapshot, key: str, column: str, value: CellValue) -> SetCell:
    """A SetCell on the main tab addressed like the planner does."""
    table = snap.tables[MAIN]
    (index,) = table.find_key("客户编号", key)
    return SetCell(MAIN, ref(table, key), column, value, table.cell(index, column), "test")


def move(snap: Snapshot, key: str) -> MoveRow:
    """A MoveRow of ``key`` to the history tab, with an archived-at column."""
    table = snap.tables[MAIN]
    (index,) = table.find_key("客户编号", key)
    values = (*table.row_dict(index).items(), ("归档时间", date(2024, 6, 1)), ("归档原因", "流失"))
    return MoveRow(MAIN, ref(table, key), HISTORY, tuple(values), "流失", "archive")


def plan(ops: tuple[Operation, ...]) -> Plan:
    """A plan of ``ops`` for a ledger keyed by 客户编号."""
    return Plan("t", ops, key_column="客户编号")


def keys_of(rows: list[list[CellValue]]) -> list[CellValue]:
    """The first cell of each data row below a one-row header."""
    return [r[0] for r in rows[1:] if r]


def test_read_returns_typed_values_below_a_title_row(make_harness: MakeHarness) -> None:
    """Reading a tab whose header is on row 2 gives the header and typed data rows."""
    snap = make_harness(SEED).connector.read(REQUESTS)
    table = snap.tables[MAIN]
    assert table.header == tuple(HEADER)
    assert table.header_row == 2
    assert table.sheet_row(0) == 3
    assert table.rows[0] == ("XS2024001", "甲公司", "合作中", date(2024, 3, 1), 1000)
    assert table.cell(1, "合同金额(元)") == 0.5
    assert table.rows[2] == ("XS2024003", "丙公司", "意向客户", date(2024, 2, 1))
    assert table.cell(3, "首次接触时间") == datetime(2023, 12, 1, 14, 30)


def test_missing_tabs_are_absent(make_harness: MakeHarness) -> None:
    """Tabs that do not exist are simply not in the snapshot."""
    snap = make_harness(SEED).connector.read(REQUESTS)
    assert set(snap.tables) == {MAIN}
    assert snap.get(HISTORY) is None


def test_header_only_and_empty_tabs_read_as_no_rows(make_harness: MakeHarness) -> None:
    """A header-only tab has a header and no rows; an empty tab has neither."""
    h = make_harness({"h": [HEADER], "e": [[None]]})
    snap = h.connector.read([TabRequest("h"), TabRequest("e")])
    assert snap.tables["h"].header == tuple(HEADER)
    assert snap.tables["h"].rows == ()
    assert snap.tables["e"].header == ()
    assert snap.tables["e"].rows == ()


def test_trailing_blank_rows_are_trimmed(make_harness: MakeHarness) -> None:
    """Blank rows after the data are not part of the table; blank rows inside are."""
    rows: list[list[CellValue]] = [HEADER, ROWS[0], [None], ROWS[1], *([[None, ""]] * 50)]
    snap = make_harness({MAIN: rows}).connector.read([TabRequest(MAIN)])
    assert len(snap.tables[MAIN].rows) == 3
    assert snap.tables[MAIN].is_blank_row(1)


def test_keys_at_rows_agree_with_the_key_column(make_harness: MakeHarness) -> None:
    """``read_keys_at`` gives, at each asked row, the key ``read_keys`` has there ("" past
    the data, below the header row); a tab that is gone or lost its key column is None."""
    h = make_harness({**SEED, "无键": [["名称"], ["x"]]})
    where = {
        MAIN: KeyColumn(2, "客户编号", 0),
        "无键": KeyColumn(1, "客户编号", None),
        "不存在": KeyColumn(1, "客户编号", 0),
    }
    rows = {MAIN: {3, 5, 6, 9}, "无键": {2}, "不存在": {2}}
    column = h.connector.read_keys({MAIN: where[MAIN]})[MAIN]
    assert column == ["XS2024001", "XS2024002", "XS2024003", "XS2024004"]
    at = h.connector.read_keys_at(where, rows)
    assert at == {
        MAIN: {3: "XS2024001", 5: "XS2024003", 6: "XS2024004", 9: ""},
        "无键": None,
        "不存在": None,
    }


def test_set_cell_writes_and_changes_the_token(make_harness: MakeHarness) -> None:
    """An applied SetCell lands in the right cell and changes the change token."""
    h = make_harness(SEED)
    snap = h.connector.read(REQUESTS)
    before = h.connector.change_token()
    report = h.apply(plan((set_cell(snap, "XS2024003", "合作状态", "合作中"),)), snap)
    assert len(report.applied) == 1
    assert report.dropped == []
    assert report.api_calls >= 1
    assert h.cells(MAIN)[4][2] == "合作中"
    assert h.cells(MAIN)[3][2] == "流失客户"
    assert h.connector.change_token() != before


def test_empty_plan_writes_nothing(make_harness: MakeHarness) -> None:
    """Applying an empty plan leaves the source and its token unchanged."""
    h = make_harness(SEED)
    snap = h.connector.read(REQUESTS)
    before = h.connector.change_token()
    report = h.apply(plan(()), snap)
    assert report.applied == []
    assert h.connector.change_token() == before


def test_add_column_then_set_it(make_harness: MakeHarness) -> None:
    """AddColumn appends a header cell; a SetCell in the same plan can target it."""
    h = make_harness(SEED)
    snap = h.connector.read(REQUESTS)
    ops = plan(
        (
            AddColumn(MAIN, "校验提示", "annotations"),
            set_cell(snap, "XS2024002", "校验提示", "缺电话"),
        ),
    )
    report = h.apply(ops, snap)
    assert len(report.applied) == 2
    cells = h.cells(MAIN)
    assert cells[1] == [*HEADER, "校验提示"]
    assert cells[3][5] == "缺电话"
    assert cells[0] == ["客户信息管理_销售部_2024"]


def test_ensure_tab_creates_once(make_harness: MakeHarness) -> None:
    """EnsureTab creates a missing tab with its header and leaves an existing one alone."""
    h = make_harness(SEED)
    snap = h.connector.read(REQUESTS)
    h.apply(plan((EnsureTab(HISTORY, ("客户编号", "归档时间"), "archive"),)), snap)
    assert h.cells(HISTORY) == [["客户编号", "归档时间"]]
    snap2 = h.connector.read(REQUESTS)
    h.apply(plan((EnsureTab(HISTORY, ("other",), "archive"),)), snap2)
    assert h.cells(HISTORY) == [["客户编号", "归档时间"]]
    assert h.cells("备注") == [["note"], ["keep me"]]


def test_replace_tab_rewrites_whole_content(make_harness: MakeHarness) -> None:
    """ReplaceTab creates the tab, and a shorter replacement leaves no stale cells."""
    h = make_harness(SEED)
    snap = h.connector.read(REQUESTS)
    long_rows = (("tab", "row", "problem"), (MAIN, 3, "a"), (MAIN, 4, "b"))
    h.apply(plan((ReplaceTab(ERRORS, long_rows, "errors"),)), snap)
    assert h.cells(ERRORS) == [list(r) for r in long_rows]
    snap2 = h.connector.read(REQUESTS)
    h.apply(plan((ReplaceTab(ERRORS, (("tab", "row"),), "errors"),)), snap2)
    assert h.cells(ERRORS) == [["tab", "row"]]


def test_move_row_appends_to_history_then_removes(make_harness: MakeHarness) -> None:
    """MoveRows append typed rows to history (created first) and remove them from main;
    every customer ends up in exactly one tab."""
    h = make_harness(SEED)
    snap = h.connector.read(REQUESTS)
    history_header = (*HEADER, "归档时间", "归档原因")
    ops = plan(
        (
            EnsureTab(HISTORY, history_header, "archive"),
            move(snap, "XS2024002"),
            move(snap, "XS2024004"),
            set_cell(snap, "XS2024003", "合作状态", "合作中"),
        ),
    )
    report = h.apply(ops, snap)
    assert len(report.applied) == 4
    main = h.cells(MAIN)
    history = h.cells(HISTORY)
    assert keys_of(main[1:]) == ["XS2024001", "XS2024003"]
    assert main[3][2] == "合作中"
    assert history[0] == list(history_header)
    assert history[1] == [*ROWS[1], date(2024, 6, 1), "流失"]
    assert history[2] == [*ROWS[3], date(2024, 6, 1), "流失"]
    assert sorted(map(str, keys_of(main[1:]) + keys_of(history))) == [r[0] for r in ROWS]


def test_guard_drops_rows_a_person_edited(make_harness: MakeHarness) -> None:
    """A row edited between read and write is not written; the edit survives; other rows
    are still written."""
    h = make_harness(SEED)
    snap = h.connector.read(REQUESTS)
    h.between_read_and_write(lambda: h.edit(MAIN, 4, 2, "乙公司（新）"))
    ops = plan(
        (
            set_cell(snap, "XS2024002", "合作状态", "合作中"),
            set_cell(snap, "XS2024001", "合作状态", "暂停合作"),
            move(snap, "XS2024002"),
        ),
    )
    report = h.apply(ops, snap)
    assert {type(d.op).__name__ for d in report.dropped} == {"SetCell", "MoveRow"}
    assert [op.kind for op in report.applied] == ["set_cell"]
    main = h.cells(MAIN)
    assert main[3][:3] == ["XS2024002", "乙公司（新）", "流失客户"]
    assert main[2][2] == "暂停合作"


def test_second_apply_of_the_same_plan_changes_nothing(make_harness: MakeHarness) -> None:
    """Re-applying a plan against its stale snapshot leaves the source as the first left it."""
    h = make_harness(SEED)
    snap = h.connector.read(REQUESTS)
    ops = plan(
        (
            EnsureTab(HISTORY, (*HEADER, "归档时间", "归档原因"), "archive"),
            move(snap, "XS2024002"),
            set_cell(snap, "XS2024003", "合作状态", "合作中"),
        ),
    )
    h.apply(ops, snap)
    first = (h.cells(MAIN), h.cells(HISTORY))
    h.apply(ops, snap)
    assert (h.cells(MAIN), h.cells(HISTORY)) == first


@pytest.mark.parametrize("text", ["=1+1", "+86 138 0013 8000", "-5", "@SUM(A1)", '=HYPERLINK("x")'])
def test_user_text_stays_text(make_harness: MakeHarness, text: str) -> None:
    """Text starting with = + - @ is written and read back as that exact text."""
    h = make_harness(SEED)
    snap = h.connector.read(REQUESTS)
    h.apply(plan((set_cell(snap, "XS2024001", "客户名称", text),)), snap)
    assert h.cells(MAIN)[2][1] == text
    assert h.connector.read(REQUESTS).tables[MAIN].cell(0, "客户名称") == text


def test_dates_round_trip_as_dates(make_harness: MakeHarness) -> None:
    """Dates and datetimes written by the robot read back as the same typed values."""
    h = make_harness(SEED)
    snap = h.connector.read(REQUESTS)
    ops = plan(
        (
            AddColumn(MAIN, "状态变更时间", "stamp"),
            set_cell(snap, "XS2024001", "状态变更时间", datetime(2024, 6, 1, 9, 5)),
            set_cell(snap, "XS2024003", "首次接触时间", date(2024, 6, 2)),
        ),
    )
    h.apply(ops, snap)
    table = h.connector.read(REQUESTS).tables[MAIN]
    assert table.cell(0, "状态变更时间") == datetime(2024, 6, 1, 9, 5)
    assert table.cell(2, "首次接触时间") == date(2024, 6, 2)


def test_rows_inserted_above_never_misdirect_writes(make_harness: MakeHarness) -> None:
    """A row a person inserts above the targets between read and write shifts them; each
    keyed operation then lands on the right customer or is dropped — never on the wrong
    row — and nothing is lost."""
    h = make_harness(SEED)
    snap = h.connector.read(REQUESTS)
    inserted = ["XS2024009", "新公司", "意向客户"]
    h.between_read_and_write(lambda: h.insert_row(MAIN, 3, inserted))
    ops = plan(
        (
            EnsureTab(HISTORY, (*HEADER, "归档时间", "归档原因"), "archive"),
            set_cell(snap, "XS2024003", "合作状态", "合作中"),
            move(snap, "XS2024002"),
        )
    )
    report = h.apply(ops, snap)
    applied = {op.kind for op in report.applied}
    main = h.cells(MAIN)
    history = keys_of(h.cells(HISTORY)) if "ensure_tab" in applied else []
    rows = {r[0]: r for r in main[2:]}
    assert main[2] == inserted
    assert rows["XS2024001"] == ROWS[0]
    assert rows["XS2024004"] == ROWS[3]
    status = "合作中" if "set_cell" in applied else "意向客户"
    assert rows["XS2024003"] == ["XS2024003", "丙公司", status, date(2024, 2, 1)]
    if "move_row" in applied:
        assert ("XS2024002" not in rows, history) == (True, ["XS2024002"])
    else:
        assert (rows["XS2024002"], history) == (ROWS[1], [])
