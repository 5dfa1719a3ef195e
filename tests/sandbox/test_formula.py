"""The formula evaluator: pure unit and property tests, and formulas read through gspread."""

from __future__ import annotations

from typing import Any

import gspread
import pytest
from gspread.utils import ValueInputOption, ValueRenderOption
from hypothesis import given
from hypothesis import strategies as st

from syncer.sandbox import SandboxServer
from syncer.sandbox.a1 import Bounds
from syncer.sandbox.formula import Evaluator

from .conftest import ROBOT

GRID: dict[tuple[int, int], Any] = {
    (0, 0): 2, (1, 0): 3, (2, 0): "x", (3, 0): True, (0, 1): "Ann", (1, 1): None,
}


def _evaluate(formula: str) -> Any:
    def cell(sheet: str | None, r: int, c: int) -> Any:
        return GRID.get((r, c))

    def cells(sheet: str | None, b: Bounds) -> list[Any]:
        assert b.end_row is not None
        assert b.end_col is not None
        return [GRID.get((r, c)) for r in range(b.start_row, b.end_row)
                for c in range(b.start_col, b.end_col)]

    return Evaluator(cell, cells).value(formula)


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("=1+2*3", 7),
        ("=(1+2)*3", 9),
        ("=2^3^2", 64),
        ("=-A1+A2", 1),
        ("=50%", 0.5),
        ("=A1/0", "#DIV/0!"),
        ("=A3+1", "#VALUE!"),
        ("=SUM(A1:A4)", 5),
        ("=AVERAGE(A1:A2)", 2.5),
        ("=COUNTA(A1:B4)", 5),
        ("=MAX(A1:A2, 10)", 10),
        ('=B1&" "&A1', "Ann 2"),
        ('=IF(A1>1, "big", "small")', "big"),
        ("=IF(A1=2, A2)", 3),
        ("=IFERROR(1/0, -1)", -1),
        ("=AND(TRUE, A4)", True),
        ("=NOT(A1=2)", False),
        ('=LEN(UPPER(" ab "))', 4),
        ('=TRIM("  a   b ")', "a b"),
        ("=ROUND(2.5)", 3),
        ("=ROUND(-1.2345, 2)", -1.23),
        ("=NOSUCH(1)", "#NAME?"),
        ("=1+", "#ERROR!"),
        ("=B2=\"\"", True),
    ],
)
def test_formula_values(formula: str, expected: Any) -> None:
    """Arithmetic, precedence, references, functions and error codes evaluate like Sheets."""
    assert _evaluate(formula) == expected


@given(st.integers(-1000, 1000), st.integers(-1000, 1000), st.integers(1, 50))
def test_arithmetic_matches_python(a: int, b: int, c: int) -> None:
    """Integer arithmetic formulas agree with Python's arithmetic."""
    assert _evaluate(f"={a}+{b}*{c}") == a + b * c
    assert _evaluate(f"=({a}-{b})/{c}") == pytest.approx((a - b) / c)


def test_formulas_read_through_gspread(sandbox: SandboxServer, gc: gspread.Client,
                                       title: str) -> None:
    """Formula cells read back their value; cross-tab refs work; cycles are #REF!."""
    sid = sandbox.create_spreadsheet(title, ROBOT, {
        "Main": [["n", "double"], [2, "=A2*2"], [5, "=A3*2"]],
        "Sum tab": [["=SUM(Main!B2:B3)", "=B1", "=A1"]],
    })
    sh = gc.open_by_key(sid)
    assert sh.worksheet("Main").get("B2:B3") == [["4"], ["10"]]
    raw = sh.worksheet("Sum tab").get("A1:C1", value_render_option=ValueRenderOption.unformatted)
    assert raw == [[14, "#REF!", 14]]
    sh.worksheet("Main").update([[7]], "A2", value_input_option=ValueInputOption.raw)
    assert sh.worksheet("Sum tab").acell("A1").value == "24"
    meta = sh.fetch_sheet_metadata({"includeGridData": "true", "ranges": ["Main!B2"]})
    cell = meta["sheets"][0]["data"][0]["rowData"][0]["values"][0]
    assert cell["userEnteredValue"] == {"formulaValue": "=A2*2"}
    assert cell["effectiveValue"] == {"numberValue": 14}
    assert cell["formattedValue"] == "14"
