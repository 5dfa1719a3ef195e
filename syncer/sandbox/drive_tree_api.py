"""Drive v3 for folders, uploaded files and shared drives: uploads, files.get (incl.
``alt=media``), files.list over everything, files.delete, permissions, drives.create/list/get.

Spreadsheets stay in :mod:`syncer.sandbox.drive`; :func:`files_list` lists both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from syncer.sandbox import drive
from syncer.sandbox.drive import (
    DriveError,
    Params,
    file_not_found,
    insufficient,
    permission_id,
    rfc3339,
)
from syncer.sandbox.drive_files import (
    FOLDER_MIME,
    MY_DRIVE_ROOT,
    ROLE_ACCESS,
    ROOT_ALIAS,
    DriveFile,
    SharedDrive,
    at_least,
    is_service_account,
)
from syncer.sandbox.multipart import Upload
from syncer.sandbox.store import SPREADSHEET_MIME, Store

STORAGE_QUOTA_MESSAGE = (
    "Service Accounts do not have storage quota. Leverage shared drives "
    "(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), "
    "or use OAuth delegation (http://support.google.com/a/answer/7281227) instead."
)
_FILE_FIELDS = "kind,id,name,mimeType"
_DRIVE_ROLES = ("organizer", "fileOrganizer", "writer", "commenter", "reader")


def _one(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _flag(params: Params, name: str) -> bool:
    return (_one(params, name) or "").lower() == "true"


def all_drives(params: Params) -> bool:
    """Whether the caller declared shared-drive support (``supportsAllDrives=true``)."""
    return _flag(params, "supportsAllDrives") or _flag(params, "supportsTeamDrives")


def storage_quota_exceeded() -> DriveError:
    """Google's 403 for a service account creating a file it would have to own."""
    return DriveError(403, STORAGE_QUOTA_MESSAGE, "storageQuotaExceeded", domain="usageLimits")


def drive_not_found(drive_id: str) -> DriveError:
    """Drive's 404 for a shared drive the caller is not a member of."""
    return DriveError(404, f"Shared drive not found: {drive_id}", "notFound", "driveId")


# -- resources ------------------------------------------------------------------------------


def item_json(store: Store, item: DriveFile, user: str, base_url: str) -> dict[str, Any]:
    """The full File resource of a folder or an uploaded file."""
    level = store.tree.access(item, user)
    can_edit = at_least(level, "writer")
    out: dict[str, Any] = {
        "kind": "drive#file",
        "id": item.file_id,
        "name": item.name,
        "mimeType": item.mime_type,
        "starred": False,
        "trashed": False,
        "parents": list(item.parents),
        "version": str(item.version),
        "createdTime": rfc3339(item.created),
        "modifiedTime": rfc3339(item.modified),
        "webViewLink": (
            f"{base_url}/drive/folders/{item.file_id}"
            if item.is_folder
            else f"{base_url}/file/d/{item.file_id}/view?usp=drivesdk"
        ),
        "shared": bool(item.permissions) or item.drive_id is not None,
        "capabilities": {
            "canEdit": can_edit,
            "canShare": can_edit,
            "canAddChildren": item.is_folder and can_edit,
            "canDelete": at_least(level, "organizer"),
            "canDownload": item.downloadable,
        },
    }
    if item.downloadable:
        out["size"] = str(len(item.content))
        out["md5Checksum"] = item.md5()
    if item.drive_id is not None:
        out["driveId"] = item.drive_id
    elif item.owner is not None:
        out["owners"] = [
            {
                "kind": "drive#user",
                "displayName": item.owner.split("@")[0],
                "emailAddress": item.owner,
                "me": item.owner == user.lower(),
                "permissionId": permission_id(item.owner),
            }
        ]
        out["ownedByMe"] = item.owner == user.lower()
    return out


