"""The write lock: the tabs a write changes are protected from the guard read to the write,
so people's edits in that moment are refused (visibly) instead of overwritten; the lock
never outlives the cycle, and one a crash left behind is removed by the next cycle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncer.connectors.base import TabRequest
from syncer.connectors.google import write_lock
from syncer.connectors.google.write_lock import LOCK_DESCRIPTION
from syncer.engine import run_cycle
from syncer.journal import Intent, Journal
from syncer.model import Plan, RowRef, SetCell
from syncer.sandbox import ProtectedEdit, SandboxServer
from syncer.state import StateStore

from .conftest import EMAIL, HEADER, MakeConnector, MakeSheet, customer_rows, ledger_for
from .test_google_concurrency import cell, row_of

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERSON = "person@team.iam.gserviceaccount.com"


def calls(server: SandboxServer) -> list[tuple[str, str]]:
    """(kind, last path part) of every Sheets request logged so far."""
    return [(r.kind, r.path.rsplit("/", 1)[-1]) for r in server.request_log if r.api == "sheets"]


def test_the_guard_read_rides_in_the_lock_and_the_write_removes_it(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> None:
    """A writing cycle: read, lock (its answer is the guard read), write (which unlocks).
    A person's edit between the lock and the write is refused; after it they can edit."""
    s = clean_sandbox
    sid = make_sheet({"Main": customer_rows(12)})
    s.share(sid, PERSON, "writer")
    ledger, conn = ledger_for(sid), make_connector(sid)
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    refused: list[ProtectedEdit] = []

    def person(req: Any) -> None:
        if req.kind == "write" and not refused:
            try:
                s.set_values(sid, "Main", f"E{row_of(s, sid, 'C000004')}", [["x"]], user=PERSON)
            except ProtectedEdit as exc:
                refused.append(exc)

    try:
        assert run_cycle(ledger, conn, store, NOW).outcome == "ok"
        s.set_values(sid, "Main", f"D{row_of(s, sid, 'C000009')}", [["paused"]])
        s.clear_log()
        s.add_hook(person)
        result = run_cycle(ledger, conn, store, NOW + timedelta(minutes=5))
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    update = ("write", f"{sid}:batchUpdate")
    assert calls(s) == [("read", "values:batchGet"), update, update]
    assert len(refused) == 1  # the person's edit met the lock
    assert s.protected_ranges(sid, "Main") == []
    assert cell(s, sid, "C000009", "changed") not in (None, "")
    s.set_values(sid, "Main", f"E{row_of(s, sid, 'C000004')}", [["again"]], user=PERSON)
    assert cell(s, sid, "C000004", "comment") == "again"


