"""spreadsheets.batchUpdate and spreadsheets.get through gspread: structure, cells, atomicity."""

from __future__ import annotations

from typing import Any

import gspread
import pytest

from syncer.sandbox import SandboxServer

from .conftest import ROBOT


@pytest.fixture
def book(sandbox: SandboxServer, gc: gspread.Client, title: str) -> gspread.Spreadsheet:
    """A spreadsheet with a main tab of four customers."""
    sid = sandbox.create_spreadsheet(title, ROBOT, {
        "Main": [["id", "name", "status"], [3, "Cy", "lost"], [1, "Ann", "won"],
                 [2, "Bo", "new"], [4, "Di", None]],
    })
    return gc.open_by_key(sid)


def _sheet_id(book: gspread.Spreadsheet, tab: str) -> int:
    return int(book.worksheet(tab).id)


def test_add_duplicate_rename_delete_sheets(sandbox: SandboxServer,
                                            book: gspread.Spreadsheet) -> None:
    """addSheet / duplicateSheet / updateSheetProperties(title) / deleteSheet with replies."""
    result = book.batch_update({"requests": [
        {"addSheet": {"properties": {"title": "History", "gridProperties":
                                     {"rowCount": 5, "columnCount": 3}}}},
        {"duplicateSheet": {"sourceSheetId": _sheet_id(book, "Main"),
                            "newSheetName": "Main copy"}},
    ]})
    added = result["replies"][0]["addSheet"]["properties"]
    assert added["title"] == "History"
    assert added["gridProperties"] == {"rowCount": 5, "columnCount": 3}
    copied = result["replies"][1]["duplicateSheet"]["properties"]
    assert sandbox.values(book.id, "Main copy") == sandbox.values(book.id, "Main")
    book.batch_update({"requests": [
        {"updateSheetProperties": {"properties": {"sheetId": copied["sheetId"],
                                                  "title": "Renamed"}, "fields": "title"}},
        {"deleteSheet": {"sheetId": added["sheetId"]}},
    ]})
    assert sandbox.tabs(book.id) == ["Main", "Renamed"]


def test_batch_is_all_or_nothing(sandbox: SandboxServer, book: gspread.Spreadsheet) -> None:
    """A failing request leaves the spreadsheet and its Drive version untouched."""
    version = sandbox.drive_version(book.id)
    with pytest.raises(gspread.exceptions.APIError) as info:
        book.batch_update({"requests": [
            {"addSheet": {"properties": {"title": "Fresh"}}},
            {"deleteDimension": {"range": {"sheetId": _sheet_id(book, "Main"),
                                           "dimension": "ROWS", "startIndex": 1,
                                           "endIndex": 2}}},
            {"deleteSheet": {"sheetId": 987654}},
        ]})
    assert info.value.error["message"] == "Invalid requests[2].deleteSheet: No grid with id: 987654"
    assert sandbox.tabs(book.id) == ["Main"]
    assert len(sandbox.values(book.id, "Main")) == 5
    assert sandbox.drive_version(book.id) == version


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"fooBar": {}}, "Unknown name \"fooBar\" at 'requests[0]'"),
        ({}, "Invalid requests[0]: No request set."),
        ({"addSheet": {"properties": {"title": "main"}}},
         'A sheet with the name "main" already exists'),
    ],
)
def test_invalid_requests_answer_400(book: gspread.Spreadsheet, request_body: dict[str, Any],
                                     message: str) -> None:
    """Unknown request types, empty requests and duplicate titles answer 400."""
    with pytest.raises(gspread.exceptions.APIError) as info:
        book.batch_update({"requests": [request_body]})
    assert info.value.code == 400
    assert message in info.value.error["message"]


def test_cannot_delete_last_sheet(book: gspread.Spreadsheet) -> None:
    """Deleting the only sheet is refused with Google's message."""
    with pytest.raises(gspread.exceptions.APIError) as info:
        book.del_worksheet(book.sheet1)
    assert "You can't remove all the sheets in a document." in info.value.error["message"]


