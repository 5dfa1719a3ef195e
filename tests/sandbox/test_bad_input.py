"""Bad input answers Google's 4xx statuses and JSON error bodies, never a 500."""

from __future__ import annotations

from typing import Any

import gspread
import pytest

from syncer.sandbox import SandboxServer

from .conftest import ROBOT

BASE = "https://sheets.googleapis.com/v4/spreadsheets"


@pytest.fixture(scope="module")
def sid(sandbox: SandboxServer) -> str:
    """A spreadsheet for the malformed requests."""
    return sandbox.create_spreadsheet("bad input", ROBOT, {"S": [["a", "b"]]})


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", "/values/S!A1?valueInputOption=RAW", b"[1, 2]"),
        ("put", "/values/S!A1?valueInputOption=RAW", b'{"values": "nope"}'),
        ("put", "/values/S!A1?valueInputOption=RAW", b'{"values": [[{"a": 1}]]}'),
        ("put", "/values/S!A1?valueInputOption=RAW", b'{"values": [[1]], "majorDimension": "X"}'),
        ("put", "/values/S!A1?valueInputOption=NOPE", b'{"values": [[1]]}'),
        ("post", "/values/S!A1:append?valueInputOption=RAW", b"not json"),
        ("post", "/values/S!A1:append?valueInputOption=RAW&insertDataOption=X",
         b'{"values": [[1]]}'),
        ("get", "/values/S!A1?valueRenderOption=PRETTY", b""),
        ("get", "/values/S!ZZZZ1", b""),
        ("post", "/values:batchUpdate", b'{"valueInputOption": "RAW", "data": [{"values": []}]}'),
        ("post", "/values:batchUpdate", b'{"valueInputOption": "RAW", "data": "x"}'),
        ("post", "/values:batchClear", b'{"ranges": "S!A1"}'),
        ("post", ":batchUpdate", b'{"requests": []}'),
        ("post", ":batchUpdate", b'{"requests": [{"addSheet": "x"}]}'),
        ("post", ":batchUpdate", b'{"requests": [{"insertDimension": {"range": {}}}]}'),
        ("post", ":batchUpdate",
         b'{"requests": [{"deleteDimension": {"range": {"sheetId": 0, "dimension": "ROWS",'
         b' "startIndex": 5, "endIndex": 2000}}}]}'),
        ("post", ":batchUpdate",
         b'{"requests": [{"updateCells": {"range": {"sheetId": 0}, "fields": "bogus"}}]}'),
        ("post", ":batchUpdate",
         b'{"requests": [{"repeatCell": {"range": {"sheetId": 0, "endRowIndex": "x"},'
         b' "fields": "note"}}]}'),
        ("post", ":batchUpdate", b'{"requests": [{"sortRange": {"range": {"sheetId": 0},'
         b' "sortSpecs": [{"dimensionIndex": 99}]}}]}'),
        ("get", "?fields=sheets(properties", b""),
    ],
)
def test_malformed_requests_answer_400(gc: gspread.Client, sid: str, method: str, path: str,
                                       body: bytes) -> None:
    """Each malformed request answers 400 INVALID_ARGUMENT in Google's error shape."""
    session: Any = gc.http_client.session
    response = session.request(method, f"{BASE}/{sid}{path}", data=body,
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["code"] == 400
    assert error["message"]


def test_unknown_routes_answer_404(gc: gspread.Client, sid: str) -> None:
    """Paths the sandbox does not serve answer a JSON 404."""
    session: Any = gc.http_client.session
    response = session.post(f"{BASE}/{sid}/values:batchUpdateByDataFilter", json={})
    assert response.status_code == 404
    assert response.json()["error"]["status"] == "NOT_FOUND"
