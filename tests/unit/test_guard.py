"""The guard: kept operations find their row in the fresh read; any human change since
the read drops the operation with a reason. Plus the placement check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from planning_kit import ERRORS, HEADER, HISTORY, MAIN, make_table, snap

from syncer.guard import _KeyIndex, guard, kept_as_read
from syncer.model import (
    AddColumn,
    AppendRow,
    CellValue,
    EnsureTab,
    MoveRow,
    Operation,
    Plan,
    RemoveRow,
    ReplaceTab,
    SetCell,
    Snapshot,
    Table,
    canonical,
)
from syncer.rules.base import row_ref

ROWS: list[list[CellValue]] = [
    ["XS1", "甲", "张三", "13800138000", "合作中"],
    [None, "乙", "李四", "13900139000", "潜在客户"],
    ["XS3", "丙", None, "123", "流失客户"],
]
H5 = HEADER[:5]


def table(rows: list[list[CellValue]], header: tuple[str, ...] = H5) -> Table:
    """The main tab holding ``rows``."""
    return make_table(rows, header=header)


def set_cell(read: Table, index: int, column: str, value: CellValue, keyed: bool = True) -> SetCell:
    """A SetCell on data row ``index`` of ``read`` (by key when it has one and ``keyed``)."""
    key = read.cell(index, "客户编号") if keyed else None
    ref = row_ref(read, index, str(key) if key else None)
    return SetCell(MAIN, ref, column, value, read.cell(index, column), "test")


def run(ops: list[Operation], read: Snapshot, fresh: Snapshot) -> tuple[list[Any], list[str]]:
    """Guard ``ops``: ((op kind, fresh index) kept, reasons dropped)."""
    result = guard(Plan("sales", tuple(ops), key_column="客户编号"), read, fresh)
    return [(r.op.kind, r.index) for r in result.kept], [d.reason for d in result.dropped]


def test_unchanged_fresh_read_keeps_everything_in_order() -> None:
    """With nothing changed, every operation is kept at its original index, in plan order."""
    read = table(ROWS)
    ops: list[Operation] = [
        AddColumn(MAIN, "校验提示", "annotate"),
        set_cell(read, 0, "合作状态", "意向客户"),
        set_cell(read, 1, "客户编号", "XS4", keyed=False),
        ReplaceTab(ERRORS, (("h",),), "errors_tab"),
    ]
    kept, dropped = run(ops, snap(read), snap(read))
    assert kept == [("add_column", None), ("set_cell", 0), ("set_cell", 1), ("replace_tab", None)]
    assert dropped == []


def test_keyed_row_is_found_after_rows_are_inserted_above() -> None:
    """A keyed operation follows its row when a person inserts rows above it."""
    read = table(ROWS)
    fresh = table([["XS9", "新"], *ROWS])
    kept, dropped = run([set_cell(read, 2, "联系人姓名", "王五")], snap(read), snap(fresh))
    assert kept == [("set_cell", 3)]
    assert dropped == []


def test_keyless_row_shifted_by_an_insert_is_dropped() -> None:
    """A keyless operation is pinned to its sheet row; an insert above changes that row."""
    read = table(ROWS)
    fresh = table([["XS9", "新"], *ROWS])
    op = set_cell(read, 1, "客户编号", "XS4", keyed=False)
    assert run([op], snap(read), snap(fresh)) == ([], ["sheet row 3 changed since read"])


def test_edited_deleted_and_duplicated_rows_drop_their_operations() -> None:
    """An edited row, a deleted row and a key now on two rows each drop with a reason."""
    read = table(ROWS)
    edited = table([ROWS[0], ROWS[1], ["XS3", "丙", "王五", "123", "流失客户"]])
    op = set_cell(read, 2, "联系方式", "x")
    assert run([op], snap(read), snap(edited)) == ([], ["row XS3 changed since read"])
    deleted = table(ROWS[:2])
    assert run([op], snap(read), snap(deleted)) == ([], ["row XS3 deleted"])
    doubled = table([*ROWS, ROWS[2]])
    assert run([op], snap(read), snap(doubled)) == ([], ["key XS3 now on 2 rows"])


def test_a_column_inserted_elsewhere_does_not_drop() -> None:
    """Only the read header's columns are compared: a new column is ignored."""
    read = table(ROWS)
    fresh = table([[*r, "x"] for r in ROWS], header=(*H5, "新列"))
    kept, _ = run([set_cell(read, 0, "合作状态", "意向客户")], snap(read), snap(fresh))
    assert kept == [("set_cell", 0)]


def test_robot_column_cell_edited_since_read_is_dropped() -> None:
    """A cell outside the read header (added later) must still hold `before`."""
    read = table(ROWS)
    fresh = table([[*ROWS[0], "someone typed"], *ROWS[1:]], header=(*H5, "校验提示"))
    ops: list[Operation] = [
        AddColumn(MAIN, "校验提示", "annotate"),
        SetCell(MAIN, row_ref(read, 0, "XS1"), "校验提示", "联系方式: 号码无效", None, "annotate"),
    ]
    kept, dropped = run(ops, snap(read), snap(fresh))
    assert kept == []
    assert dropped == [
        "column 校验提示 already exists in tab 基础信息",
        "cell 校验提示 of row XS1 changed since read",
    ]


