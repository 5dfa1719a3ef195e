"""Column letters of A1 notation, in one place: 0-based position ↔ ``A``, ``B``, … ``AA``.

Positions are 0-based like list indexes (``column_letter(0) == "A"``); a caller holding
a 1-based column number passes ``number - 1``. The sandbox keeps its own copy
(``syncer/sandbox/a1.py``) because it imports nothing else of syncer.
"""

from __future__ import annotations


def column_letter(position: int) -> str:
    """The A1 letters of a 0-based column position: 0 → ``A``, 25 → ``Z``, 26 → ``AA``."""
    if position < 0:
        raise ValueError(f"column positions start at 0, got {position}")
    letters = ""
    number = position + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """The 0-based position of A1 column letters (case-insensitive): ``A`` → 0, ``AA`` → 26."""
    if not letters or not letters.isascii() or not letters.isalpha():
        raise ValueError(f"not column letters: {letters!r}")
    number = 0
    for char in letters.upper():
        number = number * 26 + (ord(char) - 64)
    return number - 1
