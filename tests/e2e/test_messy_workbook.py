"""The example end to end: the messy sales workbook, config/ledgers/sales.yaml, and
`syncer run --once`. Expected cells follow the mess documented in syncer.examples."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from syncer.connectors.base import TabRequest
from syncer.connectors.xlsx import XlsxConnector
from syncer.examples import write_messy_workbook
from syncer.journal import Journal
from syncer.model import Table
from syncer.state import StateStore

from .conftest import Cli

ROOT = Path(__file__).resolve().parents[2]
MAIN, HISTORY, ERRORS = "基础信息", "客户历史库", "校验错误"
FIRST = "2024-06-30T10:00:00+08:00"
N_ROWS = 40
ARCHIVED = ["XS2024015", "XS2024016", "XS2024017", "XS2024018"]  # sheet rows 17–20
REASON = "流失客户或超过90天未跟进"
EXPECTED_FINDINGS = {
    ("XS2024004", "联系方式", "unique_together"),
    ("XS2024009", "合作状态", "choice"),
    ("XS2024009", "所属行业", "choice"),
    ("XS2024010", "合作状态", "choice"),
    ("XS2024012", "联系方式", "unique_together"),
    ("XS2024013", "跟进人", "required"),
    ("XS2024013", "需求描述", "required"),
    ("XS2024019", "联系方式", "phone"),
    ("XS2024020", "客户来源", "required"),
    ("XS2024022", "合同金额(元)", "min"),
    ("XS2024023", "电子邮箱", "email"),
    ("XS2024024", "最近跟进时间", "date"),
}


@pytest.fixture
def example(tmp_path: Path) -> tuple[Path, Path]:
    """(ledger file, workbook): the shipped sales ledger pointed at a fresh messy workbook."""
    book = write_messy_workbook(tmp_path / "客户信息管理_销售部_2024.xlsx", n=N_ROWS)
    text = (ROOT / "config/ledgers/sales.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(\s*path:).*$", rf"\1 {book.name}", text, count=1)
    cfg = tmp_path / "sales.yaml"
    cfg.write_text(text, encoding="utf-8")
    return cfg, book


def tables(book: Path) -> dict[str, Table]:
    """The three ledger tabs, typed as the connector reads them."""
    snap = XlsxConnector(book).read(
        [TabRequest(MAIN, 2), TabRequest(HISTORY, 1), TabRequest(ERRORS, 1)]
    )
    return dict(snap.tables)


def by_key(table: Table, key: str) -> dict[str, object]:
    """The row of ``key`` as {column: value}."""
    (index,) = table.find_key("客户编号", key)
    return dict(table.row_dict(index))


def set_cell(book: Path, key: str, column: str, value: object) -> None:
    """A person edits one cell of a customer's row and saves the workbook."""
    wb = openpyxl.load_workbook(book)
    ws = wb[MAIN]
    header = [c.value for c in ws[2]]
    for row in ws.iter_rows(min_row=3):
        if row[0].value == key:
            row[header.index(column)].value = value
            break
    wb.save(book)


def test_first_run_cleans_annotates_and_archives(cli: Cli, example: tuple[Path, Path]) -> None:
    """One run normalizes phones and dates, assigns the missing id, annotates rows, writes
    the errors tab, and moves lost and stale customers to history."""
    cfg, book = example
    out = cli("run", "--once", "--config", str(cfg), "--now", FIRST)
    assert out.exit_code == 0, out.stdout + out.stderr
    assert f"{len(EXPECTED_FINDINGS)} finding(s)" in out.stdout
    assert "4 archived" in out.stdout
    t = tables(book)
    main, history, errors = t[MAIN], t[HISTORY], t[ERRORS]

    # normalize: phones and dates written canonically
    assert by_key(main, "XS2024004")["联系方式"] == "13800138000"  # "+86 138-0013-8000"
    assert by_key(main, "XS2024005")["联系方式"] == "13912345678"  # 13912345678.0
    assert by_key(main, "XS2024006")["联系方式"] == "13700137000"  # full-width digits
    assert by_key(main, "XS2024007")["首次接触时间"] == date(2024, 3, 1)  # "2024/3/1"
    assert by_key(main, "XS2024008")["首次接触时间"] == date(2024, 3, 1)  # "2024年3月1日"
    assert by_key(main, "XS2024024")["最近跟进时间"] == "03/04/2024"  # ambiguous: kept

    # assign_id: the row with an empty key (first contact 2024-05-20) gets the next id
    new_key = f"XS2024{N_ROWS + 1:03d}"
    assert by_key(main, new_key)["首次接触时间"] == date(2024, 5, 20)
    assert "" not in [
        str(v or "")
        for i, v in enumerate(main.column_values("客户编号"))
        if not main.is_blank_row(i)
    ]

    # annotations: exact text on problem rows, nothing on clean rows
    assert by_key(main, "XS2024013")["校验提示"] == "需求描述: 必填项为空; 跟进人: 必填项为空"
    assert by_key(main, "XS2024019")["校验提示"] == "联系方式: 不是有效的电话号码"
    assert by_key(main, "XS2024001")["校验提示"] is None

    # archive: appended to history, typed, with time and reason; gone from main
    assert [r[0] for r in history.rows] == ARCHIVED
    for key in ARCHIVED:
        assert main.find_key("客户编号", key) == []
        row = by_key(history, key)
        assert row["归档时间"] == datetime(2024, 6, 30, 10, 0)
        assert row["归档原因"] == REASON
        assert isinstance(row["首次接触时间"], date)
    assert history.header[-2:] == ("归档时间", "归档原因")

    # errors tab: one line per finding at the row where the customer is *now*
    assert errors.header == (
        "工作表",
        "行号",
        "客户编号",
        "列",
        "当前值",
        "问题",
        "检查项",
        "首次发现",
    )
    lines = [r for r in errors.rows if r[0] == MAIN]
    assert {(r[2], r[3], r[6]) for r in lines} == EXPECTED_FINDINGS
    for r in lines:
        assert r[1] == main.sheet_row(main.find_key("客户编号", str(r[2]))[0])
        assert r[7] == "2024-06-30 10:00"
    phones = {r[2]: r[4] for r in lines if r[3] == "联系方式"}
    assert phones == {"XS2024004": "138****8000", "XS2024012": "138****8000", "XS2024019": "***45"}
    assert errors.rows[-1][:2] == ("汇总", f"共 {len(EXPECTED_FINDINGS)} 条问题")

    # everything else kept: title, other tab with formulas, dropdowns, widths
    wb = openpyxl.load_workbook(book)
    assert wb[MAIN]["A1"].value == "客户信息管理_销售部_2024"
    assert [str(r) for r in wb[MAIN].merged_cells.ranges] == ["A1:T1"]
    assert wb["交易记录"]["F2"].value == "=D2*E2"
    assert len(wb[MAIN].data_validations.dataValidation) == 2
    assert wb[MAIN].column_dimensions["B"].width == 26