def test_insert_delete_append_dimensions(sandbox: SandboxServer,
                                         book: gspread.Spreadsheet) -> None:
    """gspread insert_rows / delete_rows / add_rows / insert_cols keep data aligned."""
    ws = book.worksheet("Main")
    ws.insert_rows([[9, "Zed", "new"]], row=2)
    ws.delete_rows(3)
    ws.add_rows(10)
    ws.insert_cols([["note"]], col=1)
    assert [r[:3] for r in sandbox.values(book.id, "Main")] == [
        ["note", "id", "name"], [None, 9, "Zed"], [None, 1, "Ann"], [None, 2, "Bo"],
        [None, 4, "Di"]]
    assert sandbox.grid_size(book.id, "Main") == (1010, 27)


def test_notes_formats_and_grid_data(sandbox: SandboxServer,
                                     book: gspread.Spreadsheet) -> None:
    """Notes and formats written via batchUpdate come back in includeGridData reads."""
    ws = book.worksheet("Main")
    ws.update_note("C2", "why lost?")
    ws.format("A1:C1", {"textFormat": {"bold": True},
                        "backgroundColor": {"red": 1, "green": 0.9, "blue": 0.9}})
    assert sandbox.note(book.id, "Main", "C2") == "why lost?"
    assert sandbox.format(book.id, "Main", "B1")["textFormat"] == {"bold": True}
    meta = book.fetch_sheet_metadata({"includeGridData": "true", "ranges": ["Main!A1:C2"]})
    rows = meta["sheets"][0]["data"][0]["rowData"]
    assert rows[0]["values"][0]["userEnteredFormat"]["textFormat"] == {"bold": True}
    assert rows[0]["values"][0]["formattedValue"] == "id"
    assert rows[1]["values"][2]["note"] == "why lost?"
    assert rows[1]["values"][0]["effectiveValue"] == {"numberValue": 3}
    assert ws.get_note("C2") == "why lost?"
    ws.clear_note("C2")
    assert sandbox.note(book.id, "Main", "C2") is None


def test_update_cells_field_mask_leaves_other_fields(sandbox: SandboxServer,
                                                     book: gspread.Spreadsheet) -> None:
    """updateCells with fields=userEnteredValue writes values but keeps notes and formats."""
    sid = _sheet_id(book, "Main")
    sandbox.set_note(book.id, "Main", "B2", "human note")
    book.batch_update({"requests": [{"updateCells": {
        "start": {"sheetId": sid, "rowIndex": 1, "columnIndex": 1},
        "rows": [{"values": [{"userEnteredValue": {"stringValue": "=not a formula"},
                              "note": "robot note"}]}],
        "fields": "userEnteredValue",
    }}]})
    assert sandbox.values(book.id, "Main")[1][1] == "=not a formula"
    assert sandbox.note(book.id, "Main", "B2") == "human note"


def test_repeat_cell_validation_conditional_and_protection(book: gspread.Spreadsheet) -> None:
    """repeatCell, setDataValidation, addConditionalFormatRule, addProtectedRange persist."""
    sid = _sheet_id(book, "Main")
    status = {"sheetId": sid, "startRowIndex": 1, "endRowIndex": 5,
              "startColumnIndex": 2, "endColumnIndex": 3}
    result = book.batch_update({"requests": [
        {"repeatCell": {"range": status, "cell": {"userEnteredFormat": {
            "horizontalAlignment": "CENTER"}}, "fields": "userEnteredFormat.horizontalAlignment"}},
        {"setDataValidation": {"range": status, "rule": {"condition": {
            "type": "ONE_OF_LIST", "values": [{"userEnteredValue": "new"},
                                              {"userEnteredValue": "won"}]}, "strict": True}}},
        {"addConditionalFormatRule": {"index": 0, "rule": {"ranges": [status], "booleanRule": {
            "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": "lost"}]},
            "format": {"backgroundColor": {"red": 1}}}}}},
        {"addProtectedRange": {"protectedRange": {"range": {"sheetId": sid, "endRowIndex": 1},
                                                  "description": "header",
                                                  "warningOnly": True}}},
    ]})
    protected = result["replies"][3]["addProtectedRange"]["protectedRange"]
    assert protected["description"] == "header"
    assert isinstance(protected["protectedRangeId"], int)
    meta = book.fetch_sheet_metadata({"includeGridData": "true", "ranges": ["Main!C2"]})
    sheet = meta["sheets"][0]
    cell = sheet["data"][0]["rowData"][0]["values"][0]
    assert cell["userEnteredFormat"] == {"horizontalAlignment": "CENTER"}
    assert cell["dataValidation"]["condition"]["type"] == "ONE_OF_LIST"
    assert sheet["conditionalFormats"][0]["booleanRule"]["condition"]["type"] == "TEXT_EQ"
    assert sheet["protectedRanges"][0]["protectedRangeId"] == protected["protectedRangeId"]


