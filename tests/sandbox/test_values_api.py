"""spreadsheets.values through unmodified gspread: reads, writes, append, clear, errors."""

from __future__ import annotations

import datetime as dt

import gspread
import pytest
from google.auth.transport.requests import AuthorizedSession
from gspread.utils import ValueInputOption, ValueRenderOption

from syncer.sandbox import SandboxServer

from .conftest import ROBOT


@pytest.fixture
def sheet(sandbox: SandboxServer, gc: gspread.Client, title: str) -> gspread.Worksheet:
    """A fresh spreadsheet's first tab, seeded with a small typed table."""
    sid = sandbox.create_spreadsheet(title, ROBOT, {
        "客户 'VIP'": [["name", "amount", "since", "active"],
                      ["Ann", 12.5, dt.date(2024, 1, 5), True],
                      ["Bo", 3, None, False]],
        "Empty": [],
    })
    return gc.open_by_key(sid).get_worksheet(0)


def test_formatted_and_unformatted_reads(sheet: gspread.Worksheet) -> None:
    """FORMATTED_VALUE renders text; UNFORMATTED_VALUE returns JSON numbers, booleans, serials."""
    assert sheet.get_all_values() == [["name", "amount", "since", "active"],
                                      ["Ann", "12.5", "2024-01-05", "TRUE"],
                                      ["Bo", "3", "", "FALSE"]]
    raw = sheet.get("A2:D3", value_render_option=ValueRenderOption.unformatted)
    assert raw == [["Ann", 12.5, 45296, True], ["Bo", 3, "", False]]


def test_date_time_render_option(sheet: gspread.Worksheet) -> None:
    """dateTimeRenderOption FORMATTED_STRING renders dates as text in unformatted reads."""
    got = sheet.get("C2", value_render_option=ValueRenderOption.unformatted,
                    date_time_render_option="FORMATTED_STRING")
    assert got == [["2024-01-05"]]


def test_raw_versus_user_entered(sheet: gspread.Worksheet) -> None:
    """RAW stores strings as typed text; USER_ENTERED parses numbers, dates, formulas."""
    inputs = [["=1+2", "'007", "2024-02-03", "1,500"]]
    sheet.update(inputs, "A5", value_input_option=ValueInputOption.raw)
    sheet.update(inputs, "A6", value_input_option=ValueInputOption.user_entered)
    formulas = sheet.get("A5:D6", value_render_option=ValueRenderOption.formula)
    assert formulas == [["=1+2", "'007", "2024-02-03", "1,500"],
                        ["=1+2", "007", 45325, 1500]]


def test_trailing_empties_are_trimmed(sheet: gspread.Worksheet) -> None:
    """Values responses drop trailing empty cells and rows and omit values when empty."""
    result = sheet.spreadsheet.values_get("'客户 ''VIP'''!A3:Z50")
    assert result["values"] == [["Bo", "3", "", "FALSE"]]
    empty = sheet.spreadsheet.values_get("Empty!A1:C3")
    assert "values" not in empty
    assert empty["range"] == "Empty!A1:C3"


def test_range_forms(sheet: gspread.Worksheet) -> None:
    """Whole columns, open-ended rows, row spans and sheet-only ranges resolve like Google's."""
    sh = sheet.spreadsheet
    prefix = "'客户 ''VIP'''"
    assert sh.values_get(f"{prefix}!B:B")["values"] == [["amount"], ["12.5"], ["3"]]
    open_end = sh.values_get(f"{prefix}!A2:B")
    assert open_end["range"] == f"{prefix}!A2:B1000"
    assert open_end["values"] == [["Ann", "12.5"], ["Bo", "3"]]
    assert sh.values_get(f"{prefix}!3:3")["values"] == [["Bo", "3", "", "FALSE"]]
    whole = sh.values_get(prefix)
    assert whole["range"] == f"{prefix}!A1:Z1000"
    assert len(whole["values"]) == 3


