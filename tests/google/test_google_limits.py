"""Google's hard limits are found before any write, per operation, with the limit named."""

from __future__ import annotations

from syncer.connectors.google.builders import SheetMeta
from syncer.connectors.google.limits import MAX_CELL_CHARS, MAX_COLUMNS, over_limits
from syncer.model import AddColumn, AppendRow, EnsureTab, Plan, RowRef, SetCell, Snapshot, Table

REF = RowRef("K1", 2)


def snapshot(width: int) -> Snapshot:
    """A Main tab ``width`` columns wide with one row."""
    return Snapshot({"Main": Table("Main", 1, tuple(f"c{i}" for i in range(width)), (("K1",),))})


def test_a_column_past_the_widest_sheet_is_refused_with_its_cells() -> None:
    """At 18,278 columns an AddColumn and the writes into that column are refused, the
    other writes are not."""
    meta = {"Main": SheetMeta(0, "Main", 10, MAX_COLUMNS)}
    plan = Plan(
        "t",
        (
            AddColumn("Main", "note", "annotate"),
            SetCell("Main", REF, "note", "x", None, "annotate"),
            SetCell("Main", REF, "c1", "y", None, "stamp"),
        ),
    )
    dropped = over_limits(plan, snapshot(MAX_COLUMNS), meta)
    assert [d.op for d in dropped] == list(plan.ops[:2])
    assert "18,278 columns" in dropped[0].reason


def test_a_value_over_fifty_thousand_characters_is_refused() -> None:
    """A cell write or an appended row holding more than 50,000 characters is refused."""
    meta = {"Main": SheetMeta(0, "Main", 10, 5), "History": SheetMeta(1, "History", 10, 5)}
    long = "x" * (MAX_CELL_CHARS + 1)
    plan = Plan(
        "t",
        (
            SetCell("Main", REF, "c1", long, None, "normalize"),
            AppendRow("History", "K9", (("c0", long),), "neither", "reconcile"),
            SetCell("Main", REF, "c2", "x" * MAX_CELL_CHARS, None, "normalize"),
        ),
    )
    dropped = over_limits(plan, snapshot(5), meta)
    assert [d.op for d in dropped] == list(plan.ops[:2])
    assert all("50,000 characters" in d.reason for d in dropped)


def test_a_new_tab_past_ten_million_cells_is_refused() -> None:
    """Creating a tab on a spreadsheet near 10,000,000 cells is refused before writing."""
    meta = {"Main": SheetMeta(0, "Main", 500_000, 20)}
    plan = Plan("t", (EnsureTab("Errors", ("problem",), "errors"),))
    (dropped,) = over_limits(plan, snapshot(20), meta)
    assert "10,000,000 cells" in dropped.reason
