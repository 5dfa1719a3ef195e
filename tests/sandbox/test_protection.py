"""Protected ranges enforced like Google: only the owner and the protection's editors
edit inside it; anyone else's write touching it is refused whole with Google's 400."""

from __future__ import annotations

from typing import Any

import gspread
import pytest

from syncer.sandbox import ProtectedEdit, SandboxServer
from syncer.sandbox.protection import PROTECTED_MESSAGE

from .conftest import ROBOT, ClientFactory

ALICE = "alice@sandbox.iam.gserviceaccount.com"
OWNER = "owner@example.com"
ROWS = [["id", "name"], ["K1", "one"], ["K2", "two"], ["K3", "three"]]


def ledger(sandbox: SandboxServer, title: str) -> str:
    """A spreadsheet owned by OWNER, shared with the robot and Alice as writers."""
    sid = sandbox.create_spreadsheet(title, OWNER, {"Main": [list(r) for r in ROWS]})
    sandbox.share(sid, ROBOT, "writer")
    sandbox.share(sid, ALICE, "writer")
    return sid


def protect(client: gspread.Client, sid: str, grid: dict[str, Any], **extra: Any) -> int:
    """Add a protected range as ``client``; its id."""
    body = {"requests": [{"addProtectedRange": {"protectedRange": {"range": grid, **extra}}}]}
    reply = client.http_client.batch_update(sid, body)["replies"][0]
    return int(reply["addProtectedRange"]["protectedRange"]["protectedRangeId"])


def refused(call: Any) -> bool:
    """True when ``call`` fails with Google's protected-cell 400, False when it lands."""
    try:
        call()
    except gspread.exceptions.APIError as exc:
        error = (exc.code, exc.error["message"], exc.error["status"])
        return bool(error == (400, PROTECTED_MESSAGE, "INVALID_ARGUMENT")) or pytest.fail(
            f"not Google's protected-cell error: {exc.error}"
        )
    return False


def test_a_protected_sheet_refuses_other_editors_writes_of_every_kind(
    sandbox: SandboxServer, gc: gspread.Client, make_client: ClientFactory, title: str
) -> None:
    """The robot protects the sheet: Alice's value write, append, clear, row deletion,
    sort and cell update are each refused and change nothing; the robot still writes."""
    sid = ledger(sandbox, title)
    protect(gc, sid, {"sheetId": 0})
    alice = make_client(ALICE).http_client
    grid = {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 4}
    calls = [
        lambda: alice.values_update(
            sid, "Main!B2", params={"valueInputOption": "RAW"}, body={"values": [["x"]]}
        ),
        lambda: alice.values_append(
            sid, "Main!A1", params={"valueInputOption": "RAW"}, body={"values": [["K9"]]}
        ),
        lambda: alice.values_clear(sid, "Main!B3"),
        lambda: alice.batch_update(
            sid,
            {
                "requests": [
                    {
                        "deleteDimension": {
                            "range": {
                                "sheetId": 0,
                                "dimension": "ROWS",
                                "startIndex": 1,
                                "endIndex": 2,
                            }
                        }
                    }
                ]
            },
        ),
        lambda: alice.batch_update(
            sid,
            {"requests": [{"sortRange": {"range": grid, "sortSpecs": [{"dimensionIndex": 1}]}}]},
        ),
        lambda: alice.batch_update(
            sid,
            {
                "requests": [
                    {
                        "updateCells": {
                            "start": {"sheetId": 0, "rowIndex": 1, "columnIndex": 1},
                            "rows": [{"values": [{"userEnteredValue": {"stringValue": "y"}}]}],
                            "fields": "userEnteredValue",
                        }
                    }
                ]
            },
        ),
    ]
    assert [refused(call) for call in calls] == [True] * len(calls)
    assert sandbox.values(sid, "Main") == ROWS
    assert not refused(
        lambda: gc.http_client.values_update(
            sid, "Main!B2", params={"valueInputOption": "RAW"}, body={"values": [["robot"]]}
        )
    )
    assert sandbox.values(sid, "Main")[1][1] == "robot"


