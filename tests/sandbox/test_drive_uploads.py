"""Drive uploads, folders and shared drives like Google, through a google-auth session."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import gspread
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.sandbox import SandboxServer
from syncer.sandbox.drive import DriveError
from syncer.sandbox.drive_tree_api import STORAGE_QUOTA_MESSAGE
from syncer.sandbox.errors import MAX_REQUEST_BYTES
from syncer.sandbox.multipart import parse_multipart

from .conftest import ROBOT, ClientFactory

UPLOAD = "https://www.googleapis.com/upload/drive/v3/files"
FILES = "https://www.googleapis.com/drive/v3/files"
DRIVES = "https://www.googleapis.com/drive/v3/drives"
FOLDER = "application/vnd.google-apps.folder"
BOSS = "boss@example.com"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _multipart(metadata: dict[str, Any], content: bytes, mime: str,
               boundary: str = "sandbox_boundary_42") -> tuple[bytes, str]:
    body = (
        f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode()
        + json.dumps(metadata).encode()
        + f"\r\n--{boundary}\r\nContent-Type: {mime}\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/related; boundary={boundary}"


def _upload(gc: gspread.Client, metadata: dict[str, Any], content: bytes,
            mime: str = "application/octet-stream", all_drives: bool = True,
            fields: str | None = None) -> Any:
    """A raw session call, so errors come back as responses."""
    body, content_type = _multipart(metadata, content, mime)
    params = {"uploadType": "multipart"}
    if all_drives:
        params["supportsAllDrives"] = "true"
    if fields:
        params["fields"] = fields
    return gc.http_client.session.post(UPLOAD, params=params, data=body,
                                       headers={"Content-Type": content_type})


def _shared_drive_for_robot(sandbox: SandboxServer, role: str = "writer") -> str:
    drive_id = sandbox.create_folder("Backups", BOSS, shared_drive=True)
    sandbox.share_file(drive_id, ROBOT, role)
    return drive_id


def test_multipart_upload_into_shared_drive(sandbox: SandboxServer, gc: gspread.Client) -> None:
    """A service account uploads into a shared drive; metadata, download and state agree."""
    drive_id = _shared_drive_for_robot(sandbox)
    payload = bytes(range(256)) * 40 + b"\r\n--not-a-boundary\r\n"
    response = _upload(gc, {"name": "snap.xlsx", "parents": [drive_id]}, payload, XLSX,
                       fields="id,name,mimeType,parents,size,md5Checksum,driveId")
    assert response.status_code == 200, response.text
    meta = response.json()
    assert meta["name"] == "snap.xlsx"
    assert meta["mimeType"] == XLSX
    assert meta["parents"] == [drive_id]
    assert meta["driveId"] == drive_id
    assert meta["size"] == str(len(payload))
    assert meta["md5Checksum"] == hashlib.md5(payload, usedforsecurity=False).hexdigest()
    download = gc.http_client.session.get(f"{FILES}/{meta['id']}",
                                          params={"alt": "media", "supportsAllDrives": "true"})
    assert download.status_code == 200
    assert download.content == payload == sandbox.file_content(meta["id"])
    assert [f["name"] for f in sandbox.files_in(drive_id)] == ["snap.xlsx"]


def test_service_account_cannot_upload_into_my_drive(sandbox: SandboxServer,
                                                     gc: gspread.Client) -> None:
    """A shared My Drive folder answers Google's 403 storageQuotaExceeded body."""
    folder = sandbox.create_folder("Team backups", BOSS)
    sandbox.share_file(folder, ROBOT, "writer")
    for parents in ([folder], None):
        metadata: dict[str, Any] = {"name": "snap.xlsx"}
        if parents:
            metadata["parents"] = parents
        response = _upload(gc, metadata, b"data", XLSX)
        assert response.status_code == 403
        assert response.json() == {"error": {
            "code": 403, "message": STORAGE_QUOTA_MESSAGE,
            "errors": [{"message": STORAGE_QUOTA_MESSAGE, "domain": "usageLimits",
                        "reason": "storageQuotaExceeded"}]}}
    assert STORAGE_QUOTA_MESSAGE.startswith("Service Accounts do not have storage quota.")
    assert sandbox.files_in(folder) == []


