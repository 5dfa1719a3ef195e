"""Conditions: each operator's semantics, combinators, and the vectorised evaluator
against a row-by-row reference implementation."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planning_kit import NOW, make_ledger, make_table

from syncer.conditions import (
    All,
    AnyOf,
    Compare,
    Condition,
    Not,
    condition_columns,
    describe_condition,
    evaluate,
    missing_columns,
    parse_duration_days,
)
from syncer.errors import ConfigError
from syncer.ledger import LedgerConfig
from syncer.model import CellValue, canonical
from syncer.values import is_placeholder, parse_datetime

LEDGER = make_ledger()
HEADER = ("状态", "备注", "日期")


def cond(data: dict[str, Any]) -> Condition:
    """A condition model from its YAML shape."""
    return make_ledger([{"kind": "archive", "when": data}]).rules[0].when  # type: ignore[union-attr]


def run(data: dict[str, Any], values: list[CellValue], column: str = "状态") -> list[bool]:
    """Evaluate ``data`` over a one-column table holding ``values``."""
    table = make_table([[v] for v in values], header=(column,))
    return evaluate(cond(data), table, LEDGER, NOW)


def test_equals_compares_trimmed_canonical_text() -> None:
    """equals ignores surrounding spaces and compares numbers by their canonical text."""
    values: list[CellValue] = ["流失客户", " 流失客户 ", "合作中", None, 5.0]
    assert run({"column": "状态", "op": "equals", "value": "流失客户"}, values) == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert run({"column": "状态", "op": "equals", "value": 5}, values) == [
        False,
        False,
        False,
        False,
        True,
    ]


def test_not_equals_is_the_negation_of_equals() -> None:
    """not_equals holds exactly where equals does not (including empty cells)."""
    values: list[CellValue] = ["a", "b", None]
    assert run({"column": "状态", "op": "not_equals", "value": "a"}, values) == [False, True, True]


def test_in_and_not_in_use_the_listed_values() -> None:
    """in matches any listed value; not_in matches the rest."""
    values: list[CellValue] = ["流失客户", "暂停合作 ", "合作中", None]
    listed = ["流失客户", "暂停合作"]
    assert run({"column": "状态", "op": "in", "value": listed}, values) == [
        True,
        True,
        False,
        False,
    ]
    assert run({"column": "状态", "op": "not_in", "value": listed}, values) == [
        False,
        False,
        True,
        True,
    ]


def test_empty_counts_placeholders_as_empty() -> None:
    """empty holds for None, blank text and the ledger's placeholders (未知, 待补充, N/A, -)."""
    values: list[CellValue] = [None, "  ", "未知", " n/a ", "待补充", "张三", 0]
    assert run({"column": "状态", "op": "empty"}, values) == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert run({"column": "状态", "op": "not_empty"}, values) == [
        False,
        False,
        False,
        False,
        False,
        True,
        True,
    ]


def test_matches_is_a_full_match_on_trimmed_text() -> None:
    """matches requires the whole trimmed text to match; a fragment does not."""
    values: list[CellValue] = ["XS2024001", " XS2024002 ", "old XS2024003", None]
    data = {"column": "状态", "op": "matches", "value": r"XS\d{7}"}
    assert run(data, values) == [True, True, False, False]


def test_matches_with_a_broken_regex_is_refused_at_load() -> None:
    """A `matches` regex that does not compile is rejected when the ledger is built."""
    with pytest.raises(ValueError, match=r"`matches` value '\(' is not a valid regular"):
        cond({"column": "状态", "op": "matches", "value": "("})


def test_a_broken_regex_built_around_the_checks_names_the_column_once() -> None:
    """At run time (a model built without validation) the error names the column and does
    not repeat the ledger's name, which the engine adds."""
    broken = Compare.model_construct(column="状态", op="matches", value="(")
    table = make_table([["x"]], header=("状态",))
    with pytest.raises(ConfigError, match=r"condition on column '状态'") as info:
        evaluate(broken, table, LEDGER, NOW)
    assert "sales" not in str(info.value)


def test_older_than_reads_dates_text_and_datetimes() -> None:
    """older_than 90d holds for dates more than 90 days before now, in any date form."""
    values: list[CellValue] = [
        date(2024, 1, 1),
        "2024/1/1",
        "2024年5月30日",
        datetime(2024, 2, 1, 8, 0),
        "2024-03-03",
        "2024-03-04",
    ]
    assert run({"column": "日期", "op": "older_than", "value": "90d"}, values, "日期") == [
        True,
        True,
        False,
        True,
        True,
        False,
    ]


def test_unparsable_or_empty_dates_match_neither_age_operator() -> None:
    """An empty, ambiguous or non-date cell is neither older_than nor newer_than."""
    values: list[CellValue] = [None, "", "03/04/2024", "soon", True]
    for op in ("older_than", "newer_than"):
        assert run({"column": "日期", "op": op, "value": "1d"}, values, "日期") == [False] * 5


def test_newer_than_includes_future_dates() -> None:
    """newer_than holds for recent and future dates, not for old ones."""
    values: list[CellValue] = ["2024-05-30", "2025-01-01", "2024-01-01"]
    assert run({"column": "日期", "op": "newer_than", "value": "7d"}, values, "日期") == [
        True,
        True,
        False,
    ]


