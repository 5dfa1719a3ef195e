"""stamp_on_change: stamps on watched changes, first sighting, skipped rows, observed values."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from planning_kit import HEADER, NOW, make_ledger, make_table, snap

from syncer.model import AddColumn, SetCell, Snapshot
from syncer.rules.base import PreviousState, RuleContext, RuleResult
from syncer.rules.stamp_on_change import StampOnChange, stamp_on_change

STAMP_HEADER = (*HEADER, "状态变更时间")


def run(
    rows: list[list[Any]],
    watched: dict[str, dict[str, str]],
    header: tuple[str, ...] = STAMP_HEADER,
    **options: Any,
) -> RuleResult:
    """Run a 合作状态 → 状态变更时间 stamp rule over ``rows``."""
    ledger = make_ledger(
        [{"kind": "stamp_on_change", "watch": ["合作状态"], "target": "状态变更时间", **options}]
    )
    rule = ledger.rules[0]
    assert isinstance(rule, StampOnChange)
    snapshot: Snapshot = snap(make_table(rows, header=header))
    ctx = RuleContext(ledger, snapshot, [], PreviousState(watched=watched), NOW)
    return stamp_on_change(rule, ctx)


def row(key: str | None, status: str | None, stamp: Any = None) -> list[Any]:
    """A template row with a key, a status and a stamp cell."""
    return [key, "甲公司", "张三", "13800138000", status, None, None, stamp]


def test_a_changed_status_is_stamped_with_now() -> None:
    """A watched value differing from the last cycle writes now (naive local, to the minute)."""
    result = run([row("XS1", "合作中", "old")], {"XS1": {"合作状态": "意向客户"}})
    (op,) = result.ops
    assert isinstance(op, SetCell)
    assert op.column == "状态变更时间"
    assert op.value == datetime(2024, 6, 1, 10, 30)
    assert op.before == "old"
    assert op.target.key == "XS1"
    assert op.target.row == 2


def test_date_format_writes_a_date() -> None:
    """format: date writes today's date in the ledger's zone."""
    result = run([row("XS1", "合作中")], {"XS1": {"合作状态": "意向客户"}}, format="date")
    assert [op.value for op in result.ops if isinstance(op, SetCell)] == [date(2024, 6, 1)]


def test_unchanged_or_only_retrimmed_values_are_not_stamped() -> None:
    """Equal values, including ones differing only by surrounding spaces, are no change."""
    result = run(
        [row("XS1", "合作中"), row("XS2", " 意向客户 ")],
        {"XS1": {"合作状态": "合作中"}, "XS2": {"合作状态": "意向客户"}},
    )
    assert result.ops == []
    assert result.observed == {"XS1": {"合作状态": "合作中"}, "XS2": {"合作状态": "意向客户"}}


def test_state_of_other_rules_columns_does_not_count_as_a_change() -> None:
    """Recorded values of columns this rule does not watch are ignored."""
    result = run([row("XS1", "合作中")], {"XS1": {"合作状态": "合作中", "跟进内容": "x"}})
    assert result.ops == []


def test_first_sight_skip_records_without_stamping() -> None:
    """A key never seen before is observed but not stamped under on_first_sight: skip."""
    result = run([row("XS9", "合作中")], {})
    assert result.ops == []
    assert result.observed == {"XS9": {"合作状态": "合作中"}}


def test_first_sight_stamp_fills_only_empty_targets() -> None:
    """on_first_sight: stamp writes now into empty targets and leaves filled ones."""
    result = run(
        [row("XS1", "合作中"), row("XS2", "合作中", "2024-01-01")], {}, on_first_sight="stamp"
    )
    assert [op.target.key for op in result.ops if isinstance(op, SetCell)] == ["XS1"]


def test_rows_without_a_unique_key_are_skipped() -> None:
    """Rows with an empty or duplicated key have no identity: neither stamped nor observed."""
    result = run(
        [row(None, "合作中"), row("XS1", "合作中"), row("XS1", "流失客户"), row("XS2", "合作中")],
        {"XS1": {"合作状态": "意向客户"}, "XS2": {"合作状态": "意向客户"}},
    )
    assert [op.target.key for op in result.ops if isinstance(op, SetCell)] == ["XS2"]
    assert set(result.observed) == {"XS2"}


def test_missing_target_column_is_added_first() -> None:
    """A target column absent from the header gets an AddColumn before the stamps."""
    result = run([row("XS1", "合作中")[:-1]], {"XS1": {"合作状态": "意向客户"}}, header=HEADER)
    assert isinstance(result.ops[0], AddColumn)
    assert result.ops[0].column == "状态变更时间"
    assert isinstance(result.ops[1], SetCell)
    assert result.ops[1].before is None


def test_missing_watched_column_does_nothing() -> None:
    """When a watched column is gone from the header nothing is stamped or observed."""
    header = tuple(c for c in STAMP_HEADER if c != "合作状态")
    result = run(
        [["XS1", "甲", "张三", "138", None, None, None]], {"XS1": {"合作状态": "x"}}, header
    )
    assert result.ops == []
    assert result.observed == {}


def test_state_lacking_a_newly_watched_column_counts_as_first_sight() -> None:
    """A key whose state has no value for a watched column is a first sighting, not a change."""
    result = run([row("XS1", "合作中")], {"XS1": {"跟进内容": "x"}})
    assert result.ops == []