def test_developer_metadata_lifecycle(book: gspread.Spreadsheet) -> None:
    """create/deleteDeveloperMetadata; metadata shows up in spreadsheets.get."""
    sid = _sheet_id(book, "Main")
    created = book.batch_update({"requests": [
        {"createDeveloperMetadata": {"developerMetadata": {
            "metadataKey": "syncer.schema", "metadataValue": "v1",
            "location": {"sheetId": sid}, "visibility": "DOCUMENT"}}},
        {"createDeveloperMetadata": {"developerMetadata": {
            "metadataKey": "syncer.owner", "metadataValue": "ops",
            "location": {"spreadsheet": True}, "visibility": "PROJECT"}}},
    ]})["replies"]
    first = created[0]["createDeveloperMetadata"]["developerMetadata"]
    assert first["location"] == {"locationType": "SHEET", "sheetId": sid}
    meta = book.fetch_sheet_metadata({"fields": "developerMetadata,sheets.developerMetadata"})
    assert meta["developerMetadata"][0]["metadataKey"] == "syncer.owner"
    assert meta["sheets"][0]["developerMetadata"][0]["metadataValue"] == "v1"
    deleted = book.batch_update({"requests": [{"deleteDeveloperMetadata": {"dataFilter": {
        "developerMetadataLookup": {"metadataKey": "syncer.schema"}}}}]})["replies"][0]
    assert deleted["deleteDeveloperMetadata"]["deletedDeveloperMetadata"][0]["metadataId"] == (
        first["metadataId"])
    meta = book.fetch_sheet_metadata({"fields": "sheets.developerMetadata"})
    assert "developerMetadata" not in meta["sheets"][0]


def test_sort_range_and_freeze(sandbox: SandboxServer, book: gspread.Spreadsheet) -> None:
    """sortRange orders rows below the header (empties last); freeze sets frozenRowCount."""
    ws = book.worksheet("Main")
    ws.sort((1, "asc"), range="A2:Z1000")
    assert [r[0] for r in sandbox.values(book.id, "Main")] == ["id", 1, 2, 3, 4]
    ws.sort((3, "des"), range="A2:Z1000")
    assert [r[2] if len(r) > 2 else None for r in sandbox.values(book.id, "Main")] == [
        "status", "won", "new", "lost", None]
    ws.freeze(rows=1)
    assert sandbox.frozen_rows(book.id, "Main") == 1
    props = book.fetch_sheet_metadata()["sheets"][0]["properties"]
    assert props["gridProperties"]["frozenRowCount"] == 1


def test_get_fields_mask_and_ranges(book: gspread.Spreadsheet) -> None:
    """spreadsheets.get honours field masks; ranges limit the sheets returned."""
    book.add_worksheet("Other", rows=3, cols=3)
    titles = book.fetch_sheet_metadata({"fields": "sheets(properties(sheetId,title))"})
    assert [s["properties"]["title"] for s in titles["sheets"]] == ["Main", "Other"]
    assert set(titles) == {"sheets"}
    assert set(titles["sheets"][0]["properties"]) == {"sheetId", "title"}
    only = book.fetch_sheet_metadata({"ranges": ["Other!A1"], "includeGridData": "false"})
    assert [s["properties"]["title"] for s in only["sheets"]] == ["Other"]
    assert "data" not in only["sheets"][0]


def test_create_spreadsheet_via_sheets_api(gc: gspread.Client, title: str) -> None:
    """spreadsheets.create returns the new spreadsheet owned by the caller."""
    session = gc.http_client.session
    response = session.post("https://sheets.googleapis.com/v4/spreadsheets",
                            json={"properties": {"title": title},
                                  "sheets": [{"properties": {"title": "A"}},
                                             {"properties": {"title": "B"}}]})
    assert response.status_code == 200
    body = response.json()
    assert [s["properties"]["title"] for s in body["sheets"]] == ["A", "B"]
    assert body["sheets"][0]["properties"]["sheetId"] == 0
    assert gc.open_by_key(body["spreadsheetId"]).title == title


