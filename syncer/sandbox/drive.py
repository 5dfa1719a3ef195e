"""Drive API v3: files get/list/create/copy/delete/export and permissions create/list/delete.

Drive errors keep Drive's own older shape (``errors: [{domain, reason, message, ...}]``), and
a file not shared with the caller is "not found", as Google answers.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Collection, Mapping
from typing import Any

from syncer.sandbox.errors import ApiError
from syncer.sandbox.fieldmask import apply_mask, parse_mask
from syncer.sandbox.state import Workbook
from syncer.sandbox.store import SPREADSHEET_MIME, Store
from syncer.sandbox.xlsx import to_csv, to_xlsx

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"
ROLES = {
    "reader": "reader",
    "commenter": "reader",
    "writer": "writer",
    "fileOrganizer": "writer",
    "organizer": "writer",
}
Params = Mapping[str, list[str]]


class DriveError(ApiError):
    """An error in Drive's format."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str,
        location: str | None = None,
        domain: str = "global",
    ) -> None:
        super().__init__(code, message)
        self.reason = reason
        self.location = location
        self.domain = domain

    def body(self) -> dict[str, Any]:
        """Drive's JSON error body."""
        item: dict[str, Any] = {
            "message": self.message,
            "domain": self.domain,
            "reason": self.reason,
        }
        if self.location:
            item.update(location=self.location, locationType="parameter")
        return {"error": {"code": self.code, "message": self.message, "errors": [item]}}


def file_not_found(file_id: str) -> DriveError:
    """Drive's 404 (also for files the caller cannot see)."""
    return DriveError(404, f"File not found: {file_id}.", "notFound", "fileId")


def insufficient() -> DriveError:
    """Drive's 403 for a caller who may see but not change a file."""
    return DriveError(
        403,
        "The user does not have sufficient permissions for this file.",
        "insufficientFilePermissions",
    )


def rfc3339(ts: float) -> str:
    """A timestamp in Drive's format (``2026-01-02T03:04:05.678Z``)."""
    moment = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def permission_id(email: str) -> str:
    """A stable permission id for an email (Drive uses numeric-looking ids)."""
    if email == "anyone":
        return "anyoneWithLink"
    return f"{zlib.crc32(email.lower().encode()):010d}{len(email):04d}"


