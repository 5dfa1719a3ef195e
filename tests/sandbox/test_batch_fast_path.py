"""The one-pass paths of spreadsheets.batchUpdate equal applying the requests one by one."""

from __future__ import annotations

import gc as pygc
import random
import sys
from typing import Any

import gspread
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.sandbox import SandboxServer, handling
from syncer.sandbox.batch_update import batch_update
from syncer.sandbox.errors import ApiError
from syncer.sandbox.handling import gc_paused
from syncer.sandbox.row_runs import surviving_rows
from syncer.sandbox.state import Sheet, Workbook


def _workbook(rows: int, cols: int, frozen: int, seed: int) -> Workbook:
    rng = random.Random(seed)
    sheet = Sheet(0, "Main", row_count=rows, column_count=cols, frozen_rows=frozen)
    for r in range(rows):
        for c in range(cols):
            if rng.random() < 0.7:
                sheet.set_raw(r, c, f"r{r}c{c}" if rng.random() < 0.5 else r * 100 + c)
            if rng.random() < 0.2:
                sheet.update_extra(r, c, note=f"n{r}.{c}")
            if rng.random() < 0.05:
                sheet.update_extra(r, c, formula=f"=A{r + 1}")
    other = Sheet(7, "History", row_count=5, column_count=2)
    other.set_raw(0, 0, "id")
    return Workbook("sid", "t", "o@example.com", 0.0, 0.0, sheets=[sheet, other])


def _state(wb: Workbook) -> list[Any]:
    return [
        (s.sheet_id, s.row_count, s.column_count, s.typed(),
         sorted((r, c, e.note, e.formula) for r, cols in s.extras.items()
                for c, e in cols.items()))
        for s in wb.sheets
    ]


def _delete(sheet_id: int, start: int, end: int, dim: str = "ROWS") -> dict[str, Any]:
    return {"deleteDimension": {"range": {"sheetId": sheet_id, "dimension": dim,
                                          "startIndex": start, "endIndex": end}}}


@st.composite
def _requests(draw: st.DrawFn, rows: int, cols: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["del"] * 6 + ["del7", "upd", "app", "ins", "delcol"]))
        if kind in ("del", "del7"):
            start = draw(st.integers(0, rows + 1))
            size = draw(st.integers(1, 4))
            out.append(_delete(7 if kind == "del7" else 0, start, start + size))
        elif kind == "upd":
            out.append({"updateCells": {
                "start": {"sheetId": 0, "rowIndex": draw(st.integers(0, rows - 1)),
                          "columnIndex": 0},
                "rows": [{"values": [{"userEnteredValue": {"stringValue": "u"},
                                      "note": "un"}]}],
                "fields": "userEnteredValue,note"}})
        elif kind == "app":
            out.append({"appendCells": {"sheetId": 0, "fields": "userEnteredValue", "rows": [
                {"values": [{"userEnteredValue": {"numberValue": draw(st.integers(0, 9))}}
                            for _ in range(draw(st.integers(0, cols + 1)))]}]}})
        elif kind == "ins":
            start = draw(st.integers(0, rows))
            out.append({"insertDimension": {"range": {
                "sheetId": 0, "dimension": "ROWS", "startIndex": start, "endIndex": start + 1}}})
        else:
            out.append(_delete(0, 0, 1, "COLUMNS"))
    return out


@given(data=st.data(), rows=st.integers(2, 40), cols=st.integers(1, 4),
       frozen=st.integers(0, 2), seed=st.integers(0, 1000))
