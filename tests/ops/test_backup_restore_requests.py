"""The requests `restore --to-tab` sends to Google: formats, formulas, notes, limits."""

from __future__ import annotations

from datetime import date

import pytest

from syncer.backup import CellExtra
from syncer.backup.sheets_restore import FIELDS, preflight, restore_cell, restore_requests
from syncer.errors import BackupError
from syncer.model import Table


def test_cells_carry_their_format_formula_and_note() -> None:
    """A date carries a DATE number format, a formula replaces the value it computed, a
    stored format wins over the default, NaN (which JSON cannot carry) becomes text."""
    assert restore_cell(date(2026, 11, 20), None) == {
        "userEnteredValue": {"numberValue": 46346.0},
        "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}},
    }
    assert restore_cell(42, CellExtra(formula="=C2*2"))["userEnteredValue"] == {
        "formulaValue": "=C2*2"
    }
    pct = {"type": "PERCENT", "pattern": "0.0%"}
    assert restore_cell(0.25, CellExtra(number_format=pct))["userEnteredFormat"] == {
        "numberFormat": pct
    }
    assert restore_cell("=not a formula", None) == {
        "userEnteredValue": {"stringValue": "=not a formula"}
    }
    assert restore_cell(float("nan"), CellExtra(note="n"))["note"] == "n"
    assert restore_cell(float("nan"), None) == {"userEnteredValue": {"stringValue": "nan"}}


def test_requests_resize_clear_then_write_every_row_with_the_field_mask() -> None:
    """The tab grows to fit, is cleared over its whole grid, and every row (extras beyond
    a short row included) is written with values, formats and notes in the mask."""
    table = Table("Main", 1, ("id", "n"), (("C1", 1), ("C2",)))
    extras = {(2, 3): CellExtra(note="later"), (9, 0): CellExtra(note="gone")}
    reqs = restore_requests(7, table, extras, (3, 2), (1000, 26))
    resize = reqs[0]["updateSheetProperties"]["properties"]["gridProperties"]
    assert resize == {"rowCount": 1000, "columnCount": 26}
    assert reqs[1]["updateCells"]["range"]["endRowIndex"] == 1000
    assert reqs[1]["updateCells"]["fields"] == FIELDS
    [write] = [r["updateCells"] for r in reqs[2:]]
    assert write["fields"] == FIELDS
    rows = write["rows"]
    assert len(rows) == 3
    assert rows[2]["values"][3] == {"note": "later"}
    assert rows[0]["values"][0] == {"userEnteredValue": {"stringValue": "id"}}


@pytest.mark.parametrize(
    ("table", "limit"),
    [
        (Table("t", 1, tuple(f"c{i}" for i in range(18_279)), ()), "18,278"),
        (Table("t", 1, ("a",), (("x" * 50_001,),)), "50,000"),
        (Table("t", 1, tuple(f"c{i}" for i in range(1000)), ((1,),) * 10_000), "10,000,000"),
    ],
)
def test_preflight_names_the_google_limit(table: Table, limit: str) -> None:
    """Columns over 18,278, a cell over 50,000 characters, more than 10M cells: refused
    before any write, naming the limit and the way out (--to-file)."""
    with pytest.raises(BackupError, match=limit) as info:
        preflight(table, "Restored", "google:sid")
    assert "--to-file" in str(info.value)
