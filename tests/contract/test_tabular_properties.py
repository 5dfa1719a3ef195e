"""Properties of the shared grid logic (memory and xlsx connectors use it)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.connectors.base import TabRequest
from syncer.connectors.memory import MemoryConnector
from syncer.connectors.tabular import table_from_rows
from syncer.engine import apply_plan
from syncer.model import CellValue, Plan, RowRef, SetCell, is_blank

cells = st.one_of(st.none(), st.text(max_size=4), st.integers(-5, 5))
grids = st.lists(st.lists(cells, max_size=5), max_size=8)


@given(grids, st.integers(1, 3))
def test_table_from_rows_trims_and_keeps_data(rows: list[list[CellValue]], header_row: int) -> None:
    """Rows keep their order and values; only trailing blanks (cells and rows) go."""
    table = table_from_rows("t", header_row, rows)
    data = rows[header_row:] if len(rows) >= header_row else []
    assert len(table.rows) <= len(data)
    for i, row in enumerate(table.rows):
        assert list(row) == data[i][: len(row)]
        assert all(is_blank(v) for v in data[i][len(row) :])
        assert not row or not is_blank(row[-1])
    assert all(all(is_blank(v) for v in r) for r in data[len(table.rows) :])


@settings(max_examples=50)
@given(
    n_rows=st.integers(1, 6),
    writes=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["a", "b", "c"]), cells)),
)
def test_set_cells_land_exactly_where_addressed(
    n_rows: int, writes: list[tuple[int, str, CellValue]]
) -> None:
    """Applying keyed SetCells changes exactly the addressed cells (last write wins)."""
    rows: list[list[CellValue]] = [["k", "a", "b", "c"]]
    rows += [[f"K{i}", i, None, "x"] for i in range(n_rows)]
    conn = MemoryConnector({"t": rows})
    snap = conn.read([TabRequest("t")])
    table = snap.tables["t"]
    ops = []
    expected = [list(r) for r in rows]
    for index, column, value in writes:
        index %= n_rows
        ref = RowRef(f"K{index}", table.sheet_row(index))
        ops.append(SetCell("t", ref, column, value, table.cell(index, column), "p"))
        expected[index + 1][["k", "a", "b", "c"].index(column)] = value
    apply_plan(conn, Plan("p", tuple(ops), key_column="k"), snap)
    for row in expected:
        while row and row[-1] is None:
            row.pop()
    assert conn.rows("t") == expected
