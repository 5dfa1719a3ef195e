"""What only the xlsx connector promises: it keeps what it does not own, writes atomically,
refuses to overwrite a workbook saved meanwhile, and reports broken files clearly."""

from __future__ import annotations

import os
import stat
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from syncer.connectors.base import TabRequest
from syncer.connectors.xlsx import XlsxConnector
from syncer.engine import apply_plan
from syncer.errors import ConnectorError, PermissionDenied, SourceNotFound
from syncer.model import AddColumn, EnsureTab, MoveRow, Plan, RowRef, SetCell, Snapshot
from tests.staged import Staged

MAIN = "客户信息"
HEADER = ["客户编号", "客户名称", "合作状态", "合同金额(元)", "合计"]
REQUESTS = [TabRequest(MAIN, 2), TabRequest("客户历史库", 1)]


def build(path: Path) -> None:
    """A workbook with everything a person might have added: title, styles, formulas,
    widths, a dropdown, merged title cells, conditional formatting and another tab."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = MAIN
    ws["A1"] = "客户信息管理_销售部_2024"
    ws.merge_cells("A1:E1")
    ws.append(HEADER)
    ws.append(["XS2024001", "甲公司", "合作中", 1000, "=D3*2"])
    ws.append(["XS2024002", "乙公司", "流失客户", 50, "=D4*2"])
    ws.append(["XS2024003", "丙公司", "意向客户", 70, "=D5*2"])
    ws["B3"].font = Font(bold=True, color="FF0000")
    ws["C4"].fill = PatternFill("solid", fgColor="FFFF00")
    ws.column_dimensions["B"].width = 33
    dv = DataValidation(type="list", formula1='"潜在客户,意向客户,合作中,暂停合作,流失客户"')
    dv.add("C3:C500")
    ws.add_data_validation(dv)
    ws.conditional_formatting.add(
        "D3:D500", CellIsRule(operator="lessThan", formula=["0"], fill=PatternFill("solid"))
    )
    other = wb.create_sheet("交易记录")
    other.append(["时间", "金额"])
    other.append([date(2024, 3, 1), 88.5])
    wb.save(path)


def cache_formulas(path: Path) -> None:
    """Give the formulas cached values, as Excel does when it saves."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for row, value in ((3, 2000), (4, 100), (5, 140)):
        xml = xml.replace(f"<f>D{row}*2</f><v />", f"<f>D{row}*2</f><v>{value}</v>")
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    """The decorated workbook, with cached formula values."""
    path = tmp_path / "客户信息管理_销售部_2024.xlsx"
    build(path)
    cache_formulas(path)
    return path


def set_op(snap: Snapshot, key: str, column: str, value: object) -> SetCell:
    """A keyed SetCell on the main tab."""
    t = snap.tables[MAIN]
    (i,) = t.find_key("客户编号", key)
    ref = RowRef(key, t.sheet_row(i))
    return SetCell(MAIN, ref, column, value, t.cell(i, column), "test")  # type: ignore[arg-type]


def plan(*ops: object) -> Plan:
    """A plan keyed by 客户编号."""
    return Plan("t", tuple(ops), key_column="客户编号")  # type: ignore[arg-type]


def test_formulas_read_as_their_cached_values(workbook: Path) -> None:
    """A formula cell reads as the value the spreadsheet program cached."""
    table = XlsxConnector(workbook).read(REQUESTS).tables[MAIN]
    assert table.column_values("合计") == [2000, 100, 140]


def test_a_write_keeps_everything_it_does_not_own(workbook: Path) -> None:
    """After a write, styles, formulas, widths, dropdowns, merges, conditional formats and
    other tabs are still there."""
    conn = XlsxConnector(workbook)
    snap = conn.read(REQUESTS)
    ops = plan(
        AddColumn(MAIN, "校验提示", "annotations"),
        set_op(snap, "XS2024002", "校验提示", "缺电话"),
        set_op(snap, "XS2024003", "合作状态", "合作中"),
    )
    report = apply_plan(conn, ops, snap)
    assert len(report.applied) == 3
    wb = openpyxl.load_workbook(workbook)
    ws = wb[MAIN]
    assert ws["F2"].value == "校验提示"
    assert ws["F4"].value == "缺电话"
    assert ws["C5"].value == "合作中"
    assert ws["E3"].value == "=D3*2"
    assert ws["B3"].font.bold is True
    assert ws["C4"].fill.fgColor.rgb == "00FFFF00"
    assert ws.column_dimensions["B"].width == 33
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:E1"]
    assert [str(dv.sqref) for dv in ws.data_validations.dataValidation] == ["C3:C500"]
    assert [str(cf.sqref) for cf in ws.conditional_formatting] == ["D3:D500"]
    assert wb.sheetnames == [MAIN, "交易记录"]
    assert [c.value for c in wb["交易记录"][2]][1] == 88.5