def test_cell_limit(sandbox: SandboxServer, book: gspread.Spreadsheet) -> None:
    """Growing a workbook past 10 million cells is refused."""
    with pytest.raises(gspread.exceptions.APIError) as info:
        book.batch_update({"requests": [{"appendDimension": {
            "sheetId": _sheet_id(book, "Main"), "dimension": "ROWS", "length": 400_000}}]})
    assert "above the limit of 10000000 cells" in info.value.error["message"]
    assert sandbox.grid_size(book.id, "Main") == (1000, 26)


def test_append_cells_and_append_dimension(sandbox: SandboxServer,
                                           book: gspread.Spreadsheet) -> None:
    """appendCells writes after the last row with data; appendDimension grows the grid."""
    sid = _sheet_id(book, "Main")
    book.batch_update({"requests": [
        {"appendCells": {"sheetId": sid, "fields": "userEnteredValue,note", "rows": [
            {"values": [{"userEnteredValue": {"numberValue": 5}},
                        {"userEnteredValue": {"stringValue": "Ed"}, "note": "new"}]}]}},
        {"appendDimension": {"sheetId": sid, "dimension": "COLUMNS", "length": 4}},
    ]})
    assert sandbox.values(book.id, "Main")[5] == [5, "Ed"]
    assert sandbox.note(book.id, "Main", "B6") == "new"
    assert sandbox.grid_size(book.id, "Main") == (1000, 30)


def test_update_cells_range_clears_uncovered_cells(sandbox: SandboxServer,
                                                   book: gspread.Spreadsheet) -> None:
    """updateCells with a range clears the masked fields of cells the rows do not cover."""
    sid = _sheet_id(book, "Main")
    book.batch_update({"requests": [{"updateCells": {
        "range": {"sheetId": sid, "startRowIndex": 1, "endRowIndex": 3,
                  "startColumnIndex": 0, "endColumnIndex": 2},
        "rows": [{"values": [{"userEnteredValue": {"boolValue": True}}]}],
        "fields": "userEnteredValue",
    }}]})
    rows = sandbox.values(book.id, "Main")
    assert [r[:3] for r in rows[1:3]] == [[True, None, "lost"], [None, None, "won"]]


def test_update_cells_past_grid_is_rejected(book: gspread.Spreadsheet) -> None:
    """updateCells whose data would leave the grid answers 400 and writes nothing."""
    with pytest.raises(gspread.exceptions.APIError) as info:
        book.batch_update({"requests": [{"updateCells": {
            "start": {"sheetId": _sheet_id(book, "Main"), "rowIndex": 999,
                      "columnIndex": 0},
            "rows": [{"values": [{"userEnteredValue": {"stringValue": "x"}}]}] * 2,
            "fields": "userEnteredValue",
        }}]})
    assert "exceeds grid limits" in info.value.error["message"]


def test_values_in_response_and_formula_render(book: gspread.Spreadsheet) -> None:
    """includeValuesInResponse echoes the written cells with the requested render option."""
    result = book.values_update(
        "Main!E1",
        params={"valueInputOption": "USER_ENTERED", "includeValuesInResponse": "true",
                "responseValueRenderOption": "FORMULA"},
        body={"values": [["=A2*2", "2024-05-06"]]},
    )
    assert result["updatedData"]["values"] == [["=A2*2", 45418]]


def test_copy_sheet_to_another_spreadsheet(sandbox: SandboxServer, gc: gspread.Client,
                                           book: gspread.Spreadsheet, title: str) -> None:
    """sheets.copyTo appends "Copy of <title>" with the same values to the destination."""
    target = gc.create(f"{title} target")
    props = book.worksheet("Main").copy_to(target.id)
    assert props["title"] == "Copy of Main"
    assert sandbox.values(target.id, "Copy of Main") == sandbox.values(book.id, "Main")
    again = book.worksheet("Main").copy_to(target.id)
    assert again["title"] == "Copy of Main 2"


