"""Sharing like Google: owner, reader, writer, unshared, unknown."""

from __future__ import annotations

import gspread
import pytest

from syncer.sandbox import SandboxServer

from .conftest import ROBOT, ClientFactory

ALICE = "alice@sandbox.iam.gserviceaccount.com"


def test_unshared_caller_gets_403(sandbox: SandboxServer, make_client: ClientFactory,
                                  title: str) -> None:
    """A spreadsheet not shared with the caller answers 403 with Google's body."""
    sid = sandbox.create_spreadsheet(title, "someone@example.com", {"Sheet1": [["x"]]})
    client = make_client(ALICE)
    with pytest.raises(gspread.exceptions.APIError) as info:
        client.http_client.values_get(sid, "Sheet1!A1")
    assert info.value.code == 403
    assert info.value.error == {"code": 403, "message": "The caller does not have permission",
                                "status": "PERMISSION_DENIED"}
    with pytest.raises(PermissionError):
        client.open_by_key(sid)


def test_unknown_spreadsheet_is_404(gc: gspread.Client) -> None:
    """An id that does not exist answers 404 'Requested entity was not found.'."""
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        gc.open_by_key("1doesnotexist")
    with pytest.raises(gspread.exceptions.APIError) as info:
        gc.http_client.values_get("1doesnotexist", "A1")
    assert info.value.error["message"] == "Requested entity was not found."
    assert info.value.error["status"] == "NOT_FOUND"


def test_reader_reads_but_cannot_write(sandbox: SandboxServer, make_client: ClientFactory,
                                       title: str) -> None:
    """A reader can read; any write answers 403 and changes nothing."""
    sid = sandbox.create_spreadsheet(title, ROBOT, {"Sheet1": [["keep"]]})
    sandbox.share(sid, ALICE, "reader")
    ws = make_client(ALICE).open_by_key(sid).sheet1
    assert ws.get_all_values() == [["keep"]]
    version = sandbox.drive_version(sid)
    with pytest.raises(gspread.exceptions.APIError) as info:
        ws.update([["changed"]], "A1")
    assert info.value.code == 403
    with pytest.raises(gspread.exceptions.APIError):
        ws.freeze(rows=1)
    assert sandbox.values(sid, "Sheet1") == [["keep"]]
    assert sandbox.drive_version(sid) == version


def test_writer_can_write(sandbox: SandboxServer, make_client: ClientFactory,
                          title: str) -> None:
    """A writer can change values."""
    sid = sandbox.create_spreadsheet(title, ROBOT)
    sandbox.share(sid, ALICE, "writer")
    make_client(ALICE).open_by_key(sid).sheet1.update([["w"]], "B2")
    assert sandbox.values(sid, "Sheet1") == [[], [None, "w"]]


def test_sharing_through_drive_grants_access(gc: gspread.Client, make_client: ClientFactory,
                                             title: str) -> None:
    """permissions.create by the owner lets the other account open the file."""
    sh = gc.create(title)
    bob = "bob@sandbox.iam.gserviceaccount.com"
    with pytest.raises(PermissionError):
        make_client(bob).open_by_key(sh.id)
    sh.share(bob, perm_type="user", role="writer", notify=False)
    assert make_client(bob).open_by_key(sh.id).title == title
    emails = {p.get("emailAddress"): p["role"] for p in sh.list_permissions()}
    assert emails == {ROBOT: "owner", bob: "writer"}


def test_reader_cannot_share(sandbox: SandboxServer, make_client: ClientFactory,
                             title: str) -> None:
    """A reader sharing the file gets Drive's insufficientFilePermissions 403."""
    sid = sandbox.create_spreadsheet(title, ROBOT)
    sandbox.share(sid, ALICE, "reader")
    with pytest.raises(gspread.exceptions.APIError) as info:
        make_client(ALICE).insert_permission(sid, "eve@example.com", "user", "writer",
                                             notify=False)
    assert info.value.code == 403
    assert info.value.error["errors"][0]["reason"] == "insufficientFilePermissions"
