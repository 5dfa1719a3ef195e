"""After a write: check every written cell and archived customer, and repair races.

Sheets has no conditional write, so a person who inserts, deletes or sorts rows while a
batch is in flight can make a cell write land on another customer's row or a removal
take the wrong row. :func:`verify_write` reads the key columns once after the write
and repairs what such a race broke; every repair is an incident.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from syncer.connectors.google_requests import (
    WriteBatch,
    append_row,
    column_letter,
    delete_rows,
    trimmed,
    update_cell,
)
from syncer.model import CellValue, MoveRow, Snapshot, canonical

if TYPE_CHECKING:
    from syncer.connectors.google import GoogleSheetsConnector

log = logging.getLogger("syncer.connectors.google")


def verify_write(
    conn: GoogleSheetsConnector, batch: WriteBatch, fresh: Snapshot, snapshot: Snapshot
) -> list[str]:
    """After writing: repair what a concurrent edit in the write window broke.

    One batchGet of the touched tabs. If the main tab's keys are not where the guard
    read plus our removals put them, rows moved while we wrote (a person inserted,
    deleted or sorted rows): cells written onto another customer's row get that row's
    value back from the snapshot, and a customer whose row we removed by mistake is
    re-appended from the snapshot. Then every moved customer must be in exactly one
    of main/history: a lost one is re-appended to history, a duplicate removed.
    """
    key = conn.key_column
    if not key:
        return []
    tabs: dict[str, tuple[int, str, int | None]] = {}

    def where(tab: str) -> tuple[int, str, int | None]:
        t = fresh.get(tab)
        return (t.header_row, key, t.index_of(key)) if t else (1, key, None)

    for tab, *_ in batch.cells:
        tabs[tab] = where(tab)
    for move in batch.moves:
        tabs[move.tab] = where(move.tab)
        tabs[move.history_tab] = where(move.history_tab)
    keys = conn.read_keys(tabs)
    meta = conn.metadata()
    incidents: list[str] = []
    repairs: list[dict[str, Any]] = []
    deletes: list[dict[str, Any]] = []
    moved = {m.target.key for m in batch.moves if m.target.key}
    for tab in {t for t, *_ in batch.cells} | {m.tab for m in batch.moves}:
        table, now = fresh.get(tab), keys.get(tab)
        if table is None or now is None or tab not in meta:
            continue
        removed = batch.removed.get(tab, set())
        before = [
            "" if v is None else v if v.__class__ is str else canonical(v)
            for v in table.column_values(key)
        ]
        for _, row, _col, op in batch.cells:  # keys we assigned ourselves
            index = row - table.header_row - 1
            if op.tab == tab and op.column == key and 0 <= index < len(before):
                before[index] = canonical(op.value)
        expected = [k for i, k in enumerate(before) if i not in removed]
        if trimmed(expected) == trimmed(now):
            continue
        incidents.append(
            f"rows of {tab!r} moved while syncer was writing (a person inserted, deleted "
            "or sorted rows); checked every written cell and removed row"
        )
        old = snapshot.get(tab)
        sid = meta[tab].sheet_id
        # The sheet as our cell writes saw it: our removals came after them.
        at_write = list(now)
        for index in sorted(removed):
            at_write.insert(min(index, len(at_write)), "\x00removed")
        for _, row, col, op in (c for c in batch.cells if c[0] == tab):
            index = row - table.header_row - 1
            there = at_write[index] if 0 <= index < len(at_write) else ""
            mine = canonical(op.value) if op.column == key else (op.target.key or "")
            if there in (mine, "\x00removed"):
                continue
            if there not in now:
                continue  # that row is gone; nothing to restore in place
            row = table.header_row + 1 + now.index(there)
            value: CellValue = None
            if old is not None and there:
                found = old.find_key(key, there)
                if found:
                    value = old.cell(found[0], op.column)
            repairs.append(update_cell(sid, row, col, value))
            incidents.append(
                f"{tab}!{column_letter(col)}{row}: syncer's write for {op.target.key!r} "
                f"landed on {there or 'an inserted row'!r}; restored its value"
            )
        present = set(now)
        missing = [k for k in expected if k and k not in present and k not in moved]
        still = [m for m in batch.moves if m.tab == tab and m.target.key in present]
        restore: list[str] = []
        for m in still:
            if not missing or m.target.key is None:
                continue
            gx = before.index(m.target.key) if m.target.key in before else 0
            nearest = min(missing, key=lambda k: abs(before.index(k) - gx))
            missing.remove(nearest)
            restore.append(nearest)
        for lost in restore:
            if old is None or not old.find_key(key, lost):
                continue
            src = old.row_dict(old.find_key(key, lost)[0])
            repairs.append(append_row(sid, [src.get(c) for c in table.header]))
            incidents.append(
                f"customer {lost!r} was removed from {tab!r} in place of an archived row; "
                "re-appended it from the snapshot"
            )
    positions: dict[str, dict[str, list[int]]] = {}
    for tab, listed in keys.items():
        index_of: dict[str, list[int]] = {}
        for i, v in enumerate(listed or []):
            if v in moved:  # only archived customers are looked up below
                index_of.setdefault(v, []).append(i)
        positions[tab] = index_of
    for move in batch.moves:
        mk = move.target.key
        if not mk:
            continue
        k: str = mk
        in_main = positions.get(move.tab, {}).get(k, [])
        in_hist = positions.get(move.history_tab, {}).get(k, [])
        if len(in_main) + len(in_hist) == 1:
            continue
        if not in_main and not in_hist:
            repairs.extend(history_append(conn, move))
            incidents.append(
                f"customer {k!r} was in neither {move.tab!r} nor {move.history_tab!r} after "
                "archiving; re-appended it to the history tab from the snapshot"
            )
        elif in_hist and move.history_tab in meta:
            extra = in_hist if in_main else in_hist[1:]
            hid = meta[move.history_tab].sheet_id
            deletes.extend(delete_rows(hid, i + 2, i + 2) for i in extra)
            incidents.append(
                f"customer {k!r} was in {move.tab!r} {len(in_main)} and in "
                f"{move.history_tab!r} {len(in_hist)} time(s) after archiving; removed the "
                "extra history copy (the row is archived again next cycle)"
            )
    if repairs or deletes:
        deletes.sort(key=lambda r: -int(r["deleteDimension"]["range"]["startIndex"]))
        conn.http.batch_update(conn.spreadsheet_id, {"requests": [*repairs, *deletes]})
    for text in incidents:
        log.error("incident in %s: %s", conn.http.target.describe(), text)
    conn.incidents.extend(incidents)
    return incidents


def history_append(conn: GoogleSheetsConnector, move: MoveRow) -> list[dict[str, Any]]:
    """Requests re-appending ``move``'s row to its history tab (created if gone)."""
    meta = conn.metadata()
    header = tuple(c for c, _ in move.values)
    if move.history_tab not in meta:
        conn.add_tabs({move.history_tab: header})
        meta = conn.metadata()
    by_col = dict(move.values)
    return [append_row(meta[move.history_tab].sheet_id, [by_col.get(c) for c in header])]