def test_human_uploads_into_own_folder(sandbox: SandboxServer,
                                       make_client: ClientFactory) -> None:
    """A user with storage (not a service account) may upload into My Drive."""
    boss = make_client(BOSS)
    folder = sandbox.create_folder("Mine", BOSS)
    response = _upload(boss, {"name": "a.csv", "parents": [folder]}, b"a,b\n1,2\n", "text/csv",
                       all_drives=False, fields="id,owners,parents")
    assert response.status_code == 200, response.text
    assert response.json()["owners"][0]["emailAddress"] == BOSS
    assert sandbox.file_content(response.json()["id"]) == b"a,b\n1,2\n"


def test_media_upload_and_bad_upload_types(sandbox: SandboxServer, gc: gspread.Client) -> None:
    """uploadType=media names the file Untitled; unknown upload types answer 400."""
    drive_id = _shared_drive_for_robot(sandbox)
    session: Any = gc.http_client.session
    # media uploads carry no metadata, so they land in My Drive: quota error for a robot
    denied = session.post(UPLOAD, params={"uploadType": "media"}, data=b"x",
                          headers={"Content-Type": "text/plain"})
    assert denied.json()["error"]["errors"][0]["reason"] == "storageQuotaExceeded"
    bad = session.post(UPLOAD, params={"uploadType": "chunky"}, data=b"x")
    assert bad.status_code == 400
    assert bad.json()["error"]["errors"][0]["location"] == "uploadType"
    broken = session.post(UPLOAD, params={"uploadType": "multipart"}, data=b"no parts",
                          headers={"Content-Type": "multipart/related; boundary=zz"})
    assert broken.status_code == 400
    assert drive_id in [d["id"] for d in session.get(DRIVES).json()["drives"]]


def test_media_upload_by_a_person(sandbox: SandboxServer, make_client: ClientFactory) -> None:
    """uploadType=media stores the raw body as "Untitled" with the request's Content-Type."""
    session: Any = make_client("media@example.com").http_client.session
    made = session.post(UPLOAD, params={"uploadType": "media", "fields": "id,name,mimeType,size"},
                        data=b"raw bytes", headers={"Content-Type": "text/plain"})
    assert made.status_code == 200, made.text
    meta = made.json()
    assert (meta["name"], meta["mimeType"], meta["size"]) == ("Untitled", "text/plain", "9")
    assert sandbox.file_content(meta["id"]) == b"raw bytes"


def test_folder_in_shared_drive_needs_supports_all_drives(sandbox: SandboxServer,
                                                          gc: gspread.Client) -> None:
    """Folders are created with files.create; shared-drive items hide without the flag."""
    drive_id = _shared_drive_for_robot(sandbox)
    session: Any = gc.http_client.session
    created = session.post(FILES, params={"supportsAllDrives": "true", "fields": "id,driveId"},
                           json={"name": "2026", "mimeType": FOLDER, "parents": [drive_id]})
    assert created.status_code == 200, created.text
    folder = created.json()["id"]
    assert created.json()["driveId"] == drive_id
    hidden = _upload(gc, {"name": "x.bin", "parents": [folder]}, b"x", all_drives=False)
    assert hidden.status_code == 404
    assert hidden.json()["error"]["message"] == f"File not found: {folder}."
    ok = _upload(gc, {"name": "x.bin", "parents": [folder]}, b"x")
    assert ok.status_code == 200
    assert session.get(f"{FILES}/{ok.json()['id']}").status_code == 404
    listed = session.get(FILES, params={
        "q": f"'{folder}' in parents and trashed = false", "supportsAllDrives": "true",
        "includeItemsFromAllDrives": "true", "fields": "files(id,name)"}).json()
    assert listed == {"files": [{"id": ok.json()["id"], "name": "x.bin"}]}
    plain = session.get(FILES, params={"q": f"'{folder}' in parents"}).json()
    assert plain["files"] == []


