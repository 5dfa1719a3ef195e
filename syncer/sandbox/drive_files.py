"""Drive's non-spreadsheet files: uploaded blobs, folders and shared drives (no HTTP here).

Access follows Drive: a file in *My Drive* has an owner and per-email permissions, and a
folder's permissions are inherited by everything inside it; a file in a *shared drive* is
owned by the drive, whose members (organizer, fileOrganizer, writer, commenter, reader)
reach everything in it. A service account has no storage quota, so it can only upload
into shared drives.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

FOLDER_MIME = "application/vnd.google-apps.folder"
GOOGLE_APPS_PREFIX = "application/vnd.google-apps."
ROOT_ALIAS = "root"
MY_DRIVE_ROOT = "0AsandboxRootFolder"

Access = Literal["reader", "writer", "organizer", "owner"]
_RANK: dict[str, int] = {"reader": 1, "writer": 2, "organizer": 3, "owner": 4}
#: Drive permission roles → the access they grant in the sandbox.
ROLE_ACCESS: dict[str, Access] = {
    "reader": "reader",
    "commenter": "reader",
    "writer": "writer",
    "fileOrganizer": "organizer",
    "organizer": "organizer",
}


def is_service_account(email: str) -> bool:
    """Whether an email belongs to a service account (they have no Drive storage quota)."""
    return email.lower().endswith(".gserviceaccount.com")


def best(*levels: Access | None) -> Access | None:
    """The strongest of some access levels (None: no access)."""
    winner: Access | None = None
    for level in levels:
        if level is not None and (winner is None or _RANK[level] > _RANK[winner]):
            winner = level
    return winner


def at_least(level: Access | None, wanted: Access) -> bool:
    """Whether ``level`` grants ``wanted``."""
    return level is not None and _RANK[level] >= _RANK[wanted]


@dataclass
class SharedDrive:
    """A shared drive: it owns its files; members get access to all of them."""

    drive_id: str
    name: str
    created: float
    #: email (lower case) or "anyone" → Drive role (organizer, fileOrganizer, writer, …)
    members: dict[str, str] = field(default_factory=dict)

    def access(self, user: str) -> Access | None:
        """What a member may do (None: not a member)."""
        role = self.members.get(user.lower()) or self.members.get("anyone")
        return ROLE_ACCESS.get(role) if role else None


@dataclass
class DriveFile:
    """A folder or an uploaded (binary) file."""

    file_id: str
    name: str
    mime_type: str
    owner: str | None  # None inside a shared drive (the drive owns it)
    parents: list[str]
    drive_id: str | None
    created: float
    modified: float
    content: bytes = b""
    version: int = 1
    #: email (lower case) or "anyone" → Drive role (reader, commenter, writer, …)
    permissions: dict[str, str] = field(default_factory=dict)

    @property
    def is_folder(self) -> bool:
        """Whether this is a folder."""
        return self.mime_type == FOLDER_MIME

    @property
    def downloadable(self) -> bool:
        """Whether it has binary content (Google-native types must be exported)."""
        return not self.mime_type.startswith(GOOGLE_APPS_PREFIX)

    def md5(self) -> str:
        """The md5Checksum Drive reports for binary content."""
        return hashlib.md5(self.content, usedforsecurity=False).hexdigest()

    def touch(self, now: float) -> None:
        """Record a change (version and modified time)."""
        self.version += 1
        self.modified = max(now, self.modified)


class DriveTree:
    """Folders, uploaded files and shared drives, with Drive's access rules."""

    def __init__(self) -> None:
        self.files: dict[str, DriveFile] = {}
        self.drives: dict[str, SharedDrive] = {}

    def access(self, item: DriveFile, user: str) -> Access | None:
        """The caller's access to a file: own permissions, inherited ones, drive membership."""
        user = user.lower()
        level: Access | None = None
        seen: set[str] = set()
        current: DriveFile | None = item
        while current is not None and current.file_id not in seen:
            seen.add(current.file_id)
            if current.owner is not None and current.owner.lower() == user:
                level = best(level, "owner")
            role = current.permissions.get(user) or current.permissions.get("anyone")
            level = best(level, ROLE_ACCESS.get(role) if role else None)
            parent = current.parents[0] if current.parents else None
            current = self.files.get(parent) if parent else None
        if item.drive_id is not None:
            drive = self.drives.get(item.drive_id)
            level = best(level, drive.access(user) if drive else None)
        return level

    def children(self, parent_id: str) -> list[DriveFile]:
        """Files directly inside a folder or shared drive, oldest first."""
        return [f for f in self.files.values() if parent_id in f.parents]

    def remove(self, file_id: str) -> list[str]:
        """Delete a file (a folder with everything inside it); returns the ids removed."""
        removed = [file_id]
        for child in self.children(file_id):
            removed += self.remove(child.file_id)
        self.files.pop(file_id, None)
        return removed
