"""A write too large for one call: several ``batchUpdate`` calls, the row deletions last,
re-located by one read of just the rows to remove; a row a person changed meanwhile is
left in place (its history copy kept) for the next cycle to reconcile."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncer.engine import run_cycle
from syncer.model import canonical
from syncer.sandbox import LoggedRequest, SandboxServer
from syncer.state import StateStore

from .conftest import HEADER, MakeConnector, MakeSheet, customer_rows, ledger_for

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: Lost customers, every other row: more spans than a batchGet URL may name (200).
LOST = 260
SMALL_BATCH = 20_000


def tab_keys(s: SandboxServer, sid: str, tab: str) -> list[str]:
    return [canonical(r[0]) for r in s.values(sid, tab)[1:] if r and r[0]]


def call_names(log: list[LoggedRequest]) -> list[str]:
    """The Sheets calls of a request log, named by their path's last part."""
    return [r.path.rsplit("/", 1)[-1] for r in log if r.api == "sheets"]


def archive_every_other(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    s: SandboxServer,
    batch_bytes: int,
) -> str:
    """One cycle (log cleared first) on 2 x LOST customers, every other one lost, with
    write chunks of ``batch_bytes``; checks that it succeeded without an incident and
    moved each lost customer exactly once. Returns the spreadsheet id."""
    rows = customer_rows(2 * LOST, lost_every=2)
    lost = {r[0] for r in rows[1:] if r[3] == "lost"}
    sid = make_sheet({"Main": rows, "History": [HEADER[:6]]})
    conn = make_connector(sid)
    conn.max_batch_bytes = batch_bytes
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        s.clear_log()
        result = run_cycle(ledger_for(sid), conn, store, NOW)
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    assert result.report is not None
    assert not result.report.incidents
    assert set(tab_keys(s, sid, "Main")) == {r[0] for r in rows[1:]} - lost
    assert sorted(tab_keys(s, sid, "History")) == sorted(lost)
    return sid


