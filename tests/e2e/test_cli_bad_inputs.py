"""`syncer plan` / `syncer run --once` on small workbooks and broken inputs: clear
messages, right exit codes, and nothing in the workbook lost."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from syncer.model import CellValue

from .conftest import NOW, Cli, sheet, write_xlsx

LEDGER = """\
name: {name}
source:
  connector: xlsx
  path: {file}
tabs:
  main: 客户信息
header_row: 2
key: 客户编号
columns:
  客户编号: {{type: text}}
  联系人姓名: {{type: text, required: true}}
  联系方式: {{type: phone, required: true}}
  合作状态: {{type: choice, values: [意向客户, 合作中, 流失客户]}}
rules:
  - kind: archive
    reason: 流失
    when: {{column: 合作状态, op: equals, value: 流失客户}}
"""
HEADER: list[CellValue] = ["客户编号", "联系人姓名", "联系方式", "合作状态"]
ROWS: list[list[CellValue]] = [
    ["XS2024001", "张三", "13800138000", "合作中"],
    ["XS2024002", "李四", "13900139000", "流失客户"],
]


def ledger(tmp_path: Path, name: str = "demo", file: str = "demo.xlsx") -> Path:
    """Write a ledger file for workbook ``file``; return its path."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(LEDGER.format(name=name, file=file), encoding="utf-8")
    return path


def test_plan_prints_operations_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    """`plan` lists the operations readably and leaves the file byte-identical."""
    book = tmp_path / "demo.xlsx"
    write_xlsx(book, {"客户信息": [["台账"], HEADER, *ROWS]})
    before = book.read_bytes()
    out = cli("plan", "--config", str(ledger(tmp_path)), "--now", NOW)
    assert out.exit_code == 0, out.stderr
    assert "move" in out.stdout
    assert "XS2024002" in out.stdout
    assert "客户历史库" in out.stdout
    assert "nothing written" in out.stdout
    assert book.read_bytes() == before


def test_run_once_applies_then_second_run_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    """`run --once` archives the lost customer; a second run leaves the file untouched."""
    book = tmp_path / "demo.xlsx"
    write_xlsx(book, {"客户信息": [["台账"], HEADER, *ROWS]})
    cfg = str(ledger(tmp_path))
    first = cli("run", "--once", "--config", cfg, "--now", NOW)
    assert first.exit_code == 0, first.stdout
    assert "1 archived" in first.stdout
    assert sheet(book, "客户信息")[2:] == [ROWS[0]]
    assert sheet(book, "客户历史库")[1][:4] == ROWS[1]
    before, mtime = book.read_bytes(), book.stat().st_mtime_ns
    second = cli("run", "--once", "--config", cfg, "--now", NOW)
    assert second.exit_code == 0
    assert "idle" in second.stdout
    assert (book.read_bytes(), book.stat().st_mtime_ns) == (before, mtime)


def test_missing_tab_fails_clearly(cli: Cli, tmp_path: Path) -> None:
    """A workbook without the main tab: exit 1, the message names the tab and the fix."""
    book = tmp_path / "demo.xlsx"
    write_xlsx(book, {"Sheet1": [["x"]]})
    before = book.read_bytes()
    out = cli("run", "--once", "--config", str(ledger(tmp_path)), "--now", NOW)
    assert out.exit_code == 1
    assert "demo: FAILED" in out.stdout
    assert "'客户信息' not found" in out.stdout
    assert "tabs.main" in out.stdout
    assert book.read_bytes() == before


def test_header_only_sheet_runs_and_keeps_the_header(cli: Cli, tmp_path: Path) -> None:
    """A sheet with only its title and header runs fine and keeps both."""
    book = tmp_path / "demo.xlsx"
    write_xlsx(book, {"客户信息": [["台账"], HEADER]})
    out = cli("run", "--once", "--config", str(ledger(tmp_path)), "--now", NOW)
    assert out.exit_code == 0, out.stdout
    assert "0 finding(s)" in out.stdout
    rows = sheet(book, "客户信息")
    assert rows[0] == ["台账"]
    assert rows[1][:4] == HEADER
    assert len(rows) == 2


def test_empty_sheet_reports_missing_columns_without_failing(cli: Cli, tmp_path: Path) -> None:
    """An empty main tab is schema drift (findings), not a crash; exit code 0."""
    book = tmp_path / "demo.xlsx"
    write_xlsx(book, {"客户信息": [], "其他": [["keep"]]})
    out = cli("run", "--once", "--config", str(ledger(tmp_path)), "--now", NOW)
    assert out.exit_code == 0, out.stdout
    assert "finding(s)" in out.stdout
    assert sheet(book, "其他") == [["keep"]]


