"""Archiving on an xlsx ledger moves the workbook's structure with its rows, as Google does
for a deleteDimension: merges, hidden rows and heights, conditional formats, data
validations, hyperlinks, the auto-filter and tables. Real .xlsx files, the real connector."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.table import Table as XlTable

from syncer.connectors.base import TabRequest
from syncer.connectors.xlsx import XlsxConnector
from syncer.connectors.xlsx_rows import runs, shift_range, shift_ranges, shift_row, shift_span
from syncer.engine import apply_plan
from syncer.model import EnsureTab, MoveRow, Plan, RowRef, Snapshot

MAIN, HISTORY = "客户信息", "客户历史库"
HEADER = ["客户编号", "客户名称", "合作状态", "合同金额(元)", "备注"]
COMMENT = "以下为2023年数据"
ARCHIVED = ("C002", "C003", "C005", "C007")  # sheet rows 4, 6, 8 and 10
RED = PatternFill("solid", fgColor="FFC7CE")


def build(path: Path) -> None:
    """Customers with a merged title, a merged comment row between them, a hidden tall row,
    a note merged down three rows, a merge on an archived row, conditional formats,
    data validations, a hyperlink and an auto-filter."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = MAIN
    ws["A1"] = "客户信息管理_2024"
    ws.merge_cells("A1:E1")
    ws.append(HEADER)
    ws.append(["C001", "甲公司", "合作中", 100, None])  # 3
    ws.append(["C002", "乙公司", "流失客户", 200, None])  # 4 archived
    ws.append([COMMENT])  # 5
    ws.merge_cells("A5:E5")
    ws.append(["C003", "丙公司", "流失客户", 300, None])  # 6 archived
    ws.append(["C004", "丁公司", "合作中", 400, None])  # 7 hidden, tall
    ws.row_dimensions[7].hidden = True
    ws.row_dimensions[7].height = 30
    ws.append(["C005", "戊公司", "流失客户", 500, None, "x", "y"])  # 8 archived
    ws.merge_cells("F8:G8")
    ws.row_dimensions[8].height = 45
    ws.append(["C006", "己公司", "合作中", 600, "三行共用的备注"])  # 9
    ws.merge_cells("E9:E11")
    ws["B9"].hyperlink = "https://example.com/c006"
    ws["B9"].value = "己公司"
    ws["C9"].comment = Comment("续约中", "销售")
    ws.row_breaks.append(Break(id=9))
    ws.append(["C007", "庚公司", "流失客户", 700])  # 10 archived
    ws.append(["C008", "辛公司", "合作中", 800])  # 11
    ws.conditional_formatting.add("D3:D200", FormulaRule(formula=["$D3<0"], fill=RED))
    ws.conditional_formatting.add("B6:B9", FormulaRule(formula=["LEN(B6)>3"], fill=RED))
    states = DataValidation(type="list", formula1='"合作中,流失客户"')
    states.add("C3:C200")
    ws.add_data_validation(states)
    only_c005 = DataValidation(type="whole")
    only_c005.add("D8")
    ws.add_data_validation(only_c005)
    ws.auto_filter.ref = "A2:E11"
    wb.save(path)


@pytest.fixture
def archived(tmp_path: Path) -> openpyxl.Workbook:
    """The workbook after the real connector archived C002, C003, C005 and C007."""
    path = tmp_path / "ledger.xlsx"
    build(path)
    conn = XlsxConnector(path)
    snap = conn.read([TabRequest(MAIN, 2), TabRequest(HISTORY, 1)])
    t = snap.tables[MAIN]
    moves = [move(snap, key) for key in ARCHIVED]
    report = apply_plan(
        conn,
        Plan("t", (EnsureTab(HISTORY, t.header, "archive"), *moves), key_column="客户编号"),
        snap,
    )
    assert len(report.applied) == 1 + len(ARCHIVED)
    return openpyxl.load_workbook(path)