def test_major_dimension_columns(sheet: gspread.Worksheet) -> None:
    """majorDimension=COLUMNS transposes reads and writes."""
    got = sheet.spreadsheet.values_get("'客户 ''VIP'''!A1:B3",
                                       params={"majorDimension": "COLUMNS"})
    assert got["values"] == [["name", "Ann", "Bo"], ["amount", "12.5", "3"]]
    sheet.update([["x", "y"]], "F1", major_dimension="COLUMNS")
    assert sheet.get("F1:F2") == [["x"], ["y"]]


def test_batch_get_many_ranges(sheet: gspread.Worksheet) -> None:
    """values.batchGet answers one value range per requested range, in order."""
    got = sheet.batch_get(["A1", "B2:C2", "D3"])
    assert [list(v) for v in got] == [[["name"]], [["12.5", "2024-01-05"]], [["FALSE"]]]


def test_update_response_counts(sheet: gspread.Worksheet) -> None:
    """values.update reports the written range and counts like Google."""
    result = sheet.update([["a", "b"], ["c"]], "F2")
    assert result["updatedRange"] == "'客户 ''VIP'''!F2:G3"
    assert (result["updatedRows"], result["updatedColumns"], result["updatedCells"]) == (
        2, 2, 3)


def test_write_past_grid_fails(sheet: gspread.Worksheet) -> None:
    """Writing outside the grid answers 400 'exceeds grid limits' and writes nothing."""
    with pytest.raises(gspread.exceptions.APIError) as info:
        sheet.update([["x"], ["y"]], "A1000")
    assert info.value.code == 400
    assert info.value.error["message"] == (
        "Range ('客户 ''VIP'''!A1000:A1001) exceeds grid limits. "
        "Max rows: 1000, max columns: 26"
    )
    assert "values" not in sheet.spreadsheet.values_get("'客户 ''VIP'''!A1000")


def test_write_larger_than_range_fails(sheet: gspread.Worksheet) -> None:
    """Data bigger than an explicit range answers 400 naming the row it overflowed to."""
    with pytest.raises(gspread.exceptions.APIError) as info:
        sheet.update([["1"], ["2"], ["3"]], "H1:H2")
    assert "tried writing to row [3]" in info.value.error["message"]


@pytest.mark.parametrize("bad", ["Nope!A1", "A1:B2:C3", "'unterminated!A1"])
def test_unparseable_range_is_400(sheet: gspread.Worksheet, bad: str) -> None:
    """Unknown tabs and malformed ranges answer 400 'Unable to parse range'."""
    with pytest.raises(gspread.exceptions.APIError) as info:
        sheet.spreadsheet.values_get(bad)
    assert info.value.error == {"code": 400, "message": f"Unable to parse range: {bad}",
                                "status": "INVALID_ARGUMENT"}


def test_append_finds_the_table(sheet: gspread.Worksheet) -> None:
    """append writes below the table and reports its tableRange."""
    result = sheet.append_row(["Cy", 7, "", True], value_input_option="RAW")
    assert result["tableRange"] == "'客户 ''VIP'''!A1:D3"
    assert result["updates"]["updatedRange"] == "'客户 ''VIP'''!A4:D4"
    assert sheet.get("A4:B4", value_render_option=ValueRenderOption.unformatted) == [["Cy", 7]]


