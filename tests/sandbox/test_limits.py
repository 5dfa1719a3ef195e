"""Google's hard limits, enforced like Sheets: 10,000,000 cells per spreadsheet, 18,278
columns per sheet, 50,000 characters per cell, 10 MiB per request body — each refused
with Google's 400 INVALID_ARGUMENT answer and nothing changed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import gspread
import openpyxl
import pytest

from syncer.sandbox import SandboxServer

from .conftest import ROBOT

CELLS = (
    "This action would increase the number of cells in the workbook above the limit of "
    "10000000 cells."
)
CHARS = "Your input contains more than the maximum of 50000 characters in a single cell."
COLUMNS_LIMIT = "above the limit of 18278 columns"


def _refused(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The Google error body of a call that must fail with 400 INVALID_ARGUMENT."""
    with pytest.raises(gspread.exceptions.APIError) as caught:
        call(*args, **kwargs)
    error: dict[str, Any] = caught.value.response.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    return error


@pytest.fixture
def ledger(sandbox: SandboxServer, gc: gspread.Client, title: str) -> gspread.Spreadsheet:
    """A fresh spreadsheet owned by the robot, one 1000 x 26 tab with a header."""
    sid = sandbox.create_spreadsheet(title, ROBOT, {"Main": [["Name", "Note"]]})
    return gc.open_by_key(sid)


def test_cell_of_more_than_50000_characters_is_refused(
    sandbox: SandboxServer, ledger: gspread.Spreadsheet
) -> None:
    """values.update, values.batchUpdate (naming the data entry), values.append and
    updateCells refuse 50,001 characters; exactly 50,000 is stored whole."""
    ws = ledger.worksheet("Main")
    over, full = "x" * 50_001, "y" * 50_000
    assert _refused(ws.update, [[over]], "B2")["message"] == CHARS
    batch = _refused(
        ledger.values_batch_update,
        {
            "valueInputOption": "RAW",
            "data": [
                {"range": "Main!A3", "values": [["ok"]]},
                {"range": "Main!B3", "values": [[over]]},
            ],
        },
    )
    assert batch["message"] == f"Invalid data[1]: {CHARS}"
    assert _refused(ws.append_row, ["a", over])["message"] == CHARS
    cells = _refused(
        ledger.batch_update,
        {
            "requests": [
                {
                    "updateCells": {
                        "start": {"sheetId": ws.id, "rowIndex": 3, "columnIndex": 1},
                        "rows": [{"values": [{"userEnteredValue": {"stringValue": over}}]}],
                        "fields": "userEnteredValue",
                    }
                }
            ]
        },
    )
    assert cells["message"] == f"Invalid requests[0].updateCells: {CHARS}"
    assert sandbox.values(ledger.id, "Main") == [["Name", "Note"]]
    ws.update([[full]], "B2")
    assert sandbox.values(ledger.id, "Main")[1][1] == full
    with pytest.raises(ValueError, match="50000 characters"):
        sandbox.set_values(ledger.id, "Main", "B3", [[over]])


def test_request_body_over_ten_mebibytes_is_refused(
    sandbox: SandboxServer, ledger: gspread.Spreadsheet
) -> None:
    """A batchUpdate body of 10 MiB + 1 byte gets Google's 400 and changes nothing; the
    same body at exactly 10 MiB is applied."""
    ws = ledger.worksheet("Main")
    request = {
        "updateCells": {
            "start": {"sheetId": ws.id, "rowIndex": 1, "columnIndex": 1},
            "rows": [{"values": [{"userEnteredValue": {"stringValue": "z"}}]}],
            "fields": "userEnteredValue",
        }
    }
    body = json.dumps({"requests": [request]}).encode()
    url = f"https://sheets.googleapis.com/v4/spreadsheets/{ledger.id}:batchUpdate"
    session = ledger.client.session
    headers = {"Content-Type": "application/json"}
    over = session.post(url, data=body.ljust(10_485_761), headers=headers)
    assert over.status_code == 400
    assert over.json()["error"] == {
        "code": 400,
        "message": "Request payload size exceeds the limit: 10485760 bytes.",
        "status": "INVALID_ARGUMENT",
    }
    assert sandbox.values(ledger.id, "Main") == [["Name", "Note"]]
    at = session.post(url, data=body.ljust(10_485_760), headers=headers)
    assert at.status_code == 200, at.text
    assert sandbox.values(ledger.id, "Main")[1] == [None, "z"]