def test_a_protected_range_refuses_only_the_cells_it_covers(
    sandbox: SandboxServer, gc: gspread.Client, make_client: ClientFactory, title: str
) -> None:
    """Column A of rows 2-3 protected: Alice may write column B, not A2."""
    sid = ledger(sandbox, title)
    protect(
        gc,
        sid,
        {
            "sheetId": 0,
            "startRowIndex": 1,
            "endRowIndex": 3,
            "startColumnIndex": 0,
            "endColumnIndex": 1,
        },
    )
    alice = make_client(ALICE).http_client
    opts = {"valueInputOption": "RAW"}
    assert not refused(
        lambda: alice.values_update(sid, "Main!B2", params=opts, body={"values": [["b"]]})
    )
    assert refused(
        lambda: alice.values_update(sid, "Main!A2", params=opts, body={"values": [["a"]]})
    )
    assert not refused(
        lambda: alice.values_update(sid, "Main!A4", params=opts, body={"values": [["K4"]]})
    )


def test_the_owner_and_warning_only_protections_let_edits_through(
    sandbox: SandboxServer, gc: gspread.Client, make_client: ClientFactory, title: str
) -> None:
    """The owner passes any protection; a warning-only one blocks nobody."""
    sid = ledger(sandbox, title)
    pid = protect(gc, sid, {"sheetId": 0})
    sandbox.set_values(sid, "Main", "B2", [["owner"]], user=OWNER)
    with pytest.raises(ProtectedEdit):
        sandbox.set_values(sid, "Main", "B3", [["alice"]], user=ALICE)
    with pytest.raises(ProtectedEdit):
        sandbox.insert_rows(sid, "Main", 2, user=ALICE)
    gc.http_client.batch_update(
        sid, {"requests": [{"deleteProtectedRange": {"protectedRangeId": pid}}]}
    )
    protect(gc, sid, {"sheetId": 0}, warningOnly=True)
    sandbox.set_values(sid, "Main", "B3", [["alice"]], user=ALICE)
    assert [r[1] for r in sandbox.values(sid, "Main")[1:3]] == ["owner", "alice"]


def test_only_its_editors_remove_a_protection(
    sandbox: SandboxServer, gc: gspread.Client, make_client: ClientFactory, title: str
) -> None:
    """The adder is listed as an editor beside the owner; Alice cannot remove it."""
    sid = ledger(sandbox, title)
    pid = protect(gc, sid, {"sheetId": 0}, description="robot lock")
    [listed] = sandbox.protected_ranges(sid, "Main")
    assert listed["editors"]["users"] == [OWNER, ROBOT]
    alice = make_client(ALICE).http_client
    body = {"requests": [{"deleteProtectedRange": {"protectedRangeId": pid}}]}
    assert refused(lambda: alice.batch_update(sid, body))
    assert not refused(lambda: gc.http_client.batch_update(sid, body))
    assert sandbox.protected_ranges(sid, "Main") == []


def test_a_sheet_has_one_sheet_protection_and_ranges_keep_open_ends(
    sandbox: SandboxServer, gc: gspread.Client, make_client: ClientFactory, title: str
) -> None:
    """A second whole-sheet protection is refused with Google's message; a column range
    with no row bounds stays open and covers rows added after it."""
    sid = ledger(sandbox, title)
    protect(gc, sid, {"sheetId": 0}, warningOnly=True)
    with pytest.raises(gspread.exceptions.APIError) as info:
        protect(gc, sid, {"sheetId": 0})
    assert info.value.error["message"] == (
        'Invalid requests[0].addProtectedRange: Sheet "Main" already has sheet protection.'
    )
    protect(gc, sid, {"sheetId": 0, "startColumnIndex": 0, "endColumnIndex": 2})
    assert sandbox.protected_ranges(sid, "Main")[1]["range"] == {
        "sheetId": 0,
        "endColumnIndex": 2,
    }
    sandbox.insert_rows(sid, "Main", 5, count=50)
    with pytest.raises(ProtectedEdit):
        sandbox.set_values(sid, "Main", "A50", [["late"]], user=ALICE)
