"""Quotas (429), injected faults, the request log and per-request hooks."""

from __future__ import annotations

from collections.abc import Iterator

import gspread
import pytest
import requests

from syncer.sandbox import LoggedRequest, QuotaConfig, SandboxServer
from syncer.sandbox.faults import FaultInjector

from .conftest import ROBOT, client_for

OTHER = "other@sandbox.iam.gserviceaccount.com"


@pytest.fixture
def limited() -> Iterator[SandboxServer]:
    """A server of its own with tiny quotas: 3 reads per user, 4 per project."""
    with SandboxServer(quotas=QuotaConfig(read_per_user=3, write_per_user=2,
                                          read_per_project=4, write_per_project=10),
                       seed=11) as server:
        yield server


def test_read_quota_per_user_answers_429(limited: SandboxServer) -> None:
    """The 4th read in a minute answers 429 RESOURCE_EXHAUSTED with Google's message."""
    sid = limited.create_spreadsheet("q", ROBOT, {"S": [["x"]]})
    client = client_for(limited).http_client
    for _ in range(3):
        client.values_get(sid, "S!A1")
    with pytest.raises(gspread.exceptions.APIError) as info:
        client.values_get(sid, "S!A1")
    error = info.value.error
    assert error["code"] == 429
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["message"].startswith(
        "Quota exceeded for quota metric 'Read requests' and limit "
        "'Read requests per minute per user' of service 'sheets.googleapis.com'")
    assert error["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    client.values_update(sid, "S!A1", params={"valueInputOption": "RAW"},
                         body={"values": [["writes still allowed"]]})
    limited.advance_clock(60)
    assert client.values_get(sid, "S!A1")["values"] == [["writes still allowed"]]


def test_project_quota_spans_users(limited: SandboxServer) -> None:
    """Reads by two accounts share the per-project limit."""
    sid = limited.create_spreadsheet("q", ROBOT, {"S": [["x"]]})
    limited.share(sid, OTHER, "reader")
    robot, other = client_for(limited).http_client, client_for(limited, OTHER).http_client
    for client in (robot, robot, other, other):
        client.values_get(sid, "S!A1")
    with pytest.raises(gspread.exceptions.APIError) as info:
        other.values_get(sid, "S!A1")
    assert "per minute'" in info.value.error["message"]
    assert "per user" not in info.value.error["message"]


def test_each_user_has_its_own_quota_bucket(limited: SandboxServer) -> None:
    """A user who used up their reads does not hold back another user (as `syncer sandbox
    --user` promises): the other's read passes while the project has room."""
    sid = limited.create_spreadsheet("q", ROBOT, {"S": [["x"]]})
    limited.share(sid, OTHER, "reader")
    robot, other = client_for(limited).http_client, client_for(limited, OTHER).http_client
    for _ in range(3):
        robot.values_get(sid, "S!A1")
    with pytest.raises(gspread.exceptions.APIError) as info:
        robot.values_get(sid, "S!A1")
    assert "per user" in info.value.error["message"]
    assert other.values_get(sid, "S!A1")["values"] == [["x"]]


def test_quotas_can_be_switched_off(limited: SandboxServer) -> None:
    """set_quotas(None) lifts every limit."""
    sid = limited.create_spreadsheet("q", ROBOT, {"S": [["x"]]})
    limited.set_quotas(QuotaConfig(enabled=False))
    client = client_for(limited).http_client
    for _ in range(10):
        client.values_get(sid, "S!A1")
    assert sum(1 for e in limited.request_log if e.status == 200 and e.kind == "read") == 10


def test_fault_on_chosen_request(sandbox: SandboxServer, gc: gspread.Client) -> None:
    """A 503 injected on the 2nd Sheets request hits exactly that request."""
    sid = sandbox.create_spreadsheet("f", ROBOT, {"S": [["x"]]})
    gc.http_client.values_get(sid, "S!A1")
    sandbox.inject(503, on_request=2, api="sheets")
    gc.http_client.values_get(sid, "S!A1")
    with pytest.raises(gspread.exceptions.APIError) as info:
        gc.http_client.values_get(sid, "S!A1")
    assert info.value.error == {"code": 503, "message": "The service is currently unavailable.",
                                "status": "UNAVAILABLE"}
    assert gc.http_client.values_get(sid, "S!A1")["values"] == [["x"]]
    assert [e.status for e in sandbox.request_log if e.kind == "read"] == [200, 200, 503, 200]


