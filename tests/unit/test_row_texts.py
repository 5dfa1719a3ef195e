"""Row texts: what the guard compares of a row read twice, whatever the cells hold."""

from __future__ import annotations

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


def _reference_texts(
    header: tuple[str, ...], row: tuple[CellValue, ...], columns: list[str]
) -> tuple[str, ...]:
    """The canonical texts of the sorted named columns, each at its first position."""
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
def test_texts_are_the_named_columns_canonical_texts_sorted_by_name(
    header: list[str], row: list[CellValue], columns: list[str]
) -> None:
    """Over any header (repeated, blank or absent names), any typed cells (rows shorter
    or longer than the header) and any column list, ``Table.texts`` is each named
    column's canonical text (its first position in the header), sorted by name."""
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
    """Equal values of the same types are the same row to every comparison of texts; a
    value swapped for one that compares equal but reads differently (``1``/``True``/
    ``1.0``, one instant in two zones) is not."""
    a = tuple(row)
    assert same_values(a, tuple(row))
    at %= len(row)
    left, right = list(row), list(row)
    left[at], right[at] = swap
    header = tuple(f"c{i}" for i in range(len(row)))
    tables = [Table("T", 1, header, (tuple(r),)) for r in (left, right)]
    assert not same_values(tuple(left), tuple(right))
    assert tables[0].texts(0, header) != tables[1].texts(0, header)


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
