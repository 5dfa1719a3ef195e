"""Sheet-native setup requests: built from the ledger, never duplicated on re-runs."""

from __future__ import annotations

from pathlib import Path

from syncer.config import load_ledger
from syncer.connectors.google.sheet_setup import SheetState, parse_state, setup_requests
from syncer.model import Table

LEDGER = load_ledger(Path(__file__).parents[2] / "config" / "ledgers" / "sales.yaml")
HEADER = (*LEDGER.columns, LEDGER.annotation_column)
MAIN = Table(LEDGER.tabs.main, LEDGER.header_row, tuple(HEADER), ())


def empty_state() -> dict[str, SheetState]:
    return {
        LEDGER.tabs.main: SheetState(0, LEDGER.tabs.main, 0, frozenset(), frozenset()),
        LEDGER.tabs.history: SheetState(5, LEDGER.tabs.history, 0, frozenset(), frozenset()),
    }


def kinds(reqs: list[dict[str, object]]) -> list[str]:
    return [next(iter(r)) for r in reqs]


def test_first_setup_adds_everything() -> None:
    """A bare sheet gets a frozen header, a dropdown per choice column, two highlights
    and warning-only protection of owned columns and the history tab."""
    reqs, created, _ = setup_requests(LEDGER, MAIN, empty_state())
    k = kinds(reqs)
    choices = [n for n, s in LEDGER.columns.items() if s.type == "choice"]
    assert k.count("setDataValidation") == len(choices)
    assert k.count("updateSheetProperties") == 1
    assert k.count("addConditionalFormatRule") == 2
    protected = [r["addProtectedRange"]["protectedRange"] for r in reqs if "addProtectedRange" in r]
    assert all(p["warningOnly"] for p in protected)
    assert len(protected) == len(LEDGER.owned_columns()) + 1
    formulas = [
        r["addConditionalFormatRule"]["rule"]["booleanRule"]["condition"]["values"][0][
            "userEnteredValue"
        ]
        for r in reqs
        if "addConditionalFormatRule" in r
    ]
    assert any("流失客户" in f for f in formulas)
    assert len(created) == len(reqs)


def test_second_setup_adds_no_duplicates() -> None:
    """After the first setup, a re-run adds no rule or protection again."""
    reqs, _, _ = setup_requests(LEDGER, MAIN, empty_state())
    body = {"sheets": []}  # what the spreadsheet now holds, in API shape
    rules = [r["addConditionalFormatRule"]["rule"] for r in reqs if "addConditionalFormatRule" in r]
    prot = [r["addProtectedRange"]["protectedRange"] for r in reqs if "addProtectedRange" in r]
    for title, sid in ((LEDGER.tabs.main, 0), (LEDGER.tabs.history, 5)):
        body["sheets"].append(
            {
                "properties": {
                    "sheetId": sid,
                    "title": title,
                    "gridProperties": {"frozenRowCount": LEDGER.header_row if sid == 0 else 0},
                },
                "conditionalFormats": rules if sid == 0 else [],
                "protectedRanges": [p for p in prot if p["range"]["sheetId"] == sid],
            }
        )
    again, _, skipped = setup_requests(LEDGER, MAIN, parse_state(body))
    assert set(kinds(again)) == {"setDataValidation"}  # set, not added: idempotent by nature
    assert len(skipped) >= 4
