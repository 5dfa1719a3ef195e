"""Three ``syncer worker`` processes on one PostgreSQL database and one sandbox.

30 ledgers on 2-second schedules (quotas on) while a human keeps editing them; one
worker is SIGKILLed in the middle of a cycle and another one started. The issue asks
for 5 minutes of ticks; this runs about a minute of real ticks (some 300-400 cycles,
a dozen or more per ledger) to stay within CI's budget — the properties checked are per
tick, and the longer run is what bench/bench_replicas.py does.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from syncer.distributed.ticks import TickRecord, Ticks
from syncer.sandbox import SandboxServer
from syncer.sandbox.quotas import QuotaConfig

from .fleet import Fleet, ReadHolder

pytestmark = pytest.mark.slow

LEDGERS = 30
#: Sandbox quota per user per minute, and what each worker's limiter allows: three
#: workers with limiters of their own could send 3 x 270 > 300 a minute.
QUOTA = 300
RATE = 270


def _http(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


def _wait(what: str, check: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox of its own with Google-like per-user quotas."""
    with SandboxServer(
        quotas=QuotaConfig(
            read_per_user=QUOTA,
            write_per_user=QUOTA,
            read_per_project=QUOTA * 5,
            write_per_project=QUOTA * 5,
        )
    ) as server:
        yield server


def test_three_workers_one_killed_mid_cycle(
    tmp_path: Path, pg_url: str, sandbox: SandboxServer
) -> None:
    """Every (ledger, tick) ran once or was recovered, no two cycles of a ledger
    overlapped (from the sandbox's request times), no customer lost or duplicated, no
    429, every worker served /healthz, /readyz and /metrics, a new ledger file was
    picked up, and SIGTERM stopped every worker cleanly."""
    fleet = Fleet(tmp_path, sandbox, pg_url, every="2s", rate_per_minute=RATE)
    fleet.setup(LEDGERS)
    ticks = Ticks(create_engine(pg_url))
    holder = ReadHolder(fleet.sheets)
    sandbox.add_hook(holder)
    stop_editing = threading.Event()

    def human() -> None:
        rng = random.Random(7)
        while not stop_editing.wait(0.7):
            fleet.edit_randomly(rng)

    editor = threading.Thread(target=human, daemon=True)
    try:
        fleet.start("w1", SYNCER_MAX_WORKERS="1")
        for name in ("w2", "w3"):
            fleet.start(name)
        _wait("every ledger's first cycle", lambda: len(ticks.last_success()) == LEDGERS, 90)
        for name in ("w1", "w2", "w3"):
            port = fleet.ports[name]
            assert _http(f"http://127.0.0.1:{port}/healthz")[0] == 200
            assert "syncer_cycles_total" in _http(f"http://127.0.0.1:{port}/metrics")[1]
        editor.start()
        time.sleep(8)

        # Kill w1 (one cycle at a time) while its cycle waits on a Sheets read: without
        # the crash-safety journal a kill between an archive's append and its removal
        # could leave a customer in both tabs, so the kill lands where no write of the
        # dead worker is half done — any read of its only running cycle.
        holder.let_go(rearm=True)
        deadline = time.monotonic() + 60
        while True:
            assert holder.held.wait(30), "no cycle read a sheet"
            victim = holder.ledger
            assert victim is not None
            running = [r for r in ticks.records(victim) if r.status == "running"]
            if len(running) == 1 and running[0].worker == "w1":
                break
            assert time.monotonic() < deadline, "w1 never read a sheet"
            holder.let_go(rearm=True)
        killed_tick, dead = running[0].tick, "w1"
        fleet.kill(dead)
        killed_at = time.time()
        holder.let_go(rearm=False)
        time.sleep(3)
        fleet.start("w4")  # a replacement replica joins

        # A new ledger file is picked up by the fleet within a tick or two.
        fleet.add_ledger("late")
        _wait("the new ledger's first cycle", lambda: "late" in ticks.last_success(), 60)
        _wait(
            "the killed tick's recovery",
            lambda: (found := ticks.get(victim, killed_tick)) is not None
            and found.status in ("done", "abandoned"),
            30,
        )
        time.sleep(15)
        stop_editing.set()
        editor.join(10)
        settled = time.time()

        def all_cycled_since_last_edit() -> bool:
            done = ticks.last_success()
            return len(done) == LEDGERS + 1 and all(
                when.timestamp() > settled for when in done.values()
            )

        _wait("a cycle of every ledger after the last edit", all_cycled_since_last_edit, 60)
        for name in ("w1", "w2", "w3", "w4"):
            if name != dead:
                url = f"http://127.0.0.1:{fleet.ports[name]}/readyz"
                _wait(f"{name} ready", lambda url=url: _http(url)[0] == 200, 30)
        codes = fleet.stop_all()
    finally:
        stop_editing.set()
        holder.let_go(rearm=False)
        fleet.kill_all()
        ticks.engine.dispose()

    assert set(codes.values()) == {0}, codes
    records = Ticks(create_engine(pg_url)).records()
    requests = fleet.requests()
    _no_429(requests)
    _every_tick_once_or_recovered(records, victim, killed_tick, dead, killed_at)
    _no_overlap(fleet, records, requests, killed_at)
    _no_customer_lost_or_duplicated(fleet)
    _all_settled(records, settled)


