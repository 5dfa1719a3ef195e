"""Pure inference of one column's spec: types, dropdowns, required, min, placeholders."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from syncer.infer.columns import infer_column, percent
from syncer.infer.grid import Validation
from syncer.ledger import DEFAULT_PLACEHOLDERS, ColumnSpec

PH = DEFAULT_PLACEHOLDERS


@given(
    values=st.lists(
        st.one_of(st.sampled_from(["甲", "乙", " 丙", "丁 ", "未知", "", None]), st.none()),
        min_size=0,
        max_size=80,
    ),
    name=st.sampled_from(["客户类型", "合作状态", "其他", "Status"]),
)
def test_observed_choice_sets_hold_every_observed_value(
    values: list[str | None], name: str
) -> None:
    """A choice guessed from the values allows every value seen (trimmed, placeholders aside)."""
    guess = infer_column(name, 0, values, PH)
    if guess.type == "choice":
        seen = {v.strip() for v in values if v and v.strip() and v.strip() != "未知"}
        assert seen <= set(guess.spec["values"])
        ColumnSpec.model_validate(guess.spec)


@given(st.integers(0, 500), st.integers(1, 500))
def test_percent_says_100_only_when_all(part: int, whole: int) -> None:
    """The evidence never rounds 99.9% up to 100%, nor a part of something down to 0%."""
    part = min(part, whole)
    shown = percent(part, whole)
    assert (shown == "100%") == (part == whole)
    assert (shown == "0%") == (part == 0) or part * 200 < whole


@given(filled=st.integers(0, 60), holes=st.integers(0, 6), placeholders=st.integers(0, 3))
def test_required_counts_placeholders_as_empty(filled: int, holes: int, placeholders: int) -> None:
    """`required` is inferred exactly when ≥ 95% of rows hold a real value."""
    values = ["值"] * filled + [None] * holes + ["待补充"] * placeholders
    guess = infer_column("客户名称", 0, values, PH)
    rows = filled + holes + placeholders
    expected = rows > 0 and filled >= 0.95 * rows
    assert bool(guess.spec.get("required")) == expected


def test_dropdown_decides_over_values() -> None:
    """A list rule is the choice set, even when people typed values outside it."""
    rule = Validation("list", values=("潜在客户", "合作中"))
    guess = infer_column("合作状态", 0, ["合作中"] * 20 + ["谈判中"], PH, rule)
    assert guess.spec["values"] == ["潜在客户", "合作中"]
    assert guess.notes["type"].text == (
        "choice: from the sheet's dropdown (list rule); 1 value(s) outside it will be "
        "reported: 谈判中"
    )
    assert not guess.notes["type"].review


def test_number_and_length_rules_give_bounds() -> None:
    """Number rules give min/max; a text-length rule gives max_length."""
    number = infer_column("数量", 0, [1, 2, 3], PH, Validation("integer", minimum=1, maximum=9))
    assert (number.spec["type"], number.spec["min"], number.spec["max"]) == ("integer", 1, 9)
    names = [f"张{i}" for i in range(30)]
    text = infer_column("联系人", 0, names, PH, Validation("text_length", maximum=30))
    assert (text.spec["type"], text.spec["max_length"]) == ("text", 30)
    assert text.notes["max_length"].text.startswith("max_length: the sheet's text-length rule")


def test_phone_dates_times_and_amounts() -> None:
    """Mobiles as numbers and text, dates as cells and text, times, amounts with a negative."""
    phones = infer_column(
        "联系方式", 0, [13800138000 + i for i in range(30)] + ["+86 138-0013-8000", "12345"], PH
    )
    assert (phones.type, phones.spec["region"]) == ("phone", "CN")
    assert "phone: 97% parse as CN mobile" in phones.notes["type"].text
    assert "***45" in phones.notes["type"].text  # invalid numbers are masked in comments
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(30)] + ["2024/3/1", "03/04/2024"]
    assert infer_column("首次接触时间", 0, days, PH).type == "date"
    moments = [datetime(2024, 1, 1, 9, 30) + timedelta(hours=i) for i in range(30)]
    assert infer_column("Opened", 0, moments, PH).type == "datetime"
    amounts = infer_column("合同金额(元)", 0, [0, 5000, 12000.5] * 10 + [-500], PH)
    assert (amounts.type, amounts.spec["min"]) == ("number", 0)
    assert "1 negative will be reported: -500" in amounts.notes["min"].text
    debts = infer_column("balance amount", 0, [-5, 3, -2, 4] * 8, PH)
    assert "min" not in debts.spec


def test_foreign_phones_get_their_region() -> None:
    """A phone column of US numbers written without +1 is phone with region US."""
    values = [f"(415) 555-{i:04d}" for i in range(100, 130)]
    guess = infer_column("Phone", 0, values, PH)
    assert (guess.type, guess.spec["region"]) == ("phone", "US")


def test_free_text_is_not_a_choice_and_unhinted_sets_ask_for_review() -> None:
    """Free-text headers stay text; small sets are choices, marked REVIEW without a hint."""
    notes = infer_column("需求描述", 0, ["a", "b", "c"] * 12, PH)
    assert notes.type == "text"
    unnamed = infer_column("合作产品", 0, ["a", "b", "c"] * 12, PH)
    assert unnamed.type == "choice"
    assert unnamed.notes["type"].review
    named = infer_column("客户类型", 0, ["a", "b", "c"] * 12, PH)
    assert named.type == "choice"
    assert not named.notes["type"].review


def test_multi_choice_booleans_emails_and_urls() -> None:
    """Items joined by a separator, yes/no cells, addresses and links."""
    multi = infer_column("渠道", 0, ["电话、微信", "邮件", "微信、邮件", "电话"] * 5, PH)
    assert (multi.type, multi.spec["separator"]) == ("multi_choice", "、")
    assert set(multi.spec["values"]) == {"电话", "微信", "邮件"}
    flags = infer_column("Warranty", 0, [True, False] * 10 + ["是"], PH)
    assert flags.type == "boolean"
    mails = infer_column("邮箱", 0, [f"u{i}@example.cn" for i in range(25)] + ["li.na@"], PH)
    assert mails.type == "email"
    assert mails.spec["unique"] is True
    assert mails.notes["unique"].review
    links = infer_column("Website", 0, [f"https://e.com/{i}" for i in range(10)], PH)
    assert links.type == "text"
    assert links.spec["pattern"] == r"^(?:https?://|www\.)\S+$"


def test_empty_column_and_required_mark() -> None:
    """No values yet: text for review; a `*` in the header makes a column required."""
    empty = infer_column("备注", 0, [None] * 10, PH)
    assert empty.type == "text"
    assert empty.notes["type"].review
    marked = infer_column("联系人姓名*", 0, ["张三", None, None], PH)
    assert marked.spec["required"] is True
    assert marked.notes["required"].text == "required: header marked *; 2 empty will be reported"


def test_currency_format_makes_an_amount() -> None:
    """Whole numbers shown in a currency format are a number with min 0."""
    guess = infer_column("Deal", 0, [100, 200, 300] * 5, PH, None, Counter({"CURRENCY": 15}))
    assert (guess.type, guess.spec["min"]) == ("number", 0)
    assert "(currency format)" in guess.notes["type"].text
