"""The sandbox's router: which handler answers a Sheets or Drive request.

Paths are matched by hand, in Google's URL layout (``/v4/spreadsheets/{id}/values/{range}``,
``/v4/spreadsheets/{id}:batchUpdate``, ``/drive/v3/files/{id}/permissions``,
``/upload/drive/v3/files`` …); each route parses the body, checks the caller's access and
calls the module that implements the method (``values_api``, ``batch_update``,
``spreadsheets_api``, ``drive``, ``drive_tree_api``). Routes run under the server's lock,
after authentication (see ``handling.py``); they answer ``(response, spreadsheet id)``.
"""

from __future__ import annotations

from typing import Protocol

from werkzeug.wrappers import Request, Response

from syncer.sandbox import drive, values_api
from syncer.sandbox import drive_tree_api as tree_api
from syncer.sandbox.a1 import Bounds
from syncer.sandbox.batch_update import batch_update
from syncer.sandbox.errors import ApiError, bad_request, not_found, permission_denied
from syncer.sandbox.fieldmask import apply_mask, mentions, parse_mask
from syncer.sandbox.multipart import parse_upload
from syncer.sandbox.protection import check_ranges
from syncer.sandbox.quotas import QuotaTracker
from syncer.sandbox.requestlog import Kind
from syncer.sandbox.responses import json_object, json_response, parse_json
from syncer.sandbox.spreadsheets_api import (
    Params,
    copy_sheet_to,
    spreadsheets_create,
    spreadsheets_get,
)
from syncer.sandbox.state import Workbook
from syncer.sandbox.store import SPREADSHEET_MIME, Store


class Backend(Protocol):
    """What the routes need of the server: its state, address, clock and quotas."""

    store: Store
    url: str
    quotas: QuotaTracker
    #: drives.create requestId → drive id (a retried create returns the same drive)
    drive_requests: dict[str, str]

    def now(self) -> float:
        """The sandbox clock."""
        ...


def _open(b: Backend, sid: str, user: str, kind: Kind) -> Workbook:
    wb = b.store.get(sid)
    if wb is None:
        raise not_found()
    role = wb.role(user)
    if role is None or (kind == "write" and role == "reader"):
        raise permission_denied()
    return wb


def _ranges_of(items: object, name: str | None) -> list[str]:
    """The A1 ranges of a values batch body's ``data`` (``name="range"``) or ``ranges``."""
    if not isinstance(items, list):
        return []
    picked = [item.get(name) if name and isinstance(item, dict) else item for item in items]
    return [str(r) for r in picked if isinstance(r, str)]


def _check_values_write(wb: Workbook, user: str, ranges: list[str], append: bool = False) -> None:
    """Refuse a values write that meets a range protected from ``user``; ranges that do
    not resolve are left to the method, which answers Google's message for them."""
    targets = []
    for text in ranges:
        try:
            target = values_api.resolve(wb, text)
        except ApiError:
            continue
        area = target.bounds
        if append:  # the rows land below the table the range names
            area = Bounds(area.start_row, None, area.start_col, area.end_col)
        targets.append((target.sheet, area))
    check_ranges(wb, targets, user)