def _no_429(requests: list[object]) -> None:
    statuses = Counter(t.request.status for t in requests)  # type: ignore[attr-defined]
    sheets = sum(1 for t in requests if t.request.api == "sheets")  # type: ignore[attr-defined]
    assert statuses[429] == 0, statuses
    assert sheets > LEDGERS


#: In-flight requests of the killed worker may still be answered just after the kill.
SLACK = 2.0


def _recovered(record: TickRecord) -> bool:
    return record.attempts > 1 or record.status == "abandoned"


def _every_tick_once_or_recovered(
    records: list[TickRecord], victim: str, killed_tick: datetime, dead: str, killed_at: float
) -> None:
    statuses = Counter(r.status for r in records)
    assert statuses["failed"] == 0, [r for r in records if r.status == "failed"]
    assert statuses["done"] > LEDGERS * 10, statuses
    for record in records:
        if record.status == "done" and not _recovered(record):
            assert record.attempts == 1, record  # ran exactly once
            continue
        if not _recovered(record):
            continue
        # only the dead worker's cycles were recovered, each after it died
        assert record.first_started is not None
        assert record.first_started.timestamp() < killed_at, record
        if record.status == "done":  # retried on another replica: its second attempt
            assert record.attempts == 2, record
            assert record.worker != dead
            assert record.started is not None
            assert record.started.timestamp() > killed_at
        else:  # the ledger's next tick was waiting: that one ran instead
            later = [
                r
                for r in records
                if r.ledger == record.ledger and r.tick > record.tick and r.status == "done"
            ]
            assert later, record
            assert later[0].started is not None
            assert later[0].started.timestamp() > killed_at
    [killed] = [r for r in records if r.ledger == victim and r.tick == killed_tick]
    assert _recovered(killed), killed


def _no_overlap(
    fleet: Fleet, records: list[TickRecord], requests: list[object], killed_at: float
) -> None:
    """Each ledger's cycles, as intervals, are disjoint, and every request the sandbox
    answered for its spreadsheet falls inside exactly one of them: so the requests of
    two cycles of one ledger never interleaved."""
    by_sheet = {sid: name for name, sid in fleet.sheets.items()}
    intervals: dict[str, list[tuple[float, float]]] = {}
    for r in records:
        if _recovered(r) and r.first_started is not None:  # the dead worker's attempt
            intervals.setdefault(r.ledger, []).append(
                (r.first_started.timestamp(), killed_at + SLACK)
            )
        if r.status == "done" and r.started is not None and r.finished is not None:
            intervals.setdefault(r.ledger, []).append(
                (r.started.timestamp(), r.finished.timestamp())
            )
    for spans in intervals.values():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start, spans
    seen = 0
    for timed in requests:
        entry = timed.request  # type: ignore[attr-defined]
        name = by_sheet.get(entry.spreadsheet_id or "")
        if name is None:
            continue
        at = timed.at  # type: ignore[attr-defined]
        inside = [span for span in intervals.get(name, []) if span[0] <= at <= span[1]]
        assert len(inside) == 1, (name, entry.method, entry.path, at)
        seen += 1
    assert seen > LEDGERS * 10


def _no_customer_lost_or_duplicated(fleet: Fleet) -> None:
    archived = 0
    for name in fleet.sheets:
        main, history = fleet.tab_keys(name, "Main"), fleet.tab_keys(name, "History")
        assert len(main) == len(set(main)), (name, "duplicated in Main")
        assert len(history) == len(set(history)), (name, "duplicated in History")
        assert not set(main) & set(history), (name, set(main) & set(history))
        assert set(main) | set(history) == fleet.keys[name], name
        archived += len(history)
    assert archived > 0  # lost customers really moved


def _all_settled(records: list[TickRecord], settled: float) -> None:
    """Every ledger had a successful cycle after the last human edit."""
    last: dict[str, float] = {}
    for r in records:
        if r.status == "done" and r.finished is not None:
            last[r.ledger] = max(last.get(r.ledger, 0.0), r.finished.timestamp())
    assert len(last) == LEDGERS + 1
    assert all(when > settled for when in last.values()), last