def drive_json(shared: SharedDrive, user: str) -> dict[str, Any]:
    """The Drive resource of a shared drive."""
    organizer = shared.access(user) == "organizer"
    return {
        "kind": "drive#drive",
        "id": shared.drive_id,
        "name": shared.name,
        "createdTime": rfc3339(shared.created),
        "hidden": False,
        "capabilities": {
            "canAddChildren": at_least(shared.access(user), "writer"),
            "canManageMembers": organizer,
            "canDeleteDrive": organizer,
        },
    }


def _shaped(resource: dict[str, Any], params: Params, default: str) -> dict[str, Any]:
    return drive._shaped(resource, params, default)


# -- lookups --------------------------------------------------------------------------------


def visible_item(store: Store, file_id: str, user: str, params: Params) -> DriveFile:
    """A folder/uploaded file the caller can see, or Drive's 404.

    Items in a shared drive are invisible unless the request says ``supportsAllDrives=true``.
    """
    item = store.tree.files.get(file_id)
    if item is None or store.tree.access(item, user) is None:
        raise file_not_found(file_id)
    if item.drive_id is not None and not all_drives(params):
        raise file_not_found(file_id)
    return item


def visible_drive(store: Store, drive_id: str, user: str) -> SharedDrive:
    """A shared drive the caller is a member of, or Drive's 404."""
    shared = store.tree.drives.get(drive_id)
    if shared is None or shared.access(user) is None:
        raise drive_not_found(drive_id)
    return shared


def is_tree_id(store: Store, file_id: str) -> bool:
    """Whether an id names a folder, an uploaded file or a shared drive."""
    return file_id in store.tree.files or file_id in store.tree.drives


def _parent_for(
    store: Store, parents: Any, user: str, params: Params
) -> tuple[str, str | None, str | None]:
    """(parent id, shared drive id, owner) for a new file, after Drive's checks."""
    if parents is None or parents == []:
        parents = [ROOT_ALIAS]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise DriveError(400, "Invalid value for parents.", "invalid", "parents")
    if len(parents) > 1:
        raise DriveError(
            403,
            "Increasing the number of parents is not allowed. A file can only have one parent.",
            "cannotAddParent",
        )
    parent_id = parents[0]
    if parent_id in (ROOT_ALIAS, MY_DRIVE_ROOT):
        return MY_DRIVE_ROOT, None, user.lower()
    shared = store.tree.drives.get(parent_id)
    if shared is not None:
        if shared.access(user) is None or not all_drives(params):
            raise file_not_found(parent_id)
        if not at_least(shared.access(user), "writer"):
            raise _parent_insufficient()
        return parent_id, parent_id, None
    folder = store.tree.files.get(parent_id)
    if folder is not None:
        visible_item(store, parent_id, user, params)
        if not folder.is_folder:
            raise DriveError(400, "The specified parent is not a folder.", "parentNotAFolder")
        if not at_least(store.tree.access(folder, user), "writer"):
            raise _parent_insufficient()
        return parent_id, folder.drive_id, None if folder.drive_id else user.lower()
    workbook = store.get(parent_id)
    if workbook is not None and workbook.role(user) is not None:
        raise DriveError(400, "The specified parent is not a folder.", "parentNotAFolder")
    raise file_not_found(parent_id)


def _parent_insufficient() -> DriveError:
    return DriveError(
        403,
        "Insufficient permissions for the specified parent.",
        "insufficientParentPermissions",
    )


# -- files ----------------------------------------------------------------------------------


def create_item(
    store: Store,
    user: str,
    params: Params,
    name: str,
    mime_type: str,
    parents: Any,
    content: bytes,
    now: float,
) -> DriveFile:
    """Create a folder or an uploaded file, applying Drive's parent and quota rules."""
    parent_id, drive_id, owner = _parent_for(store, parents, user, params)
    if drive_id is None and mime_type != FOLDER_MIME and is_service_account(user):
        raise storage_quota_exceeded()
    item = DriveFile(
        file_id=store.new_file_id(),
        name=name,
        mime_type=mime_type,
        owner=owner,
        parents=[parent_id],
        drive_id=drive_id,
        created=now,
        modified=now,
        content=content,
    )
    store.tree.files[item.file_id] = item
    return item


