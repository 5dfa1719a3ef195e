"""archive: which rows move, what the history row holds, and the history tab's structure."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from planning_kit import HEADER, HISTORY, MAIN, NOW, make_ledger, make_table, snap

from syncer.model import AddColumn, EnsureTab, MoveRow, Table
from syncer.rules.archive import Archive, archive
from syncer.rules.base import PreviousState, RuleContext, RuleResult

LOST = {"column": "合作状态", "op": "equals", "value": "流失客户"}
STALE = {"column": "最近跟进时间", "op": "older_than", "value": "90d"}


def run(
    rows: list[list[Any]],
    when: dict[str, Any],
    history: Table | None = None,
    header: tuple[str, ...] = HEADER,
    locale: str = "zh-CN",
    **options: Any,
) -> RuleResult:
    """Run one archive rule over a main tab of ``rows`` (and an optional history tab)."""
    ledger = make_ledger([{"kind": "archive", "when": when, **options}], locale=locale)
    rule = ledger.rules[0]
    assert isinstance(rule, Archive)
    tables = [make_table(rows, header=header)]
    if history is not None:
        tables.append(history)
    ctx = RuleContext(ledger, snap(*tables), [], PreviousState(), NOW)
    return archive(rule, ctx)


def row(key: str | None, status: str | None, followed: Any = None) -> list[Any]:
    """A template row with a key, a status and a last follow-up date."""
    return [key, "甲公司", "张三", 13800138000.0, status, followed, "回访"]


def moves(result: RuleResult) -> list[MoveRow]:
    """The MoveRow operations of ``result``."""
    return [op for op in result.ops if isinstance(op, MoveRow)]


def test_lost_customer_moves_typed_with_archived_at_and_reason() -> None:
    """A matching row becomes a MoveRow holding the row as read plus when and why."""
    result = run(
        [row("XS1", "合作中"), row("XS2", "流失客户", date(2024, 5, 1))], LOST, reason="流失"
    )
    (move,) = moves(result)
    assert move.tab == MAIN
    assert move.history_tab == HISTORY
    assert move.target.key == "XS2"
    assert move.target.row == 3
    assert dict(move.values) == {
        "客户编号": "XS2",
        "客户名称": "甲公司",
        "联系人姓名": "张三",
        "联系方式": 13800138000.0,
        "合作状态": "流失客户",
        "最近跟进时间": date(2024, 5, 1),
        "跟进内容": "回访",
        "归档时间": datetime(2024, 6, 1, 10, 30, 15),
        "归档原因": "流失",
    }
    assert move.reason == "流失"


def test_missing_history_tab_is_created_with_main_header_and_extra_columns() -> None:
    """Without a history tab, an EnsureTab with the main header + 归档时间/归档原因 comes first."""
    result = run([row("XS1", "流失客户")], LOST)
    assert result.ops[0] == EnsureTab(
        tab=HISTORY, header=(*HEADER, "归档时间", "归档原因"), rule="archive"
    )


def test_english_ledger_uses_english_history_columns_and_condition_reason() -> None:
    """An en ledger names the extra columns in English; without reason the condition is used."""
    result = run([row("XS1", None, "2024-01-02")], STALE, locale="en")
    ensure = result.ops[0]
    assert isinstance(ensure, EnsureTab)
    assert ensure.header[-2:] == ("Archived at", "Archive reason")
    (move,) = moves(result)
    assert move.reason == "最近跟进时间 older than 90d"


def test_existing_history_tab_gets_only_missing_columns() -> None:
    """An existing history tab lacking columns gets AddColumns, no EnsureTab."""
    history = make_table([], header=(*HEADER[:5], "归档时间"), name=HISTORY)
    result = run([row("XS1", "流失客户")], LOST, history=history)
    added = [op.column for op in result.ops if isinstance(op, AddColumn)]
    assert added == ["最近跟进时间", "跟进内容", "归档原因"]
    assert not any(isinstance(op, EnsureTab) for op in result.ops)


def test_rows_without_unique_key_or_already_in_history_stay() -> None:
    """Keyless, duplicate-key and already-archived rows are never moved."""
    history = make_table([["XS3"]], header=HEADER, name=HISTORY)
    rows = [
        row(None, "流失客户"),
        row("XS2", "流失客户"),
        row("XS2", "流失客户"),
        row("XS3", "流失客户"),
        row("XS4", "流失客户"),
    ]
    result = run(rows, LOST, history=history)
    assert [m.target.key for m in moves(result)] == ["XS4"]


def test_condition_on_a_missing_column_archives_nothing() -> None:
    """If the header lost the condition's column the rule does nothing (never 'all empty')."""
    header = tuple(c for c in HEADER if c != "合作状态")
    rows = [["XS1", "甲", "张三", "138", None, "x"]]
    result = run(rows, {"column": "合作状态", "op": "empty"}, header=header)
    assert result.ops == []


def test_annotation_column_is_left_behind() -> None:
    """The robot's annotation column is not carried into the history row or header."""
    header = (*HEADER, "校验提示")
    result = run([[*row("XS1", "流失客户"), "联系方式: 号码无效"]], LOST, header=header)
    ensure = result.ops[0]
    assert isinstance(ensure, EnsureTab)
    assert "校验提示" not in ensure.header
    assert "校验提示" not in dict(moves(result)[0].values)


def test_no_match_proposes_nothing() -> None:
    """Nothing matching means no history tab or columns are proposed either."""
    assert run([row("XS1", "合作中", "2024-05-30")], STALE).ops == []
