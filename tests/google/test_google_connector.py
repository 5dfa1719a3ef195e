"""The Google connector against the sandbox: reads, writes, call counts, idle cycles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncer.connectors.base import TabRequest
from syncer.engine import run_cycle
from syncer.sandbox import SandboxServer
from syncer.state import StateStore
from syncer.validate import validate
from syncer.validate.incremental import validate_incremental

from .conftest import HEADER, LEDGER_DATA, MakeConnector, MakeSheet, customer_rows, ledger_for

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def sheets_calls(server: SandboxServer) -> list[str]:
    return [f"{r.method} {r.path.split('/')[-1]}" for r in server.request_log if r.api == "sheets"]


def test_read_is_typed_and_one_batch_get(
    make_sheet: MakeSheet, make_connector: MakeConnector, clean_sandbox: SandboxServer
) -> None:
    """All tabs arrive in one values.batchGet, numbers as numbers, text as text."""
    sid = make_sheet({"Main": customer_rows(3), "History": [HEADER[:5]]})
    conn = make_connector(sid)
    conn.metadata()
    clean_sandbox.clear_log()
    snap = conn.read([TabRequest("Main"), TabRequest("History"), TabRequest("Errors")])
    assert sorted(snap.tables) == ["History", "Main"]
    main = snap.tables["Main"]
    assert main.cell(0, "phone") == 13800000001
    assert main.cell(0, "comment") == "call back 1"
    assert len(main.rows) == 3
    assert [r.path.rsplit("/", 1)[-1] for r in clean_sandbox.request_log if r.api == "sheets"] == [
        "values:batchGet"
    ]


def cycle_calls(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    server: SandboxServer,
    n: int,
) -> tuple[int, int, object]:
    sid = make_sheet({"Main": customer_rows(n, lost_every=5, bad_every=7), "History": [HEADER[:6]]})
    ledger = ledger_for(sid)
    conn = make_connector(sid)
    store = StateStore(f"sqlite:///{tmp_path}/state-{n}.db")
    try:
        first = run_cycle(ledger, conn, store, NOW)  # first sight: annotate + archive
        assert first.outcome == "ok", first.error
        main = [r[0] for r in server.values(sid, "Main")[1:]]
        for i, _key in enumerate(main):
            if i % 3 == 0:  # a person changes some statuses → timestamps next cycle
                server.set_values(sid, "Main", f"D{i + 2}", [["paused"]])
        server.clear_log()
        second = run_cycle(ledger, conn, store, NOW + timedelta(minutes=5))
        assert second.outcome == "ok", second.error
        calls = len([r for r in server.request_log if r.api == "sheets"])
        drive = len([r for r in server.request_log if r.api == "drive"])
        return calls, drive, (first, second)
    finally:
        store.close()


def test_calls_per_cycle_do_not_grow_with_rows(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> None:
    """A cycle with findings, timestamps and archived rows makes the same few Sheets
    calls at 10 rows and at 10,000 rows — one more at 10,000, where the guard read is
    too large to ride in the write lock's answer and follows it."""
    small, _, (f1, _s1) = cycle_calls(tmp_path, make_sheet, make_connector, clean_sandbox, 10)
    large, _, (f2, s2) = cycle_calls(tmp_path, make_sheet, make_connector, clean_sandbox, 10_000)
    assert f2.archived == 2000
    assert f1.archived == 2
    assert s2.report is not None
    assert len(s2.report.applied) > 1000
    assert large - small == 1
    assert large <= 4


def test_idle_cycle_is_one_drive_call(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> None:
    """Once the sheet is settled, a cycle makes one Drive files.get and no Sheets call."""
    sid = make_sheet(
        {"Main": customer_rows(20, lost_every=4, bad_every=3), "History": [HEADER[:6]]}
    )
    ledger = ledger_for(sid)
    conn = make_connector(sid)
    store = StateStore(f"sqlite:///{tmp_path}/idle.db")
    try:
        assert run_cycle(ledger, conn, store, NOW).outcome == "ok"
        clean_sandbox.clear_log()
        result = run_cycle(ledger, conn, store, NOW + timedelta(minutes=5))
    finally:
        store.close()
    assert result.outcome == "idle"
    assert [(r.api, r.method) for r in clean_sandbox.request_log] == [("drive", "GET")]


def test_history_rows_keep_user_text_and_types(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> None:
    """An archived row lands in history with its typed values (a phone number stays a
    number, text stays text); '=…' text is covered by the contract suite's google run."""
    rows = customer_rows(3)
    rows[2][3] = "lost"
    sid = make_sheet({"Main": rows, "History": [HEADER[:6]]})
    clean_sandbox.set_values(sid, "Main", "E3", [["placeholder"]])
    conn = make_connector(sid)
    snap = conn.read([TabRequest("Main"), TabRequest("History")])
    store = StateStore(f"sqlite:///{tmp_path}/h.db")
    try:
        result = run_cycle(ledger_for(sid), conn, store, NOW)
    finally:
        store.close()
    assert result.archived == 1
    history = clean_sandbox.values(sid, "History")
    assert history[1][:5] == ["C000002", "customer 2", 13800000002, "lost", "placeholder"]
    assert snap.tables["Main"].cell(1, "phone") == 13800000002


def test_read_says_when_no_cell_is_a_boolean(
    make_sheet: MakeSheet, make_connector: MakeConnector, clean_sandbox: SandboxServer
) -> None:
    """A read without a boolean spares validation its type scan; a checkbox value turns
    the hint off, and a number cell changed from 1 to TRUE is validated again."""
    sid = make_sheet({"Main": customer_rows(4)})
    columns = {**LEDGER_DATA["columns"], "comment": {"type": "number"}}
    ledger = ledger_for(sid, columns=columns)
    conn = make_connector(sid)
    clean_sandbox.set_values(sid, "Main", "E2:E5", [[1], [2], [3], [4]])
    before = conn.read([TabRequest("Main")])
    assert before.tables["Main"].booleans is False
    found, memo = validate_incremental(ledger, before, None)
    assert found == []
    clean_sandbox.set_values(sid, "Main", "E2", [[True]])
    after = conn.read([TabRequest("Main")])
    assert after.tables["Main"].cell(0, "comment") is True
    assert after.tables["Main"].booleans is None
    got, _ = validate_incremental(ledger, after, memo)
    assert got == validate(ledger, after)
    assert [(f.row, f.column) for f in got] == [(2, "comment")]