def upload(
    store: Store, user: str, params: Params, up: Upload, now: float, base_url: str
) -> dict[str, Any]:
    """files.create with media (``uploadType=multipart`` or ``media``)."""
    meta = up.metadata
    mime = str(meta.get("mimeType") or up.media_type or "application/octet-stream")
    if mime == SPREADSHEET_MIME:
        raise DriveError(
            400,
            "The sandbox does not convert uploads into Google spreadsheets; upload the "
            "file as is or create the spreadsheet through the Sheets API.",
            "badRequest",
        )
    if mime == FOLDER_MIME and up.content:
        raise DriveError(400, "A folder cannot have content.", "badContent")
    item = create_item(
        store,
        user,
        params,
        str(meta.get("name") or "Untitled"),
        mime,
        meta.get("parents"),
        up.content,
        now,
    )
    return _shaped(item_json(store, item, user, base_url), params, _FILE_FIELDS)


def update_content(
    store: Store,
    file_id: str,
    user: str,
    params: Params,
    up: Upload,
    now: float,
    base_url: str,
) -> dict[str, Any]:
    """files.update with media: new content (and name) for an uploaded file."""
    item = visible_item(store, file_id, user, params)
    if not at_least(store.tree.access(item, user), "writer"):
        raise insufficient()
    if not item.downloadable:
        raise DriveError(400, "A folder cannot have content.", "badContent")
    item.content = up.content
    if up.metadata.get("name"):
        item.name = str(up.metadata["name"])
    if up.media_type and not up.metadata.get("mimeType"):
        item.mime_type = up.media_type
    item.touch(now)
    return _shaped(item_json(store, item, user, base_url), params, _FILE_FIELDS)


def create_metadata_only(
    store: Store, user: str, params: Params, body: Mapping[str, Any], now: float, base_url: str
) -> dict[str, Any]:
    """files.create without media: a folder (or an empty file)."""
    mime = str(body.get("mimeType") or "application/octet-stream")
    item = create_item(
        store,
        user,
        params,
        str(body.get("name") or "Untitled"),
        mime,
        body.get("parents"),
        b"",
        now,
    )
    return _shaped(item_json(store, item, user, base_url), params, _FILE_FIELDS)


def get_item(
    store: Store, file_id: str, user: str, params: Params, base_url: str
) -> dict[str, Any]:
    """files.get (metadata) of a folder or an uploaded file."""
    item = visible_item(store, file_id, user, params)
    return _shaped(item_json(store, item, user, base_url), params, _FILE_FIELDS)


def download(store: Store, file_id: str, user: str, params: Params) -> tuple[bytes, str]:
    """files.get with ``alt=media``: the content and its media type."""
    item = visible_item(store, file_id, user, params)
    if not item.downloadable:
        raise DriveError(
            403,
            "Only files with binary content can be downloaded. Use Export with Docs Editors files.",
            "fileNotDownloadable",
            "alt",
        )
    return item.content, item.mime_type


def delete_item(store: Store, file_id: str, user: str, params: Params) -> None:
    """files.delete: the owner (My Drive) or an organizer/fileOrganizer (shared drive)."""
    item = visible_item(store, file_id, user, params)
    if not at_least(store.tree.access(item, user), "organizer"):
        raise insufficient()
    store.tree.remove(file_id)


_CLAUSE = re.compile(
    r"""(name|mimeType|fullText)\s*(=|!=|contains)\s*(?:'((?:[^'\\]|\\.)*)'|"([^"]*)")"""
)
_TRASHED = re.compile(r"trashed\s*=\s*(true|false)")
_PARENT_ID = re.compile(r"""(?:'([^']*)'\s+in\s+parents|parents\s+in\s+(?:'([^']*)'|"([^"]*)"))""")