def sheets_route(
    b: Backend, request: Request, body: bytes, user: str, kind: Kind, params: dict[str, list[str]]
) -> tuple[Response, str | None]:
    path = request.path[len("/v4/spreadsheets") :]
    method = request.method
    if kind in ("read", "write"):
        b.quotas.charge(kind, user, b.now())
    if path in ("", "/"):
        if method != "POST":
            raise not_found()
        created = spreadsheets_create(b.store, user, parse_json(body), b.now(), b.store.rng, b.url)
        return json_response(created, 200), created["spreadsheetId"]
    path = path[1:]
    if "/values/" in path:
        sid, _, range_text = path.partition("/values/")
        wb = _open(b, sid, user, kind)
        if method == "GET":
            return json_response(values_api.values_get(wb, range_text, params), 200), sid
        written = range_text.removesuffix(":append").removesuffix(":clear")
        _check_values_write(wb, user, [written], append=range_text.endswith(":append"))
        if method == "PUT":
            out = values_api.values_update(wb, range_text, params, json_object(body))
        elif method == "POST" and range_text.endswith(":append"):
            out = values_api.values_append(
                wb, range_text[: -len(":append")], params, json_object(body)
            )
        elif method == "POST" and range_text.endswith(":clear"):
            out = values_api.values_clear(wb, range_text[: -len(":clear")])
        else:
            raise not_found()
        wb.touch(b.now())
        return json_response(out, 200), sid
    for suffix in (
        "/values:batchGet",
        "/values:batchUpdate",
        "/values:batchClear",
        "/values:batchGetByDataFilter",
        ":batchUpdate",
    ):
        if path.endswith(suffix):
            sid = path[: -len(suffix)]
            wb = _open(b, sid, user, kind)
            if suffix == "/values:batchGet" and method == "GET":
                return json_response(values_api.values_batch_get(wb, params), 200), sid
            if method != "POST":
                raise not_found()
            if suffix == "/values:batchUpdate":
                payload = json_object(body)
                _check_values_write(wb, user, _ranges_of(payload.get("data"), "range"))
                out = values_api.values_batch_update(wb, payload)
            elif suffix == "/values:batchClear":
                payload = json_object(body)
                _check_values_write(wb, user, _ranges_of(payload.get("ranges"), None))
                out = values_api.values_batch_clear(wb, payload)
            elif suffix == "/values:batchGetByDataFilter":
                out = values_api.values_batch_get_by_data_filter(wb, json_object(body))
                return json_response(out, 200), sid
            else:
                payload = parse_json(body)  # parsed once: batches can be megabytes
                new, replies = batch_update(wb, payload, b.store.rng, user)
                b.store.replace(new)
                wb = new
                out = {"spreadsheetId": sid, "replies": replies}
                if isinstance(payload, dict) and payload.get("includeSpreadsheetInResponse"):
                    out["updatedSpreadsheet"] = updated_spreadsheet(wb, payload, params, b.url)
                fields = (params.get("fields") or [""])[0]
                if fields:
                    out = apply_mask(out, parse_mask(fields))
            wb.touch(b.now())
            return json_response(out, 200), sid
    if "/sheets/" in path and path.endswith(":copyTo") and method == "POST":
        sid, _, sheet_part = path.partition("/sheets/")
        source = _open(b, sid, user, "read")
        payload = json_object(body)
        target = _open(b, str(payload.get("destinationSpreadsheetId") or ""), user, kind)
        out = copy_sheet_to(source, sheet_part[: -len(":copyTo")], target, b.store.rng)
        target.touch(b.now())
        return json_response(out, 200), sid
    if "/" in path or ":" in path or method != "GET":
        raise not_found()
    wb = _open(b, path, user, kind)
    return json_response(spreadsheets_get(wb, params, b.url), 200), path


def drive_route(
    b: Backend, request: Request, body: bytes, user: str, params: dict[str, list[str]]
) -> tuple[Response, str | None]:
    if request.path.startswith("/upload/drive/v3/files"):
        return _drive_upload(b, request, body, user, params)
    if request.path.startswith("/drive/v3/drives"):
        return _shared_drives(b, request, body, user, params), None
    if not request.path.startswith("/drive/v3/files"):
        raise not_found()
    path = request.path[len("/drive/v3/files") :].strip("/")
    parts = path.split("/") if path else []
    method = request.method
    now = b.now()
    if not parts:
        if method == "GET":
            return json_response(tree_api.files_list(b.store, user, params, b.url), 200), None
        if method == "POST":
            payload = json_object(body)
            if payload.get("mimeType") == SPREADSHEET_MIME:
                out = drive.files_create(b.store, user, params, payload, now, b.url)
            else:
                out = tree_api.create_metadata_only(b.store, user, params, payload, now, b.url)
            return json_response(out, 200), str(out.get("id", "")) or None
        raise not_found()
    fid = parts[0]
    if tree_api.is_tree_id(b.store, fid):
        return _drive_tree(b, request, body, user, params, parts), fid
    if len(parts) == 1:
        if method == "GET":
            if (params.get("alt") or [""])[0] == "media":
                drive.files_get(b.store, fid, user, {}, b.url)  # visibility check
                raise drive.DriveError(
                    403,
                    "Only files with binary content can be downloaded. Use Export with "
                    "Docs Editors files.",
                    "fileNotDownloadable",
                    "alt",
                )
            return json_response(drive.files_get(b.store, fid, user, params, b.url), 200), fid
        if method == "DELETE":
            drive.files_delete(b.store, fid, user)
            return Response(b"", status=204), fid
    elif parts[1] == "copy" and method == "POST" and len(parts) == 2:
        out = drive.files_copy(b.store, fid, user, params, json_object(body), now, b.url)
        return json_response(out, 200), fid
    elif parts[1] == "export" and method == "GET" and len(parts) == 2:
        data, mime = drive.files_export(b.store, fid, user, params)
        return Response(data, status=200, content_type=mime), fid
    elif parts[1] == "comments" and len(parts) == 2:
        drive.files_get(b.store, fid, user, {}, b.url)  # visibility check
        if method == "GET":
            return json_response({"kind": "drive#commentList", "comments": []}, 200), fid
        if method == "POST":
            return json_response({"id": "AAAAsandboxComment"}, 200), fid
    elif parts[1] == "permissions":
        if len(parts) == 2 and method == "POST":
            out = drive.permissions_create(b.store, fid, user, json_object(body), now)
            return json_response(out, 200), fid
        if len(parts) == 2 and method == "GET":
            return json_response(drive.permissions_list(b.store, fid, user), 200), fid
        if len(parts) == 3 and method == "DELETE":
            drive.permissions_delete(b.store, fid, user, parts[2], now)
            return Response(b"", status=204), fid
    raise not_found()


