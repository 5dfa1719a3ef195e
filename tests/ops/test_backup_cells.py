"""The lossless backup workbook: every value a source can hold comes back exactly, with
its extras, whatever its length, characters, type or the tab's size."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.backup import CellExtra, read_backup, source_checksum, tables_to_xlsx
from syncer.backup.cells import decode_value, encode_value, fits_cell, from_text, to_text
from syncer.model import Table

any_text = st.text(st.characters(codec=None), max_size=40)
cell = st.one_of(
    st.none(),
    any_text,
    st.sampled_from(
        ["", " ", "_x0041_", "a\rb", "=SUM(A1:A2)", "\x0b", "lone\ud800", "x" * 32_768]
    ),
    st.integers(-(2**80), 2**80),
    st.floats(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))])),
)
extra = st.builds(
    CellExtra,
    formula=st.one_of(st.none(), st.sampled_from(["=A1*2", "=TODAY()", '=CONCAT("_x0041_",B2)'])),
    number_format=st.one_of(
        st.none(), st.just({"type": "DATE", "pattern": "yyyy-mm-dd"}), st.just({"type": "TEXT"})
    ),
    note=st.one_of(st.none(), any_text),
)


def trimmed(rows: list[tuple[object, ...]]) -> tuple[tuple[object, ...], ...]:
    """Rows as a connector gives them: trailing empty cells dropped."""
    out = []
    for row in rows:
        values = list(row)
        while values and values[-1] is None:
            values.pop()
        out.append(tuple(values))
    return tuple(out)


@given(cell)
def test_encoded_values_decode_to_the_same_value(value) -> None:
    """The details sheet's encoding is exact for every cell type (NaN, zones, big ints)."""
    back = decode_value(from_text(to_text(encode_value(value))))
    if isinstance(value, float) and math.isnan(value):
        assert isinstance(back, float)
        assert math.isnan(back)
    else:
        assert back == value
        assert type(back) is type(value)
        if isinstance(value, datetime):
            assert back.utcoffset() == value.utcoffset()


@settings(max_examples=60, deadline=None)
@given(
    header=st.lists(any_text, max_size=5),
    rows=st.lists(st.lists(cell, max_size=7).map(tuple), max_size=7),
    extras=st.dictionaries(st.tuples(st.integers(0, 7), st.integers(0, 8)), extra, max_size=6),
    block=st.tuples(st.integers(2, 5), st.integers(1, 4)),
)
def test_any_table_round_trips_exactly_in_any_block_size(header, rows, extras, block) -> None:
    """Whatever the values and however the tab is cut into sheets, the restored tab has
    the same source checksum (so the same typed values and extras) as the one stored."""
    table = Table("客户信息", 2, tuple(header), trimmed(rows))
    extras = {k: v for k, v in extras.items() if k[0] <= len(table.rows)}
    plain, entries, moved = tables_to_xlsx(
        [table], {table.name: extras}, sheet_rows=block[0], sheet_cols=block[1]
    )
    [back] = read_backup(plain, entries, "mem")
    assert source_checksum(back.table, back.extras) == source_checksum(table, extras)
    assert len(back.table.rows) == len(table.rows)
    if not any(isinstance(v, float) and math.isnan(v) for r in table.rows for v in r):
        assert back.table == table
    grid = (tuple(h or None for h in header), *table.rows)
    unfit = sum(not fits_cell(v) for r in grid for v in r)
    assert moved == unfit


def test_a_40000_character_cell_and_20000_columns_round_trip() -> None:
    """The inputs that broke backups: a 40,000-character cell (xlsx holds 32,767) and a
    tab of 20,000 columns (xlsx holds 16,384) come back exactly."""
    long_text = "客" * 40_000
    wide = tuple(f"c{i}" for i in range(20_000))
    table = Table("wide", 1, wide, ((long_text, *range(1, 19_999), date(2026, 11, 20)),))
    plain, entries, moved = tables_to_xlsx([table])
    assert moved == 1
    assert entries[0].more_sheets  # the columns past 16,384 live on a second sheet
    [back] = read_backup(plain, entries, "mem")
    assert back.table == table
    assert back.table.rows[0][0] == long_text
    assert back.table.rows[0][-1] == date(2026, 11, 20)


def test_texts_xlsx_would_alter_are_flagged_and_kept_exactly() -> None:
    """Carriage returns, control characters and Excel escapes do not fit a cell; text
    that fits (including user text starting with =) stays inline, as text."""
    for bad in ("a\rb", "bell\x07", "_x0041_", "", "x" * 32_768):
        assert not fits_cell(bad)
    for good in ("=1+1", "多行\n文本", "tab\there", "x" * 32_767):
        assert fits_cell(good)
    table = Table("t", 1, ("a",), (("a\rb",), ("=1+1",), ("",)))
    plain, entries, _ = tables_to_xlsx([table])
    [back] = read_backup(plain, entries, "mem")
    assert back.table == table