@settings(max_examples=150, deadline=None)
def test_batch_equals_requests_one_by_one(data: st.DataObject, rows: int, cols: int,
                                          frozen: int, seed: int) -> None:
    """Same final state or same error as sending each request in its own batch, and the
    original workbook is never changed (all or nothing, copy-on-write)."""
    requests = data.draw(_requests(rows, cols))
    original = _workbook(rows, cols, min(frozen, rows - 1), seed)
    before = _state(original)
    expected_error: str | None = None
    current = original
    for i, request in enumerate(requests):
        try:
            current, _ = batch_update(current, {"requests": [request]}, random.Random(0))
        except ApiError as exc:
            expected_error = exc.message.replace("requests[0]", f"requests[{i}]", 1)
            break
    if expected_error is not None:
        with pytest.raises(ApiError) as info:
            batch_update(original, {"requests": requests}, random.Random(0))
        assert info.value.message == expected_error
    else:
        fast, replies = batch_update(original, {"requests": requests}, random.Random(0))
        assert replies == [{}] * len(requests)
        assert _state(fast) == _state(current)
    assert _state(original) == before


def test_scattered_deletions_keep_the_right_rows() -> None:
    """Bottom-up single-row deletions remove exactly those rows, notes move with rows."""
    wb = _workbook(3000, 2, 1, seed=3)
    doomed = sorted(random.Random(5).sample(range(1, 3000), 700), reverse=True)
    gone = set(doomed)
    grid = wb.sheets[0].typed()
    expected = [grid[r] if r < len(grid) else [] for r in range(3000) if r not in gone]
    new, _ = batch_update(wb, {"requests": [_delete(0, r, r + 1) for r in doomed]},
                          random.Random(0))
    got = new.sheets[0].typed()
    assert got == expected[: len(got)]
    assert all(not line for line in expected[len(got):])
    assert new.sheets[0].row_count == 3000 - 700


def test_error_in_a_run_names_its_request_and_changes_nothing() -> None:
    """A bad deletion in the middle of a run answers for that index; nothing is applied."""
    wb = _workbook(10, 2, 0, seed=1)
    before = _state(wb)
    requests = [_delete(0, 8, 9), _delete(0, 1, 2), _delete(0, 8, 9)]
    with pytest.raises(ApiError) as info:
        batch_update(wb, {"requests": requests}, random.Random(0))
    assert info.value.message.startswith("Invalid requests[2].deleteDimension: Cannot delete")
    assert _state(wb) == before


@given(total=st.integers(0, 3000),
       ranges=st.lists(st.tuples(st.integers(0, 3100), st.integers(1, 1500)), max_size=30))
@settings(max_examples=200, deadline=None)
def test_surviving_rows_matches_list_deletion(total: int,
                                              ranges: list[tuple[int, int]]) -> None:
    """The chunked replay equals deleting slices from a plain list (chunk edges crossed)."""
    spans = [(start, start + size) for start, size in ranges]
    alive = list(range(total))
    for start, end in spans:
        del alive[start:end]
    assert surviving_rows(total, spans) == alive


def test_clone_is_copy_on_write_both_ways() -> None:
    """Writes to a clone or to its source never show in the other."""
    source = Sheet(0, "S")
    source.set_raw(0, 0, "a")
    source.update_extra(0, 0, note="n")
    twin = source.clone()
    twin.set_raw(0, 0, "b")
    twin.update_extra(0, 0, note="m")
    source.set_raw(0, 1, "c")
    source.update_extra(0, 1, note="o")
    assert source.rows == [["a", "c"]]
    assert twin.rows == [["b"]]
    assert {c: e.note for c, e in source.extras[0].items()} == {0: "n", 1: "o"}
    assert {c: e.note for c, e in twin.extras[0].items()} == {0: "m"}


