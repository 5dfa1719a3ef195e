"""A1 parsing and formatting."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.sandbox.a1 import (
    MAX_COLUMNS,
    A1Error,
    Bounds,
    column_index,
    column_letters,
    format_range,
    parse_cells,
    parse_range,
    quote_title,
)

titles = st.text(min_size=1, max_size=12).filter(lambda t: t.strip() != "")


@given(st.integers(min_value=0, max_value=MAX_COLUMNS - 1))
def test_column_letters_round_trip(index: int) -> None:
    """Column letters and indexes convert back and forth for every column."""
    assert column_index(column_letters(index)) == index


@given(titles, st.integers(0, 5000), st.integers(1, 50), st.integers(0, 700), st.integers(1, 30))
def test_format_then_parse_round_trip(title: str, row: int, height: int, col: int,
                                      width: int) -> None:
    """A formatted range parses back to the same sheet and rectangle, whatever the title."""
    bounds = Bounds(row, row + height, col, col + width)
    parsed = parse_range(format_range(title, bounds))
    assert parsed.sheet == title
    assert parsed.bounds == bounds


@given(titles)
def test_quoted_title_alone_is_a_whole_sheet(title: str) -> None:
    """A quoted title with no cells is a sheet-only range."""
    parsed = parse_range(quote_title(title) + "!")
    assert (parsed.sheet, parsed.bounds) == (title, None)


@given(st.text(max_size=20))
def test_parse_never_raises_anything_but_a1error(text: str) -> None:
    """Arbitrary text either parses or raises A1Error (never another exception)."""
    with contextlib.suppress(A1Error):
        parse_range(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A1", Bounds(0, 1, 0, 1)),
        ("b2:a1", Bounds(0, 2, 0, 2)),
        ("A:C", Bounds(0, None, 0, 3)),
        ("A2:Z", Bounds(1, None, 0, 26)),
        ("2:5", Bounds(1, 5, 0, None)),
        ("C3:A", Bounds(2, None, 0, 3)),
    ],
)
def test_cell_forms(text: str, expected: Bounds) -> None:
    """Single cells, reversed corners, whole columns, open rows and row spans parse."""
    assert parse_cells(text) == expected


@pytest.mark.parametrize("text", ["A", "A:5", "1", "AAAA1", "A0", "A1:B2:C3", "", "A1:"])
def test_invalid_cells(text: str) -> None:
    """Malformed cell parts are rejected."""
    with pytest.raises(A1Error):
        parse_cells(text)


@pytest.mark.parametrize("text", ["!A1", "'x", "'x'y", "Sheet1!A:5", "  "])
def test_invalid_ranges(text: str) -> None:
    """Malformed ranges (bad quoting, empty title, bad cells) are rejected."""
    with pytest.raises(A1Error):
        parse_range(text)


def test_titles_with_quotes_spaces_and_chinese() -> None:
    """Quoted titles may hold spaces, doubled quotes, ! and Chinese."""
    parsed = parse_range("'客户 ''VIP''!'!A2:C")
    assert parsed.sheet == "客户 'VIP'!"
    assert parsed.bounds == Bounds(1, None, 0, 3)
    assert quote_title("Sheet1") == "Sheet1"
    assert quote_title("客户") == "'客户'"
    assert quote_title("A1") == "'A1'"


def test_unquoted_sheet_and_bare_title() -> None:
    """``Sheet1!A1`` names a sheet; a bare non-A1 word is taken as a sheet title."""
    assert parse_range("Sheet1!A1").sheet == "Sheet1"
    assert parse_range("History").sheet == "History"
    assert parse_range("History").bounds is None