def _drive_tree(
    b: Backend,
    request: Request,
    body: bytes,
    user: str,
    params: dict[str, list[str]],
    parts: list[str],
) -> Response:
    """files.get/delete/permissions for folders, uploaded files and shared drives."""
    fid, method, now = parts[0], request.method, b.now()
    if len(parts) == 1 and fid in b.store.tree.files:
        if method == "GET":
            if (params.get("alt") or [""])[0] == "media":
                data, mime = tree_api.download(b.store, fid, user, params)
                return Response(data, status=200, content_type=mime)
            return json_response(tree_api.get_item(b.store, fid, user, params, b.url), 200)
        if method == "DELETE":
            tree_api.delete_item(b.store, fid, user, params)
            return Response(b"", status=204)
    if len(parts) >= 2 and parts[1] == "permissions":
        if len(parts) == 2 and method == "POST":
            out = tree_api.permissions_create(b.store, fid, user, params, json_object(body), now)
            return json_response(out, 200)
        if len(parts) == 2 and method == "GET":
            return json_response(tree_api.permissions_list(b.store, fid, user, params), 200)
        if len(parts) == 3 and method == "DELETE":
            tree_api.permissions_delete(b.store, fid, user, params, parts[2], now)
            return Response(b"", status=204)
    if fid in b.store.tree.drives:
        raise drive.file_not_found(fid)  # a shared drive is not a file
    raise not_found()


def _drive_upload(
    b: Backend, request: Request, body: bytes, user: str, params: dict[str, list[str]]
) -> tuple[Response, str | None]:
    """Uploads: POST creates a file, PATCH replaces an uploaded file's content."""
    rest = request.path[len("/upload/drive/v3/files") :].strip("/")
    upload_type = params["uploadType"][0] if params.get("uploadType") else None
    content = parse_upload(upload_type, request.headers.get("Content-Type"), body)
    if request.method == "POST" and not rest:
        out = tree_api.upload(b.store, user, params, content, b.now(), b.url)
        return json_response(out, 200), str(out.get("id", "")) or None
    if request.method == "PATCH" and rest and "/" not in rest:
        if rest not in b.store.tree.files:
            drive.files_get(b.store, rest, user, {}, b.url)  # 404 if invisible
            raise drive.DriveError(
                400,
                "The sandbox does not replace a spreadsheet's content by upload.",
                "badRequest",
            )
        out = tree_api.update_content(b.store, rest, user, params, content, b.now(), b.url)
        return json_response(out, 200), rest
    raise not_found()


def _shared_drives(
    b: Backend, request: Request, body: bytes, user: str, params: dict[str, list[str]]
) -> Response:
    """drives.create / drives.list / drives.get."""
    rest = request.path[len("/drive/v3/drives") :].strip("/")
    if not rest and request.method == "POST":
        out = tree_api.drives_create(
            b.store, user, params, json_object(body), b.now(), b.drive_requests
        )
        return json_response(out, 200)
    if not rest and request.method == "GET":
        return json_response(tree_api.drives_list(b.store, user, params), 200)
    if rest and "/" not in rest and request.method == "GET":
        return json_response(tree_api.drives_get(b.store, rest, user, params), 200)
    raise not_found()


def updated_spreadsheet(
    wb: Workbook, payload: dict[str, object], params: Params, base_url: str
) -> dict[str, object]:
    """The ``updatedSpreadsheet`` of a batchUpdate answer, as of right after the batch:
    ``responseRanges`` pick the sheets and ranges; grid data comes with
    ``responseIncludeGridData``, or — that flag being ignored under a field mask — when
    the mask asks for ``updatedSpreadsheet.sheets.data``."""
    ranges = payload.get("responseRanges") or []
    if not isinstance(ranges, list):
        raise bad_request("Invalid value at 'response_ranges': expected a list of ranges")
    fields = (params.get("fields") or [""])[0]
    if fields:
        include = mentions(parse_mask(fields), "updatedSpreadsheet", "sheets", "data")
    else:
        include = bool(payload.get("responseIncludeGridData"))
    query = {"ranges": [str(r) for r in ranges], "includeGridData": [str(include).lower()]}
    return spreadsheets_get(wb, query, base_url)
