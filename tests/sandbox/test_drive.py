"""Drive v3 through gspread: metadata and versions, list, copy, export, delete."""

from __future__ import annotations

import datetime as dt
import io

import gspread
import openpyxl
import pytest
from gspread.utils import ExportFormat

from syncer.sandbox import SandboxServer

from .conftest import ROBOT


def _drive_get(gc: gspread.Client, sid: str, fields: str) -> dict[str, str]:
    response = gc.http_client.request(
        "get", f"https://www.googleapis.com/drive/v3/files/{sid}", params={"fields": fields})
    result: dict[str, str] = response.json()
    return result


def test_version_increases_on_every_change(sandbox: SandboxServer, gc: gspread.Client,
                                           title: str) -> None:
    """files.get's version grows on API writes and human edits, not on reads."""
    sh = gc.create(title)
    v0 = int(_drive_get(gc, sh.id, "version,modifiedTime")["version"])
    sh.sheet1.update([["a"]], "A1")
    v1 = int(_drive_get(gc, sh.id, "version")["version"])
    sh.sheet1.get_all_values()
    v2 = int(_drive_get(gc, sh.id, "version")["version"])
    sandbox.set_values(sh.id, "Sheet1", "B1", [["human"]])
    meta = _drive_get(gc, sh.id, "id,name,version,modifiedTime")
    assert v0 < v1 == v2 < int(meta["version"])
    assert set(meta) == {"id", "name", "version", "modifiedTime"}
    assert meta["modifiedTime"].endswith("Z")
    dt.datetime.fromisoformat(meta["modifiedTime"].replace("Z", "+00:00"))


def test_files_get_default_fields_and_gspread_metadata(gc: gspread.Client, title: str) -> None:
    """Without fields, files.get answers kind/id/name/mimeType; gspread's own call works."""
    sh = gc.create(title)
    assert _drive_get(gc, sh.id, "") == {
        "kind": "drive#file", "id": sh.id, "name": title,
        "mimeType": "application/vnd.google-apps.spreadsheet"}
    assert gc.http_client.get_file_drive_metadata(sh.id)["name"] == title


def test_unshared_file_is_not_found_in_drive(sandbox: SandboxServer, gc: gspread.Client,
                                             title: str) -> None:
    """Drive hides files the caller cannot see: 404 notFound in Drive's error shape."""
    sid = sandbox.create_spreadsheet(title, "other@example.com")
    with pytest.raises(gspread.exceptions.APIError) as info:
        gc.http_client.get_file_drive_metadata(sid)
    assert info.value.code == 404
    assert info.value.error["errors"][0]["reason"] == "notFound"
    assert info.value.error["message"] == f"File not found: {sid}."


def test_open_by_title_lists_only_visible_files(sandbox: SandboxServer, gc: gspread.Client,
                                                title: str) -> None:
    """files.list by name finds the caller's spreadsheet and not others' of the same name."""
    sandbox.create_spreadsheet(title, "other@example.com")
    mine = gc.create(title)
    assert gc.open(title).id == mine.id
    assert [f["id"] for f in gc.list_spreadsheet_files(title)] == [mine.id]


def test_copy_and_delete(sandbox: SandboxServer, gc: gspread.Client, title: str) -> None:
    """files.copy duplicates content under a new id; files.delete removes the file."""
    sid = sandbox.create_spreadsheet(title, ROBOT, {"Main": [["k", "v"], [1, "x"]]})
    copy = gc.copy(sid, title=f"{title} backup", copy_permissions=False)
    assert copy.id != sid
    assert sandbox.values(copy.id, "Main") == [["k", "v"], [1, "x"]]
    gc.del_spreadsheet(copy.id)
    assert copy.id not in sandbox.spreadsheet_ids()


def test_export_xlsx_and_csv(sandbox: SandboxServer, gc: gspread.Client, title: str) -> None:
    """files.export gives an .xlsx with typed cells and a CSV of the first sheet."""
    sid = sandbox.create_spreadsheet(title, ROBOT, {
        "Main": [["name", "since", "n"], ["Ann", dt.date(2024, 1, 5), 2], ["=x", None, True]],
        "Second": [["z"]],
    })
    sandbox.set_note(sid, "Main", "A2", "vip")
    data = gc.export(sid, ExportFormat.EXCEL)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Main", "Second"]
    main = book["Main"]
    assert main["B2"].value == dt.datetime(2024, 1, 5)
    assert main["C2"].value == 2
    assert main["A2"].comment is not None
    assert main["A2"].comment.text == "vip"
    csv_bytes = gc.export(sid, ExportFormat.CSV)
    assert csv_bytes.decode().splitlines() == ["name,since,n", "Ann,2024-01-05,2", "#NAME?,,TRUE"]


def test_unsupported_export_is_400(gc: gspread.Client, title: str) -> None:
    """Exporting to a format the sandbox does not convert answers 400."""
    sh = gc.create(title)
    with pytest.raises(gspread.exceptions.APIError) as info:
        gc.export(sh.id, ExportFormat.PDF)
    assert info.value.code == 400


def test_remove_permission(gc: gspread.Client, title: str) -> None:
    """permissions.delete revokes a share."""
    sh = gc.create(title)
    sh.share("carol@example.com", perm_type="user", role="reader", notify=False)
    sh.remove_permissions("carol@example.com")
    assert [p["role"] for p in sh.list_permissions()] == ["owner"]