def test_failed_batch_keeps_notes_formats_and_values(sandbox: SandboxServer,
                                                     book: gspread.Spreadsheet) -> None:
    """Cell changes made earlier in a failing batch (notes, formats, values) are all undone."""
    sid = _sheet_id(book, "Main")
    sandbox.set_note(book.id, "Main", "B2", "human")
    before = sandbox.values(book.id, "Main")
    with pytest.raises(gspread.exceptions.APIError):
        book.batch_update({"requests": [
            {"updateCells": {"start": {"sheetId": sid, "rowIndex": 1, "columnIndex": 1},
                             "rows": [{"values": [{"note": "robot",
                                                   "userEnteredValue": {"stringValue": "X"},
                                                   "userEnteredFormat": {"numberFormat": {
                                                       "type": "NUMBER"}}}]}],
                             "fields": "*"}},
            {"repeatCell": {"range": {"sheetId": sid, "endRowIndex": 3},
                            "cell": {"note": "all"}, "fields": "note"}},
            {"sortRange": {"range": {"sheetId": sid, "startRowIndex": 1},
                           "sortSpecs": [{"dimensionIndex": 0}]}},
            {"deleteSheet": {"sheetId": 424242}},
        ]})
    assert sandbox.note(book.id, "Main", "B2") == "human"
    assert sandbox.note(book.id, "Main", "A1") is None
    assert sandbox.format(book.id, "Main", "B2") == {}
    assert sandbox.values(book.id, "Main") == before


def test_gspread_sheet_property_calls(sandbox: SandboxServer, book: gspread.Spreadsheet) -> None:
    """gspread's update_title, resize, hide/show, tab colour and spreadsheet title work."""
    ws = book.worksheet("Main")
    ws.update_title("客户 'Main'")
    ws.resize(rows=50, cols=8)
    ws.update_tab_color("#ff0000")
    other = book.add_worksheet("Other", rows=5, cols=5)
    other.hide()
    book.update_title("Renamed ledger")
    meta = book.fetch_sheet_metadata()
    props = meta["sheets"][0]["properties"]
    assert props["title"] == "客户 'Main'"
    assert props["gridProperties"] == {"rowCount": 50, "columnCount": 8}
    assert props["tabColorStyle"]["rgbColor"]["red"] == 1
    assert meta["sheets"][1]["properties"]["hidden"] is True
    assert meta["properties"]["title"] == "Renamed ledger"
    assert sandbox.tabs(book.id) == ["客户 'Main'", "Other"]
    assert sandbox.grid_size(book.id, "客户 'Main'") == (50, 8)


def test_the_answer_can_carry_ranges_as_the_batch_left_them(
    sandbox: SandboxServer, gc: gspread.Client, book: gspread.Spreadsheet
) -> None:
    """includeSpreadsheetInResponse + responseRanges + a field mask: the answer holds the
    asked range's cells after every request of the batch, and nothing the mask leaves out."""
    body = {
        "requests": [
            {"deleteDimension": {"range": {"sheetId": _sheet_id(book, "Main"),
                                           "dimension": "ROWS", "startIndex": 1,
                                           "endIndex": 2}}},
        ],
        "includeSpreadsheetInResponse": True,
        "responseRanges": ["'Main'!A1:A"],
        "responseIncludeGridData": True,
    }
    url = f"https://sheets.googleapis.com/v4/spreadsheets/{book.id}:batchUpdate"
    fields = "updatedSpreadsheet.sheets(properties.title,data.rowData.values.effectiveValue)"
    answer = gc.http_client.request("post", url, json=body, params={"fields": fields}).json()
    assert list(answer) == ["updatedSpreadsheet"]
    (sheet,) = answer["updatedSpreadsheet"]["sheets"]
    assert sheet["properties"] == {"title": "Main"}
    column = [row["values"][0]["effectiveValue"] for row in sheet["data"][0]["rowData"]]
    assert column == [{"stringValue": "id"}, {"numberValue": 1}, {"numberValue": 2},
                      {"numberValue": 4}]
    rename = {"updateSheetProperties": {"properties": {"sheetId": _sheet_id(book, "Main"),
                                                       "title": "Main"}, "fields": "title"}}
    plain = book.batch_update({"requests": [rename], "includeSpreadsheetInResponse": True,
                               "responseRanges": ["'Main'!A1:A2"]})
    assert "data" not in plain["updatedSpreadsheet"]["sheets"][0]  # no responseIncludeGridData