def test_a_formula_cell_is_never_overwritten(workbook: Path) -> None:
    """A SetCell aimed at a formula cell is dropped with a reason; the formula stays."""
    conn = XlsxConnector(workbook)
    snap = conn.read(REQUESTS)
    report = apply_plan(conn, plan(set_op(snap, "XS2024001", "合计", 5)), snap)
    assert report.applied == []
    assert "formula" in report.dropped[0].reason
    assert openpyxl.load_workbook(workbook)[MAIN]["E3"].value == "=D3*2"


def test_written_cells_are_typed(workbook: Path) -> None:
    """Dates become date cells formatted yyyy-mm-dd; text that looks like a formula is a
    string cell."""
    conn = XlsxConnector(workbook)
    snap = conn.read(REQUESTS)
    apply_plan(conn,
        plan(
            set_op(snap, "XS2024001", "客户名称", '=HYPERLINK("http://x")'),
            set_op(snap, "XS2024002", "合同金额(元)", date(2024, 6, 1)),
        ),
        snap,
    )
    ws = openpyxl.load_workbook(workbook)[MAIN]
    assert (ws["B3"].value, ws["B3"].data_type) == ('=HYPERLINK("http://x")', "s")
    assert ws["D4"].number_format == "yyyy-mm-dd"
    assert ws["D4"].is_date


def test_api_calls_count_loads_and_saves(workbook: Path) -> None:
    """A read is one load; an apply that writes is one load plus one save."""
    conn = XlsxConnector(workbook)
    snap = conn.read(REQUESTS)
    report = apply_plan(conn, plan(set_op(snap, "XS2024001", "客户名称", "甲")), snap)
    assert report.api_calls == 2
    assert (conn.loads, conn.saves) == (2, 1)


def test_a_person_saving_during_the_write_wins(workbook: Path) -> None:
    """If the file is saved by someone while syncer writes, nothing is written and every
    operation is dropped (SourceChanged); the person's version is the file."""
    conn = XlsxConnector(workbook)
    snap = conn.read(REQUESTS)

    def person_saves(_c: XlsxConnector) -> None:
        wb = openpyxl.load_workbook(workbook)
        wb[MAIN]["B5"] = "丙公司（改名）"
        wb.save(workbook)

    conn.before_save = person_saves
    report = apply_plan(conn, plan(set_op(snap, "XS2024001", "合作状态", "暂停合作")), snap)
    assert report.applied == []
    assert ["nothing was written" in d.reason for d in report.dropped] == [True]
    ws = openpyxl.load_workbook(workbook)[MAIN]
    assert (ws["B5"].value, ws["C3"].value) == ("丙公司（改名）", "合作中")
    assert not [p for p in workbook.parent.iterdir() if p.name.endswith(".syncer-tmp")]


def test_workbook_open_in_excel_is_not_written(workbook: Path) -> None:
    """An owner lock file (~$name.xlsx) makes apply refuse with the path; nothing changes."""
    conn = XlsxConnector(workbook)
    snap = conn.read(REQUESTS)
    (workbook.parent / f"~${workbook.name}").write_bytes(b"lock")
    before = workbook.read_bytes()
    with pytest.raises(PermissionDenied, match="lock file"):
        apply_plan(conn, plan(set_op(snap, "XS2024001", "合作状态", "暂停合作")), snap)
    assert workbook.read_bytes() == before


def test_file_mode_is_preserved(workbook: Path) -> None:
    """The rewritten workbook keeps the original file's permission bits."""
    os.chmod(workbook, 0o600)
    conn = XlsxConnector(workbook)
    snap = conn.read(REQUESTS)
    apply_plan(conn, plan(set_op(snap, "XS2024001", "客户名称", "甲")), snap)
    assert stat.S_IMODE(workbook.stat().st_mode) == 0o600