def _matches(name: str, mime: str, parents: list[str], query: str) -> bool:
    for field, op, single, double in _CLAUSE.findall(query):
        value = (single or double).replace("\\'", "'").replace("\\\\", "\\")
        actual = name if field in ("name", "fullText") else mime
        if op == "=" and actual != value:
            return False
        if op == "!=" and actual == value:
            return False
        if op == "contains" and value.lower() not in actual.lower():
            return False
    for groups in _PARENT_ID.findall(query):
        wanted = next(g for g in groups if g) if any(groups) else ""
        wanted = MY_DRIVE_ROOT if wanted == ROOT_ALIAS else wanted
        if wanted not in parents:
            return False
    trashed = _TRASHED.search(query)
    return not (trashed and trashed.group(1) == "true")


def files_list(store: Store, user: str, params: Params, base_url: str) -> dict[str, Any]:
    """files.list over spreadsheets, folders and uploaded files.

    Shared-drive items are listed only with ``includeItemsFromAllDrives=true`` and
    ``supportsAllDrives=true``; ``driveId`` restricts the listing to one shared drive.
    """
    query = _one(params, "q") or ""
    if re.search(r"\sor\s", query):
        raise DriveError(400, "Invalid Value", "invalid", "q")
    rest = _PARENT_ID.sub("", _TRASHED.sub("", _CLAUSE.sub("", query)))
    if re.sub(r"\band\b|\s", "", rest):
        raise DriveError(400, "Invalid Value", "invalid", "q")
    only_drive = _one(params, "driveId")
    include_drives = _flag(params, "includeItemsFromAllDrives") and all_drives(params)
    if only_drive is not None:
        if not include_drives:
            raise DriveError(
                403,
                "The includeItemsFromAllDrives parameter must be set to true when driveId is "
                "specified.",
                "teamDriveIncludeItemsRequired",
                "includeItemsFromAllDrives",
            )
        visible_drive(store, only_drive, user)
    entries: list[dict[str, Any]] = []
    if only_drive is None:
        entries += [
            drive.file_json(wb, user, base_url)
            for wb in store.visible_to(user)
            if _matches(wb.title, SPREADSHEET_MIME, [MY_DRIVE_ROOT], query)
        ]
    for item in store.tree.files.values():
        if only_drive is not None:
            in_scope = item.drive_id == only_drive
        else:
            in_scope = item.drive_id is None or include_drives
        if (
            in_scope
            and store.tree.access(item, user) is not None
            and _matches(item.name, item.mime_type, item.parents, query)
        ):
            entries.append(item_json(store, item, user, base_url))
    size = int(_one(params, "pageSize") or 100)
    offset = int(_one(params, "pageToken") or 0)
    body: dict[str, Any] = {
        "kind": "drive#fileList",
        "incompleteSearch": False,
        "files": entries[offset : offset + size],
    }
    if offset + size < len(entries):
        body["nextPageToken"] = str(offset + size)
    return _shaped(body, params, "kind,incompleteSearch,nextPageToken,files(kind,id,name,mimeType)")


# -- permissions on folders, uploaded files and shared drives ---------------------------------


def _permission(email: str, role: str) -> dict[str, Any]:
    if email == "anyone":
        return {"kind": "drive#permission", "id": "anyoneWithLink", "type": "anyone", "role": role}
    return {
        "kind": "drive#permission",
        "id": permission_id(email),
        "type": "user",
        "role": role,
        "emailAddress": email,
    }


