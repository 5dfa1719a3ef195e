"""Concurrent human edits against the sandbox: for each gap between two API calls of a
cycle, a person's edit injected there is never lost and every customer stays in exactly
one of the main and history tabs.

An editor's edit that lands while syncer holds its write lock is refused, as the Sheets UI
refuses it (the person sees why and makes it again right after); the owner passes any
protection, so the owner's edit of a cell syncer writes, between the guard read and the
write, is the one case still overwritten (docs/google.md, "The write lock")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from syncer.engine import run_cycle
from syncer.model import canonical
from syncer.sandbox import LoggedRequest, ProtectedEdit, SandboxServer
from syncer.state import StateStore

from .conftest import HEADER, MakeConnector, MakeSheet, customer_rows, ledger_for

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
N = 12
ALL = {f"C{i:06d}" for i in range(1, N + 1)}
EDITOR = "person@team.iam.gserviceaccount.com"


def row_of(server: SandboxServer, sid: str, key: str) -> int:
    """1-based sheet row of ``key`` in Main."""
    for i, row in enumerate(server.values(sid, "Main"), start=1):
        if row and row[0] == key:
            return i
    raise AssertionError(f"{key} not in Main")


def cell(server: SandboxServer, sid: str, key: str, column: str) -> Any:
    rows = server.values(sid, "Main")
    pos = rows[0].index(column)
    row = rows[row_of(server, sid, key) - 1]
    return row[pos] if pos < len(row) else None


Edit = Callable[[SandboxServer, str, str | None], None]
Check = Callable[[SandboxServer, str], None]


def edit_watched(s: SandboxServer, sid: str, user: str | None) -> None:
    s.set_values(sid, "Main", f"D{row_of(s, sid, 'C000009')}", [["paused"]], user=user)


def check_watched(s: SandboxServer, sid: str) -> None:
    assert cell(s, sid, "C000009", "status") == "paused"


def edit_wanted(s: SandboxServer, sid: str, user: str | None) -> None:
    s.set_values(sid, "Main", f"F{row_of(s, sid, 'C000006')}", [["by hand"]], user=user)


def check_wanted(s: SandboxServer, sid: str) -> None:
    assert cell(s, sid, "C000006", "changed") == "by hand"


def edit_insert(s: SandboxServer, sid: str, user: str | None) -> None:
    with s.atomically():  # one edit: a pasted row
        s.insert_rows(sid, "Main", 2, user=user)
        row = ["N000001", "new person", 13900000000, "active", "hi"]
        s.set_values(sid, "Main", "A2", [row], user=user)


def check_insert(s: SandboxServer, sid: str) -> None:
    assert cell(s, sid, "N000001", "comment") == "hi"
    assert cell(s, sid, "N000001", "name") == "new person"


def edit_delete(s: SandboxServer, sid: str, user: str | None) -> None:
    s.delete_rows(sid, "Main", row_of(s, sid, "C000011"), user=user)


def check_delete(s: SandboxServer, sid: str) -> None:
    assert "C000011" not in keys(s, sid)


def edit_sort(s: SandboxServer, sid: str, user: str | None) -> None:
    s.sort_tab(sid, "Main", 1, header_rows=1, ascending=False, user=user)


def check_nothing(s: SandboxServer, sid: str) -> None:
    return None


def edit_rename(s: SandboxServer, sid: str, user: str | None) -> None:
    s.set_values(sid, "Main", "E1", [["remarks"]], user=user)


def check_rename(s: SandboxServer, sid: str) -> None:
    assert s.values(sid, "Main")[0][4] == "remarks"


def edit_drop_history(s: SandboxServer, sid: str, user: str | None) -> None:
    s.delete_tab(sid, "History", user=user)


EDITS: dict[str, tuple[Edit, Check, set[str], set[str]]] = {
    # name: (edit, check, keys removed by the person, keys added by the person)
    "watched cell": (edit_watched, check_watched, set(), set()),
    "cell syncer writes": (edit_wanted, check_wanted, set(), set()),
    "insert row above": (edit_insert, check_insert, set(), {"N000001"}),
    "delete row": (edit_delete, check_delete, {"C000011"}, set()),
    "sort tab": (edit_sort, check_nothing, set(), set()),
    "rename column": (edit_rename, check_rename, set(), set()),
    "delete history tab": (edit_drop_history, check_nothing, set(), set()),
}


#: The gap between the guard's batchGet (3rd call of a cycle) and the batchUpdate.
GUARD_TO_WRITE = 3

#: Edits of cells the robot owns: a later cycle that has read them may write them again.
ROBOT_CELLS = {"cell syncer writes"}


def keys(s: SandboxServer, sid: str) -> list[str]:
    """Every customer key in Main and History (with repeats)."""
    out = [canonical(r[0]) for r in s.values(sid, "Main")[1:] if r and r[0]]
    if "History" in s.tabs(sid):
        out += [canonical(r[0]) for r in s.values(sid, "History")[1:] if r and r[0]]
    return out


@pytest.mark.parametrize("who", ["editor", "owner"])
@pytest.mark.parametrize("gap", range(1, 7))
@pytest.mark.parametrize("name", sorted(EDITS))
def test_human_edit_between_calls(
    name: str,
    gap: int,
    who: str,
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
    request: pytest.FixtureRequest,
) -> None:
    """The edit survives (an editor's refused under the write lock is made again after),
    no customer is lost or doubled, robot writes hit the right rows."""
    if name in ROBOT_CELLS and gap == GUARD_TO_WRITE and who == "owner":
        # Known gap (docs/google.md): Sheets has no conditional write and the owner passes
        # the write lock, so the owner's edit of a robot-owned cell landing between the
        # guard read and the batchUpdate is overwritten. Strict: it fails loudly once fixed.
        request.applymarker(pytest.mark.xfail(strict=True, reason="the owner passes the lock"))
    change, check, removed, added = EDITS[name]
    user = EDITOR if who == "editor" else None
    refused: list[ProtectedEdit] = []

    def edit(s: SandboxServer, sid: str) -> None:
        try:
            change(s, sid, user)
        except ProtectedEdit as exc:  # the person sees Sheets refuse it
            refused.append(exc)

    s = clean_sandbox
    sid = make_sheet({"Main": customer_rows(N, bad_every=5), "History": [HEADER[:6]]})
    ledger = ledger_for(sid)
    s.share(sid, EDITOR, "writer")
    conn = make_connector(sid)
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        assert run_cycle(ledger, conn, store, NOW).outcome == "ok"
        s.set_values(sid, "Main", f"D{row_of(s, sid, 'C000003')}", [["lost"]])
        s.set_values(sid, "Main", f"D{row_of(s, sid, 'C000006')}", [["paused"]])
        seen = [0]

        def hook(req: LoggedRequest) -> None:
            if req.api == "oauth":
                return
            seen[0] += 1
            if seen[0] == gap:
                edit(s, sid)

        s.add_hook(hook)
        try:
            second = run_cycle(ledger, conn, store, NOW + timedelta(minutes=5))
        finally:
            s.remove_hook(hook)
        if seen[0] < gap:
            edit(s, sid)  # the cycle made fewer calls: edit right after it
        if refused:  # the person makes the edit again, once the lock is gone
            change(s, sid, user)
        if who == "editor" and gap == GUARD_TO_WRITE:
            assert refused, "the edit between the guard read and the write met no lock"
        # An edit made before the robot's read (gap 1) may be overwritten by a rule: the
        # robot saw it. One made after the read must survive the cycle.
        if gap > 1 or name not in ROBOT_CELLS:
            check(s, sid)
        print("INCIDENTS", second.report.incidents if second.report else None, second.error)
        assert second.outcome in ("ok", "failed")
        for minute in (10, 15):
            result = run_cycle(ledger, conn, store, NOW + timedelta(minutes=minute))
            assert result.outcome in ("ok", "idle"), result.error
        if name not in ROBOT_CELLS:
            check(s, sid)
    finally:
        store.close()
    found = keys(s, sid)
    lost_history = name == "delete history tab"
    expected = (ALL - removed) | added
    assert sorted(found) == sorted(expected) or (
        lost_history and set(found) <= expected and len(found) == len(set(found))
    )
    stamped = {"C000006", "C000009", "C000003"}
    rows = s.values(sid, "Main")
    for row in rows[1:]:
        if row and row[0] not in stamped and len(row) > 5:
            assert row[5] in (None, ""), f"stamp landed on {row[0]}: {row}"


@pytest.mark.parametrize("keys_in_answer", [True, False])
def test_keys_with_stray_spaces_are_not_rows_that_moved(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
    keys_in_answer: bool,
) -> None:
    """A key cell typed with spaces around it ("C000004 ") reads after the write as the
    guard read it: no one moved rows, so the verify reports nothing and reads nothing
    more (whether the write's answer carries the keys or they are read after it)."""
    s = clean_sandbox
    rows = customer_rows(N)
    rows[4][0] = " C000004 "
    sid = make_sheet({"Main": rows})
    ledger, conn = ledger_for(sid), make_connector(sid)
    if not keys_in_answer:
        conn.keys_in_answer_max_rows = 0
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        assert run_cycle(ledger, conn, store, NOW).outcome == "ok"
        s.set_values(sid, "Main", f"D{row_of(s, sid, 'C000009')}", [["paused"]])
        s.clear_log()
        result = run_cycle(ledger, conn, store, NOW + timedelta(minutes=5))
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    assert result.report is not None
    assert not [i for i in result.report.incidents if "moved" in i]
    assert cell(s, sid, "C000009", "changed") not in (None, "")
    # read, lock (carrying the guard read), write (+ the key read): no whole re-read
    assert sum(r.api == "sheets" for r in s.request_log) == (3 if keys_in_answer else 4)


@pytest.mark.parametrize("inserted", ["above", "below", "none"])
def test_after_a_cell_only_write_the_verify_reads_just_the_written_rows(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
    inserted: str,
) -> None:
    """A write that only sets cells (a status stamp) is verified by reading the header
    and the rows written, not the whole key column; a row a person inserts above the
    written row right after the write is seen as rows that moved (every write checked,
    the stamp found on its customer), one inserted below moves no written cell and is
    not reported."""
    s = clean_sandbox
    sid = make_sheet({"Main": customer_rows(N)})
    ledger, conn = ledger_for(sid), make_connector(sid)
    conn.keys_in_answer_max_rows = 0  # the keys are read after the write
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    writes = [0]

    def insert_after_the_write(req: LoggedRequest) -> None:
        if req.api == "sheets" and req.path.endswith(":batchUpdate"):
            writes[0] += 1
            if writes[0] == 2 and inserted != "none":  # the lock, then the write
                at = row_of(s, sid, "C000009") + (-1 if inserted == "above" else 3)
                s.insert_rows(sid, "Main", at)

    try:
        assert run_cycle(ledger, conn, store, NOW).outcome == "ok"
        s.set_values(sid, "Main", f"D{row_of(s, sid, 'C000009')}", [["paused"]])
        written_row = row_of(s, sid, "C000009")
        s.clear_log()
        s.add_hook(insert_after_the_write)
        result = run_cycle(ledger, conn, store, NOW + timedelta(minutes=5))
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    assert result.report is not None
    assert cell(s, sid, "C000009", "changed") not in (None, "")
    stamped = [r[0] for r in s.values(sid, "Main")[1:] if r and len(r) > 5 and r[5]]
    assert stamped == ["C000009"]
    calls = [r for r in s.request_log if r.api == "sheets"]
    last_write = max(i for i, r in enumerate(calls) if r.path.endswith(":batchUpdate"))
    verify_read = calls[last_write + 1]  # the key read; after "moved", the tab whole follows
    ranges = parse_qs(verify_read.query)["ranges"]
    assert [r.rsplit("!", 1)[1] for r in ranges] == ["1:1", f"{written_row}:{written_row}"]
    moved = [i for i in result.report.incidents if "moved" in i]
    assert bool(moved) == (inserted == "above"), result.report.incidents
