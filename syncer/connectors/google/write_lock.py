"""The write lock: the tabs a write changes are protected from the guard read to the write.

Sheets has no conditional write. Without a lock, a person's edit landing between syncer's
guard read and its write — a value typed into a cell syncer writes, a row inserted,
deleted or sorted — is overwritten or displaced. With it, the guard read is the answer of
the ``batchUpdate`` that protects every column of each tab the write changes (or, for
a large read, comes right after it), and the write's last call removes the protections in
the same atomic step. Meanwhile Google refuses people's edits of those tabs with its
"You are trying to edit a protected cell or object" message — visible, so the person
types it again a moment later — instead of the edit being silently lost. The
spreadsheet's owner passes any protection, so the owner's edits keep the old window.

A lock a crash left behind is found by the start of its description, :data:`LOCK_MARK`
(in the metadata, in every lock answer), and removed by the next cycle.
:class:`WriteLock` holds a connector's locks and makes the calls; the rest is pure:
requests, the answer's field mask, and reading the guard read from the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import structlog

from syncer.connectors.google.builders import SheetMeta
from syncer.connectors.google.guard_ranges import GuardPart
from syncer.connectors.google.read import decode_json, effective_value
from syncer.connectors.google.transport import PolicyHTTPClient
from syncer.errors import ConnectorError

log = structlog.get_logger("syncer.connectors.google")

#: How syncer's protections are told apart from people's (shown in Sheets' "Protected
#: sheets and ranges" panel while a write is under way). A lock is recognised by
#: :data:`LOCK_MARK`, the start of the description: keep it in every version, so a lock
#: an older syncer left behind is still removed.
LOCK_MARK = "syncer is writing"
LOCK_DESCRIPTION = f"{LOCK_MARK}; edits wait a moment (removed automatically)"

#: The most cells the guard read may return inside the lock's answer; a larger guard read
#: is a ``values.batchGet`` right after the lock (grid data costs several times a values
#: read: docs/benchmarks.md).
LOCK_ANSWER_MAX_CELLS = 20_000

_ADDED = "replies.addProtectedRange.protectedRange.protectedRangeId"
_SHEETS = "updatedSpreadsheet.sheets(properties.title,protectedRanges(protectedRangeId,description)"
_DATA = (
    ",data(startRow,startColumn,"
    "rowData.values(effectiveValue,formattedValue,effectiveFormat.numberFormat.type))"
)

#: The metadata mask that also names the protections (a lock a crash left behind).
METADATA_FIELDS = "sheets(properties,protectedRanges(protectedRangeId,description))"

#: Number formats a ``FORMATTED_STRING`` values read renders as text.
_DATE_FORMATS = frozenset({"DATE", "TIME", "DATE_TIME"})


def lock_fields(with_data: bool) -> str:
    """The lock answer's field mask: the new protections' ids, every protection of the
    locked tabs, and (``with_data``) the guard read's cells as grid data."""
    return f"{_ADDED},{_SHEETS}{_DATA if with_data else ''})"


def lock_requests(sheets: Iterable[SheetMeta], stale: Iterable[int]) -> list[dict[str, Any]]:
    """Remove the ``stale`` locks and protect every column of each sheet, all rows.

    Not a *sheet* protection (a range with only a ``sheetId``): Google allows one per
    sheet ("Sheet … already has sheet protection"), and ``syncer sheet setup`` or a team
    may have added one already."""
    requests = release_requests(stale)
    requests.extend(
        {
            "addProtectedRange": {
                "protectedRange": {
                    "range": {
                        "sheetId": meta.sheet_id,
                        "startColumnIndex": 0,
                        "endColumnIndex": max(meta.cols, 1),
                    },
                    "description": LOCK_DESCRIPTION,
                    "warningOnly": False,
                }
            }
        }
        for meta in sorted(set(sheets), key=lambda m: m.sheet_id)
    )
    return requests


def release_requests(ids: Iterable[int]) -> list[dict[str, Any]]:
    """Remove the locks ``ids``."""
    return [{"deleteProtectedRange": {"protectedRangeId": pid}} for pid in sorted(set(ids))]


def our_locks(sheets: Iterable[Mapping[str, Any]]) -> set[int]:
    """The ids of syncer's locks among the ``protectedRanges`` of ``sheets``."""
    return {
        int(pr["protectedRangeId"])
        for sheet in sheets
        for pr in sheet.get("protectedRanges") or []
        if str(pr.get("description", "")).startswith(LOCK_MARK) and "protectedRangeId" in pr
    }


def added_locks(answer: Mapping[str, Any]) -> set[int]:
    """The ids of the protections a lock call added."""
    return {
        int(reply["addProtectedRange"]["protectedRange"]["protectedRangeId"])
        for reply in answer.get("replies") or []
        if reply and "addProtectedRange" in reply
    }


