"""normalize: trims, half-width, canonical phones and dates — only when unambiguous."""

from __future__ import annotations

from datetime import date
from typing import Any

from planning_kit import HEADER, NOW, make_ledger, make_table, snap

from syncer.model import SetCell
from syncer.rules.base import PreviousState, RuleContext
from syncer.rules.normalize import Normalize, normalize, normalized_columns

COLUMN = {"联系方式": 3, "合作状态": 4, "最近跟进时间": 5, "客户名称": 1}


def changes(column: str, values: list[Any], **ledger_options: Any) -> dict[int, Any]:
    """Sheet row → new value proposed when ``column`` (normalized) holds ``values``."""
    ledger = make_ledger([{"kind": "normalize", "columns": [column]}], **ledger_options)
    rule = ledger.rules[0]
    assert isinstance(rule, Normalize)
    rows = []
    for i, value in enumerate(values):
        cells: list[Any] = [f"XS{i}", "甲", "张三", "13800138000", "合作中", None, None]
        cells[COLUMN[column]] = value
        rows.append(cells)
    ctx = RuleContext(ledger, snap(make_table(rows)), [], PreviousState(), NOW)
    result = normalize(rule, ctx)
    out = {}
    for op in result.ops:
        assert isinstance(op, SetCell)
        assert op.column == column
        assert op.before == values[op.target.row - 2]
        out[op.target.row] = op.value
    return out


def test_phones_become_canonical_text() -> None:
    """+86 forms, full-width digits, floats and landlines become canonical phone text."""
    values = [
        "13800138000",
        "+86 138-0013-8000",
        "１３８００１３８０００",
        13800138000.0,
        "1.3800138E10",
        "010 1234 5678",
    ]
    assert changes("联系方式", values) == {
        3: "13800138000",
        4: "13800138000",
        5: "13800138000",
        6: "13800138000",
        7: "010-12345678",
    }


def test_invalid_phones_are_only_trimmed() -> None:
    """A number that does not parse is left as typed, apart from trimming."""
    assert changes("联系方式", ["123", " 123 ", "call me"]) == {3: "123"}


def test_date_text_becomes_a_real_date_unless_already_canonical() -> None:
    """Year-first date text becomes a date; canonical text, dates and ambiguous text stay."""
    values = ["2024/3/1", "2024年3月1日", "2024-03-01", date(2024, 3, 1), "03/04/2024", 45000]
    assert changes("最近跟进时间", values) == {2: date(2024, 3, 1), 3: date(2024, 3, 1)}


def test_choices_are_trimmed_and_half_width_only_when_allowed() -> None:
    """Choice cells are trimmed; a value outside the list is not otherwise altered."""
    assert changes("合作状态", [" 合作中 ", "合作中", "bogus　"]) == {2: "合作中", 4: "bogus"}


def test_text_is_trimmed_and_half_width_and_blank_becomes_empty() -> None:
    """Text loses surrounding spaces and full-width forms; whitespace-only becomes None."""
    assert changes("客户名称", ["（北京）科技 ", "ok", "   ", "ＡＢＣ"]) == {
        2: "(北京)科技",
        4: None,
        5: "ABC",
    }


def test_columns_come_from_the_rule_and_from_specs_but_never_robot_columns() -> None:
    """normalize: true columns are included; the annotation column never is."""
    ledger = make_ledger(
        [{"kind": "normalize", "columns": ["客户名称", "校验提示"]}],
    )
    spec_ledger = ledger.model_copy(
        update={
            "columns": {
                **ledger.columns,
                "联系方式": ledger.columns["联系方式"].model_copy(update={"normalize": True}),
            }
        }
    )
    rule = spec_ledger.rules[0]
    assert isinstance(rule, Normalize)
    assert normalized_columns(rule, spec_ledger) == ["客户名称", "联系方式"]


def test_missing_column_is_skipped() -> None:
    """A configured column absent from the header proposes nothing."""
    ledger = make_ledger([{"kind": "normalize", "columns": ["联系方式"]}])
    rule = ledger.rules[0]
    assert isinstance(rule, Normalize)
    table = make_table([["XS1", " 甲 "]], header=HEADER[:2])
    assert normalize(rule, RuleContext(ledger, snap(table), [], PreviousState(), NOW)).ops == []
