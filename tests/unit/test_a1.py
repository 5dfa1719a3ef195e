"""syncer.a1: column letters ↔ 0-based positions, the one conversion syncer uses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.a1 import column_index, column_letter

LETTERS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=4)


def test_known_columns() -> None:
    """A, Z, AA, AZ, ZZ, AAA and Google's last column ZZZ sit where A1 puts them."""
    known = {0: "A", 25: "Z", 26: "AA", 51: "AZ", 701: "ZZ", 702: "AAA", 18277: "ZZZ"}
    assert {p: column_letter(p) for p in known} == known
    assert {letters: column_index(letters) for letters in known.values()} == {
        letters: p for p, letters in known.items()
    }


@given(st.integers(min_value=0, max_value=10**7))
def test_position_round_trip(position: int) -> None:
    """Every position survives letters and back."""
    assert column_index(column_letter(position)) == position


@given(LETTERS)
def test_letters_round_trip_in_any_case(letters: str) -> None:
    """Every run of letters survives position and back; lower case reads the same."""
    assert column_letter(column_index(letters)) == letters
    assert column_index(letters.lower()) == column_index(letters)


@given(st.integers(min_value=0, max_value=10**6))
def test_letters_order_like_columns(position: int) -> None:
    """The next column's letters are longer, or as long and later in the alphabet."""
    here, after = column_letter(position), column_letter(position + 1)
    assert (len(here), here) < (len(after), after)


@pytest.mark.parametrize("bad", ["", "A1", "Ä", "A B", "-"])
def test_bad_letters_and_positions_are_refused(bad: str) -> None:
    """Text that is not column letters, and negative positions, raise ValueError."""
    with pytest.raises(ValueError, match="not column letters"):
        column_index(bad)
    with pytest.raises(ValueError, match="start at 0"):
        column_letter(-1)