def part_cells(part: GuardPart, meta: SheetMeta) -> int:
    """At most how many cells a guard part reads (its tab's grid bounds it)."""
    below = max(meta.rows - part.header_row, 0)
    if part.kind == "header":
        return meta.cols
    if part.kind == "key":
        return below
    if part.kind == "column":
        return below * part.col_count
    if part.kind == "rows":
        return (part.last - part.first + 1) * meta.cols
    return meta.rows * meta.cols


def rendered_value(cell: Mapping[str, Any]) -> Any:
    """A ``CellData`` as an ``UNFORMATTED_VALUE`` read with ``FORMATTED_STRING`` dates
    gives it: dates and times as their text, anything else as its effective value."""
    kind = ((cell.get("effectiveFormat") or {}).get("numberFormat") or {}).get("type")
    if kind in _DATE_FORMATS and "numberValue" in (cell.get("effectiveValue") or {}):
        return cell.get("formattedValue")
    return effective_value(cell)


def grid_values(grid: Mapping[str, Any]) -> list[list[Any]]:
    """One ``GridData`` as a values read gives its range: rows of values, trailing empty
    cells and rows dropped."""
    rows: list[list[Any]] = []
    for row in grid.get("rowData") or []:
        values = [rendered_value(cell) for cell in row.get("values") or []]
        while values and values[-1] is None:
            values.pop()
        rows.append(values)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def answered_values(answer: Mapping[str, Any], parts: Sequence[GuardPart]) -> list[list[list[Any]]]:
    """The values of each guard part from a lock answer whose response ranges were the
    parts' A1 ranges: a sheet's ``data`` lists its ranges in the order asked."""
    by_tab: dict[str, list[Mapping[str, Any]]] = {}
    for sheet in (answer.get("updatedSpreadsheet") or {}).get("sheets") or []:
        title = (sheet.get("properties") or {}).get("title")
        by_tab[str(title)] = list(sheet.get("data") or [])
    out: list[list[list[Any]]] = []
    seen: dict[str, int] = {}
    for part in parts:
        n = seen.get(part.tab, 0)
        seen[part.tab] = n + 1
        grids = by_tab.get(part.tab, [])
        out.append(grid_values(grids[n]) if n < len(grids) else [])
    return out


class WriteLock:
    """syncer's locks on one spreadsheet: those this connector holds, and those a crash
    left behind (found in metadata or a lock answer), removed with the next lock, write
    or read."""

    def __init__(self, http: PolicyHTTPClient, batch_update_url: str) -> None:
        self.http = http
        self.url = batch_update_url
        self.held: set[int] = set()
        self.stale: set[int] = set()

    def note(self, sheets: Iterable[Mapping[str, Any]]) -> None:
        """Note syncer's locks among the protections of ``sheets`` that it does not hold."""
        self.stale |= our_locks(sheets) - self.held

    def take(
        self, sheets: Sequence[SheetMeta], ranges: Sequence[str], with_data: bool
    ) -> dict[str, Any]:
        """One ``batchUpdate`` removing the stale locks and locking ``sheets``; its answer
        (decoded) holds ``ranges`` as grid data when ``with_data``. Raises what the call
        raises (a stale lock already gone is a ConnectorError: forget it, look again)."""
        body = {
            "requests": lock_requests(sheets, self.stale),
            "includeSpreadsheetInResponse": True,
            "responseRanges": list(ranges),
            "responseIncludeGridData": with_data,
        }
        answer = self.http.request(
            "post", self.url, json=body, params={"fields": lock_fields(with_data)}
        )
        decoded: dict[str, Any] = decode_json(answer.content)
        self.held = added_locks(decoded)
        self.stale = set()
        self.note((decoded.get("updatedSpreadsheet") or {}).get("sheets") or [])
        return decoded

    def unlock_requests(self) -> list[dict[str, Any]]:
        """The requests removing every lock known (appended to a write's last call)."""
        return release_requests(self.held | self.stale)

    def forget(self) -> None:
        """The known locks are gone (removed, or to be found again in fresh metadata)."""
        self.held.clear()
        self.stale.clear()

    def release(self) -> bool:
        """Remove every known lock in one ``batchUpdate``; False when that failed (the
        caller refreshes its metadata so the next read finds what is left)."""
        requests = self.unlock_requests()
        if not requests:
            return True
        try:
            self.http.request("post", self.url, json={"requests": requests})
        except ConnectorError as exc:
            known = sorted(self.held | self.stale)
            log.warning("write_lock.release_failed", error=str(exc), locks=known)
            return False
        finally:
            self.forget()
        return True