def test_an_archive_in_several_calls_relocates_its_rows_with_one_filtered_read(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> None:
    """Every archived customer is moved exactly once; the rows to remove, spread over
    more spans than a URL names, are re-read as gridRange filters in one call (not by
    reading the tab whole) before they are removed, after the rest of the write, in a
    call that also removes the write lock."""
    s = clean_sandbox
    sid = archive_every_other(tmp_path, make_sheet, make_connector, s, SMALL_BATCH)
    names = call_names(s.request_log)
    writes = [i for i, n in enumerate(names) if n.endswith(":batchUpdate")]
    assert len(writes) >= 4, names  # lock, several chunks, the deletions
    first_write = writes[1]
    after = Counter(names[first_write:])
    assert after["values:batchGetByDataFilter"] == 1, names
    # no whole-tab re-read: the only batchGet after the write is the verify's key read
    assert after["values:batchGet"] <= 1, names
    # the write lock goes with the last removals: no call of its own after the verify
    relocated = names[names.index("values:batchGetByDataFilter") :]
    removals = [n.endswith(":batchUpdate") for n in relocated[1:-1]]
    assert removals, relocated
    assert all(removals), relocated
    assert relocated[-1] == "values:batchGet", relocated
    assert s.protected_ranges(sid, "Main") == []


def test_relocation_reads_the_tab_whole_when_google_refuses_its_filters(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> None:
    """When the re-location read's filters are refused (here: a body over the request
    limit, lowered to 12 kB), the rows to remove are re-read with the tab whole instead:
    the cycle succeeds and every archived customer is moved exactly once."""
    s = clean_sandbox
    s.max_request_bytes = 12_000
    sid = archive_every_other(tmp_path, make_sheet, make_connector, s, 10_000)
    refused = [r for r in s.request_log if r.status == 400]
    assert [r.path.rsplit("/", 1)[-1] for r in refused] == ["values:batchGetByDataFilter"]
    after = call_names(s.request_log[s.request_log.index(refused[0]) :])
    assert after[1:3] == [sid, "values:batchGet"], after  # the metadata, then the tab


def test_a_row_changed_between_two_calls_is_left_for_reconciliation(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> None:
    """The owner (who passes the write lock) edits a row to be archived while the write's
    first calls go out: that row stays where it is with the edit, an incident says why,
    every other archived row is moved; after the next cycles no customer is lost or
    doubled and the edit is kept."""
    s = clean_sandbox
    rows = customer_rows(2 * LOST, lost_every=2)
    sid = make_sheet({"Main": rows, "History": [HEADER[:6]]})
    conn = make_connector(sid)
    conn.max_batch_bytes = SMALL_BATCH
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    target = "C000010"  # lost: to be archived
    writes = [0]

    def hook(req: LoggedRequest) -> None:
        if req.api == "sheets" and req.path.endswith(":batchUpdate"):
            writes[0] += 1
            if writes[0] == 2:  # after the lock and the first chunk of the write
                main = s.values(sid, "Main")
                row = next(i for i, r in enumerate(main, start=1) if r and r[0] == target)
                s.set_values(sid, "Main", f"E{row}", [["call me first"]])

    s.add_hook(hook)
    try:
        first = run_cycle(ledger_for(sid), conn, store, NOW)
    finally:
        s.remove_hook(hook)
    try:
        assert first.outcome == "ok", first.error
        assert first.report is not None
        assert [i for i in first.report.incidents if "not removed" in i], first.report.incidents
        main = {r[0]: r for r in s.values(sid, "Main")[1:] if r and r[0]}
        assert main[target][4] == "call me first"
        assert target in tab_keys(s, sid, "History")
        for minute in (5, 10):
            result = run_cycle(ledger_for(sid), conn, store, NOW + timedelta(minutes=minute))
            assert result.outcome in ("ok", "idle"), result.error
    finally:
        store.close()
    every = tab_keys(s, sid, "Main") + tab_keys(s, sid, "History")
    assert sorted(set(every)) == sorted(r[0] for r in rows[1:])
    assert len(every) == len(set(every)), Counter(every).most_common(3)
    kept = [
        r for tab in ("Main", "History") for r in s.values(sid, tab)[1:] if r and r[0] == target
    ]
    assert any("call me first" in r for r in kept), kept


def test_an_errors_tab_larger_than_googles_request_limit_is_written_in_parts(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> None:
    """A rewrite of the errors tab that alone is larger than the largest body Google
    accepts (here lowered to 30 kB) goes as several requests in several calls, none
    refused: the cycle succeeds and the tab lists every finding."""
    s = clean_sandbox
    s.max_request_bytes = 30_000
    sid = make_sheet({"Main": customer_rows(600, bad_every=1)})
    conn = make_connector(sid)
    conn.max_batch_bytes = SMALL_BATCH
    ledger = ledger_for(sid)
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        s.clear_log()
        result = run_cycle(ledger, conn, store, NOW)
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    writes = [r for r in s.request_log if r.path.endswith(":batchUpdate")]
    assert all(r.status == 200 for r in s.request_log), [r.status for r in s.request_log]
    assert len(writes) >= 3
    assert max(r.bytes_in for r in writes) <= SMALL_BATCH
    lines = s.values(sid, ledger.tabs.errors)
    assert len(result.findings) >= 600
    assert len(lines) == len(result.findings) + 2  # the header and the summary line
    listed = {canonical(line[2]) for line in lines[1:-1]}
    assert listed == {f"C{i:06d}" for i in range(1, 601)}


def test_a_text_with_a_lone_surrogate_is_read_and_archived_as_it_was(
    tmp_path: Path, make_sheet: MakeSheet, make_connector: MakeConnector, sandbox: SandboxServer
) -> None:
    """A note holding a lone surrogate (not UTF-8; the fast JSON codec refuses it) does
    not make the tab unreadable, and the lost customer's row reaches history unchanged."""
    rows = customer_rows(4, lost_every=2)
    rows[1][4] = "kept \ud800 note"
    rows[2][4] = "lost \udc00 note"
    sid = make_sheet({"Main": rows, "History": [HEADER[:6]]})
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        result = run_cycle(ledger_for(sid), make_connector(sid), store, NOW)
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    main, history = sandbox.values(sid, "Main"), sandbox.values(sid, "History")
    assert [r[4] for r in main[1:]] == ["kept \ud800 note", "call back 3"]
    assert [(r[0], r[4]) for r in history[1:]] == [
        ("C000002", "lost \udc00 note"),
        ("C000004", "call back 4"),
    ]
