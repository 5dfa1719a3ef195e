"""Helpers shared by the rules: row identity, cell text, emptiness and the column memo."""

from __future__ import annotations

from datetime import date, datetime

from planning_kit import NOW, make_ledger, make_table

from syncer.model import RowRef
from syncer.rules.base import (
    PreviousState,
    RuleContext,
    TableCache,
    cell_text,
    column,
    empty_test,
    ledger_row_keys,
    local_naive,
    placeholder_test,
    row_keys,
    row_ref,
)


def test_row_keys_drop_empty_placeholder_and_duplicated_keys() -> None:
    """Only keys held by exactly one row, and not placeholders, identify rows."""
    table = make_table([["XS1"], [" XS2 "], ["XS3"], ["XS3"], [None], ["未知"], [7.0]])
    ledger = make_ledger()
    assert ledger_row_keys(ledger, table) == ["XS1", "XS2", None, None, None, None, "7"]
    assert row_keys(table, "客户编号")[5] == "未知"


def test_cell_text_trims_and_canonicalises() -> None:
    """Cell text is canonical and trimmed: floats without .0, dates in ISO form."""
    assert [cell_text(v) for v in (" a ", 5.0, None, True, date(2024, 3, 1))] == [
        "a",
        "5",
        "",
        "TRUE",
        "2024-03-01",
    ]


def test_placeholder_and_empty_tests_match_the_ledger_rules() -> None:
    """Placeholders count as empty in any width or case; other values, numbers included, do not."""
    fake = placeholder_test(("未知", "N/A", "-"))
    empty = empty_test(("未知", "N/A", "-"))
    values = ["未知", " n/a ", "－", "未知客户", "", None, 0, "x"]
    assert [fake(v) for v in values] == [True, True, True, False, False, False, False, False]
    assert [empty(v) for v in values] == [True, True, True, False, True, True, False, False]


def test_row_ref_carries_key_and_sheet_row() -> None:
    """A RowRef names the row's key and its sheet row under a title row."""
    table = make_table([["XS1", "甲"]], header_row=3)
    assert row_ref(table, 0, "XS1") == RowRef("XS1", 4)


def test_local_naive_keeps_wall_clock_time_to_the_second() -> None:
    """The robot writes local wall-clock time without zone or microseconds."""
    assert local_naive(NOW.replace(microsecond=123)) == datetime(2024, 6, 1, 10, 30, 15)


def test_column_reads_are_shared_through_the_cycle_cache_only() -> None:
    """With a cache a column is computed once per table; without one it is recomputed."""
    table = make_table([["a"], ["b", "c"]])
    cache = TableCache()
    assert column(table, "客户名称", cache) == [None, "c"]
    assert column(table, "客户名称", cache) is column(table, "客户名称", cache)
    assert column(table, "客户名称") is not column(table, "客户名称")
    assert len(cache) == 1


def test_each_rule_context_brings_its_own_cache() -> None:
    """Two cycles' contexts never share cached columns: the cache lives on the context."""
    ledger = make_ledger()
    table = make_table([["XS1"]])
    first = RuleContext(ledger, {}, [], PreviousState(), NOW)
    second = RuleContext(ledger, {}, [], PreviousState(), NOW)
    assert first.cache is not second.cache
    assert ledger_row_keys(ledger, table, first.cache) == ["XS1"]
    assert (len(first.cache), len(second.cache)) == (1, 0)