def test_the_lock_works_beside_a_sheet_protection(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> None:
    """A tab already carrying a sheet protection (as `syncer sheet setup` adds, warning
    only) still takes the write lock, which covers columns, not the sheet."""
    s = clean_sandbox
    sid = make_sheet({"Main": customer_rows(12)})
    ledger, conn = ledger_for(sid), make_connector(sid)
    sheet_protection = {"range": {"sheetId": 0}, "warningOnly": True, "description": "team"}
    conn.http.batch_update(
        sid, {"requests": [{"addProtectedRange": {"protectedRange": sheet_protection}}]}
    )
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        assert run_cycle(ledger, conn, store, NOW).outcome == "ok"
        s.set_values(sid, "Main", f"D{row_of(s, sid, 'C000009')}", [["paused"]])
        result = run_cycle(ledger, conn, store, NOW + timedelta(minutes=5))
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    assert cell(s, sid, "C000009", "changed") not in (None, "")
    assert [p["description"] for p in s.protected_ranges(sid, "Main")] == ["team"]


def test_the_lock_answer_reads_like_a_values_read(
    make_sheet: MakeSheet, make_connector: MakeConnector, clean_sandbox: SandboxServer
) -> None:
    """Dates, times, numbers, booleans, formulas, blanks: the guard read inside the lock's
    answer gives the same fresh tables as the values read without a lock."""
    rows: list[list[Any]] = [
        HEADER,
        ["C1", "text", 13800000001, "active", None, datetime(2026, 3, 1, 8, 30)],
        ["C2", None, 12.5, True, "=1+2", date(2026, 2, 28)],
        ["C3", "ä 中文", None, False, "", None, "n"],
        [],
        ["C5", "after a blank row", 0, "paused"],
    ]
    sid = make_sheet({"Main": rows, "History": [HEADER[:6]]})
    plain, locked = make_connector(sid, lock=False), make_connector(sid)
    snapshot = plain.read([TabRequest("Main"), TabRequest("History")])
    main = snapshot.tables["Main"]
    plan = Plan(
        "t",
        tuple(
            SetCell("Main", RowRef(key, row), column, "v", None, "test")
            for key, row in (("C1", 2), ("C3", 4), ("C5", 6))
            for column in ("changed", "note")
        ),
        "id",
    )
    want = plain.reread(plan, snapshot)
    got = locked.reread(plan, snapshot)
    assert dict(locked.calls) == {"spreadsheets.get": 1, "spreadsheets.batchUpdate": 1}
    locked.release_locks()
    assert set(got.tables) == set(want.tables)
    for tab, table in want.tables.items():
        assert got.tables[tab].header == table.header
        assert got.tables[tab].rows == table.rows, tab
    assert len(main.rows) == 5
    assert clean_sandbox.protected_ranges(sid, "Main") == []


def test_a_large_guard_read_follows_the_lock(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above the cells a lock answer may carry, the guard read is a values read right
    after the lock; with the lock off, there is no lock call at all."""
    s = clean_sandbox
    monkeypatch.setattr(write_lock, "LOCK_ANSWER_MAX_CELLS", 0)
    monkeypatch.setattr("syncer.connectors.google.connector.LOCK_ANSWER_MAX_CELLS", 0)
    sequences = []
    for lock in (True, False):
        sid = make_sheet({"Main": customer_rows(12)})
        ledger, conn = ledger_for(sid), make_connector(sid, lock=lock)
        store = StateStore(f"sqlite:///{tmp_path}/{lock}.db")
        try:
            assert run_cycle(ledger, conn, store, NOW).outcome == "ok"
            s.set_values(sid, "Main", f"D{row_of(s, sid, 'C000009')}", [["paused"]])
            s.clear_log()
            assert run_cycle(ledger, conn, store, NOW + timedelta(minutes=5)).outcome == "ok"
        finally:
            store.close()
        sequences.append([kind for kind, _ in calls(s)])
        assert cell(s, sid, "C000009", "changed") not in (None, "")
        assert s.protected_ranges(sid, "Main") == []
    assert sequences == [["read", "write", "read", "write"], ["read", "read", "write"]]


def test_a_failed_write_never_leaves_the_lock(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> None:
    """The write fails for good (a 400): the cycle fails, and the lock is removed."""
    s = clean_sandbox
    sid = make_sheet({"Main": customer_rows(12)})
    ledger, conn = ledger_for(sid), make_connector(sid)
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        assert run_cycle(ledger, conn, store, NOW).outcome == "ok"
        s.set_values(sid, "Main", f"D{row_of(s, sid, 'C000009')}", [["paused"]])
        s.clear_log()
        s.inject(400, on_request=3, api="sheets")  # read, lock, the write
        failed = run_cycle(ledger, conn, store, NOW + timedelta(minutes=5))
        assert s.protected_ranges(sid, "Main") == []
        again = run_cycle(ledger, conn, store, NOW + timedelta(minutes=10))
    finally:
        store.close()
    assert failed.outcome == "failed"
    assert again.outcome == "ok", again.error
    assert cell(s, sid, "C000009", "changed") not in (None, "")


@pytest.mark.parametrize("fresh_process", [True, False])
def test_a_lock_a_crash_left_is_removed_by_the_next_cycle(
    fresh_process: bool,
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> None:
    """A syncer lock is left on the tab (the process died holding it): a new process finds
    it in the metadata; a running one (another replica) learns of it from the journal
    entry the dead cycle left open. Either way the next cycle removes it, even with
    nothing to write, and a person can edit again."""
    s = clean_sandbox
    sid = make_sheet({"Main": customer_rows(12)})
    s.share(sid, PERSON, "writer")
    ledger = ledger_for(sid)
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        conn = make_connector(sid)
        assert run_cycle(ledger, conn, store, NOW).outcome == "ok"
        crashed = make_connector(sid)
        crashed.http.batch_update(
            sid,
            {
                "requests": [
                    {
                        "addProtectedRange": {
                            "protectedRange": {
                                "range": {"sheetId": 0},
                                "description": LOCK_DESCRIPTION,
                            }
                        }
                    }
                ]
            },
        )
        Journal(store).begin(ledger.name, "dead-cycle", NOW, Intent(), 1)
        [lock] = s.protected_ranges(sid, "Main")
        assert EMAIL in lock["editors"]["users"]
        with pytest.raises(ProtectedEdit):
            s.set_values(sid, "Main", "E2", [["x"]], user=PERSON)
        if fresh_process:
            conn = make_connector(sid)
        result = run_cycle(ledger, conn, store, NOW + timedelta(minutes=5))
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    assert s.protected_ranges(sid, "Main") == []
    s.set_values(sid, "Main", "E2", [["x"]], user=PERSON)
