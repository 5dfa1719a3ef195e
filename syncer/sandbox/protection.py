"""Protected ranges, enforced as Google enforces them.

A protected range (``addProtectedRange``, not ``warningOnly``) may be edited only by the
spreadsheet's owner and the users listed in its ``editors``; anyone else's write that
touches it — a value, a row inserted or deleted in it, a sort, an append to a protected
sheet — is refused whole with Google's 400 ``You are trying to edit a protected cell or
object…``, and nothing of the request applies. Removing or changing a protection needs
the same right. A range with only a ``sheetId`` protects the whole sheet.

:func:`request_area` says which part of a sheet a batchUpdate request touches; a request
with no sheet in it (spreadsheet properties, named ranges…) touches none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syncer.sandbox.a1 import Bounds
from syncer.sandbox.errors import ApiError
from syncer.sandbox.state import Sheet, Workbook

PROTECTED_MESSAGE = (
    "You are trying to edit a protected cell or object. Please contact the spreadsheet "
    "owner to remove protection if you need to edit."
)

#: Requests on the protections themselves: checked by :func:`check_protection_change`.
PROTECTION_REQUESTS = ("addProtectedRange", "updateProtectedRange", "deleteProtectedRange")

_EVERYWHERE = Bounds(0, None, 0, None)


class ProtectedEdit(ApiError):
    """A write refused by a protected range (a 400, as Google answers it)."""

    def __init__(self) -> None:
        super().__init__(400, PROTECTED_MESSAGE)


def may_edit(workbook: Workbook, protected: Mapping[str, Any], user: str | None) -> bool:
    """True when ``user`` may edit inside ``protected`` (None: a direct edit standing in
    for the owner's)."""
    if user is None or protected.get("warningOnly"):
        return True
    if user.lower() == workbook.owner.lower():
        return True
    editors = (protected.get("editors") or {}).get("users") or []
    return user.lower() in {str(e).lower() for e in editors}


def _bounds(grid: Mapping[str, Any]) -> Bounds:
    return Bounds(
        int(grid.get("startRowIndex", 0)),
        None if grid.get("endRowIndex") is None else int(grid["endRowIndex"]),
        int(grid.get("startColumnIndex", 0)),
        None if grid.get("endColumnIndex") is None else int(grid["endColumnIndex"]),
    )


def _overlap(a0: int, a1: int | None, b0: int, b1: int | None) -> bool:
    return (a1 is None or b0 < a1) and (b1 is None or a0 < b1)


def _intersects(a: Bounds, b: Bounds) -> bool:
    return _overlap(a.start_row, a.end_row, b.start_row, b.end_row) and _overlap(
        a.start_col, a.end_col, b.start_col, b.end_col
    )


def check_edit(workbook: Workbook, sheet: Sheet, area: Bounds, user: str | None) -> None:
    """Raise :class:`ProtectedEdit` when ``area`` of ``sheet`` (0-based, exclusive ends,
    None open) meets a protected range ``user`` may not edit."""
    for protected in sheet.protected_ranges:
        if may_edit(workbook, protected, user):
            continue
        if _intersects(_bounds(protected.get("range") or {}), area):
            raise ProtectedEdit()


def check_protection_change(
    workbook: Workbook, kind: str, payload: Mapping[str, Any], user: str | None
) -> None:
    """Changing or removing a protection needs the right to edit inside it."""
    if kind == "addProtectedRange":
        return
    wanted = payload.get("protectedRangeId")
    if kind == "updateProtectedRange":
        wanted = (payload.get("protectedRange") or {}).get("protectedRangeId")
    for sheet in workbook.sheets:
        for protected in sheet.protected_ranges:
            if protected.get("protectedRangeId") == wanted and not may_edit(
                workbook, protected, user
            ):
                raise ProtectedEdit()


def request_area(kind: str, payload: Mapping[str, Any]) -> tuple[int, Bounds] | None:
    """The sheet id and area a batchUpdate request writes, or None when it writes no
    cells of a sheet. Rows inserted, deleted or moved count as their whole rows (columns
    likewise); an append counts from row 0 down, as it lands below whatever is there."""
    rng = payload.get("range")
    if isinstance(rng, Mapping) and "dimension" in rng:
        first, end = int(rng.get("startIndex", 0)), rng.get("endIndex")
        stop = None if end is None else max(int(end), first + 1)
        if rng.get("dimension") == "COLUMNS":
            return int(rng.get("sheetId", 0)), Bounds(0, None, first, stop)
        return int(rng.get("sheetId", 0)), Bounds(first, stop, 0, None)
    if isinstance(rng, Mapping):
        return int(rng.get("sheetId", 0)), _bounds(rng)
    start = payload.get("start")
    if isinstance(start, Mapping):
        rows = payload.get("rows") or [{}]
        width = max((len(r.get("values") or []) for r in rows if isinstance(r, Mapping)), default=1)
        row, col = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
        return int(start.get("sheetId", 0)), Bounds(row, row + len(rows), col, col + max(width, 1))
    destination = payload.get("destination")
    if isinstance(destination, Mapping) and "sheetId" in destination:
        return int(destination.get("sheetId", 0)), _bounds(destination)
    for name in ("sheetId", "sourceSheetId"):
        if name in payload:
            return int(payload.get(name) or 0), _EVERYWHERE
    props = payload.get("properties")
    if kind == "updateSheetProperties" and isinstance(props, Mapping):
        return int(props.get("sheetId", 0)), _EVERYWHERE
    return None


def check_request(
    workbook: Workbook, kind: str, payload: Mapping[str, Any], user: str | None
) -> None:
    """Raise :class:`ProtectedEdit` when a batchUpdate request by ``user`` would edit a
    protected range they may not edit."""
    if user is None:
        return
    if kind in PROTECTION_REQUESTS:
        check_protection_change(workbook, kind, payload, user)
        return
    area = request_area(kind, payload)
    if area is None:
        return
    sheet = workbook.sheet_by_id(area[0])
    if sheet is not None:
        check_edit(workbook, sheet, area[1], user)


def check_ranges(workbook: Workbook, targets: Iterable[tuple[Sheet, Bounds]], user: str) -> None:
    """Raise :class:`ProtectedEdit` when a values write by ``user`` meets a protection."""
    for sheet, area in targets:
        check_edit(workbook, sheet, area, user)