def _inside_handling() -> bool:
    """True when the calling thread is inside the sandbox's handling of a request."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is handling.handle.__code__:
            return True
        frame = frame.f_back
    return False


def test_many_small_requests_are_handled_with_gc_paused(sandbox: SandboxServer,
                                                        gc: gspread.Client) -> None:
    """A batch of thousands of small requests in a small body (an archive's row deletions)
    triggers no collection while the sandbox handles it, and collection is on after it."""
    sheet = gc.create("many small requests").sheet1
    sheet.resize(rows=3_100, cols=2)
    deletions = [{"deleteDimension": {"range": {"sheetId": sheet.id, "dimension": "ROWS",
                                                "startIndex": i, "endIndex": i + 1}}}
                 for i in range(3_000, 0, -1)]
    inside: list[int] = []

    def spy(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and _inside_handling():
            inside.append(info["generation"])

    pygc.collect()
    pygc.callbacks.append(spy)
    try:
        sheet.spreadsheet.batch_update({"requests": deletions})
    finally:
        pygc.callbacks.remove(spy)
    assert sandbox.request_log[-1].bytes_in < 1 << 20
    assert inside == []
    assert pygc.isenabled()
    assert gc.open_by_key(sheet.spreadsheet.id).sheet1.row_count == 100


def test_gc_pause_keeps_a_disabled_collector_disabled() -> None:
    """gc_paused never turns on a collector someone else switched off."""
    pygc.disable()
    try:
        with gc_paused():
            assert not pygc.isenabled()
        assert not pygc.isenabled()
    finally:
        pygc.enable()
    with gc_paused():
        assert not pygc.isenabled()
    assert pygc.isenabled()


_FORMAT = {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}
_APPEND_MASKS = [
    "userEnteredValue",
    "userEnteredValue,userEnteredFormat.numberFormat",
    "userEnteredValue,note",
    "userEnteredFormat.numberFormat,userEnteredValue",
    "*",
]


@st.composite
def _append_cell(draw: st.DrawFn) -> dict[str, Any] | None:
    kind = draw(st.sampled_from(["none", "empty", "text", "number", "date", "format", "note"]))
    if kind == "none":
        return None
    if kind == "empty":
        return {}
    cell: dict[str, Any] = {}
    if kind in ("text", "note"):
        cell["userEnteredValue"] = {"stringValue": draw(st.sampled_from(["a", "", "客户"]))}
    if kind in ("number", "date"):
        cell["userEnteredValue"] = {"numberValue": draw(st.integers(0, 50000))}
    if kind in ("date", "format"):
        cell["userEnteredFormat"] = _FORMAT
    if kind == "note":
        cell["note"] = "n"
    return cell


def _full_state(wb: Workbook) -> list[Any]:
    return [
        (s.row_count, s.column_count, s.typed(),
         sorted((r, c, e.note, e.formula, e.format, e.validation)
                for r, cols in s.extras.items() for c, e in cols.items()))
        for s in wb.sheets
    ]


@given(
    cells=st.lists(st.lists(_append_cell(), max_size=5), min_size=1, max_size=6),
    mask=st.sampled_from(_APPEND_MASKS),
    formatted=st.sets(st.tuples(st.integers(3, 9), st.integers(0, 5)), max_size=6),
)
@settings(max_examples=150, deadline=None)
def test_append_fast_path_equals_writing_each_cell(
    cells: list[list[dict[str, Any] | None]], mask: str, formatted: set[tuple[int, int]]
) -> None:
    """appendCells (its rows of plain values written at once, the other masked fields
    only where given or to clear) leaves the sheet as writing every cell on its own
    does, formats already on the empty rows below included."""
    from syncer.sandbox.cell_data import cell_paths, set_cell

    def workbook() -> Workbook:
        sheet = Sheet(0, "Main", row_count=12, column_count=6)
        for r in range(3):
            sheet.set_raw(r, 0, f"k{r}")
        for r, c in formatted:  # formatted blank cells below the used rows
            sheet.update_extra(r, c, format={"numberFormat": {"type": "NUMBER"}}, note="old")
        return Workbook("sid", "t", "o@example.com", 0.0, 0.0, sheets=[sheet])

    request = {"sheetId": 0, "fields": mask, "rows": [{"values": row} for row in cells]}
    fast, _ = batch_update(workbook(), {"requests": [{"appendCells": request}]}, random.Random(0))
    reference = workbook()
    sheet = reference.sheets[0]
    sheet.column_count = max(sheet.column_count, max(len(row) for row in cells))
    paths = cell_paths(request)
    for i, row in enumerate(cells):
        for j, cell in enumerate(row):
            set_cell(sheet, 3 + i, j, cell or {}, paths)
    assert _full_state(fast) == _full_state(reference)
