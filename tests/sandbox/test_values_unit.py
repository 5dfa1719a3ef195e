"""Parsing input values and rendering them (pure functions)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.sandbox.values import (
    format_date,
    from_serial,
    parse_raw,
    parse_user_entered,
    render_value,
    to_serial,
)


@given(st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2200, 1, 1))
       .map(lambda d: d.replace(microsecond=0)))
def test_serial_round_trip(moment: dt.datetime) -> None:
    """Serial day numbers convert back to the same second."""
    assert from_serial(to_serial(moment)) == moment


@given(st.text())
def test_raw_strings_stay_text(text: str) -> None:
    """RAW keeps every non-empty string as text, formulas and apostrophes included."""
    parsed = parse_raw(text)
    assert parsed.value == (text or None)
    assert parsed.formula is None


@given(st.integers(-10**12, 10**12))
def test_user_entered_integers(number: int) -> None:
    """USER_ENTERED turns typed integers into numbers rendered back the same."""
    parsed = parse_user_entered(str(number))
    assert parsed.value == number
    assert render_value(parsed.value, None, None, "FORMATTED_VALUE", "SERIAL_NUMBER") == str(
        number
    )


@pytest.mark.parametrize(
    ("text", "value", "formula"),
    [
        ("=SUM(A1:A2)", None, "=SUM(A1:A2)"),
        ("'=not a formula", "=not a formula", None),
        ("'007", "007", None),
        ("true", True, None),
        ("FALSE", False, None),
        ("1,234", 1234, None),
        ("12.5", 12.5, None),
        ("50%", 0.5, None),
        ("2024-01-05", 45296, None),
        ("hello", "hello", None),
        ("+86 138", "+86 138", None),
    ],
)
def test_user_entered_parsing(text: str, value: object, formula: str | None) -> None:
    """USER_ENTERED parses formulas, apostrophes, booleans, numbers, percents and dates."""
    parsed = parse_user_entered(text)
    assert parsed.value == value
    assert parsed.formula == formula


def test_date_rendering_options() -> None:
    """A date renders formatted, as a serial number, or as a string on request."""
    parsed = parse_user_entered("2024-01-05 13:45:00")
    nf = parsed.number_format
    assert render_value(parsed.value, None, nf, "FORMATTED_VALUE", "SERIAL_NUMBER") == (
        "2024-01-05 13:45:00"
    )
    serial = render_value(parsed.value, None, nf, "UNFORMATTED_VALUE", "SERIAL_NUMBER")
    assert serial == pytest.approx(45296 + (13 * 60 + 45) / 1440)
    assert render_value(parsed.value, None, nf, "UNFORMATTED_VALUE", "FORMATTED_STRING") == (
        "2024-01-05 13:45:00"
    )


def test_formula_and_boolean_rendering() -> None:
    """FORMULA shows formulas; booleans are TRUE/FALSE when formatted, JSON bools otherwise."""
    assert render_value(None, "=1+1", None, "FORMULA", "SERIAL_NUMBER") == "=1+1"
    assert render_value(True, None, None, "FORMATTED_VALUE", "SERIAL_NUMBER") == "TRUE"
    assert render_value(True, None, None, "UNFORMATTED_VALUE", "SERIAL_NUMBER") is True
    assert render_value(0.1 + 0.2, None, None, "FORMATTED_VALUE", "SERIAL_NUMBER") == "0.3"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy-mm-dd hh:mm:ss", "2024-01-05 18:05:09"),
        ("M/d/yyyy", "1/5/2024"),
        ("yy/mm/dd", "24/01/05"),
        ("h:mm AM/PM", "6:05 PM"),
    ],
)
def test_date_patterns(pattern: str, expected: str) -> None:
    """Date patterns render months, minutes after hours and 12-hour clocks correctly."""
    serial = to_serial(dt.datetime(2024, 1, 5, 18, 5, 9))
    assert format_date(serial, pattern) == expected