def test_dropped_connection(sandbox: SandboxServer, gc: gspread.Client) -> None:
    """A dropped connection reaches requests as a ConnectionError; the next call works."""
    sid = sandbox.create_spreadsheet("f", ROBOT, {"S": [["x"]]})
    gc.http_client.values_get(sid, "S!A1")
    sandbox.inject(drop=True, api="sheets")
    with pytest.raises(requests.exceptions.ConnectionError):
        gc.http_client.values_get(sid, "S!A1")
    assert gc.http_client.values_get(sid, "S!A1")["values"] == [["x"]]
    assert [e.status for e in sandbox.request_log if e.kind == "read"] == [200, 0, 200]


def test_probabilistic_faults_are_reproducible() -> None:
    """The same seed and probability fault the same requests."""
    patterns = []
    for _ in range(2):
        injector = FaultInjector()
        injector.inject(500, probability=0.3, seed=42)
        patterns.append([injector.decide("sheets").status for _ in range(50)])
    assert patterns[0] == patterns[1]
    assert 0 < patterns[0].count(500) < 50


def test_latency_fault_still_answers(sandbox: SandboxServer, gc: gspread.Client) -> None:
    """A latency-only fault delays a request without failing it."""
    sid = sandbox.create_spreadsheet("f", ROBOT, {"S": [["x"]]})
    fault = sandbox.inject(0, latency=0.01, api="sheets")
    assert gc.http_client.values_get(sid, "S!A1")["values"] == [["x"]]
    assert fault.fired == 1


def test_request_log_records_kinds_and_bytes(sandbox: SandboxServer, gc: gspread.Client,
                                             title: str) -> None:
    """Each request is logged with api, kind, status and byte counts."""
    sid = sandbox.create_spreadsheet(title, ROBOT)
    client = gc.http_client
    client.values_update(sid, "Sheet1!A1", params={"valueInputOption": "RAW"},
                         body={"values": [["a", "b"]]})
    client.values_get(sid, "Sheet1!A1:B1")
    client.get_file_drive_metadata(sid)
    entries = [e for e in sandbox.request_log if e.kind != "token"]
    log = [(e.api, e.kind, e.method, e.status) for e in entries]
    assert log == [
        ("sheets", "write", "PUT", 200),
        ("sheets", "read", "GET", 200),
        ("drive", "drive", "GET", 200),
    ]
    write = entries[0]
    assert write.bytes_in > 0
    assert write.bytes_out > 0
    assert write.user == ROBOT
    assert write.spreadsheet_id == sid
    assert entries[1].path == f"/v4/spreadsheets/{sid}/values/Sheet1!A1:B1"


def test_hook_applies_a_human_edit_between_calls(sandbox: SandboxServer,
                                                 gc: gspread.Client) -> None:
    """A hook runs after each request, before the client sees the response."""
    sid = sandbox.create_spreadsheet("h", ROBOT, {"S": [["k"], ["a"], ["b"]]})
    ws = gc.open_by_key(sid).worksheet("S")
    seen: list[LoggedRequest] = []

    def human(entry: LoggedRequest) -> None:
        if entry.kind != "read":
            return
        seen.append(entry)
        if len(seen) == 1:
            sandbox.insert_rows(sid, "S", 2)
            sandbox.set_values(sid, "S", "A2", [["human"]])

    sandbox.add_hook(human)
    first = ws.get_all_values()
    second = ws.get_all_values()
    assert first == [["k"], ["a"], ["b"]]
    assert second == [["k"], ["human"], ["a"], ["b"]]
    assert len(seen) == 2


def test_failing_hook_is_recorded_not_fatal(sandbox: SandboxServer, gc: gspread.Client) -> None:
    """A hook that raises is logged in hook_errors; the client still gets its answer."""
    sid = sandbox.create_spreadsheet("h", ROBOT, {"S": [["x"]]})

    def broken(entry: LoggedRequest) -> None:
        raise RuntimeError(f"boom on {entry.path}")

    sandbox.add_hook(broken)
    try:
        assert gc.http_client.values_get(sid, "S!A1")["values"] == [["x"]]
        assert any("boom" in str(e) for e in sandbox.hook_errors)
    finally:
        sandbox.hook_errors.clear()
