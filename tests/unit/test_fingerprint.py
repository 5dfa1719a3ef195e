"""Row fingerprints: the text they hash is fixed (journals and guard reads of other
versions compare them), whatever the cells hold."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st

from syncer.model import CellValue, Table, canonical

_CELLS = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 1, 1)),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1)),
)
_NAMES = st.sampled_from(["", "id", "名称", "status", "note", "id"])


def _reference(
    header: tuple[str, ...], row: tuple[CellValue, ...], columns: list[str] | None
) -> str:
    """The fingerprint as first defined: sorted named columns, first position of each."""
    names = sorted({c for c in (header if columns is None else columns) if c})
    first: dict[str, int] = {}
    for pos, name in enumerate(header):
        first.setdefault(name, pos)
    parts = []
    for name in names:
        pos = first.get(name)
        value = row[pos] if pos is not None and pos < len(row) else None
        parts.append(f"{name}\x1f{canonical(value)}")
    return hashlib.blake2b("\x1e".join(parts).encode(), digest_size=12).hexdigest()


@given(
    header=st.lists(_NAMES, max_size=6),
    row=st.lists(_CELLS, max_size=8),
    columns=st.one_of(st.none(), st.lists(_NAMES, max_size=4)),
)
def test_fingerprint_hashes_the_defined_text(
    header: list[str], row: list[CellValue], columns: list[str] | None
) -> None:
    """Over any header (repeated, blank or absent names), any typed cells (rows shorter
    or longer than the header) and any column list, the fingerprint is the hash of
    "name\\x1fcanonical text" joined by "\\x1e" over the sorted named columns."""
    table = Table("T", 1, tuple(header), (tuple(row),))
    assert table.fingerprint(0, columns) == _reference(tuple(header), tuple(row), columns)
