"""`syncer init` on .xlsx workbooks through the real CLI: the shipped example, an English
ledger, dropdowns defined by data validation, and a messy layout; each written file
passes `syncer check` and `syncer plan` runs on it."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

from syncer.config import load_ledger
from syncer.examples import STATUSES, write_messy_workbook

from .conftest import SALES, Cli, findings_of, write_book

PLAN_NOW = "2024-06-30T09:00:00+08:00"


def _init(cli: Cli, book: Path, out: str, *extra: str) -> str:
    """Run `syncer init BOOK --out OUT --yes`, then `check` and `plan` on the result."""
    made = cli("init", str(book), "--out", out, "--yes", *extra)
    assert made.exit_code == 0, made.stderr
    checked = cli("check", out)
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    planned = cli("plan", "--config", out, "--now", PLAN_NOW)
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    assert "FAILED" not in planned.stdout
    return Path(out).read_text(encoding="utf-8")


def test_example_workbook_gives_the_findings_of_sales_yaml(cli: Cli, tmp_path: Path) -> None:
    """The example workbook → init → a cycle finds exactly what config/ledgers/sales.yaml finds."""
    book = write_messy_workbook(tmp_path / "客户信息管理_销售部_2024.xlsx")
    text = _init(cli, book, "ledgers/sales.yaml")
    inferred = load_ledger(tmp_path / "ledgers/sales.yaml")
    assert inferred.header_row == 2
    assert inferred.key == "客户编号"
    assert inferred.tabs.main == "基础信息"
    assert inferred.columns["客户编号"].pattern == r"^XS\d{7,}$"
    assert inferred.columns["合作状态"].values == STATUSES
    assert inferred.columns["联系方式"].type == "phone"
    assert inferred.columns["首次接触时间"].type == "date"
    assert inferred.columns["合同金额(元)"].min == 0
    assert "choice: from the sheet's dropdown (list rule)" in text
    assert "required: 100% filled in 38 rows" in text
    assert "phone: 95% parse as CN mobile" in text
    assert "row 1 is a merged title (A1:T1: 客户信息管理_销售部_2024)" in text
    reference = tmp_path / "reference.yaml"
    reference.write_text(
        re.sub(
            r"(?m)^(\s*path:).*$", rf"\1 {book.name}", SALES.read_text(encoding="utf-8"), count=1
        ).replace("name: sales", "name: reference"),
        encoding="utf-8",
    )
    # Same findings. What still differs is the plan: sales.yaml also stamps 合作状态
    # changes into a column 状态变更时间 the workbook does not have (so syncer adds it);
    # init proposes stamp_on_change only for columns the sheet already has.
    expected = findings_of(reference)
    assert len(expected) == 12
    assert findings_of(tmp_path / "ledgers/sales.yaml") == expected
    kinds = {r.kind for r in inferred.rules}
    assert kinds == {"normalize", "assign_id", "stamp_on_change", "archive"}


def _english_rows(n: int = 30) -> list[list[object]]:
    """An English service ledger: a ticket id, datetimes, multi-choice and yes/no cells."""
    rows: list[list[object]] = [
        [
            "Ticket",
            "Customer",
            "Phone",
            "Email",
            "Opened",
            "Severity",
            "Channels",
            "Warranty",
            "Status",
            "Last contact",
            "Website",
            "Notes",
        ],
    ]
    statuses = ["open", "waiting", "solved", "closed"]
    channels = ["phone", "email", "wechat,phone", "onsite", "email,wechat"]
    start = datetime(2024, 5, 1, 9, 30)
    for i in range(1, n + 1):
        rows.append(
            [
                f"SV2024{i:04d}",
                f"Customer {i}",
                f"+1 415 555 {i:04d}" if i % 10 == 0 else f"139{i:08d}",
                f"user{i}@example.com",
                start + timedelta(days=i, hours=i % 7, minutes=13),
                1 + i % 4,
                channels[i % len(channels)],
                i % 3 == 0,
                statuses[i % 4],
                date(2024, 6, 1) + timedelta(days=i % 20),
                f"https://example.com/c/{i}",
                "TBD" if i == 4 else f"called about case {i}",
            ]
        )
    return rows


def test_english_ledger_is_inferred_with_its_own_columns(cli: Cli, tmp_path: Path) -> None:
    """An English workbook gets locale en, its history tab, and the right type per column."""
    book = write_book(
        tmp_path / "service.xlsx",
        {"Tickets": _english_rows(), "Closed tickets": [_english_rows(1)[0]]},
    )
    text = _init(cli, book, "ledgers/service.yaml")
    ledger = load_ledger(tmp_path / "ledgers/service.yaml")
    assert ledger.locale == "en"
    assert ledger.tabs.main == "Tickets"
    assert ledger.tabs.history == "Closed tickets"
    assert ledger.annotation_column == "Problems"
    assert "TBD" in ledger.placeholders
    types = {name: spec.type for name, spec in ledger.columns.items()}
    assert types == {
        "Ticket": "text",
        "Customer": "text",
        "Phone": "phone",
        "Email": "email",
        "Opened": "datetime",
        "Severity": "integer",
        "Channels": "multi_choice",
        "Warranty": "boolean",
        "Status": "choice",
        "Last contact": "date",
        "Website": "text",
        "Notes": "text",
    }
    assert ledger.columns["Website"].pattern is not None
    assert "syncer has no url type" in text
    assert set(ledger.columns["Channels"].values or ()) == {"phone", "email", "wechat", "onsite"}
    assert ledger.columns["Ticket"].pattern == r"^SV\d{8,}$"
    rules = {r.kind: r for r in ledger.rules}
    assert getattr(rules["assign_id"], "pattern", None) == "SV{year}{seq:04}"
    assert getattr(rules["assign_id"], "year_from", None) == "Opened"
    assert "archive" in rules
    assert "tab Closed tickets exists" in text


def test_xlsx_dropdowns_list_range_and_named_rules(cli: Cli, tmp_path: Path) -> None:
    """Choice values come from xlsx dropdowns: a list, a range on another tab, a name."""
    header = ["客户编号", "客户名称", "所属行业", "客户来源", "合作状态"]
    rows: list[list[object]] = [header]
    for i in range(1, 31):
        rows.append(
            [
                f"KH{i:04d}",
                f"公司{i}",
                ["制造业", "零售业"][i % 2],
                ["线上推广", "行业展会"][i % 2],
                ["合作中", "意向客户", "餐饮"][i % 3],
            ]
        )
    book = write_book(
        tmp_path / "dropdowns.xlsx",
        {
            "基础信息": rows,
            "选项": [["行业"], ["制造业"], ["零售业"], ["金融业"], ["其他"]],
            "来源": [["线上推广"], ["行业展会"], ["客户转介绍"]],
        },
        dropdowns=[
            ("基础信息", "C2:C500", "'选项'!$A$2:$A$5"),
            ("基础信息", "D2:D500", "来源列表"),
            ("基础信息", "E2:E500", '"' + ",".join(STATUSES) + '"'),
        ],
        names={"来源列表": "来源!$A$1:$A$3"},
    )
    text = _init(cli, book, "ledgers/dd.yaml")
    ledger = load_ledger(tmp_path / "ledgers/dd.yaml")
    assert ledger.columns["所属行业"].values == ("制造业", "零售业", "金融业", "其他")
    assert ledger.columns["客户来源"].values == ("线上推广", "行业展会", "客户转介绍")
    assert ledger.columns["合作状态"].values == STATUSES
    assert "dropdown (range 选项!A2:A5)" in text
    assert "dropdown (range 来源!A1:A3)" in text
    assert "10 value(s) outside it will be reported: 餐饮" in text
    assert ledger.key == "客户编号"
    findings = findings_of(tmp_path / "ledgers/dd.yaml")
    assert {(c, k) for _, c, k in findings} == {("合作状态", "choice")}


def test_messy_layout_header_on_row_three(cli: Cli, tmp_path: Path) -> None:
    """Header on row 3 under titles; blank and repeated headers are left out with remarks."""
    header = ["编号", "客户名称", "联系方式", None, "联系方式", "合作状态", "最近跟进时间"]
    rows: list[list[object]] = [["客户信息管理_服务部_2024"], ["导出于 2024-06-01"], header]
    for i in range(1, 26):
        rows.append(
            [
                f"FW{i:03d}",
                f"客户{i}",
                f"1380013{i:04d}",
                "x" if i % 5 == 0 else None,
                "010-62345678",
                ["合作中", "流失客户"][i % 2],
                date(2024, 6, 1) - timedelta(days=i * 5),
            ]
        )
    book = write_book(tmp_path / "messy.xlsx", {"Sheet1": rows}, merges=[("Sheet1", "A1:G1")])
    text = _init(cli, book, "ledgers/messy.yaml")
    ledger = load_ledger(tmp_path / "ledgers/messy.yaml")
    assert ledger.header_row == 3
    assert list(ledger.columns) == ["编号", "客户名称", "联系方式", "合作状态", "最近跟进时间"]
    assert "row 1 is a merged title (A1:G1: 客户信息管理_服务部_2024)" in text
    assert "row 2 is a title (导出于 2024-06-01)" in text
    assert "column D has no header (5 filled cells): left out" in text
    assert "column E repeats the header '联系方式' of column C: left out" in text
    checks = {check for _, _, check in findings_of(tmp_path / "ledgers/messy.yaml")}
    assert {"blank_header", "duplicate_header"} <= checks


def test_refuses_to_overwrite_and_reports_unreadable_sources(cli: Cli, tmp_path: Path) -> None:
    """An existing --out needs --force; a missing or broken workbook is an error, not a crash."""
    book = write_messy_workbook(tmp_path / "book.xlsx")
    (tmp_path / "taken.yaml").write_text("# mine\n", encoding="utf-8")
    taken = cli("init", str(book), "--out", "taken.yaml", "--yes")
    assert taken.exit_code == 1
    assert "--force" in taken.stderr
    assert (tmp_path / "taken.yaml").read_text(encoding="utf-8") == "# mine\n"
    forced = cli("init", str(book), "--out", "taken.yaml", "--yes", "--force")
    assert forced.exit_code == 0, forced.stderr
    missing = cli("init", "nowhere.xlsx", "--out", "x.yaml", "--yes")
    assert missing.exit_code == 1
    assert "nowhere.xlsx" in missing.stderr
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    broken = cli("init", "broken.xlsx", "--out", "y.yaml", "--yes")
    assert broken.exit_code == 1
    assert "not a readable .xlsx" in broken.stderr
    assert not (tmp_path / "y.yaml").exists()


def test_tab_and_header_row_can_be_chosen(cli: Cli, tmp_path: Path) -> None:
    """--tab and --header-row override the guesses; an unknown tab is a clear error."""
    book = write_messy_workbook(tmp_path / "book.xlsx")
    chosen = cli("init", str(book), "--out", "deals.yaml", "--yes", "--tab", "交易记录")
    assert chosen.exit_code == 0, chosen.stderr
    deals = load_ledger(tmp_path / "deals.yaml")
    assert (deals.tabs.main, deals.header_row, deals.key) == ("交易记录", 1, "客户编号")
    assert "main: chosen with --tab" in (tmp_path / "deals.yaml").read_text(encoding="utf-8")
    forced = cli("init", str(book), "--out", "h.yaml", "--yes", "--header-row", "2")
    assert forced.exit_code == 0, forced.stderr
    assert load_ledger(tmp_path / "h.yaml").header_row == 2
    unknown = cli("init", str(book), "--out", "u.yaml", "--yes", "--tab", "Nope")
    assert unknown.exit_code == 1
    assert "no tab named 'Nope'; the tabs are: 基础信息, 交易记录" in unknown.stderr