def test_access_rules_for_parents(sandbox: SandboxServer, gc: gspread.Client) -> None:
    """No access to the parent → 404 notFound; read-only access → 403."""
    drive_id = sandbox.create_folder("Private", BOSS, shared_drive=True)
    folder = sandbox.create_folder("Private folder", BOSS)
    for parent in (drive_id, folder):
        response = _upload(gc, {"name": "x", "parents": [parent]}, b"x")
        assert response.status_code == 404
        assert response.json()["error"]["errors"][0]["reason"] == "notFound"
    sandbox.share_file(drive_id, ROBOT, "reader")
    response = _upload(gc, {"name": "x", "parents": [drive_id]}, b"x")
    assert response.status_code == 403
    assert response.json()["error"]["errors"][0]["reason"] == "insufficientParentPermissions"
    assert gc.http_client.session.get(f"{DRIVES}/{drive_id}").status_code == 200
    other = sandbox.create_folder("Other", BOSS, shared_drive=True)
    assert gc.http_client.session.get(f"{DRIVES}/{other}").status_code == 404


def test_delete_needs_organizer_in_shared_drive(sandbox: SandboxServer, gc: gspread.Client,
                                                make_client: ClientFactory) -> None:
    """A contributor (writer) cannot delete; an organizer deletes a folder and its content."""
    drive_id = _shared_drive_for_robot(sandbox)
    session: Any = gc.http_client.session
    folder = session.post(FILES, params={"supportsAllDrives": "true"},
                          json={"name": "f", "mimeType": FOLDER, "parents": [drive_id]}).json()
    inner = _upload(gc, {"name": "in.bin", "parents": [folder["id"]]}, b"1").json()
    flags = {"supportsAllDrives": "true"}
    assert session.delete(f"{FILES}/{inner['id']}", params=flags).status_code == 403
    boss: Any = make_client(BOSS).http_client.session
    assert boss.delete(f"{FILES}/{folder['id']}", params=flags).status_code == 204
    assert session.get(f"{FILES}/{inner['id']}", params=flags).status_code == 404
    assert sandbox.files_in(drive_id) == []


def test_folder_permissions_are_inherited(sandbox: SandboxServer,
                                          make_client: ClientFactory) -> None:
    """Sharing a folder through permissions.create lets the grantee see what is inside."""
    owner = "owner2@example.com"
    folder = sandbox.create_folder("Shared", owner)
    owner_session: Any = make_client(owner).http_client.session
    item = _upload(make_client(owner), {"name": "r.txt", "parents": [folder]}, b"hi",
                   "text/plain").json()
    reader: Any = make_client("reader2@example.com").http_client.session
    assert reader.get(f"{FILES}/{item['id']}").status_code == 404
    granted = owner_session.post(f"{FILES}/{folder}/permissions", json={
        "type": "user", "role": "reader", "emailAddress": "reader2@example.com"})
    assert granted.status_code == 200
    assert reader.get(f"{FILES}/{item['id']}", params={"alt": "media"}).content == b"hi"
    perms = owner_session.get(f"{FILES}/{folder}/permissions").json()["permissions"]
    assert [(p.get("emailAddress"), p["role"]) for p in perms] == [
        (owner, "owner"), ("reader2@example.com", "reader")]
    denied = reader.post(f"{FILES}/{folder}/permissions", json={
        "type": "user", "role": "reader", "emailAddress": "x@example.com"})
    assert denied.status_code == 403


def test_drives_create_and_list(sandbox: SandboxServer, make_client: ClientFactory) -> None:
    """drives.create needs a requestId and makes the caller organizer; list shows members'."""
    session: Any = make_client("maker@example.com").http_client.session
    assert session.post(DRIVES, json={"name": "D"}).status_code == 400
    made = session.post(DRIVES, params={"requestId": "r-1"}, json={"name": "D"})
    assert made.status_code == 200
    assert made.json()["kind"] == "drive#drive"
    assert session.post(DRIVES, params={"requestId": "r-1"}, json={"name": "D"}).status_code == 409
    names = [d["name"] for d in session.get(DRIVES).json()["drives"]]
    assert names == ["D"]
    stranger: Any = make_client("nobody@example.com").http_client.session
    assert stranger.get(DRIVES).json()["drives"] == []