def _one(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def file_json(wb: Workbook, user: str, base_url: str) -> dict[str, Any]:
    """The full File resource."""
    role = wb.role(user)
    can_edit = role in ("owner", "writer")
    return {
        "kind": "drive#file",
        "id": wb.spreadsheet_id,
        "name": wb.title,
        "mimeType": SPREADSHEET_MIME,
        "starred": False,
        "trashed": False,
        "parents": ["0AsandboxRootFolder"],
        "version": str(wb.version),
        "webViewLink": f"{base_url}/spreadsheets/d/{wb.spreadsheet_id}/edit?usp=drivesdk",
        "createdTime": rfc3339(wb.created),
        "modifiedTime": rfc3339(wb.modified),
        "owners": [
            {
                "kind": "drive#user",
                "displayName": wb.owner.split("@")[0],
                "emailAddress": wb.owner,
                "me": wb.owner == user,
                "permissionId": permission_id(wb.owner),
            }
        ],
        "ownedByMe": wb.owner == user,
        "shared": bool(wb.permissions),
        "capabilities": {
            "canEdit": can_edit,
            "canShare": can_edit,
            "canCopy": True,
            "canDelete": role == "owner",
            "canDownload": True,
        },
    }


def _shaped(resource: dict[str, Any], params: Params, default: str) -> dict[str, Any]:
    fields = _one(params, "fields") or default
    return dict(apply_mask(resource, parse_mask(fields)))


def _visible(store: Store, file_id: str, user: str) -> Workbook:
    wb = store.get(file_id)
    if wb is None or wb.role(user) is None:
        raise file_not_found(file_id)
    return wb


def files_get(
    store: Store, file_id: str, user: str, params: Params, base_url: str
) -> dict[str, Any]:
    """files.get (metadata)."""
    wb = _visible(store, file_id, user)
    return _shaped(file_json(wb, user, base_url), params, "kind,id,name,mimeType")


def files_create(
    store: Store, user: str, params: Params, body: Mapping[str, Any], now: float, base_url: str
) -> dict[str, Any]:
    """files.create of a Google spreadsheet (the only kind the sandbox holds)."""
    if body.get("mimeType") != SPREADSHEET_MIME:
        raise DriveError(
            400,
            f"The sandbox only creates Google spreadsheets (mimeType {SPREADSHEET_MIME}).",
            "badRequest",
        )
    wb = store.create(str(body.get("name") or "Untitled spreadsheet"), user, now)
    return _shaped(file_json(wb, user, base_url), params, "kind,id,name,mimeType")


def files_copy(
    store: Store,
    file_id: str,
    user: str,
    params: Params,
    body: Mapping[str, Any],
    now: float,
    base_url: str,
) -> dict[str, Any]:
    """files.copy."""
    source = _visible(store, file_id, user)
    twin = store.copy(source, str(body.get("name") or f"Copy of {source.title}"), user, now)
    return _shaped(file_json(twin, user, base_url), params, "kind,id,name,mimeType")


def files_delete(store: Store, file_id: str, user: str) -> None:
    """files.delete (owner only)."""
    wb = _visible(store, file_id, user)
    if wb.role(user) != "owner":
        raise insufficient()
    del store.workbooks[file_id]


def files_export(store: Store, file_id: str, user: str, params: Params) -> tuple[bytes, str]:
    """files.export as xlsx or csv (the first sheet)."""
    wb = _visible(store, file_id, user)
    mime = _one(params, "mimeType")
    if mime == XLSX_MIME:
        return to_xlsx(wb), XLSX_MIME
    if mime == CSV_MIME:
        return to_csv(wb), "text/csv"
    raise DriveError(400, "The requested conversion is not supported.", "badRequest", "convertTo")


def _permission_json(wb: Workbook, email: str, role: str) -> dict[str, Any]:
    if email == "anyone":
        return {
            "kind": "drive#permission",
            "id": "anyoneWithLink",
            "type": "anyone",
            "role": role,
            "allowFileDiscovery": False,
        }
    return {
        "kind": "drive#permission",
        "id": permission_id(email),
        "type": "user",
        "role": role,
        "emailAddress": email,
        "displayName": email.split("@")[0],
        "deleted": False,
        "pendingOwner": False,
    }


def grantee(body: Mapping[str, Any], roles: Collection[str]) -> tuple[str, str]:
    """(email or ``anyone``, role) of a permissions.create body; Google's errors otherwise."""
    role = str(body.get("role", ""))
    if role == "owner":
        raise DriveError(
            403,
            "The transferOwnership parameter must be enabled when the permission role is 'owner'.",
            "forbidden",
            "transferOwnership",
        )
    if role not in roles:
        raise DriveError(400, "Invalid permission role.", "invalid", "permission.role")
    kind = body.get("type")
    if kind in ("user", "group"):
        email = str(body.get("emailAddress") or "").lower()
        if "@" not in email:
            raise DriveError(
                400,
                "The permission emailAddress field is required.",
                "required",
                "permission.emailAddress",
            )
        return email, role
    if kind == "anyone":
        return "anyone", role
    raise DriveError(400, "Invalid permission type.", "invalid", "permission.type")


def permissions_create(
    store: Store, file_id: str, user: str, body: Mapping[str, Any], now: float
) -> dict[str, Any]:
    """permissions.create for a user or anyone, as reader/commenter/writer."""
    wb = _visible(store, file_id, user)
    if wb.role(user) not in ("owner", "writer"):
        raise insufficient()
    email, role = grantee(body, ROLES)
    if email != wb.owner:
        wb.permissions[email] = "writer" if ROLES[role] == "writer" else "reader"
        wb.touch(now)
    return {
        k: v
        for k, v in _permission_json(wb, email, role).items()
        if k in ("kind", "id", "type", "role", "emailAddress")
    }


def permissions_list(store: Store, file_id: str, user: str) -> dict[str, Any]:
    """permissions.list, the owner first."""
    wb = _visible(store, file_id, user)
    perms = [_permission_json(wb, wb.owner, "owner")]
    perms += [_permission_json(wb, email, role) for email, role in wb.permissions.items()]
    return {"kind": "drive#permissionList", "permissions": perms}


def permissions_delete(store: Store, file_id: str, user: str, perm_id: str, now: float) -> None:
    """permissions.delete."""
    wb = _visible(store, file_id, user)
    if wb.role(user) not in ("owner", "writer"):
        raise insufficient()
    for email in list(wb.permissions):
        if permission_id(email) == perm_id:
            del wb.permissions[email]
            wb.touch(now)
            return
    raise DriveError(404, f"Permission not found: {perm_id}.", "notFound", "permissionId")
