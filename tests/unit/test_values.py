"""Tests of syncer.values: phone, date, number and boolean parsing."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.values import (
    format_date,
    is_placeholder,
    mask_phone,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_number,
    parse_phone,
    phone_canonical,
    phone_validity,
    to_halfwidth,
)

FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def test_to_halfwidth_converts_digits_letters_punctuation_and_space() -> None:
    """Full-width digits, letters, punctuation and the ideographic space become ASCII."""
    assert to_halfwidth("１３８　ＡＢｃ－（）！") == "138 ABc-()!"


def test_to_halfwidth_leaves_chinese_text_alone() -> None:
    """Chinese characters are not full-width forms and stay unchanged."""
    assert to_halfwidth("意向客户") == "意向客户"


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E)))
def test_to_halfwidth_inverts_the_fullwidth_shift(text: str) -> None:
    """Shifting printable ASCII into the full-width block and back is the identity."""
    full = "".join(chr(ord(ch) + 0xFEE0) for ch in text)
    assert to_halfwidth(full) == text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("８６-１３８００１３８０００", "13800138000"),
        (13800138000.0, "13800138000"),
        (13800138000, "13800138000"),
        ("1.3800138E10", "13800138000"),
        ("13800138000.0", "13800138000"),
        (" 138 0013 8000 ", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("010-12345678", "010-12345678"),
        ("+86 10 1234 5678", "010-12345678"),
        ("(0755)12345678", "0755-12345678"),
        ("4001234567", "4001234567"),
        ("+1 415 555 0123", "+14155550123"),
    ],
)
def test_parse_phone_canonical_forms(raw: str | float, expected: str) -> None:
    """Each way people write a phone number gives its documented canonical form."""
    assert parse_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "12345",
        "abc",
        "1380013800",
        "23800138000",
        True,
        1.5,
        -13800138000,
        date(2024, 1, 1),
    ],
)
def test_parse_phone_rejects_invalid(raw: object) -> None:
    """Short, malformed, non-text and non-phone values give None."""
    assert parse_phone(raw) is None  # type: ignore[arg-type]


@given(st.sampled_from("3456789"), st.integers(min_value=0, max_value=999_999_999))
def test_parse_phone_accepts_every_mobile_in_any_written_form(second: str, rest: int) -> None:
    """Any 1[3-9]xxxxxxxxx mobile parses to itself as text, float, +86 form and full-width."""
    mobile = f"1{second}{rest:09d}"
    forms = [
        mobile,
        float(mobile),
        f"+86 {mobile[:3]}-{mobile[3:7]}-{mobile[7:]}",
        mobile.translate(FULLWIDTH_DIGITS),
        f"{float(mobile):.10E}",
    ]
    assert [parse_phone(f) for f in forms] == [mobile] * len(forms)


def test_phone_validity_matches_parse_phone_cell_by_cell() -> None:
    """The vectorised check agrees with parse_phone on a mixed column, blanks are False."""
    cells = [
        "+86 138-0013-8000",
        13800138000.0,
        None,
        "",
        "  ",
        True,
        "010-12345678",
        "bad",
        "1.3800138E10",
        13900000000,
        "１３９００００００００",
        "12345",
    ]
    series = pd.Series(cells, dtype=object)
    expected = [c is not None and parse_phone(c) is not None for c in cells]
    assert phone_validity(series).tolist() == expected


def test_phone_validity_keeps_the_index_and_handles_empty() -> None:
    """The result is aligned on the input index; an empty Series gives an empty result."""
    series = pd.Series(["13800138000", "x"], index=[5, 9])
    assert phone_validity(series).to_dict() == {5: True, 9: False}
    assert phone_validity(pd.Series([], dtype=object)).tolist() == []


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13800138000", "138****8000"),
        ("+86 138-0013-8000", "138****8000"),
        (13800138000.0, "138****8000"),
        ("010-12345678", "010-****5678"),
        ("12345", "***45"),
    ],
)
def test_mask_phone_hides_the_middle_digits(raw: str | float, masked: str) -> None:
    """Phones are masked after canonicalisation; short digit strings keep two digits."""
    assert mask_phone(raw) == masked


@given(st.sampled_from("3456789"), st.integers(min_value=0, max_value=999_999_999))
def test_mask_phone_never_shows_the_middle_four(second: str, rest: int) -> None:
    """A masked mobile never contains its middle four digits."""
    mobile = f"1{second}{rest:09d}"
    masked = mask_phone(mobile)
    assert masked[3:7] == "****"
    assert masked[:3] + masked[7:] == mobile[:3] + mobile[7:]


@pytest.mark.parametrize(
    "raw",
    [
        "2024-03-01",
        "2024/3/1",
        "2024.3.1",
        "2024年3月1日",
        "２０２４年３月１日",
        "20240301",
        "2024-03-01 14:30",
        "2024-3-1T09:00:00",
        45352,
        45352.75,
        date(2024, 3, 1),
        datetime(2024, 3, 1, 23, 59),
    ],
)
def test_parse_date_accepts_year_first_forms_and_serials(raw: object) -> None:
    """Every accepted spelling of 1 March 2024 parses to that date."""
    assert parse_date(raw) == date(2024, 3, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw", ["03/04/2024", "3/4/24", "2024-02-30", "2024-13-01", "soon", "", None, True, 5, 2.5e6]
)
def test_parse_date_rejects_ambiguous_and_invalid(raw: object) -> None:
    """Day/month-ambiguous text, impossible dates and out-of-range numbers give None."""
    assert parse_date(raw) is None  # type: ignore[arg-type]


@given(st.dates(min_value=date(1930, 1, 1), max_value=date(2150, 12, 31)))
def test_parse_date_round_trips_formatted_dates(day: date) -> None:
    """format_date output, the slash form, the Chinese form and the serial parse back."""
    serial = (day - date(1899, 12, 30)).days
    forms = [
        format_date(day),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        serial,
    ]
    assert [parse_date(f) for f in forms] == [day] * len(forms)


def test_parse_datetime_reads_times_and_fractional_serials() -> None:
    """Text with a time of day and a fractional serial carry the time; a date is midnight."""
    assert parse_datetime("2024/3/1 14:30:05") == datetime(2024, 3, 1, 14, 30, 5)
    assert parse_datetime(45352.5) == datetime(2024, 3, 1, 12, 0)
    assert parse_datetime(date(2024, 3, 1)) == datetime(2024, 3, 1)
    assert parse_datetime("2024-03-01 25:00") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("￥１２,３４５.５元", 12345.5),
        ("¥ 1,000", 1000.0),
        (" -3.5 ", -3.5),
        (7, 7.0),
        (2.5, 2.5),
        ("1e3", 1000.0),
        ("abc", None),
        ("", None),
        (True, None),
        (float("nan"), None),
        ("12元5", None),
    ],
)
def test_parse_number(raw: object, expected: float | None) -> None:
    """Currency signs, separators, 元 and full-width digits are stripped; junk gives None."""
    assert parse_number(raw) == expected  # type: ignore[arg-type]


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_parse_number_round_trips_repr(number: float) -> None:
    """The text form of any finite float parses back to the same float."""
    assert parse_number(repr(number)) == number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        ("是", True),
        ("YES", True),
        (1, True),
        ("否", False),
        ("false", False),
        (0.0, False),
        ("maybe", None),
        (2, None),
        (None, None),
    ],
)
def test_parse_bool(raw: object, expected: bool | None) -> None:
    """Booleans, 0/1 and yes/no words in both languages parse; anything else is None."""
    assert parse_bool(raw) is expected  # type: ignore[arg-type]


def test_is_placeholder_ignores_case_space_and_fullwidth() -> None:
    """Placeholders match after trimming, case folding and full-width conversion."""
    placeholders = ("未知", "待补充", "N/A", "-")
    assert is_placeholder(" 未知 ", placeholders)
    assert is_placeholder("n/a", placeholders)
    assert is_placeholder("－", placeholders)
    assert not is_placeholder("张三", placeholders)
    assert not is_placeholder(None, placeholders)
    assert not is_placeholder(0, placeholders)


_PHONE_LIKE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10, max_value=2 * 10**10),
    st.floats(min_value=1e10, max_value=2e10),
    st.text(alphabet="0123456789１３８+-() .E", max_size=16),
    st.builds(lambda d, n: f"1{d}{n:09d}", st.sampled_from("3456789"), st.integers(0, 10**9 - 1)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_PHONE_LIKE, max_size=20))
def test_phone_canonical_agrees_with_parse_phone(cells: list[object]) -> None:
    """The vectorised canonical form equals parse_phone cell by cell, for any mixed column."""
    series = pd.Series(cells, dtype=object)
    expected = [parse_phone(c) for c in cells]  # type: ignore[arg-type]
    assert phone_canonical(series).tolist() == expected
    assert phone_validity(series).tolist() == [e is not None for e in expected]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("01062345678", "010-62345678"),
        ("021 1234 5678", "021-12345678"),
        ("0086-21-12345678", "021-12345678"),
        ("0571-8888888", "0571-8888888"),
        ("021-1234567", None),
    ],
)
def test_parse_phone_landlines(raw: str, expected: str | None) -> None:
    """Mainland landlines get the 0AA-NNNNNNNN form; wrong lengths are invalid."""
    assert parse_phone(raw) == expected