def move(snap: Snapshot, key: str) -> MoveRow:
    """Archive the customer ``key``."""
    t = snap.tables[MAIN]
    (i,) = t.find_key("客户编号", key)
    ref = RowRef(key, t.sheet_row(i))
    return MoveRow(MAIN, ref, HISTORY, tuple(t.row_dict(i).items()), "流失", "archive")


def test_rows_left_are_the_expected_customers(archived: openpyxl.Workbook) -> None:
    """The four archived customers are gone and the others moved up in order."""
    ws = archived[MAIN]
    assert [ws.cell(r, 1).value for r in range(3, 8)] == ["C001", COMMENT, "C004", "C006", "C008"]
    assert ws.max_row == 7


def test_merges_move_with_their_rows(archived: openpyxl.Workbook) -> None:
    """The title stays, the comment row keeps its merge on its own row, a merge over
    three rows loses the archived one, and a merge on an archived row is gone."""
    ranges = sorted(str(r) for r in archived[MAIN].merged_cells.ranges)
    assert ranges == ["A1:E1", "A4:E4", "E6:E7"]


def test_customer_under_an_old_merge_keeps_every_cell(archived: openpyxl.Workbook) -> None:
    """Row 5 (where the comment merge was) is C004's, whole and not merged."""
    ws = archived[MAIN]
    assert [c.value for c in ws[5]][:4] == ["C004", "丁公司", "合作中", 400]
    assert not any(isinstance(c, MergedCell) for c in ws[5])
    assert ws["A4"].value == COMMENT
    assert isinstance(ws["B4"], MergedCell)


def test_merged_note_keeps_its_text(archived: openpyxl.Workbook) -> None:
    """The note merged over C006–C008 still shows its text on C006's row."""
    assert archived[MAIN]["E6"].value == "三行共用的备注"


def test_hidden_flag_and_height_follow_their_row(archived: openpyxl.Workbook) -> None:
    """The hidden tall row is still C004's; no other row is hidden or 45 high."""
    dims = archived[MAIN].row_dimensions
    assert dims[5].hidden
    assert dims[5].height == 30
    hidden = [r for r in range(1, 12) if dims[r].hidden]
    assert hidden == [5]
    assert [r for r in range(1, 12) if dims[r].height == 45] == []


def test_conditional_formats_shrink_and_reanchor(archived: openpyxl.Workbook) -> None:
    """A column-long format loses four rows; one that started below an archived row
    moves up and its formula points at its new first row."""
    formats = {str(cf.sqref): cf.rules[0].formula for cf in archived[MAIN].conditional_formatting}
    assert formats == {"D3:D196": ["$D3<0"], "B5:B6": ["LEN(B5)>3"]}


def test_data_validations_shrink_or_vanish(archived: openpyxl.Workbook) -> None:
    """The dropdown on the status column loses four rows; the one on an archived cell goes."""
    dvs = [str(dv.sqref) for dv in archived[MAIN].data_validations.dataValidation]
    assert dvs == ["C3:C196"]


def test_hyperlink_comment_break_and_filter_follow(archived: openpyxl.Workbook) -> None:
    """C006's link, note and page break sit on its new row; the auto-filter covers the
    rows left."""
    ws = archived[MAIN]
    assert ws["C6"].comment is not None
    assert ws["C6"].comment.text == "续约中"
    assert [b.id for b in ws.row_breaks.brk] == [6]
    assert ws["B6"].hyperlink is not None
    assert ws["B6"].hyperlink.target == "https://example.com/c006"
    assert ws["B6"].hyperlink.ref == "B6"
    assert ws.auto_filter.ref == "A2:E7"