def test_column_added_by_the_plan_counts_as_present_and_empty() -> None:
    """A SetCell on a column the plan's kept AddColumn creates passes with before=None."""
    read = table(ROWS)
    ops: list[Operation] = [
        AddColumn(MAIN, "校验提示", "annotate"),
        SetCell(MAIN, row_ref(read, 0, "XS1"), "校验提示", "x", None, "annotate"),
    ]
    kept, _ = run(ops, snap(read), snap(read))
    assert kept == [("add_column", None), ("set_cell", 0)]
    kept, dropped = run(ops[1:], snap(read), snap(read))
    assert (kept, dropped) == ([], ["column 校验提示 missing"])


def move(read: Table, index: int, values: tuple[tuple[str, CellValue], ...] = ()) -> MoveRow:
    """A MoveRow of data row ``index`` of ``read`` to the history tab."""
    key = str(read.cell(index, "客户编号"))
    return MoveRow(MAIN, row_ref(read, index, key), HISTORY, values, "流失客户", "lost")


def test_move_row_needs_a_history_tab_with_its_columns_and_no_copy_there() -> None:
    """A move is dropped when the history tab is missing, lacks a column or has the key."""
    read = table(ROWS)
    op = move(read, 2, (("客户编号", "XS3"), ("备注", "x"), ("空列", None)))
    assert run([op], snap(read), snap(read)) == ([], ["history tab 客户历史库 missing"])
    ensure = EnsureTab(HISTORY, ("客户编号", "备注", "空列"), "lost")
    assert run([ensure, op], snap(read), snap(read))[0] == [("ensure_tab", None), ("move_row", 2)]
    history = make_table([], header=("客户编号",), name=HISTORY)
    assert run([op], snap(read), snap(read, history)) == ([], ["column 备注 missing in 客户历史库"])
    added = AddColumn(HISTORY, "备注", "lost")
    assert run([added, op], snap(read), snap(read, history))[1] == []
    there = make_table([["XS3"]], header=("客户编号", "备注"), name=HISTORY)
    assert run([op], snap(read), snap(read, there)) == ([], ["row XS3 already in 客户历史库"])


def test_ensure_tab_kept_when_same_header_dropped_when_different() -> None:
    """EnsureTab is a no-op on a tab with the same header and dropped on a different one."""
    read = table(ROWS)
    ensure = EnsureTab(HISTORY, ("客户编号", "备注"), "lost")
    same = make_table([], header=("客户编号", "备注", ""), name=HISTORY)
    other = make_table([], header=("编号",), name=HISTORY)
    assert run([ensure], snap(read), snap(read, same)) == ([("ensure_tab", None)], [])
    assert run([ensure], snap(read), snap(read, other)) == (
        [],
        ["tab 客户历史库 was created with a different header since read"],
    )


def test_missing_tab_drops_row_operations() -> None:
    """Row operations and AddColumns on a tab that disappeared are dropped."""
    read = table(ROWS)
    ops: list[Operation] = [AddColumn(MAIN, "x", "t"), set_cell(read, 0, "合作状态", "y")]
    assert run(ops, snap(read), snap()) == ([], ["tab 基础信息 missing", "tab 基础信息 missing"])


def test_a_customer_the_errors_tab_still_names_is_appended_when_the_tab_is_replaced() -> None:
    """A repair's AppendRow is dropped when its key is back on a tab holding customers,
    not because the errors tab the same write replaces still names the customer."""
    named = [["基础信息", 4, "XS9", "联系电话"]]
    errors = make_table(named, header=("工作表", "行号", "客户编号", "列"), name=ERRORS)
    fresh = snap(table(ROWS), make_table([], header=H5, name=HISTORY), errors)
    append = AppendRow(HISTORY, "XS9", (("客户编号", "XS9"),), "found in neither tab", "reconcile")
    replace = ReplaceTab(ERRORS, (("h",),), "errors_tab")
    kept, dropped = run([replace, append], fresh, fresh)
    assert kept == [("replace_tab", None), ("append_row", None)]
    assert dropped == []
    kept, dropped = run([append], fresh, fresh)
    assert kept == []
    assert dropped == [f"row XS9 is in {ERRORS} again"]
    back = snap(table([*ROWS, ["XS9", "丁", None, None, "合作中"]]), fresh.tables[HISTORY], errors)
    kept, dropped = run([replace, append], back, back)
    assert dropped == [f"row XS9 is in {MAIN} again"]


_LOOKALIKE_CELLS = st.sampled_from([None, "", "1", 1, 1.0, True, "TRUE", 0, False, "甲", "甲 "])


