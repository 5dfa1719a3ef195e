"""The readers' pure parts: A1 blocks, range rules resolved to values, Sheets validation
rules and grid data, Excel number formats; and the xlsx reader on a real file."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from syncer.infer.google_source import google_validation, grid_facts
from syncer.infer.grid import Block, Validation, block_of, resolve_range, split_reference
from syncer.infer.xlsx_source import format_kind, read_xlsx

from .conftest import write_book


def _letters(col: int) -> str:
    out = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


@given(c1=st.integers(0, 700), w=st.integers(1, 30), r1=st.integers(0, 5000), h=st.integers(1, 99))
def test_a1_blocks_round_trip(c1: int, w: int, r1: int, h: int) -> None:
    """`$A$2:$C$9`-style text gives the block it names (0-based, end-exclusive)."""
    c2, r2 = c1 + w - 1, r1 + h - 1
    text = f"${_letters(c1)}${r1 + 1}:${_letters(c2)}${r2 + 1}"
    assert block_of(text) == Block(r1, r2 + 1, c1, c2 + 1)
    assert block_of(f"{_letters(c1)}{r1 + 1}:{_letters(c1)}") == Block(r1, None, c1, c1 + 1)


def test_references_and_ranges_resolve_to_values() -> None:
    """Quoted tab names, bare ranges, open columns; unknown tabs give None."""
    assert split_reference("='It''s'!$A$1:$A$3", "Main") == ("It's", "$A$1:$A$3")
    assert split_reference("B2:B9", "Main") == ("Main", "B2:B9")
    tabs = {"选项": [["行业"], ["制造业"], ["零售业"], [None], ["制造业"]], "Main": []}
    found = resolve_range("'选项'!A2:A", "Main", tabs)
    assert found == Validation("range", values=("制造业", "零售业"), source="选项!A2:A")
    assert resolve_range("Nowhere!A1:A3", "Main", tabs) is None
    assert resolve_range("选项!1:1", "Main", {"选项": [[None]]}) is None
    assert block_of("not a range") is None


def test_sheets_validation_rules() -> None:
    """ONE_OF_LIST / ONE_OF_RANGE / numbers / checkboxes / LEN formulas become rules."""
    values = {"Lists": [["a"], ["b"]]}

    def rule(kind: str, *given: str) -> Validation | None:
        condition = {"type": kind, "values": [{"userEnteredValue": v} for v in given]}
        return google_validation({"condition": condition}, "Main", values)

    assert rule("ONE_OF_LIST", "x", " y ", "x") == Validation("list", values=("x", "y"))
    assert rule("ONE_OF_RANGE", "=Lists!A1:A2") == Validation(
        "range", values=("a", "b"), source="Lists!A1:A2"
    )
    assert rule("NUMBER_BETWEEN", "1", "5") == Validation("number", minimum=1, maximum=5)
    assert rule("NUMBER_GREATER_THAN_EQ", "0") == Validation("number", minimum=0)
    assert rule("BOOLEAN") == Validation("boolean")
    assert rule("DATE_IS_VALID") == Validation("date")
    assert rule("CUSTOM_FORMULA", "=LEN(B3)<=30") == Validation("text_length", maximum=30)
    assert rule("CUSTOM_FORMULA", "=ISNUMBER(B3)") is None
    assert rule("TEXT_CONTAINS", "x") is None


def test_grid_data_becomes_runs_and_formats() -> None:
    """Per-cell rules of one column join into runs; number-format kinds are kept per cell."""
    listed = {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "a"}]}}
    cell = {"dataValidation": listed, "userEnteredFormat": {"numberFormat": {"type": "DATE"}}}
    rows = [{"values": [{}, cell]}, {"values": [{}, cell]}, {}, {"values": [{}, cell]}]
    rules, formats = grid_facts([{"startRow": 1, "rowData": rows}], "Main", {})
    assert [r.block for r in rules] == [Block(1, 3, 1, 2), Block(4, 5, 1, 2)]
    assert {(f.row, f.col, f.kind) for f in formats} == {
        (1, 1, "DATE"),
        (2, 1, "DATE"),
        (4, 1, "DATE"),
    }


def test_excel_number_formats() -> None:
    """Dates, date-times, times, currency, percent, text and plain numbers."""
    assert format_kind("yyyy-mm-dd", True) == "DATE"
    assert format_kind("yyyy-mm-dd hh:mm", True) == "DATE_TIME"
    assert format_kind("hh:mm", True) == "TIME"
    assert format_kind('"¥"#,##0.00', False) == "CURRENCY"
    assert format_kind("0.0%", False) == "PERCENT"
    assert format_kind("@", False) == "TEXT"
    assert format_kind("#,##0", False) == "NUMBER"
    assert format_kind("General", False) is None


def test_xlsx_reader_keeps_merges_rules_and_hidden_tabs(tmp_path: Path) -> None:
    """A real workbook: merged title, a list rule and a range rule, typed values."""
    book = write_book(
        tmp_path / "b.xlsx",
        {"Main": [["Title"], ["id", "kind"], ["1", "a"]], "Lists": [["a"], ["b"]]},
        dropdowns=[("Main", "B3:B9", '"a,b,c"'), ("Main", "A3:A9", "Lists!$A$1:$A$2")],
        merges=[("Main", "A1:B1")],
    )
    read = read_xlsx(book)
    main = read.tab("Main")
    assert main is not None
    assert main.rows[1] == ("id", "kind")
    assert main.merges == (Block(0, 1, 0, 2),)
    rules = {r.block.start_col: r.validation for r in main.validations}
    assert rules[1] == Validation("list", values=("a", "b", "c"))
    assert rules[0].values == ("a", "b")
    assert read.calls == {"file.load": 1}
