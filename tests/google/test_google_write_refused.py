"""A write Google refuses for a temporary reason (429, 5xx) is never repeated as it was:
syncer releases its write lock, waits, locks, reads and guards again, then writes what
still holds — so an edit a person makes while syncer waits is kept, and the rate limiter
never stands between the lock (with the guard read in its answer) and the write."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncer.connectors.google import GoogleSheetsConnector
from syncer.connectors.google.auth import open_session
from syncer.connectors.ratelimit import RateLimiter
from syncer.connectors.retry import RetryPolicy
from syncer.engine import WRITE_ATTEMPTS, CycleResult, run_cycle
from syncer.ledger import LedgerConfig
from syncer.sandbox import LoggedRequest, SandboxServer
from syncer.state import StateStore

from .conftest import MakeConnector, MakeSheet, customer_rows, ledger_for
from .fakes import FakeClock
from .test_google_concurrency import cell, row_of

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Synced:
    """A 12-customer sandbox ledger after its first cycle, and what ran it."""

    s: SandboxServer
    sid: str
    ledger: LedgerConfig
    conn: GoogleSheetsConnector
    store: StateStore

    def pause(self, key: str) -> None:
        """A person sets ``key``'s status to paused (syncer then stamps it)."""
        self.s.set_values(self.sid, "Main", f"D{row_of(self.s, self.sid, key)}", [["paused"]])

    def cycle(self, minutes: int) -> CycleResult:
        """One cycle ``minutes`` after the first."""
        return run_cycle(self.ledger, self.conn, self.store, NOW + timedelta(minutes=minutes))


@pytest.fixture
def synced(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> Iterator[Synced]:
    """The ledger after a first cycle that went through."""
    sid = make_sheet({"Main": customer_rows(12)})
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    ledger = ledger_for(sid)
    conn = make_connector(sid)
    try:
        assert run_cycle(ledger, conn, store, NOW).outcome == "ok"
        yield Synced(clean_sandbox, sid, ledger, conn, store)
    finally:
        store.close()


def sheets_calls(server: SandboxServer) -> list[tuple[str, int]]:
    """(kind, status) of every Sheets request logged so far."""
    return [(r.kind, r.status) for r in server.request_log if r.api == "sheets"]


@pytest.mark.parametrize("status", [429, 503])
def test_a_refused_write_is_guarded_again_and_keeps_an_edit_made_meanwhile(
    status: int, synced: Synced
) -> None:
    """Write refused → a person edits a cell syncer meant to write → syncer re-reads and
    writes only the rest: the person's value stays, the other stamp lands."""
    s, sid = synced.s, synced.sid
    synced.pause("C000006")
    synced.pause("C000009")
    s.clear_log()
    # The cycle's Sheets calls: the read, the lock with the guard read, the write (3rd).
    s.inject(status, on_request=3, api="sheets")

    def person(req: LoggedRequest) -> None:
        if req.kind == "write" and req.status == status:
            s.set_values(sid, "Main", f"F{row_of(s, sid, 'C000006')}", [["by hand"]])

    s.add_hook(person)
    result = synced.cycle(5)
    assert result.outcome == "ok", result.error
    assert sheets_calls(s) == [
        ("read", 200),  # the cycle's read
        ("write", 200),  # the write lock; its answer holds the guard read
        ("write", status),  # refused: nothing applied
        ("write", 200),  # the lock released for the wait
        ("write", 200),  # locked and guarded again, after the wait
        ("write", 200),  # its answer holds the key column: the verify reads nothing
    ]
    assert s.protected_ranges(sid, "Main") == []
    assert cell(s, sid, "C000006", "changed") == "by hand"
    assert cell(s, sid, "C000009", "changed") not in (None, "")
    assert result.report is not None
    assert any(d.op.target.key == "C000006" for d in result.report.dropped)


def test_a_write_refused_every_time_is_dropped_and_planned_again_next_cycle(
    synced: Synced,
) -> None:
    """Every try refused: nothing written, the cycle ends ok with the operations dropped,
    records no change token, and the next cycle writes them."""
    s, sid = synced.s, synced.sid
    synced.pause("C000009")
    s.clear_log()
    for attempt in range(WRITE_ATTEMPTS):  # read, then (lock + guard read, write, unlock)
        s.inject(429, on_request=3 + 3 * attempt, api="sheets")
    refused = synced.cycle(5)
    assert refused.outcome == "ok", refused.error
    assert refused.report is not None
    assert refused.report.applied == []
    assert refused.report.dropped
    assert "refused the write" in refused.report.dropped[0].reason
    assert cell(s, sid, "C000009", "changed") in (None, "")
    assert s.protected_ranges(sid, "Main") == []
    mark = synced.store.mark(synced.ledger.name)
    assert mark is not None
    assert mark.change_token is None
    again = synced.cycle(10)
    assert again.outcome == "ok", again.error
    assert cell(s, sid, "C000009", "changed") not in (None, "")


def test_the_rate_limiter_waits_before_the_guard_read_not_after_it(
    tmp_path: Path,
    make_sheet: MakeSheet,
    clean_sandbox: SandboxServer,
    credentials: Path,
) -> None:
    """With the write quota used up, the waits for write tokens come before the lock
    (whose answer is the guard read): the write follows the lock with no wait between."""
    s = clean_sandbox
    sid = make_sheet({"Main": customer_rows(12)})
    ledger = ledger_for(sid)
    clock = FakeClock()
    events: list[str] = []

    def sleep(seconds: float) -> None:
        events.append("wait")
        clock.sleep(seconds)

    conn = GoogleSheetsConnector(
        sid,
        ledger="t",
        key_column="id",
        auth=open_session(credentials, s.url),
        policy=RetryPolicy(sleep=clock.sleep, clock=clock, rng=random.Random(1)),
        limiter=RateLimiter(10_000, 1, clock=clock, sleep=sleep),  # 1 write a minute
    )
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        assert run_cycle(ledger, conn, store, NOW).outcome == "ok"  # takes the one token
        s.set_values(sid, "Main", f"D{row_of(s, sid, 'C000009')}", [["paused"]])
        s.add_hook(lambda req: events.append(req.kind) if req.api == "sheets" else None)
        result = run_cycle(ledger, conn, store, NOW + timedelta(minutes=5))
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    lock = events.index("write")
    assert events[lock + 1] == "write", events  # the lock, then at once the write
    assert max(clock.sleeps) > 30  # the write tokens were waited for (1 a minute) …
    assert "wait" in events[:lock]  # … before the lock
    assert cell(s, sid, "C000009", "changed") not in (None, "")


@pytest.mark.parametrize(("largest", "key_reads"), [(10_000, 0), (5, 1)])
def test_the_write_answers_with_the_keys_unless_the_ledger_is_large(
    largest: int, key_reads: int, synced: Synced
) -> None:
    """A small ledger's write returns its key column (no read after it); above the row
    limit the verify reads the keys with one batchGet instead — either way all lands."""
    synced.conn.keys_in_answer_max_rows = largest
    synced.pause("C000009")
    synced.s.clear_log()
    result = synced.cycle(5)
    assert result.outcome == "ok", result.error
    assert (
        sheets_calls(synced.s)
        == [("read", 200), ("write", 200), ("write", 200)] + [("read", 200)] * key_reads
    )
    assert cell(synced.s, synced.sid, "C000009", "changed") not in (None, "")
