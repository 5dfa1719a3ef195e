"""All workbooks the sandbox holds, with creation and copying (no HTTP here)."""

from __future__ import annotations

import random
import re

from syncer.sandbox.drive_files import DriveTree
from syncer.sandbox.state import Sheet, Workbook, new_id

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


class Store:
    """Workbooks by id; ids come from a seeded generator so runs are reproducible."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.workbooks: dict[str, Workbook] = {}
        #: folders, uploaded files and shared drives (Drive only, no Sheets API)
        self.tree = DriveTree()

    def new_file_id(self) -> str:
        """A Drive-file-like id (33 characters), unique across workbooks and files."""
        while True:
            fid = new_id(self.rng, 33)
            if fid not in self.workbooks and fid not in self.tree.files:
                return fid

    def new_drive_id(self) -> str:
        """A shared-drive-like id (``0A…``, 19 characters)."""
        while True:
            did = "0A" + new_id(self.rng, 17)[1:]
            if did not in self.tree.drives:
                return did

    def new_sheet_id(self, workbook: Workbook | None = None) -> int:
        """A random positive sheet id (unique within ``workbook``)."""
        while True:
            sid = self.rng.randrange(1, 2**31 - 1)
            if workbook is None or workbook.sheet_by_id(sid) is None:
                return sid

    def create(
        self,
        title: str,
        owner: str,
        now: float,
        sheets: list[Sheet] | None = None,
        spreadsheet_id: str | None = None,
    ) -> Workbook:
        """A new workbook owned by ``owner`` (one empty ``Sheet1`` unless sheets are given),
        under ``spreadsheet_id`` when given (it must be free and look like Google's ids)."""
        if spreadsheet_id is not None and (
            not _ID.fullmatch(spreadsheet_id) or spreadsheet_id in self.workbooks
        ):
            raise ValueError(
                f"spreadsheet id {spreadsheet_id!r} is taken or not 1-100 letters, digits, "
                "'-' or '_'"
            )
        sid = spreadsheet_id or new_id(self.rng)
        workbook = Workbook(spreadsheet_id=sid, title=title, owner=owner, created=now, modified=now)
        workbook.sheets = sheets if sheets else [Sheet(0, "Sheet1")]
        self.workbooks[sid] = workbook
        return workbook

    def copy(self, source: Workbook, title: str, owner: str, now: float) -> Workbook:
        """A copy of a workbook owned by ``owner`` (sharing is not copied, like Drive)."""
        twin = source.clone()
        twin.spreadsheet_id = new_id(self.rng)
        twin.title = title
        twin.owner = owner
        twin.permissions = {}
        twin.created = twin.modified = now
        twin.version = 1
        self.workbooks[twin.spreadsheet_id] = twin
        return twin

    def get(self, spreadsheet_id: str) -> Workbook | None:
        """The workbook with an id, if any."""
        return self.workbooks.get(spreadsheet_id)

    def visible_to(self, user: str) -> list[Workbook]:
        """Workbooks the user may see, oldest first."""
        return [wb for wb in self.workbooks.values() if wb.role(user) is not None]

    def replace(self, workbook: Workbook) -> None:
        """Install a new version of a workbook (after an all-or-nothing batch)."""
        self.workbooks[workbook.spreadsheet_id] = workbook
