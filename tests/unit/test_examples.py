"""Tests of syncer.examples: the messy example ledger and its workbook."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl
import pytest

from syncer.config import load_ledger
from syncer.examples import (
    DEALS_TAB,
    HEADER,
    MAIN_TAB,
    MESS,
    MIN_ROWS,
    messy_rows,
    write_messy_workbook,
)
from syncer.model import CellValue, Snapshot, Table
from syncer.validate import validate

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2024, 6, 30)


def cell(rows: list[tuple[CellValue, ...]], sheet_row: int, column: str) -> CellValue:
    return rows[sheet_row - 3][HEADER.index(column)]


def test_messy_rows_are_deterministic_and_seeded() -> None:
    """The same arguments give the same rows; another seed changes the clean rows."""
    assert messy_rows() == messy_rows()
    assert messy_rows(seed=8)[2] != messy_rows()[2]


def test_header_is_the_domain_template_and_matches_the_sales_ledger() -> None:
    """The header is the 20-column template, every column configured in sales.yaml."""
    title, header, rows = messy_rows(n=30)
    assert title == "客户信息管理_销售部_2024"
    assert len(header) == 20
    assert header[4:7] == ("联系人姓名", "联系人职位", "联系方式")
    ledger = load_ledger(REPO / "config" / "ledgers" / "sales.yaml")
    assert set(header) <= set(ledger.columns)
    assert len(rows) == 30


def test_documented_mess_is_where_the_docstring_says() -> None:
    """Each kind of mess sits on its documented sheet row."""
    _, _, rows = messy_rows()
    assert cell(rows, MESS["phone_plus86"], "联系方式") == "+86 138-0013-8000"
    assert cell(rows, MESS["phone_float"], "联系方式") == 13912345678.0
    assert cell(rows, MESS["phone_fullwidth"], "联系方式") == "１３７００１３７０００"
    assert cell(rows, MESS["date_slash"], "首次接触时间") == "2024/3/1"
    assert cell(rows, MESS["date_chinese"], "首次接触时间") == "2024年3月1日"
    assert cell(rows, MESS["trailing_spaces"], "合作状态") == "意向客户 "
    assert set(rows[MESS["blank"] - 3]) == {None}
    assert set(rows[MESS["blank_2"] - 3]) == {None}
    assert cell(rows, MESS["empty_key"], "客户编号") is None
    assert cell(rows, MESS["placeholders"], "跟进人") == "未知"
    assert cell(rows, MESS["lost_1"], "合作状态") == "流失客户"
    assert cell(rows, MESS["stale_120d"], "最近跟进时间") == TODAY - timedelta(days=120)
    assert cell(rows, MESS["stale_200d"], "最近跟进时间") == TODAY - timedelta(days=200)
    assert cell(rows, MESS["clean"], "客户编号") == "XS2024001"
    assert cell(rows, 30, "客户编号") == "XS2024028"


def test_only_the_documented_rows_are_lost_or_stale() -> None:
    """Exactly the lost_* rows are 流失客户 and exactly the stale_* rows are > 90 days old."""
    _, _, rows = messy_rows(n=60)
    status = HEADER.index("合作状态")
    last = HEADER.index("最近跟进时间")
    lost = [i + 3 for i, r in enumerate(rows) if r[status] == "流失客户"]
    stale = [
        i + 3
        for i, r in enumerate(rows)
        if isinstance(r[last], date) and r[last] < TODAY - timedelta(days=90)
    ]
    assert lost == [MESS["lost_1"], MESS["lost_2"]]
    assert stale == [MESS["stale_120d"], MESS["stale_200d"]]


def test_validation_of_the_messy_rows_finds_exactly_the_documented_problems() -> None:
    """Validating the example with sales.yaml reports the documented mess and nothing else."""
    ledger = load_ledger(REPO / "config" / "ledgers" / "sales.yaml")
    _, header, rows = messy_rows()
    snapshot = Snapshot({MAIN_TAB: Table(MAIN_TAB, 2, header, tuple(rows))})
    found = [(f.row, f.column, f.check) for f in validate(ledger, snapshot)]
    assert found == [
        (MESS["phone_plus86"], "联系方式", "unique_together"),
        (MESS["outside_dropdown"], "所属行业", "choice"),
        (MESS["outside_dropdown"], "合作状态", "choice"),
        (MESS["trailing_spaces"], "合作状态", "choice"),
        (MESS["duplicate"], "联系方式", "unique_together"),
        (MESS["placeholders"], "需求描述", "required"),
        (MESS["placeholders"], "跟进人", "required"),
        (MESS["invalid_phone"], "联系方式", "phone"),
        (MESS["missing_source"], "客户来源", "required"),
        (MESS["negative_amount"], "合同金额(元)", "min"),
        (MESS["invalid_email"], "电子邮箱", "email"),
        (MESS["ambiguous_date"], "最近跟进时间", "date"),
    ]


def test_too_few_rows_is_refused() -> None:
    """n below MIN_ROWS cannot hold every kind of mess and is rejected."""
    with pytest.raises(ValueError, match="at least"):
        messy_rows(n=MIN_ROWS - 1)


def test_workbook_has_title_header_dropdown_formula_and_other_tab(tmp_path: Path) -> None:
    """The written workbook keeps the layout a connector must preserve."""
    path = write_messy_workbook(tmp_path / "sub" / "book.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [MAIN_TAB, DEALS_TAB]
    sheet = book[MAIN_TAB]
    assert sheet["A1"].value == "客户信息管理_销售部_2024"
    assert [str(r) for r in sheet.merged_cells.ranges] == ["A1:T1"]
    assert tuple(c.value for c in sheet[2]) == HEADER
    assert sheet["G7"].value == 13912345678.0
    assert sheet["L9"].value == "2024/3/1"
    first_contact = cell(messy_rows()[2], 3, "首次接触时间")
    assert isinstance(first_contact, date)
    assert sheet["L3"].value == datetime.combine(first_contact, time())
    assert sheet["L3"].number_format == "yyyy-mm-dd"
    assert sheet.column_dimensions["B"].width == 26
    formulas = [dv.formula1 for dv in sheet.data_validations.dataValidation]
    assert '"潜在客户,意向客户,合作中,暂停合作,流失客户"' in formulas
    assert sheet.max_row == 42
    deals = book[DEALS_TAB]
    assert deals["F2"].value == "=D2*E2"
    assert deals.max_row == 4
