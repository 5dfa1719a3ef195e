"""values:batchGetByDataFilter, expire_tokens() and bounded probability faults."""

from __future__ import annotations

import datetime as dt
from typing import Any

import gspread
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.sandbox import SandboxServer
from syncer.sandbox.faults import FaultInjector

from .conftest import ROBOT, client_for

BASE = "https://sheets.googleapis.com/v4/spreadsheets"


def _by_filter(gc: gspread.Client, sid: str, body: dict[str, Any]) -> dict[str, Any]:
    response = gc.http_client.request(
        "post", f"{BASE}/{sid}/values:batchGetByDataFilter", json=body)
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def ledger(sandbox: SandboxServer) -> str:
    """A two-tab spreadsheet owned by the robot."""
    return sandbox.create_spreadsheet("filters", ROBOT, {
        "客户 list": [["id", "name", "since"], [1, "Ann", dt.date(2024, 1, 2)], [2, "Bo", None]],
        "History": [["id"], [9]],
    })


def test_a1_and_grid_range_filters_answer_google_shape(gc: gspread.Client, ledger: str) -> None:
    """Each filter yields {valueRange, dataFilters:[filter]} in request order."""
    sheet_id = gc.open_by_key(ledger).worksheet("History").id
    grid = {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 2,
            "startColumnIndex": 0, "endColumnIndex": 1}
    out = _by_filter(gc, ledger, {"dataFilters": [{"a1Range": "'客户 list'!A1:B"},
                                                  {"gridRange": grid}]})
    assert out["spreadsheetId"] == ledger
    first, second = out["valueRanges"]
    assert first["dataFilters"] == [{"a1Range": "'客户 list'!A1:B"}]
    assert first["valueRange"] == {"range": "'客户 list'!A1:B1000", "majorDimension": "ROWS",
                                   "values": [["id", "name"], ["1", "Ann"], ["2", "Bo"]]}
    assert second["dataFilters"] == [{"gridRange": grid}]
    assert second["valueRange"]["range"] == "History!A1:A2"
    assert second["valueRange"]["values"] == [["id"], ["9"]]


def test_render_options_and_open_grid_range(gc: gspread.Client, ledger: str) -> None:
    """Body options apply; a gridRange without indexes is the whole sheet."""
    out = _by_filter(gc, ledger, {
        "dataFilters": [{"gridRange": {"sheetId": 0}}],
        "majorDimension": "COLUMNS", "valueRenderOption": "UNFORMATTED_VALUE",
        "dateTimeRenderOption": "FORMATTED_STRING"})
    value_range = out["valueRanges"][0]["valueRange"]
    assert value_range["majorDimension"] == "COLUMNS"
    assert value_range["values"] == [["id", 1, 2], ["name", "Ann", "Bo"], ["since", "2024-01-02"]]


def test_filter_errors_are_google_400s(gc: gspread.Client, ledger: str) -> None:
    """Unknown sheet ids, bad ranges and bad options answer 400, never 500."""
    bodies: list[dict[str, Any]] = [
        {"dataFilters": [{"gridRange": {"sheetId": 424242}}]},
        {"dataFilters": [{"a1Range": "Nope!A1"}]},
        {"dataFilters": [{"gridRange": {"sheetId": 0, "endRowIndex": 5000}}]},
        {"dataFilters": [{}]},
        {"dataFilters": [{"a1Range": "A1"}], "majorDimension": "DIAGONAL"},
    ]
    messages = []
    for body in bodies:
        with pytest.raises(gspread.exceptions.APIError) as info:
            _by_filter(gc, ledger, body)
        assert info.value.code == 400
        messages.append(info.value.error["message"])
    assert "No grid with id: 424242" in messages[0]
    assert messages[1] == "Unable to parse range: Nope!A1"
    assert "exceeds grid limits" in messages[2]