def test_update_content_and_spreadsheet_download(sandbox: SandboxServer, gc: gspread.Client,
                                                 title: str) -> None:
    """PATCH upload replaces content (version grows); spreadsheets are not downloadable."""
    drive_id = _shared_drive_for_robot(sandbox)
    first = _upload(gc, {"name": "m.json", "parents": [drive_id]}, b"{}", "application/json",
                    fields="id,version").json()
    session: Any = gc.http_client.session
    patched = session.patch(f"{UPLOAD}/{first['id']}",
                            params={"uploadType": "media", "supportsAllDrives": "true",
                                    "fields": "version,size"},
                            data=b'{"a": 1}', headers={"Content-Type": "application/json"})
    assert patched.status_code == 200, patched.text
    assert int(patched.json()["version"]) > int(first["version"])
    assert sandbox.file_content(first["id"]) == b'{"a": 1}'
    sheet = gc.create(title)
    refused = session.get(f"{FILES}/{sheet.id}", params={"alt": "media"})
    assert refused.status_code == 403
    assert refused.json()["error"]["errors"][0]["reason"] == "fileNotDownloadable"


def test_direct_state_guards() -> None:
    """share_file and file_content refuse unknown ids and impossible roles clearly."""
    with SandboxServer(seed=1) as server:
        folder = server.create_folder("f", BOSS)
        with pytest.raises(ValueError, match="only in shared drives"):
            server.share_file(folder, "a@example.com", "organizer")
        with pytest.raises(KeyError, match="no file, folder or shared drive"):
            server.share_file("nope", "a@example.com", "reader")
        with pytest.raises(KeyError, match="no uploaded file or folder"):
            server.file_content("nope")


@given(content=st.binary(max_size=2000), name=st.text(max_size=30))
@settings(max_examples=60, deadline=None)
def test_multipart_round_trip(content: bytes, name: str) -> None:
    """Any media bytes and any name survive the multipart/related framing."""
    boundary = "b0undary" + hashlib.sha1(content, usedforsecurity=False).hexdigest()
    body, content_type = _multipart({"name": name}, content, "application/x-test", boundary)
    upload = parse_multipart(content_type, body)
    assert upload.content == content
    assert upload.metadata == {"name": name}
    assert upload.media_type == "application/x-test"


def test_multipart_with_wrong_part_count_is_rejected() -> None:
    """A body with one part is a 400 badContent, not a crash."""
    with pytest.raises(DriveError, match="exactly 2 parts"):
        parse_multipart("multipart/related; boundary=q", b"--q\r\n\r\n{}\r\n--q--")


def test_list_by_drive_id(sandbox: SandboxServer, gc: gspread.Client) -> None:
    """driveId= lists one shared drive's items and needs includeItemsFromAllDrives."""
    first, second = _shared_drive_for_robot(sandbox), _shared_drive_for_robot(sandbox)
    one = _upload(gc, {"name": "one.bin", "parents": [first]}, b"1").json()["id"]
    _upload(gc, {"name": "two.bin", "parents": [second]}, b"2")
    session: Any = gc.http_client.session
    flags = {"supportsAllDrives": "true", "driveId": first, "corpora": "drive"}
    refused = session.get(FILES, params=flags)
    assert refused.status_code == 403
    listed = session.get(FILES, params={**flags, "includeItemsFromAllDrives": "true",
                                        "fields": "files(id)"})
    assert listed.json() == {"files": [{"id": one}]}


def test_service_account_may_create_folders_in_my_drive(gc: gspread.Client) -> None:
    """Folders need no storage quota, so a robot may create one in its My Drive."""
    session: Any = gc.http_client.session
    made = session.post(FILES, params={"fields": "id,mimeType,ownedByMe"},
                        json={"name": "robot folder", "mimeType": FOLDER})
    assert made.status_code == 200, made.text
    assert made.json()["mimeType"] == FOLDER
    assert made.json()["ownedByMe"] is True


def test_media_uploads_are_not_held_to_the_api_body_limit(
    sandbox: SandboxServer, gc: gspread.Client
) -> None:
    """A multipart upload larger than the 10 MiB API body limit (lowered here to 1 kB) is
    stored, as Drive's upload endpoint takes files of any size; a files.list call with a
    body over the limit is refused."""
    drive_id = _shared_drive_for_robot(sandbox)
    payload = bytes(range(256)) * 40
    sandbox.max_request_bytes = 1_000
    try:
        response = _upload(gc, {"name": "big.xlsx", "parents": [drive_id]}, payload, XLSX)
        refused = gc.http_client.session.get(FILES, data=b" " * 1_001)
    finally:
        sandbox.max_request_bytes = MAX_REQUEST_BYTES
    assert response.status_code == 200, response.text
    assert sandbox.file_content(response.json()["id"]) == payload
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith("Request payload size exceeds")