def test_missing_workbook_is_source_not_found(tmp_path: Path) -> None:
    """A missing file raises SourceNotFound naming the path and what to check."""
    path = tmp_path / "nope.xlsx"
    conn = XlsxConnector(path)
    assert conn.change_token() is None
    with pytest.raises(SourceNotFound, match=r"nope\.xlsx does not exist.*source\.path"):
        conn.read(REQUESTS)


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04garbage"])
def test_corrupt_workbook_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    """A file that is not an xlsx workbook raises ConnectorError naming it."""
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    with pytest.raises(ConnectorError, match=r"broken\.xlsx is not a readable \.xlsx"):
        XlsxConnector(path).read(REQUESTS)


def test_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    """A path that is a directory raises ConnectorError naming it."""
    with pytest.raises(ConnectorError, match="cannot be read"):
        XlsxConnector(tmp_path).read(REQUESTS)


def test_ten_thousand_formatted_blank_rows_are_trimmed(tmp_path: Path) -> None:
    """10,000 styled but empty rows after the data are not rows of the table."""
    path = tmp_path / "tail.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = MAIN
    ws.append(["title"])
    ws.append(HEADER)
    ws.append(["XS2024001", "甲公司", "合作中", 1])
    fill = PatternFill("solid", fgColor="DDDDDD")
    for r in range(4, 10_004):
        ws.cell(r, 1).fill = fill
        ws.cell(r, 2).value = ""
    wb.save(path)
    table = XlsxConnector(path).read(REQUESTS).tables[MAIN]
    assert table.rows == (("XS2024001", "甲公司", "合作中", 1),)


def test_huge_cells_round_trip(workbook: Path) -> None:
    """A cell at Excel's 32,767-character limit is read and written intact."""
    big = "跟进" * 16_383 + "x"
    conn = XlsxConnector(workbook)
    snap = conn.read(REQUESTS)
    apply_plan(conn, plan(set_op(snap, "XS2024001", "客户名称", big)), snap)
    assert conn.read(REQUESTS).tables[MAIN].cell(0, "客户名称") == big


def test_move_row_keeps_other_rows_styles(workbook: Path) -> None:
    """Removing a moved row shifts the rows below it with their styles."""
    conn = XlsxConnector(workbook)
    snap = conn.read(REQUESTS)
    t = snap.tables[MAIN]
    (i,) = t.find_key("客户编号", "XS2024001")
    move = MoveRow(
        MAIN,
        RowRef("XS2024001", t.sheet_row(i)),
        "客户历史库",
        tuple(t.row_dict(i).items()),
        "流失",
        "archive",
    )
    report = apply_plan(conn, plan(EnsureTab("客户历史库", t.header, "archive"), move), snap)
    assert len(report.applied) == 2
    assert report.incidents == []
    wb = openpyxl.load_workbook(workbook)
    ws = wb[MAIN]
    assert [ws.cell(r, 1).value for r in (3, 4)] == ["XS2024002", "XS2024003"]
    assert ws["C3"].fill.fgColor.rgb == "00FFFF00"
    assert [c.value for c in wb["客户历史库"][2]][:3] == ["XS2024001", "甲公司", "合作中"]


def test_keyed_operations_follow_rows_a_person_shifted(tmp_path: Path) -> None:
    """After a person inserts a row above, keyed writes are re-resolved by key and applied
    (not dropped) on the customers' new rows."""
    workbook = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = MAIN
    for row in (
        ["title"],
        HEADER[:3],
        ["XS2024001", "甲", "合作中"],
        ["XS2024002", "乙", "意向客户"],
        ["XS2024003", "丙", "意向客户"],
    ):
        wb[MAIN].append(row)
    wb.save(workbook)
    conn = XlsxConnector(workbook)
    snap = conn.read(REQUESTS)

    def insert_above(_c: XlsxConnector) -> None:
        wb = openpyxl.load_workbook(workbook)
        wb[MAIN].insert_rows(3)
        wb[MAIN]["A3"] = "XS2024009"
        wb.save(workbook)

    staged = Staged(conn)
    staged.on("reread", lambda: insert_above(conn))
    report = apply_plan(staged, plan(set_op(snap, "XS2024003", "合作状态", "合作中")), snap)
    assert report.dropped == []
    ws = openpyxl.load_workbook(workbook)[MAIN]
    assert (ws["A6"].value, ws["C6"].value) == ("XS2024003", "合作中")
    assert ws["C3"].value is None