def test_all_any_not_combine_row_by_row() -> None:
    """all/any/not combine the sub-conditions per row."""
    table = make_table(
        [["流失客户", "x"], ["流失客户", None], ["合作中", "x"], [None, None]],
        header=("状态", "备注"),
    )
    lost = {"column": "状态", "op": "equals", "value": "流失客户"}
    noted = {"column": "备注", "op": "not_empty"}
    assert evaluate(cond({"all": [lost, noted]}), table, LEDGER, NOW) == [
        True,
        False,
        False,
        False,
    ]
    assert evaluate(cond({"any": [lost, noted]}), table, LEDGER, NOW) == [True, True, True, False]
    assert evaluate(cond({"not": lost}), table, LEDGER, NOW) == [False, False, True, True]


def test_missing_column_reads_as_empty_and_is_reported() -> None:
    """A column absent from the header reads as empty cells; missing_columns names it."""
    table = make_table([["a"], ["b"]], header=("状态",))
    condition = cond(
        {"any": [{"column": "备注", "op": "empty"}, {"column": "状态", "op": "empty"}]}
    )
    assert evaluate(condition, table, LEDGER, NOW) == [True, True]
    assert missing_columns(condition, table) == ["备注"]
    assert condition_columns(condition) == ["备注", "状态"]


def test_empty_table_gives_no_rows() -> None:
    """A header-only tab evaluates to an empty list."""
    assert run({"column": "状态", "op": "empty"}, []) == []


def test_describe_condition_in_both_locales() -> None:
    """Conditions read as short sentences in zh-CN and en (used as archive reasons)."""
    condition = cond(
        {
            "any": [
                {"column": "合作状态", "op": "equals", "value": "流失客户"},
                {"column": "最近跟进时间", "op": "older_than", "value": "90d"},
            ]
        }
    )
    assert describe_condition(condition, "zh-CN") == "合作状态为流失客户或最近跟进时间早于90d前"
    assert describe_condition(condition, "en") == (
        "合作状态 is 流失客户 or 最近跟进时间 older than 90d"
    )


# --- property: the vectorised evaluator equals a row-by-row reference -------------------


def reference(condition: Condition, row: dict[str, CellValue], ledger: LedgerConfig) -> bool:
    """The documented semantics, one row at a time, written as plainly as possible."""
    if isinstance(condition, All):
        return all(reference(c, row, ledger) for c in condition.all)
    if isinstance(condition, AnyOf):
        return any(reference(c, row, ledger) for c in condition.any)
    if isinstance(condition, Not):
        return not reference(condition.not_, row, ledger)
    value = row.get(condition.column)
    text = canonical(value).strip()
    op = condition.op
    if op in ("equals", "not_equals"):
        return (text == canonical(condition.value).strip()) == (op == "equals")
    if op in ("in", "not_in"):
        listed = [canonical(v).strip() for v in condition.value]
        return (text in listed) == (op == "in")
    if op in ("empty", "not_empty"):
        empty = text == "" or is_placeholder(value, ledger.placeholders_for(condition.column))
        return empty == (op == "empty")
    if op == "matches":
        return re.fullmatch(condition.value, text) is not None
    moment = parse_datetime(value)
    if moment is None:
        return False
    days = parse_duration_days(condition.value)
    assert days is not None
    age = NOW - moment.replace(tzinfo=NOW.tzinfo)
    return age > timedelta(days=days) if op == "older_than" else age < timedelta(days=days)


TEXTS = st.sampled_from(["流失客户", "合作中", " 合作中", "未知", "-", "", "A1", "b22"])
CELLS = st.one_of(
    st.none(),
    TEXTS,
    st.integers(-3, 3),
    st.dates(date(2023, 6, 1), date(2024, 9, 1)),
    st.dates(date(2023, 6, 1), date(2024, 9, 1)).map(lambda d: d.strftime("%Y/%m/%d")),
)
COLUMNS = st.sampled_from((*HEADER, "缺失列"))


def compares() -> st.SearchStrategy[dict[str, Any]]:
    """Random comparisons over the test columns (and one missing column)."""
    scalar = st.one_of(TEXTS, st.integers(-3, 3))
    return st.one_of(
        st.builds(
            lambda c, o, v: {"column": c, "op": o, "value": v},
            COLUMNS,
            st.sampled_from(["equals", "not_equals"]),
            scalar,
        ),
        st.builds(
            lambda c, o, v: {"column": c, "op": o, "value": v},
            COLUMNS,
            st.sampled_from(["in", "not_in"]),
            st.lists(scalar, min_size=1, max_size=3),
        ),
        st.builds(
            lambda c, o: {"column": c, "op": o}, COLUMNS, st.sampled_from(["empty", "not_empty"])
        ),
        st.builds(
            lambda c, v: {"column": c, "op": "matches", "value": v},
            COLUMNS,
            st.sampled_from([r"\w+", r"A\d", r".*合作.*", r"-?\d"]),
        ),
        st.builds(
            lambda c, o, v: {"column": c, "op": o, "value": v},
            COLUMNS,
            st.sampled_from(["older_than", "newer_than"]),
            st.sampled_from(["1d", "30d", "90d", "12h", "2w"]),
        ),
    )


CONDITIONS = st.recursive(
    compares(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
        inner.map(lambda x: {"not": x}),
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(
    data=CONDITIONS,
    rows=st.lists(st.tuples(CELLS, CELLS, CELLS), max_size=12),
)
def test_evaluate_agrees_with_the_row_by_row_reference(
    data: dict[str, Any], rows: list[tuple[CellValue, CellValue, CellValue]]
) -> None:
    """For random conditions and cells, the vectorised evaluator equals the reference."""
    condition = cond(data)
    table = make_table(rows, header=HEADER)
    expected = [reference(condition, table.row_dict(i), LEDGER) for i in range(len(rows))]
    assert evaluate(condition, table, LEDGER, NOW) == expected
