"""The cycle engine over the in-memory connector: outcomes, idle skips, state, logs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog
from sqlalchemy import event, text
from structlog.testing import LogCapture

from syncer.connectors.memory import MemoryConnector
from syncer.connectors.xlsx import XlsxConnector
from syncer.engine import config_hash, run_cycle
from syncer.ledger import LedgerConfig
from syncer.model import CellValue
from syncer.state import StateStore
from tests.staged import Staged

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 1, 9, 0, tzinfo=TZ)
MAIN, HISTORY, ERRORS = "客户信息", "客户历史库", "校验错误"
HEADER = ["客户编号", "联系人姓名", "联系方式", "合作状态", "最近跟进时间", "状态变更时间"]


def ledger(**changes: Any) -> LedgerConfig:
    """A small ledger: required name and phone, a status dropdown, a stamp and an archive."""
    data: dict[str, Any] = {
        "name": "t",
        "source": {"connector": "memory"},
        "tabs": {"main": MAIN, "history": HISTORY, "errors": ERRORS},
        "header_row": 2,
        "key": "客户编号",
        "columns": {
            "客户编号": {"type": "text"},
            "联系人姓名": {"type": "text", "required": True},
            "联系方式": {"type": "phone", "required": True},
            "合作状态": {"type": "choice", "values": ["意向客户", "合作中", "流失客户"]},
            "最近跟进时间": {"type": "date"},
            "状态变更时间": {"type": "datetime"},
        },
        "rules": [
            {"kind": "stamp_on_change", "watch": ["合作状态"], "target": "状态变更时间"},
            {
                "kind": "archive",
                "reason": "流失",
                "when": {
                    "any": [
                        {"column": "合作状态", "op": "equals", "value": "流失客户"},
                        {"column": "最近跟进时间", "op": "older_than", "value": "90d"},
                    ]
                },
            },
        ],
    }
    data.update(changes)
    return LedgerConfig.model_validate(data)


def workbook() -> dict[str, list[list[CellValue]]]:
    """Three customers: one clean, one with a bad phone, one lost."""
    return {
        MAIN: [
            ["客户台账"],
            list[CellValue](HEADER),
            ["XS2024001", "张三", "13800138000", "合作中", date(2024, 5, 20)],
            ["XS2024002", "李四", "12345", "意向客户", date(2024, 5, 21)],
            ["XS2024003", "王五", "13900139000", "流失客户", date(2024, 5, 1)],
        ]
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    """A fresh state store."""
    s = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    yield s
    s.close()


def test_first_cycle_applies_and_records(store: StateStore) -> None:
    """A first cycle archives, writes the errors tab, and records state and the run."""
    conn = MemoryConnector(workbook())
    result = run_cycle(ledger(), conn, store, NOW)
    assert result.outcome == "ok", result.error
    assert result.archived == 1
    assert [r[0] for r in conn.rows(MAIN)[2:]] == ["XS2024001", "XS2024002"]
    assert conn.rows(HISTORY)[1][0] == "XS2024003"
    assert ERRORS in conn.workbook
    assert any(f.column == "联系方式" and f.row == 4 for f in result.findings)
    assert store.last_change_token("t") == conn.change_token()
    assert set(store.load("t").watched) == {"XS2024001", "XS2024002"}
    (run,) = store.runs("t")
    assert (run.outcome, run.archived, run.findings) == ("ok", 1, len(result.findings))


def test_unchanged_source_is_idle_without_reading(store: StateStore) -> None:
    """The next cycle on an unchanged source, same day, makes no read and no write."""
    conn = MemoryConnector(workbook())
    run_cycle(ledger(), conn, store, NOW)
    reads, writes = conn.reads, conn.writes
    result = run_cycle(ledger(), conn, store, NOW + timedelta(minutes=5))
    assert result.outcome == "idle"
    assert (conn.reads, conn.writes) == (reads, writes)


def test_new_day_with_a_time_rule_is_not_idle_but_writes_nothing(store: StateStore) -> None:
    """When the calendar day changes a time-based rule may be due: the cycle reads, and on
    an unchanged sheet it writes nothing (idempotence)."""
    conn = MemoryConnector(workbook())
    run_cycle(ledger(), conn, store, NOW)
    reads, writes = conn.reads, conn.writes
    result = run_cycle(ledger(), conn, store, NOW + timedelta(days=1))
    assert result.outcome == "ok", result.error
    assert conn.reads == reads + 1
    assert conn.writes == writes
    assert result.report is not None
    assert result.report.applied == []


def test_changed_ledger_file_is_not_idle(store: StateStore) -> None:
    """A changed ledger configuration forces a read even on an unchanged source."""
    conn = MemoryConnector(workbook())
    run_cycle(ledger(), conn, store, NOW)
    reads = conn.reads
    result = run_cycle(ledger(annotation_column="提示"), conn, store, NOW)
    assert result.outcome == "ok"
    assert conn.reads > reads


def test_status_change_is_stamped_next_cycle(store: StateStore) -> None:
    """A person changing 合作状态 makes the next cycle write the change time."""
    conn = MemoryConnector(workbook())
    run_cycle(ledger(), conn, store, NOW)
    conn.set_cell(MAIN, 4, "合作状态", "合作中")
    later = NOW + timedelta(hours=2)
    result = run_cycle(ledger(), conn, store, later)
    assert result.outcome == "ok", result.error
    row = conn.rows(MAIN)[3]
    assert row[0] == "XS2024002"
    assert row[HEADER.index("状态变更时间")] == datetime(2024, 6, 1, 11, 0)


def test_edit_during_the_cycle_survives_and_is_seen_again(store: StateStore) -> None:
    """A row edited between read and write is not overwritten, its state is not recorded,
    and the next cycle stamps it."""
    conn = MemoryConnector(workbook())
    run_cycle(ledger(), conn, store, NOW)
    conn.set_cell(MAIN, 4, "合作状态", "合作中")
    staged = Staged(conn)
    staged.on("reread", lambda: conn.set_cell(MAIN, 4, "联系人姓名", "李四四"))
    result = run_cycle(ledger(), staged, store, NOW + timedelta(hours=1))
    assert result.report is not None
    assert result.report.dropped
    assert conn.rows(MAIN)[3][1] == "李四四"
    assert store.load("t").watched["XS2024002"]["合作状态"] == "意向客户"
    assert store.last_change_token("t") is None
    again = run_cycle(ledger(), conn, store, NOW + timedelta(hours=2))
    assert again.outcome == "ok"
    assert conn.rows(MAIN)[3][HEADER.index("状态变更时间")] == datetime(2024, 6, 1, 11, 0)


def test_missing_main_tab_fails_clearly_and_writes_nothing(store: StateStore) -> None:
    """A ledger whose main tab is gone fails with the tab name and the next step."""
    conn = MemoryConnector({"Sheet1": [["x"]]})
    result = run_cycle(ledger(), conn, store, NOW)
    assert result.outcome == "failed"
    assert result.error is not None
    assert "客户信息" in result.error
    assert "tabs.main" in result.error
    assert conn.writes == 0
    assert store.runs("t")[0].outcome == "failed"
    assert store.last_change_token("t") is None


def test_unreadable_source_fails_with_its_path(store: StateStore, tmp_path: Path) -> None:
    """A missing workbook is a failed cycle naming the ledger and file, never an exception."""
    lg = ledger(source={"connector": "xlsx", "path": str(tmp_path / "gone.xlsx")})
    result = run_cycle(lg, XlsxConnector(tmp_path / "gone.xlsx"), store, NOW)
    assert result.outcome == "failed"
    assert result.error is not None
    assert "'t'" in result.error
    assert "gone.xlsx" in result.error


def test_dry_run_writes_and_records_nothing(store: StateStore) -> None:
    """A dry run returns the plan but neither writes nor records a run."""
    conn = MemoryConnector(workbook())
    result = run_cycle(ledger(), conn, store, NOW, dry_run=True)
    assert result.outcome == "dry_run"
    assert result.plan is not None
    assert any(op.kind == "move_row" for op in result.plan)
    assert conn.writes == 0
    assert store.runs() == []
    assert store.mark("t") is None


def test_cycle_logs_one_summary_with_context(store: StateStore) -> None:
    """Every event of a cycle carries ledger and cycle_id; one cycle.finished sums it up."""
    cap = LogCapture()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, cap])
    try:
        run_cycle(ledger(), MemoryConnector(workbook()), store, NOW, cycle_id="c-1")
    finally:
        structlog.reset_defaults()
    finished = [e for e in cap.entries if e["event"] == "cycle.finished"]
    assert len(finished) == 1
    assert finished[0]["ledger"] == "t"
    assert finished[0]["cycle_id"] == "c-1"
    assert finished[0]["archived"] == 1
    assert all(e.get("cycle_id") == "c-1" for e in cap.entries)


def test_config_hash_changes_with_the_ledger() -> None:
    """Two different ledgers never share a config hash; the same one always does."""
    assert config_hash(ledger()) == config_hash(ledger())
    assert config_hash(ledger()) != config_hash(ledger(annotation_column="x"))


def test_naive_now_is_rejected(store: StateStore) -> None:
    """A naive `now` is a programming error."""
    with pytest.raises(ValueError, match="timezone-aware"):
        run_cycle(ledger(), MemoryConnector(workbook()), store, datetime(2024, 1, 1))


def _count_watched_writes(store: StateStore) -> list[int]:
    """A real SQLAlchemy event listener counting rows written to the watched table."""
    count = [0]

    def seen(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        sql = statement.lower()
        if "watched " in sql and sql.startswith(("insert", "update", "delete")):
            count[0] += len(params) if many else 1

    event.listen(store.engine, "before_cursor_execute", seen)
    return count


def test_steady_cycle_records_only_the_changed_watched_value(store: StateStore) -> None:
    """After a person changes one status, the next cycle writes exactly that one watched
    value to the state database, and nothing when the cycle after sees no change."""
    conn = MemoryConnector(workbook())
    run_cycle(ledger(), conn, store, NOW)
    writes = _count_watched_writes(store)
    conn.set_cell(MAIN, 4, "合作状态", "合作中")
    result = run_cycle(ledger(), conn, store, NOW + timedelta(hours=1))
    assert result.outcome == "ok", result.error
    assert writes[0] == 1
    assert store.load("t").watched["XS2024002"]["合作状态"] == "合作中"
    conn.set_cell(MAIN, 3, "联系人姓名", "张三丰")  # not a watched column
    again = run_cycle(ledger(), conn, store, NOW + timedelta(hours=2))
    assert again.outcome == "ok", again.error
    assert writes[0] == 1


def test_unwritable_state_fails_the_cycle_naming_the_ledger(store: StateStore) -> None:
    """A state database that cannot record the cycle makes it fail with the ledger's name
    instead of crashing as an internal error."""
    conn = MemoryConnector(workbook())
    run_cycle(ledger(), conn, store, NOW)
    with store.engine.begin() as db:
        db.execute(text("DROP TABLE watched"))
    conn.set_cell(MAIN, 4, "合作状态", "合作中")
    result = run_cycle(ledger(), conn, store, NOW + timedelta(hours=1))
    assert result.outcome == "failed"
    assert result.error is not None
    assert "'t'" in result.error
    assert "internal error" not in result.error


def test_idle_and_failed_cycles_carry_the_last_computed_findings(store: StateStore) -> None:
    """An idle cycle, then a failed one, carry the count of the last cycle that computed
    findings and its time, in the result and in their run records (they said 0)."""
    conn = MemoryConnector(workbook())
    first = run_cycle(ledger(), conn, store, NOW)
    assert first.outcome == "ok", first.error
    assert (first.finding_count, first.findings_at) == (len(first.findings), NOW)
    idle = run_cycle(ledger(), conn, store, NOW + timedelta(minutes=5))
    assert idle.outcome == "idle"
    assert (idle.findings, idle.finding_count, idle.findings_at) == ([], first.finding_count, NOW)
    gone = ledger(tabs={"main": "改名了", "history": HISTORY, "errors": ERRORS})
    failed = run_cycle(gone, conn, store, NOW + timedelta(minutes=10))
    assert failed.outcome == "failed"
    assert (failed.finding_count, failed.findings_at) == (first.finding_count, NOW)
    runs = store.runs("t")
    assert [r.outcome for r in runs] == ["failed", "idle", "ok"]
    assert {(r.findings, r.findings_at) for r in runs} == {(first.finding_count, NOW)}
    assert store.last_findings("t") == (first.finding_count, NOW)


def test_a_first_cycle_that_fails_records_no_finding_count(store: StateStore) -> None:
    """Without any cycle that computed findings, a failed run's count is unknown (None),
    not 0."""
    conn = MemoryConnector({"其他": [["a"]]})
    result = run_cycle(ledger(), conn, store, NOW)
    assert result.outcome == "failed"
    assert result.findings_at is None
    (run,) = store.runs("t")
    assert run.findings_at is None
    assert store.last_findings("t") is None


def test_result_findings_are_the_ones_the_errors_tab_lists(store: StateStore) -> None:
    """A duplicate whose twin is archived is in neither the errors tab nor the result: the
    summary counts what the tab's summary line says."""
    rows = workbook()
    rows[MAIN][4][1] = "张三"  # the lost customer has the first one's name
    names = {"type": "text", "required": True, "unique": True}
    cols = {**ledger().model_dump(mode="json")["columns"], "联系人姓名": names}
    conn = MemoryConnector(rows)
    result = run_cycle(ledger(columns=cols), conn, store, NOW)
    assert result.outcome == "ok", result.error
    assert [f.check for f in result.findings] == ["phone"]
    summary = conn.rows(ERRORS)[-1]
    assert summary[1] == f"共 {len(result.findings)} 条问题"
    assert store.runs("t")[0].findings == 1