def test_append_insert_rows_shifts_data_below(sandbox: SandboxServer,
                                              sheet: gspread.Worksheet) -> None:
    """insertDataOption=INSERT_ROWS inserts rows instead of overwriting what is below."""
    sid = sheet.spreadsheet_id
    tab = sheet.title
    sandbox.set_values(sid, tab, "A6", [["below"]])
    sheet.spreadsheet.values_append(
        f"'{tab.replace(chr(39), chr(39) * 2)}'!A1:D3",
        {"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
        {"values": [["n1"], ["n2"], ["n3"]]},
    )
    col = [row[0] if row else None for row in sandbox.values(sid, tab)]
    assert col == ["name", "Ann", "Bo", "n1", "n2", "n3", None, None, "below"]
    assert sandbox.grid_size(sid, tab)[0] == 1003


def test_append_grows_the_grid(sandbox: SandboxServer, gc: gspread.Client, title: str) -> None:
    """Appending past the last row adds rows to the grid."""
    sid = sandbox.create_spreadsheet(title, ROBOT, {"T": [["h"]]})
    ws = gc.open_by_key(sid).worksheet("T")
    ws.resize(rows=2)
    ws.append_rows([["a"], ["b"], ["c"]])
    assert sandbox.grid_size(sid, "T")[0] == 4
    assert sandbox.values(sid, "T") == [["h"], ["a"], ["b"], ["c"]]


def test_batch_update_values_is_all_or_nothing(sandbox: SandboxServer,
                                               sheet: gspread.Worksheet) -> None:
    """values.batchUpdate with one bad range writes none of the ranges."""
    before = sandbox.values(sheet.spreadsheet_id, sheet.title)
    with pytest.raises(gspread.exceptions.APIError):
        sheet.batch_update([{"range": "A1", "values": [["changed"]]},
                            {"range": "Nope!A1", "values": [["x"]]}])
    assert sandbox.values(sheet.spreadsheet_id, sheet.title) == before
    result = sheet.batch_update([{"range": "A1", "values": [["N"]]},
                                 {"range": "B1:C1", "values": [["A", "S"]]}])
    assert result["totalUpdatedCells"] == 3
    assert sheet.row_values(1) == ["N", "A", "S", "active"]


def test_null_skips_and_empty_string_clears(sheet: gspread.Worksheet) -> None:
    """In writes, null leaves a cell unchanged and '' clears it."""
    sheet.update([[None, ""]], "A2")
    assert sheet.row_values(2) == ["Ann", "", "2024-01-05", "TRUE"]


def test_clear_and_batch_clear(sandbox: SandboxServer, sheet: gspread.Worksheet) -> None:
    """values.clear / batchClear empty values but keep notes."""
    sid, tab = sheet.spreadsheet_id, sheet.title
    sandbox.set_note(sid, tab, "A2", "kept")
    sheet.batch_clear(["A2:A3", "D2:D3"])
    assert sheet.col_values(1) == ["name"]
    assert sandbox.note(sid, tab, "A2") == "kept"
    result = sheet.spreadsheet.values_clear(f"'{tab.replace(chr(39), chr(39) * 2)}'!B:B")
    assert result["clearedRange"].endswith("!B1:B1000")
    assert sheet.col_values(2) == []


def test_malformed_json_is_400(sandbox: SandboxServer, gc: gspread.Client,
                               sheet: gspread.Worksheet) -> None:
    """A body that is not JSON answers 400 INVALID_ARGUMENT, never a 500."""
    session = gc.http_client.session
    assert isinstance(session, AuthorizedSession)
    response = session.post(
        f"https://sheets.googleapis.com/v4/spreadsheets/{sheet.spreadsheet_id}:batchUpdate",
        data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_missing_value_input_option_is_400(gc: gspread.Client,
                                           sheet: gspread.Worksheet) -> None:
    """values.update without valueInputOption is refused like Google does."""
    with pytest.raises(gspread.exceptions.APIError) as info:
        gc.http_client.values_update(sheet.spreadsheet_id, "Empty!A1", params={},
                                     body={"values": [["x"]]})
    assert "valueInputOption" in info.value.error["message"]


def test_formula_in_empty_region_reads_back(sandbox: SandboxServer,
                                            sheet: gspread.Worksheet) -> None:
    """A formula written below all values shows in FORMULA reads, and is evaluated in others."""
    sheet.update([["=SUM(B2:B3)*2"]], "B20", value_input_option=ValueInputOption.user_entered)
    got = sheet.get("B20", value_render_option=ValueRenderOption.formula)
    assert got == [["=SUM(B2:B3)*2"]]
    assert sandbox.values(sheet.spreadsheet_id, sheet.title)[19] == [None, "=SUM(B2:B3)*2"]
    assert sheet.get("B20") == [["31"]]
    assert sheet.get("B20", value_render_option=ValueRenderOption.unformatted) == [[31]]