def test_data_filter_read_counts_as_read(sandbox: SandboxServer, gc: gspread.Client,
                                         ledger: str) -> None:
    """batchGetByDataFilter is a POST but is logged (and charged) as a read."""
    sandbox.clear_log()
    _by_filter(gc, ledger, {"dataFilters": [{"a1Range": "History"}]})
    sheets = [(e.kind, e.status) for e in sandbox.request_log if e.api == "sheets"]
    assert sheets == [("read", 200)]


def test_reader_may_filter_but_stranger_may_not(sandbox: SandboxServer, make_client: Any,
                                                ledger: str) -> None:
    """A reader gets values; a caller it is not shared with gets 403."""
    reader, stranger = make_client("r@sandbox.iam.gserviceaccount.com"), make_client(
        "s@sandbox.iam.gserviceaccount.com")
    sandbox.share(ledger, "r@sandbox.iam.gserviceaccount.com", "reader")
    out = _by_filter(reader, ledger, {"dataFilters": [{"a1Range": "History!A2"}]})
    assert out["valueRanges"][0]["valueRange"]["values"] == [["9"]]
    with pytest.raises(gspread.exceptions.APIError) as info:
        _by_filter(stranger, ledger, {"dataFilters": [{"a1Range": "History!A2"}]})
    assert info.value.code == 403


def test_expire_tokens_forces_a_refresh() -> None:
    """After expire_tokens() the next call gets 401, google-auth refreshes once and retries."""
    with SandboxServer(seed=5) as server:
        gc = client_for(server)
        sid = server.create_spreadsheet("t", ROBOT, {"Sheet1": [["a"]]})
        assert gc.open_by_key(sid).sheet1.acell("A1").value == "a"
        assert server.expire_tokens() == 1
        server.clear_log()
        assert gc.open_by_key(sid).sheet1.acell("A1").value == "a"
        kinds = [(e.kind, e.status) for e in server.request_log]
        assert kinds[:3] == [("read", 401), ("token", 200), ("read", 200)]
        assert kinds.count(("token", 200)) == 1
        assert server.expire_tokens() == 1  # only the fresh token was still live


@given(times=st.integers(1, 5), probability=st.floats(0.05, 1.0), seed=st.integers(0, 99))
@settings(max_examples=40, deadline=None)
def test_probability_fault_fires_at_most_times(times: int, probability: float,
                                               seed: int) -> None:
    """A probability fault with times=N fires at most N times, then never again."""
    injector = FaultInjector(seed)
    injector.inject(500, probability=probability, times=times)
    fired = [injector.decide("sheets").status for _ in range(1000)]
    hits = [i for i, status in enumerate(fired) if status == 500]
    assert len(hits) == times  # 1000 draws at p >= 0.05 average 50+ hits
    assert all(status is None for status in fired[hits[-1] + 1:])


def test_inject_rejects_ambiguous_arguments() -> None:
    """Arguments that would make a fault unbounded or meaningless raise instead of passing."""
    injector = FaultInjector(0)
    bad: dict[str, Any]
    for bad in ({"times": 0}, {"times": -1}, {"on_request": 0},
                {"on_request": 2, "probability": 0.5}, {"probability": 1.5}):
        with pytest.raises(ValueError, match=r"on_request|probability|times"):
            injector.inject(503, **bad)
    assert injector.faults == []


def test_http_probability_fault_with_times_one(sandbox: SandboxServer, gc: gspread.Client,
                                               ledger: str) -> None:
    """Through HTTP, inject(probability=1.0, times=1) fails exactly one request."""
    sandbox.inject(500, probability=1.0, times=1, api="sheets")
    sandbox.clear_log()
    body = {"dataFilters": [{"a1Range": "History"}]}
    with pytest.raises(gspread.exceptions.APIError) as info:
        _by_filter(gc, ledger, body)
    assert info.value.code == 500
    _by_filter(gc, ledger, body)
    _by_filter(gc, ledger, body)
    # Only Sheets calls: google-auth may make a background call of its own meanwhile.
    assert [e.status for e in sandbox.request_log if e.api == "sheets"] == [500, 200, 200]