@settings(max_examples=200)
@given(
    edits=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 4), _LOOKALIKE_CELLS), max_size=4),
    change_header=st.sampled_from(["same", "insert", "rename"]),
    sort=st.booleans(),
)
def test_the_guard_keeps_a_row_exactly_when_it_reads_the_same_over_the_read_header(
    edits: list[tuple[int, int, CellValue]], change_header: str, sort: bool
) -> None:
    """Whatever a person typed (values Python calls equal but a sheet reads differently
    among them), wherever the row went and whatever happened to the header, an operation
    is kept exactly when its row's canonical text in each of the read header's columns,
    found by name, is unchanged."""
    rows: list[list[CellValue]] = [
        ["XS1", "甲", "张三", "13800138000", 1],
        ["XS2", "乙", "李四", None, True],
        ["XS3", "丙", "王五", "123", 1.0],
    ]
    read = table(rows)
    ops: list[SetCell] = [set_cell(read, i, "联系人姓名", "x") for i in range(3)]
    now = [list(r) for r in rows]
    for i, column, value in edits:
        now[i][column] = value
    header = H5
    if change_header == "insert":
        header = (*H5[:2], "新列", *H5[2:])
        now = [[*r[:2], "?", *r[2:]] for r in now]
    elif change_header == "rename":
        header = (*H5[:4], "状态")
    order = [2, 0, 1] if sort else [0, 1, 2]
    fresh = table([now[i] for i in order], header=header)
    kept, _dropped = run(list(ops), snap(read), snap(fresh))
    at = [order.index(int(str(op.target.key)[2:]) - 1) for op in ops]
    expected = [
        ("set_cell", i)
        for op, i, j in zip(ops, at, range(3), strict=True)
        if _texts_by_name(H5, rows[j], H5) == _texts_by_name(header, fresh.rows[i], H5)
    ]
    assert kept == expected


def _texts_by_name(
    header: tuple[str, ...], row: Sequence[CellValue], columns: tuple[str, ...]
) -> dict[str, str]:
    """Each of ``columns``' canonical text in ``row``, the column found by name (first
    occurrence) in ``header``; "" when absent or past the row's end."""
    out: dict[str, str] = {}
    for name in columns:
        pos = header.index(name) if name in header else None
        out[name] = canonical(row[pos] if pos is not None and pos < len(row) else None)
    return out


_ANY_OP = st.sampled_from(["cell", "keyless", "move", "remove", "append", "replace", "column"])


@settings(max_examples=200)
@given(kinds=st.lists(st.tuples(_ANY_OP, st.integers(0, 2)), max_size=8))
def test_kept_as_read_is_what_the_guard_keeps_when_nothing_changed(
    kinds: list[tuple[str, int]],
) -> None:
    """Any mix of operations, the guard read showing the tabs as read: the guard keeps
    exactly what ``kept_as_read`` says, op for op and row for row (the write prepared
    ahead relies on it; an answer it does not match is only a missed shortcut)."""
    read = table(ROWS)
    history = make_table([["XS0", "旧"]], header=H5[:2], name=HISTORY)
    ops: list[Operation] = []
    for kind, i in kinds:
        ref = row_ref(read, i, str(read.cell(i, "客户编号") or "") or None)
        if kind == "cell":
            ops.append(set_cell(read, i, "联系人姓名", "x"))
        elif kind == "keyless":
            ops.append(set_cell(read, i, "联系人姓名", "x", keyed=False))
        elif kind == "move":
            ops.append(MoveRow(MAIN, ref, HISTORY, (("客户编号", ref.key),), "lost", "test"))
        elif kind == "remove":
            ops.append(RemoveRow(MAIN, ref, "dup", "test"))
        elif kind == "append":
            ops.append(AppendRow(HISTORY, f"XS{7 + i}", (("客户编号", f"XS{7 + i}"),), "r", "t"))
        elif kind == "replace":
            ops.append(ReplaceTab(ERRORS, (("h",), (i,)), "errors_tab"))
        else:
            ops.append(AddColumn(MAIN, f"新列{i}", "annotate"))
    plan = Plan("sales", tuple(ops), key_column="客户编号")
    both = snap(read, history)
    assert guard(plan, both, both).kept == kept_as_read(plan, both)


@given(
    texts=st.lists(st.sampled_from(["XS1", "XS2", "XS3", "", "未知"]), max_size=8),
    probe=st.sampled_from(["XS1", "XS2", "XS3", "", "未知", "XS9"]),
)
def test_the_key_index_counts_and_finds_every_text(texts: list[str], probe: str) -> None:
    """Whether the key texts repeat or not, the guard's key index counts the rows holding
    a text and finds the last of them."""
    index = _KeyIndex.of(texts)
    assert index.count(probe) == texts.count(probe)
    if probe in texts:
        assert index.last[probe] == len(texts) - 1 - texts[::-1].index(probe)