def _permission_target(
    store: Store, file_id: str, user: str, params: Params
) -> tuple[dict[str, str], bool, str | None]:
    """(permission map, may the caller manage it, owner) of an item or a shared drive."""
    shared = store.tree.drives.get(file_id)
    if shared is not None:
        if shared.access(user) is None or not all_drives(params):
            raise file_not_found(file_id)
        return shared.members, shared.access(user) == "organizer", None
    item = visible_item(store, file_id, user, params)
    return item.permissions, at_least(store.tree.access(item, user), "writer"), item.owner


def permissions_create(
    store: Store, file_id: str, user: str, params: Params, body: Mapping[str, Any], now: float
) -> dict[str, Any]:
    """permissions.create on a folder, an uploaded file or a shared drive."""
    perms, may_manage, owner = _permission_target(store, file_id, user, params)
    if not may_manage:
        raise insufficient()
    email, role = drive.grantee(body, _DRIVE_ROLES)
    if email != owner:
        perms[email] = role
    item = store.tree.files.get(file_id)
    if item is not None:
        item.touch(now)
    return _permission(email, role)


def permissions_list(store: Store, file_id: str, user: str, params: Params) -> dict[str, Any]:
    """permissions.list (the owner first, for My Drive items)."""
    perms, _, owner = _permission_target(store, file_id, user, params)
    out = [_permission(owner, "owner")] if owner else []
    out += [_permission(email, role) for email, role in perms.items()]
    return {"kind": "drive#permissionList", "permissions": out}


def permissions_delete(
    store: Store, file_id: str, user: str, params: Params, perm_id: str, now: float
) -> None:
    """permissions.delete."""
    perms, may_manage, _ = _permission_target(store, file_id, user, params)
    if not may_manage:
        raise insufficient()
    for email in list(perms):
        if permission_id(email) == perm_id:
            del perms[email]
            item = store.tree.files.get(file_id)
            if item is not None:
                item.touch(now)
            return
    raise DriveError(404, f"Permission not found: {perm_id}.", "notFound", "permissionId")


# -- shared drives ----------------------------------------------------------------------------


def drives_create(
    store: Store,
    user: str,
    params: Params,
    body: Mapping[str, Any],
    now: float,
    request_ids: dict[str, str],
) -> dict[str, Any]:
    """drives.create: the caller becomes the drive's organizer; ``requestId`` is required."""
    request_id = _one(params, "requestId")
    if not request_id:
        raise DriveError(400, "Required parameter: requestId", "required", "requestId")
    if request_id in request_ids:
        raise DriveError(
            409, "A shared drive with this requestId already exists.", "duplicate", "requestId"
        )
    name = str(body.get("name") or "")
    if not name:
        raise DriveError(400, "Required: name", "required", "name")
    shared = SharedDrive(store.new_drive_id(), name, now, {user.lower(): "organizer"})
    store.tree.drives[shared.drive_id] = shared
    request_ids[request_id] = shared.drive_id
    return _shaped(drive_json(shared, user), params, "kind,id,name")


def drives_list(store: Store, user: str, params: Params) -> dict[str, Any]:
    """drives.list: the shared drives the caller is a member of."""
    drives = [drive_json(d, user) for d in store.tree.drives.values() if d.access(user)]
    return _shaped(
        {"kind": "drive#driveList", "drives": drives},
        params,
        "kind,nextPageToken,drives(kind,id,name)",
    )


def drives_get(store: Store, drive_id: str, user: str, params: Params) -> dict[str, Any]:
    """drives.get."""
    return _shaped(drive_json(visible_drive(store, drive_id, user), user), params, "kind,id,name")


__all__ = [
    "FOLDER_MIME",
    "ROLE_ACCESS",
    "STORAGE_QUOTA_MESSAGE",
    "all_drives",
    "create_item",
    "create_metadata_only",
    "delete_item",
    "download",
    "drives_create",
    "drives_get",
    "drives_list",
    "files_list",
    "get_item",
    "is_tree_id",
    "permissions_create",
    "permissions_delete",
    "permissions_list",
    "update_content",
    "upload",
    "visible_drive",
    "visible_item",
]