def test_second_run_without_edits_writes_nothing(cli: Cli, example: tuple[Path, Path]) -> None:
    """Running again on the unchanged workbook — the same day or the next — leaves the
    file's bytes and modification time untouched."""
    cfg, book = example
    assert cli("run", "--once", "--config", str(cfg), "--now", FIRST).exit_code == 0
    before = (book.read_bytes(), book.stat().st_mtime_ns)
    same_day = cli("run", "--once", "--config", str(cfg), "--now", "2024-06-30T10:05:00+08:00")
    assert "idle" in same_day.stdout
    next_day = cli("run", "--once", "--config", str(cfg), "--now", "2024-07-01T09:00:00+08:00")
    assert next_day.exit_code == 0
    assert "0 change(s) applied" in next_day.stdout
    assert (book.read_bytes(), book.stat().st_mtime_ns) == before


def test_status_and_follow_up_edits_are_stamped(cli: Cli, example: tuple[Path, Path]) -> None:
    """After a person changes 合作状态 and 跟进内容, the next run writes the change time and
    the follow-up date on that row only."""
    cfg, book = example
    assert cli("run", "--once", "--config", str(cfg), "--now", FIRST).exit_code == 0
    set_cell(book, "XS2024001", "合作状态", "暂停合作")
    set_cell(book, "XS2024002", "跟进内容", "客户确认下单")
    out = cli("run", "--once", "--config", str(cfg), "--now", "2024-06-30T11:20:00+08:00")
    assert out.exit_code == 0, out.stdout
    main = tables(book)[MAIN]
    first, second = by_key(main, "XS2024001"), by_key(main, "XS2024002")
    assert first["合作状态"] == "暂停合作"
    assert first["状态变更时间"] == datetime(2024, 6, 30, 11, 20)
    assert second["最近跟进时间"] == date(2024, 6, 30)
    assert second["状态变更时间"] is None
    assert by_key(main, "XS2024003")["状态变更时间"] is None


def test_plan_on_the_example_lists_the_work(cli: Cli, example: tuple[Path, Path]) -> None:
    """`syncer plan` on the example shows archives, normalizations and the new id, and
    writes nothing."""
    cfg, book = example
    before = book.read_bytes()
    out = cli("plan", "--config", str(cfg), "--now", FIRST)
    assert out.exit_code == 0, out.stderr
    for text in (
        "XS2024015",
        "客户历史库",
        "+86 138-0013-8000 → 13800138000",
        f"XS2024{N_ROWS + 1:03d}",
    ):
        assert text in out.stdout
    assert book.read_bytes() == before


def test_runs_prune_history_older_than_the_history_days(
    cli: Cli, example: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`syncer run --once` deletes the ledger's run records older than
    SYNCER_HISTORY_DAYS (0 keeps them all) and keeps the first archive's journal entry,
    older too but one of the newest that reconciliation reads."""
    cfg, _book = example
    runs = [FIRST, "2024-10-08T10:00:00+08:00", "2024-10-09T10:00:00+08:00"]
    monkeypatch.setenv("SYNCER_HISTORY_DAYS", "0")
    for now in runs[:2]:
        assert cli("run", "--once", "--config", str(cfg), "--now", now).exit_code == 0
    store = StateStore(f"sqlite:///{tmp_path / 'var' / 'state.db'}")
    try:
        assert len(store.runs("sales")) == 2
        monkeypatch.setenv("SYNCER_HISTORY_DAYS", "90")
        out = cli("run", "--once", "--config", str(cfg), "--now", runs[2])
        assert out.exit_code == 0
        assert '"history.pruned"' in out.stdout + out.stderr
        kept = [r.started for r in store.runs("sales")]
        assert kept == [datetime.fromisoformat(n) for n in reversed(runs[1:])]
        entries = Journal(store).entries("sales")
        assert min(e.started for e in entries) == datetime.fromisoformat(FIRST)
        assert set(ARCHIVED) <= {key for e in entries for key in e.moved}
    finally:
        store.close()
