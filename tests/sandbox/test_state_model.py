"""Model-based property test of sheet structure edits (pure, no server)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.sandbox.a1 import Bounds
from syncer.sandbox.state import Sheet
from syncer.sandbox.values import Parsed

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("set"),
            st.integers(0, 11),
            st.integers(0, 4),
            st.one_of(st.none(), st.text(max_size=3), st.integers(-5, 5)),
        ),
        st.tuples(
            st.just("note"),
            st.integers(0, 11),
            st.integers(0, 4),
            st.one_of(st.none(), st.text(min_size=1, max_size=3)),
        ),
        st.tuples(st.just("insert_rows"), st.integers(0, 12), st.integers(1, 3)),
        st.tuples(st.just("delete_rows"), st.integers(0, 11), st.integers(1, 3)),
        st.tuples(st.just("insert_cols"), st.integers(0, 5), st.integers(1, 2)),
        st.tuples(st.just("delete_cols"), st.integers(0, 4), st.integers(1, 2)),
    ),
    max_size=25,
)


def _model_apply(
    model: list[list[Any]], notes: list[list[Any]], op: tuple[Any, ...], height: int, width: int
) -> tuple[int, int]:
    kind = op[0]
    if kind == "set":
        _, r, c, v = op
        if r < height and c < width:
            model[r][c] = None if v == "" else v
    elif kind == "note":
        _, r, c, v = op
        if r < height and c < width:
            notes[r][c] = v
    elif kind == "insert_rows":
        _, at, n = op
        at = min(at, height)
        for _ in range(n):
            model.insert(at, [None] * width)
            notes.insert(at, [None] * width)
        height += n
    elif kind == "delete_rows":
        _, at, n = op
        if at + n < height:
            del model[at : at + n]
            del notes[at : at + n]
            height -= n
    elif kind == "insert_cols":
        _, at, n = op
        at = min(at, width)
        for grid in (model, notes):
            for row in grid:
                row[at:at] = [None] * n
        width += n
    else:
        _, at, n = op
        if at + n < width:
            for grid in (model, notes):
                for row in grid:
                    del row[at : at + n]
            width -= n
    return height, width


@settings(max_examples=150, deadline=None)
@given(ops)
def test_structure_edits_match_a_naive_model(operations: list[tuple[Any, ...]]) -> None:
    """Values and notes stay attached to their cells through row/column inserts and deletes."""
    height, width = 12, 5
    sheet = Sheet(0, "S", row_count=height, column_count=width)
    model: list[list[Any]] = [[None] * width for _ in range(height)]
    notes: list[list[Any]] = [[None] * width for _ in range(height)]
    for op in operations:
        kind = op[0]
        if kind == "set" and op[1] < sheet.row_count and op[2] < sheet.column_count:
            sheet.write(op[1], op[2], Parsed(None if op[3] == "" else op[3]))
        elif kind == "note" and op[1] < sheet.row_count and op[2] < sheet.column_count:
            sheet.set_note(op[1], op[2], op[3])
        elif kind == "insert_rows":
            sheet.insert_rows(min(op[1], sheet.row_count), op[2])
        elif kind == "delete_rows" and op[1] + op[2] < sheet.row_count:
            sheet.delete_rows(op[1], op[1] + op[2])
        elif kind == "insert_cols":
            sheet.insert_cols(min(op[1], sheet.column_count), op[2])
        elif kind == "delete_cols" and op[1] + op[2] < sheet.column_count:
            sheet.delete_cols(op[1], op[1] + op[2])
        height, width = _model_apply(model, notes, op, height, width)
    assert (sheet.row_count, sheet.column_count) == (height, width)
    for r in range(height):
        for c in range(width):
            assert sheet.value(r, c) == model[r][c]
            extra = sheet.extra(r, c)
            assert (extra.note if extra else None) == notes[r][c]


def _snapshot(sheet: Sheet) -> tuple[Any, ...]:
    notes = {(r, c): e.note for r, cols in sheet.extras.items() for c, e in cols.items()}
    return (sheet.row_count, sheet.column_count, sheet.typed(), notes)


@settings(max_examples=100, deadline=None)
@given(ops, ops)
def test_clone_is_independent(setup: list[tuple[Any, ...]], changes: list[tuple[Any, ...]]) -> None:
    """Changing a clone (as a batchUpdate does) never changes the original sheet."""
    original = Sheet(0, "S", row_count=12, column_count=5)
    for op in setup:
        if op[0] == "set" and op[1] < 12 and op[2] < 5:
            original.write(op[1], op[2], Parsed(None if op[3] == "" else op[3]))
        elif op[0] == "note" and op[1] < 12 and op[2] < 5:
            original.set_note(op[1], op[2], op[3])
    before = _snapshot(original)
    twin = original.clone()
    for op in changes:
        kind = op[0]
        if kind == "set" and op[1] < twin.row_count and op[2] < twin.column_count:
            twin.write(op[1], op[2], Parsed(None if op[3] == "" else op[3], formula="=1"))
        elif kind == "note" and op[1] < twin.row_count and op[2] < twin.column_count:
            twin.set_note(op[1], op[2], op[3])
        elif kind == "insert_rows":
            twin.insert_rows(min(op[1], twin.row_count), op[2])
        elif kind == "delete_rows" and op[1] + op[2] < twin.row_count:
            twin.delete_rows(op[1], op[1] + op[2])
        elif kind == "insert_cols":
            twin.insert_cols(min(op[1], twin.column_count), op[2])
        elif kind == "delete_cols" and op[1] + op[2] < twin.column_count:
            twin.delete_cols(op[1], op[1] + op[2])
    twin.sort_rows(0, twin.row_count, [(0, False)])
    assert _snapshot(original) == before


def test_render_a_formatted_blank_cell_left_of_a_formula() -> None:
    """A row whose extras list a formula first and then a number format on a blank cell
    to its left (past the row's stored values) renders: the blank stays empty."""
    sheet = Sheet(sheet_id=0, title="T")
    sheet.rows = [["a"]]
    sheet.update_extra(0, 4, formula="=1+1")
    sheet.update_extra(0, 2, format={"numberFormat": {"type": "NUMBER", "pattern": "0.00"}})
    rows = sheet.render(Bounds(0, 1, 0, 5), "FORMATTED_VALUE", "SERIAL_NUMBER", lambda s, r, c: 2)
    assert rows == [["a", "", "", "", "2"]]