def test_more_than_18278_columns_are_refused(
    sandbox: SandboxServer, ledger: gspread.Spreadsheet
) -> None:
    """Resizing, appending or inserting columns past ZZZ, or adding a sheet that wide, is
    refused; exactly 18,278 columns is allowed."""
    ws = ledger.worksheet("Main")
    sid = ws.id
    resize = _refused(ws.resize, cols=18_279)
    assert COLUMNS_LIMIT in resize["message"]
    append = {"appendDimension": {"sheetId": sid, "dimension": "COLUMNS", "length": 18_253}}
    assert COLUMNS_LIMIT in _refused(ledger.batch_update, {"requests": [append]})["message"]
    insert = {
        "insertDimension": {
            "range": {"sheetId": sid, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 18_253}
        }
    }
    assert COLUMNS_LIMIT in _refused(ledger.batch_update, {"requests": [insert]})["message"]
    wide = {
        "addSheet": {
            "properties": {
                "title": "Wide",
                "gridProperties": {"rowCount": 10, "columnCount": 18_279},
            }
        }
    }
    refused = _refused(ledger.batch_update, {"requests": [wide]})
    assert refused["message"].startswith("Invalid requests[0].addSheet: ")
    assert sandbox.grid_size(ledger.id, "Main") == (1000, 26)
    assert sandbox.tabs(ledger.id) == ["Main"]
    ws.resize(rows=10, cols=18_278)
    assert sandbox.grid_size(ledger.id, "Main") == (10, 18_278)


def test_more_than_ten_million_cells_are_refused(
    sandbox: SandboxServer, ledger: gspread.Spreadsheet
) -> None:
    """addSheet and a row resize past 10,000,000 cells are refused with Google's message;
    a sheet filling the workbook to the limit exactly is allowed."""
    big = {
        "addSheet": {
            "properties": {
                "title": "Archive",
                "gridProperties": {"rowCount": 400_000, "columnCount": 25},
            }
        }
    }
    refused = _refused(ledger.batch_update, {"requests": [big]})
    assert refused["message"] == f"Invalid requests[0].addSheet: {CELLS}"
    assert _refused(ledger.worksheet("Main").resize, rows=400_000)["message"].endswith(CELLS)
    assert sandbox.tabs(ledger.id) == ["Main"]
    fits = {
        "addSheet": {
            "properties": {
                "title": "Archive",
                "gridProperties": {"rowCount": 9_974, "columnCount": 1000},
            }
        }
    }
    ledger.batch_update({"requests": [fits]})  # 26,000 + 9,974,000 = 10,000,000 cells
    assert sandbox.grid_size(ledger.id, "Archive") == (9_974, 1000)


def test_spreadsheets_create_past_the_cell_limit_is_refused(
    sandbox: SandboxServer, gc: gspread.Client
) -> None:
    """spreadsheets.create with a grid of more than 10,000,000 cells answers 400 and no
    spreadsheet is left behind."""
    before = set(sandbox.spreadsheet_ids())
    response = gc.http_client.session.post(
        "https://sheets.googleapis.com/v4/spreadsheets",
        json={
            "properties": {"title": "huge"},
            "sheets": [
                {"properties": {"gridProperties": {"rowCount": 1_000_000, "columnCount": 11}}}
            ],
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == f"Invalid sheets: {CELLS}"
    assert set(sandbox.spreadsheet_ids()) == before


def test_xlsx_text_starting_with_equals_is_seeded_as_text(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A text cell of an .xlsx that starts with '=' stays text; a formula cell stays a
    formula; dates and times keep their types."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Main"
    ws.append(["text", "formula", "date", "time"])
    ws.append([None, "=1+1", dt.datetime(2024, 3, 1), dt.time(9, 30)])
    ws["A2"].value = "=not a formula"
    ws["A2"].data_type = "s"
    path = tmp_path / "equals.xlsx"
    book.save(path)
    sid = sandbox.seed_from_xlsx(path, owner=ROBOT)
    cells = sandbox.values(sid, "Main")[1]
    assert cells[:3] == ["=not a formula", "=1+1", dt.date(2024, 3, 1)]
    grid = sandbox.store.get(sid)
    assert grid is not None
    main = grid.sheet_by_title("Main")
    assert main is not None
    text, formula = main.extra(1, 0), main.extra(1, 1)
    assert text is None or text.formula is None
    assert formula is not None
    assert formula.formula == "=1+1"
    time_cell = main.extra(1, 3)
    assert time_cell is not None
    assert time_cell.format is not None
    assert time_cell.format["numberFormat"]["type"] == "TIME"