def test_table_range_follows_its_rows(tmp_path: Path) -> None:
    """An Excel table over the customers shrinks with its rows."""
    path = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = MAIN
    ws.append(HEADER)
    for n in range(1, 6):
        ws.append([f"C00{n}", "某公司", "合作中", n, None])
    ws.add_table(XlTable(displayName="客户表", ref="A1:E6"))
    wb.save(path)
    conn = XlsxConnector(path)
    snap = conn.read([TabRequest(MAIN, 1), TabRequest(HISTORY, 1)])
    t = snap.tables[MAIN]
    ops = (EnsureTab(HISTORY, t.header, "archive"), move(snap, "C002"), move(snap, "C003"))
    apply_plan(conn, Plan("t", ops, key_column="客户编号"), snap)
    assert openpyxl.load_workbook(path)[MAIN].tables["客户表"].ref == "A1:E4"


def test_a_table_emptied_keeps_one_row_under_its_header(tmp_path: Path) -> None:
    """Archiving every customer of an Excel table leaves it a header and one empty row,
    the smallest table Excel opens."""
    path = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = MAIN
    ws.append(HEADER)
    ws.append(["C001", "某公司", "合作中", 1, None])
    ws.add_table(XlTable(displayName="客户表", ref="A1:E2"))
    wb.save(path)
    conn = XlsxConnector(path)
    snap = conn.read([TabRequest(MAIN, 1), TabRequest(HISTORY, 1)])
    ops = (EnsureTab(HISTORY, snap.tables[MAIN].header, "archive"), move(snap, "C001"))
    apply_plan(conn, Plan("t", ops, key_column="客户编号"), snap)
    assert openpyxl.load_workbook(path)[MAIN].tables["客户表"].ref == "A1:E2"


# --- the pure range arithmetic -------------------------------------------------------------

spans = st.tuples(st.integers(1, 60), st.integers(0, 20)).map(lambda t: (t[0], t[0] + t[1]))
deletions = st.tuples(st.integers(1, 70), st.integers(1, 15))


@given(spans, deletions)
def test_a_shifted_span_covers_exactly_its_surviving_rows(
    span: tuple[int, int], deletion: tuple[int, int]
) -> None:
    """After deleting rows, a span covers exactly the new positions of its surviving rows."""
    lo, hi = span
    start, count = deletion
    survivors = {shift_row(r, start, count) for r in range(lo, hi + 1)} - {None}
    moved = shift_span(lo, hi, start, count)
    covered = set() if moved is None else set(range(moved[0], moved[1] + 1))
    assert covered == survivors


@given(spans, st.integers(1, 30), st.integers(0, 4), deletions)
def test_a_shifted_a1_range_matches_the_span(
    span: tuple[int, int], col: int, width: int, deletion: tuple[int, int]
) -> None:
    """The A1 form of a range moves as its row span does, columns untouched."""
    lo, hi = span
    start, count = deletion
    letters = [openpyxl.utils.get_column_letter(c) for c in (col, col + width)]
    moved = shift_range(f"{letters[0]}{lo}:{letters[1]}{hi}", start, count)
    expected = shift_span(lo, hi, start, count)
    if expected is None:
        assert moved is None
    else:
        assert moved is not None
        bounds = openpyxl.utils.cell.range_boundaries(moved)
        assert bounds == (col, expected[0], col + width, expected[1])


def test_whole_columns_rows_and_lists() -> None:
    """Whole columns stay whole, whole rows shift, emptied parts of a list are dropped."""
    assert shift_range("C:C", 3, 2) == "C:C"
    assert shift_range("4:9", 3, 2) == "3:7"
    assert shift_range("$B$5", 5, 1) is None
    assert shift_ranges("A3:A4 C10:D12", 3, 2) == "C8:D10"


@given(st.sets(st.integers(1, 50), max_size=20))
def test_runs_cover_the_rows_highest_first(rows: set[int]) -> None:
    """Deletion runs are disjoint, descending and together exactly the rows asked for."""
    out = runs(list(rows))
    covered = [r for start, count in out for r in range(start, start + count)]
    assert sorted(covered) == sorted(rows)
    assert [s for s, _ in out] == sorted((s for s, _ in out), reverse=True)
