"""assign_id: pattern parsing, sequence numbering across main and history, eligibility."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planning_kit import HEADER, HISTORY, NOW, make_ledger, make_table, snap

from syncer.model import SetCell
from syncer.rules.assign_id import AssignId, assign_id, parse_pattern
from syncer.rules.base import PreviousState, RuleContext, RuleResult


def run(
    rows: list[list[Any]],
    history_keys: list[str] = (),
    **options: Any,  # type: ignore[assignment]
) -> RuleResult:
    """Run an assign_id rule over ``rows`` with ``history_keys`` in the history tab."""
    ledger = make_ledger([{"kind": "assign_id", **options}])
    rule = ledger.rules[0]
    assert isinstance(rule, AssignId)
    history = make_table([[k] for k in history_keys], header=HEADER, name=HISTORY)
    ctx = RuleContext(ledger, snap(make_table(rows), history), [], PreviousState(), NOW)
    return assign_id(rule, ctx)


def row(key: Any, name: Any = "甲公司", first_contact: Any = None) -> list[Any]:
    """A template row with a key, a customer name and a date."""
    return [key, name, "张三", "13800138000", "合作中", first_contact, None]


def ids(result: RuleResult) -> list[tuple[int, Any]]:
    """(sheet row, new id) of each proposed SetCell."""
    return [(op.target.row, op.value) for op in result.ops if isinstance(op, SetCell)]


def test_next_sequence_continues_after_main_and_history() -> None:
    """New ids continue after the highest of the same year in the main and history tabs."""
    result = run(
        [row("XS2024003"), row(None), row("XS2023009"), row("")],
        history_keys=["XS2024007", "XS2024junk"],
    )
    assert ids(result) == [(3, "XS2024008"), (5, "XS2024009")]


def test_operation_is_addressed_by_row_with_no_key() -> None:
    """The SetCell targets the key column by sheet row; RowRef.key is None."""
    (op,) = run([row(None)]).ops
    assert isinstance(op, SetCell)
    assert op.target.key is None
    assert op.column == "客户编号"
    assert op.before is None
    assert op.value == "XS2024001"


def test_year_from_column_decides_the_year() -> None:
    """With year_from the row's date gives {year}; an unreadable date falls back to now."""
    result = run(
        [row(None, first_contact="2023/3/1"), row(None, first_contact="unknown")],
        history_keys=["XS2023041"],
        year_from="最近跟进时间",
    )
    assert ids(result) == [(2, "XS2023042"), (3, "XS2024001")]


def test_blank_rows_and_rows_missing_required_columns_get_no_id() -> None:
    """Blank rows and rows whose `requires` columns are empty or placeholders are skipped."""
    rows = [[None] * 7, row(None, name="未知"), row(None, name=" "), row("待补充", name="乙")]
    assert ids(run(rows, requires=["客户名称"])) == [(5, "XS2024001")]


def test_prefix_and_unpadded_sequence() -> None:
    """{seq} without width grows freely; patterns without {year} number globally."""
    result = run([row("C-9"), row(None)], pattern="C-{seq}")
    assert ids(result) == [(3, "C-10")]


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [("XS{year}", "needs a {seq}"), ("XS{seq:>3}", "unsupported"), ("XS{year}{seq", "malformed")],
)
def test_parse_pattern_rejects_unusable_patterns(pattern: str, problem: str) -> None:
    """Patterns without {seq}, with odd specs or broken braces are refused with a reason."""
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_pattern(pattern)


def test_pattern_round_trips_render_and_match() -> None:
    """A rendered id is recognised as the same year and sequence."""
    pattern = parse_pattern("{prefix}{year}-{seq:04}", prefix="BJ")
    assert pattern.render(2024, 12) == "BJ2024-0012"
    assert pattern.match("BJ2024-0012") == (2024, 12)
    assert pattern.match("SH2024-0012") is None


EXISTING = st.one_of(
    st.builds(lambda y, s: f"XS{y}{s:03}", st.sampled_from([2023, 2024]), st.integers(0, 1200)),
    st.sampled_from(["", "XS2024", "XS20240001x", "abc"]),
)


@settings(max_examples=100, deadline=None)
@given(
    main_keys=st.lists(st.one_of(st.none(), EXISTING), max_size=15),
    history_keys=st.lists(EXISTING, max_size=10),
)
def test_generated_ids_never_collide(main_keys: list[str | None], history_keys: list[str]) -> None:
    """New ids are distinct, absent from both tabs, and above every same-year sequence."""
    rows = [row(k) for k in main_keys]
    result = run(rows, history_keys=history_keys)
    new = [str(v) for _, v in ids(result)]
    existing = {str(k).strip() for k in [*main_keys, *history_keys] if k}
    assert len(new) == len(set(new))
    assert not set(new) & existing
    assert len(new) == sum(1 for k in main_keys if not k)
    used = [int(k[6:]) for k in existing if re.fullmatch(r"XS2024\d{3,}", k)]
    assert all(int(n[6:]) > max(used, default=0) for n in new)
