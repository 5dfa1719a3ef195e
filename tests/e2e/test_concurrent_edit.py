"""A person saving the workbook while a cycle runs: their edit survives, the robot's
change for that row waits for the next cycle."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl

from syncer.config import load_ledger
from syncer.connectors.xlsx import XlsxConnector
from syncer.engine import run_cycle
from syncer.state import StateStore
from tests.staged import Staged

from .conftest import sheet, write_xlsx
from .test_cli_bad_inputs import HEADER, ROWS, ledger

NOW = datetime(2024, 6, 1, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def person_edits(path: Path, cell: str, value: str) -> None:
    """Open the workbook, change one cell, save — as Excel would."""
    wb = openpyxl.load_workbook(path)
    wb["客户信息"][cell] = value
    wb.save(path)


def test_edit_between_read_and_write_survives(tmp_path: Path) -> None:
    """The archived row is edited by a person mid-cycle: the move is dropped, the edit
    kept; the next cycle (the person set it back to lost) archives it."""
    book = tmp_path / "demo.xlsx"
    write_xlsx(book, {"客户信息": [["台账"], HEADER, *ROWS]})
    lg = load_ledger(ledger(tmp_path))
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    conn = Staged(XlsxConnector(book))
    conn.on("reread", lambda: person_edits(book, "D4", "合作中"))
    result = run_cycle(lg, conn, store, NOW)
    assert result.outcome == "ok", result.error
    assert result.report is not None
    assert any(d.op.kind == "move_row" for d in result.report.dropped)
    assert sheet(book, "客户信息")[3][:4] == ["XS2024002", "李四", "13900139000", "合作中"]
    person_edits(book, "D4", "流失客户")
    again = run_cycle(lg, conn, store, NOW)
    assert again.archived == 1
    assert [r[0] for r in sheet(book, "客户信息")[2:]] == ["XS2024001"]
    store.close()


def test_save_during_the_write_is_never_overwritten(tmp_path: Path) -> None:
    """A person saving between the guard and the rename wins; the cycle writes nothing and
    the next one re-plans."""
    book = tmp_path / "demo.xlsx"
    write_xlsx(book, {"客户信息": [["台账"], HEADER, *ROWS]})
    lg = load_ledger(ledger(tmp_path))
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    conn = XlsxConnector(book)
    conn.before_save = lambda c: person_edits(book, "B3", "张三丰")
    result = run_cycle(lg, conn, store, NOW)
    assert result.outcome == "ok"
    assert result.report is not None
    assert result.report.applied == []
    rows = sheet(book, "客户信息")
    assert rows[2][1] == "张三丰"
    assert rows[3][0] == "XS2024002"
    assert store.last_change_token(lg.name) is None
    conn.before_save = None
    assert run_cycle(lg, conn, store, NOW).archived == 1
    assert sheet(book, "客户信息")[2][1] == "张三丰"
    store.close()
