"""Row fingerprints: the text they hash is fixed (journals and guard reads of other
versions compare them), whatever the cells hold."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from syncer.model import CellValue, Table, canonical, same_values

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


def _reference_texts(
    header: tuple[str, ...], row: tuple[CellValue, ...], columns: list[str]
) -> tuple[str, ...]:
    """The canonical texts the reference fingerprint joins, in its order."""
    names = sorted({c for c in columns if c})
    first: dict[str, int] = {}
    for pos, name in enumerate(header):
        first.setdefault(name, pos)
    return tuple(
        canonical(row[pos] if (pos := first.get(name)) is not None and pos < len(row) else None)
        for name in names
    )


@given(
    header=st.lists(_NAMES, max_size=6),
    row=st.lists(_CELLS, max_size=8),
    columns=st.lists(_NAMES, max_size=4),
)
def test_texts_are_what_the_fingerprint_hashes(
    header: list[str], row: list[CellValue], columns: list[str]
) -> None:
    """``Table.texts`` gives the canonical texts the fingerprint hashes, in its order, so
    comparing two rows' texts decides what comparing their fingerprints decides."""
    table = Table("T", 1, tuple(header), (tuple(row),))
    assert table.texts(0, columns) == _reference_texts(tuple(header), tuple(row), columns)


#: Values that compare equal in Python but read differently in a sheet.
_LOOKALIKES: list[tuple[CellValue, CellValue]] = [
    (1, True),
    (0, False),
    (True, 1.0),
    (
        datetime(2024, 1, 1, 9, 0, tzinfo=UTC),
        datetime(2024, 1, 1, 17, 0, tzinfo=timezone(timedelta(hours=8))),
    ),
]


@given(
    row=st.lists(_CELLS, min_size=1, max_size=8),
    at=st.integers(0, 7),
    swap=st.sampled_from(_LOOKALIKES),
)
def test_same_values_holds_only_for_rows_every_text_reads_alike(
    row: list[CellValue], at: int, swap: tuple[CellValue, CellValue]
) -> None:
    """Equal values of the same types are the same row to every fingerprint; a value
    swapped for one that compares equal but reads differently (``1``/``True``/``1.0``,
    one instant in two zones) is not."""
    a = tuple(row)
    assert same_values(a, tuple(row))
    at %= len(row)
    left, right = list(row), list(row)
    left[at], right[at] = swap
    header = tuple(f"c{i}" for i in range(len(row)))
    tables = [Table("T", 1, header, (tuple(r),)) for r in (left, right)]
    assert not same_values(tuple(left), tuple(right))
    assert tables[0].fingerprint(0) != tables[1].fingerprint(0)


@given(
    rows=st.lists(st.lists(_CELLS, max_size=5), min_size=1, max_size=8),
    picks=st.lists(st.integers(0, 7), max_size=8),
    asked_first=st.lists(st.integers(0, 7), max_size=4),
)
def test_a_part_shares_fingerprints_with_its_table(
    rows: list[list[CellValue]], picks: list[int], asked_first: list[int]
) -> None:
    """A part of a table and the table answer each row's fingerprint alike, whichever
    of them computed it first: the part knows the table's, the table adopts the part's."""
    header = ("id", "名称", "status", "", "note")
    table = Table("T", 2, header, tuple(map(tuple, rows)))
    for i in asked_first:
        table.fingerprint(i % len(rows))
    indexes = sorted({p % len(rows) for p in picks})
    part = table.part(indexes)
    assert [part.fingerprint(j) for j in range(len(indexes))] == [
        _reference(header, tuple(rows[i]), None) for i in indexes
    ]
    table.adopt_fingerprints(part, indexes)
    assert [table.fingerprint(i) for i in range(len(rows))] == [
        _reference(header, tuple(r), None) for r in rows
    ]


@given(
    size=st.integers(1, 12),
    header_row=st.integers(1, 4),
    picks=st.lists(st.integers(0, 11), max_size=12),
    again=st.lists(st.integers(0, 11), max_size=6),
)
def test_a_part_keeps_its_rows_sheet_rows(
    size: int, header_row: int, picks: list[int], again: list[int]
) -> None:
    """Each row of a part (and of a part of a part) sits on the sheet row it has in the
    whole table, so what a rule plans on a part is addressed to the right row."""
    table = Table("T", header_row, ("id",), tuple((f"C{i}",) for i in range(size)))
    indexes = sorted({p % size for p in picks})
    part = table.part(indexes)
    assert [part.sheet_row(j) for j in range(len(indexes))] == [header_row + 1 + i for i in indexes]
    if indexes:
        inner = sorted({a % len(indexes) for a in again})
        assert [part.part(inner).sheet_row(k) for k in range(len(inner))] == [
            header_row + 1 + indexes[j] for j in inner
        ]