def test_unreadable_workbook_fails_with_its_path(cli: Cli, tmp_path: Path) -> None:
    """A corrupt file: exit 1, the message names the file and what to do."""
    (tmp_path / "demo.xlsx").write_bytes(b"this is not a workbook")
    out = cli("run", "--once", "--config", str(ledger(tmp_path)), "--now", NOW)
    assert out.exit_code == 1
    assert "demo.xlsx is not a readable .xlsx file" in out.stdout
    assert (tmp_path / "demo.xlsx").read_bytes() == b"this is not a workbook"


def test_one_failing_ledger_does_not_stop_the_others(cli: Cli, tmp_path: Path) -> None:
    """With a directory of ledgers, a broken one fails (exit 1) and the other still runs."""
    cfg = tmp_path / "ledgers"
    cfg.mkdir()
    ledger(cfg, "a_broken", "../missing.xlsx")
    ledger(cfg, "b_good", "../demo.xlsx")
    write_xlsx(tmp_path / "demo.xlsx", {"客户信息": [["台账"], HEADER, *ROWS]})
    out = cli("run", "--once", "--config", str(cfg), "--now", NOW)
    assert out.exit_code == 1
    assert "a_broken: FAILED" in out.stdout
    assert "missing.xlsx does not exist" in out.stdout
    assert "b_good: ok" in out.stdout
    assert sheet(tmp_path / "demo.xlsx", "客户信息")[2:] == [ROWS[0]]


def test_formulas_trailing_blank_rows_and_huge_cells_survive(cli: Cli, tmp_path: Path) -> None:
    """Formulas, 10,000 trailing blank rows and a 32k-character cell: the run works and
    loses nothing."""
    book = tmp_path / "demo.xlsx"
    huge = "需" * 32_000
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "客户信息"
    for row in [["台账"], [*HEADER, "备注", "合计"], *ROWS]:
        ws.append(row)
    ws["E3"] = huge
    ws["F3"] = "=LEN(E3)"
    for r in range(5, 10_005):
        ws.cell(r, 2).value = ""
    wb.save(book)
    out = cli("run", "--once", "--config", str(ledger(tmp_path)), "--now", NOW)
    assert out.exit_code == 0, out.stdout
    rows = sheet(book, "客户信息")
    assert rows[2] == [*ROWS[0], huge, "=LEN(E3)"]
    assert len(rows) == 3
    assert sheet(book, "客户历史库")[1][:4] == ROWS[1]


def test_unknown_ledger_name_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    """--ledger with an unknown name exits 2 listing the known ledgers."""
    out = cli("plan", "--config", str(ledger(tmp_path)), "--ledger", "nope")
    assert out.exit_code == 2
    assert "no ledger named 'nope'" in out.stderr
    assert "demo" in out.stderr


def test_broken_config_exits_2_with_the_location(cli: Cli, tmp_path: Path) -> None:
    """A ledger file with an unknown key: exit 2 and a file:line message."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(LEDGER.format(name="bad", file="x.xlsx") + "colums: {}\n", encoding="utf-8")
    out = cli("run", "--once", "--config", str(bad))
    assert out.exit_code == 2
    assert "bad.yaml:" in out.stderr


def test_bad_now_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    """--now that is not ISO 8601 exits 2 with an example."""
    out = cli("run", "--once", "--config", str(ledger(tmp_path)), "--now", "yesterday")
    assert out.exit_code == 2
    assert "ISO 8601" in out.stderr


def test_workbook_open_in_excel_is_left_alone(cli: Cli, tmp_path: Path) -> None:
    """A workbook locked by Excel/WPS (~$ lock file): exit 1, the message says to close
    it, the file is unchanged; once closed, the next run applies."""
    book = tmp_path / "demo.xlsx"
    write_xlsx(book, {"客户信息": [["台账"], HEADER, *ROWS]})
    lock = tmp_path / "~$demo.xlsx"
    lock.write_bytes(b"owner")
    before = book.read_bytes()
    cfg = str(ledger(tmp_path))
    out = cli("run", "--once", "--config", cfg, "--now", NOW)
    assert out.exit_code == 1
    assert "is open in a spreadsheet program" in out.stdout
    assert book.read_bytes() == before
    lock.unlink()
    again = cli("run", "--once", "--config", cfg, "--now", NOW)
    assert again.exit_code == 0
    assert "1 archived" in again.stdout
