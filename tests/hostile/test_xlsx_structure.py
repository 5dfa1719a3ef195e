"""Archiving on an xlsx ledger moves the sheet's structure with its rows (issue 10, item 10).

The input that broke it: the shipped sales ledger on the messy workbook with a merged
comment row 以下为2023年数据 between customers and a hidden customer row below the archived
ones. `syncer run --once` archived four rows above them; the merge stayed at its old row
number, over a customer's row (Excel and WPS showed only its first cell, and the next load
and save erased the rest), and the hidden flag landed on another customer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
import structlog
from openpyxl.cell.cell import MergedCell
from typer.testing import CliRunner

import syncer.cli.commands  # noqa: F401  (registers every command)
from syncer.cli.app import app
from syncer.examples import write_messy_workbook

ROOT = Path(__file__).resolve().parents[2]
MAIN = "基础信息"
COMMENT = "以下为2023年数据"
FIRST = "2024-06-30T10:00:00+08:00"


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """(ledger file, workbook): sales.yaml on the messy workbook, with the merged comment
    row inserted at sheet row 21 (below the four customers archived on the first run,
    rows 17–20) and XS2024020's row (then row 23) hidden and 40 high."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNCER_STATE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("SYNCER_LOG_FORMAT", "json")
    book = write_messy_workbook(tmp_path / "客户信息管理_销售部_2024.xlsx", n=40)
    wb = openpyxl.load_workbook(book)
    ws = wb[MAIN]
    ws.insert_rows(21)
    ws.cell(21, 1).value = COMMENT
    ws.merge_cells(start_row=21, start_column=1, end_row=21, end_column=ws.max_column)
    assert ws.cell(23, 1).value == "XS2024020"
    ws.row_dimensions[23].hidden = True
    ws.row_dimensions[23].height = 40
    wb.save(book)
    text = (ROOT / "config/ledgers/sales.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(\s*path:).*$", rf"\1 {book.name}", text, count=1)
    cfg = tmp_path / "sales.yaml"
    cfg.write_text(text, encoding="utf-8")
    yield cfg, book
    structlog.reset_defaults()


def run_once(cfg: Path, now: str) -> str:
    """`syncer run --once` at ``now``; its output (the run must succeed)."""
    result = CliRunner().invoke(
        app, ["run", "--once", "--config", str(cfg), "--now", now], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stdout
    return result.stdout


def row_of(ws: openpyxl.worksheet.worksheet.Worksheet, key: str) -> int:
    """The sheet row whose first cell is ``key``."""
    (row,) = [r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == key]
    return row


def test_comment_merge_and_hidden_row_move_with_their_rows(ledger: tuple[Path, Path]) -> None:
    """After archiving four rows above them, the comment keeps its merge on its own row,
    XS2024020 is still the hidden tall row, and no customer's row is under a merge."""
    cfg, book = ledger
    assert "4 archived" in run_once(cfg, FIRST)
    ws = openpyxl.load_workbook(book)[MAIN]
    comment, hidden = row_of(ws, COMMENT), row_of(ws, "XS2024020")
    assert comment == 17
    merges = {(r.min_row, r.max_row) for r in ws.merged_cells.ranges}
    assert merges == {(1, 1), (comment, comment)}
    assert [r for r in range(1, ws.max_row + 1) if ws.row_dimensions[r].hidden] == [hidden]
    assert ws.row_dimensions[hidden].height == 40


def test_the_next_save_keeps_every_cell_of_the_customer_below(ledger: tuple[Path, Path]) -> None:
    """A later cycle loads and saves the workbook again: the customer now on the old
    comment row keeps all its cells (they were erased under the stale merge)."""
    cfg, book = ledger
    run_once(cfg, FIRST)
    ws = openpyxl.load_workbook(book)[MAIN]
    below = [c.value for c in ws[21]]  # the comment's old row number
    key = below[0]
    assert isinstance(key, str)
    assert key.startswith("XS")
    filled = sum(v is not None for v in below)
    wb = openpyxl.load_workbook(book)
    wb[MAIN].cell(row_of(wb[MAIN], "XS2024019"), 7).value = "13800138000"  # a person's fix
    wb.save(book)
    run_once(cfg, "2024-06-30T11:00:00+08:00")
    ws = openpyxl.load_workbook(book)[MAIN]
    row = ws[row_of(ws, key)]
    assert not any(isinstance(c, MergedCell) for c in row)
    assert sum(c.value is not None for c in row) >= filled - 1  # its annotation may clear
    assert [c.value for c in row][:3] == below[:3]
