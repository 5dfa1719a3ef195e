"""syncer's Google connector vs a naive gspread script, through the local Sheets sandbox.

Usage::

    /tmp/venv/bin/python bench/bench_google.py            # 1k and 10k rows
    /tmp/venv/bin/python bench/bench_google.py 1000 10000 100000

For each size, the messy example ledger (20 columns) is seeded into a fresh sandbox
spreadsheet and:

* **syncer** runs a first cycle (findings → annotations, errors tab, ids, archive),
  ``TYPICAL_RUNS`` *typical* cycles after a person's few dozen edits (notes, 8
  timestamps, 4 archives; medians reported), a *heavy* cycle after 10% of the statuses
  changed, and an idle cycle; Sheets calls, bytes and wall time come from the sandbox's
  request log, connector read/apply time from a timing subclass of the real connector.
* **fetch+parse** is the bare read through the same stack (one values.batchGet of the
  three tabs turned into Tables), the yardstick for "local work is small next to I/O":
  the median of six samples taken between and after the cycles.
* **naive** applies the same first-cycle plan the tutorial way (bench/naive_gspread.py)
  on an identical spreadsheet, capped at ``NAIVE_CAP`` operations and extrapolated.
* **quota on**: the sandbox's 60-per-minute per-user quota; syncer paces itself, the
  naive script (plain gspread, no retries) stops at its first 429.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import gspread

sys.path.insert(0, str(Path(__file__).resolve().parent))

from naive_gspread import naive_apply, naive_read

from syncer.config import load_ledger
from syncer.connectors.base import KeyColumn, Progress, TabRequest
from syncer.connectors.google import GoogleSheetsConnector
from syncer.connectors.google.auth import open_session
from syncer.connectors.ratelimit import RateLimiter
from syncer.engine import run_cycle, tab_requests
from syncer.examples import DEFAULT_TODAY, HEADER_ROW, messy_rows
from syncer.guard import Resolved
from syncer.ledger import GoogleSource, LedgerConfig
from syncer.model import Plan, Snapshot, Written
from syncer.sandbox import QuotaConfig, SandboxServer
from syncer.state import StateStore

EMAIL = "syncer@sandbox.iam.gserviceaccount.com"
NAIVE_CAP = 200
#: Typical cycles per size (the table shows their medians).
TYPICAL_RUNS = 3
#: Above this size only syncer runs (memory); the naive figures scale linearly.
NAIVE_MAX_ROWS = 10_000
ROOT = Path(__file__).resolve().parents[1]


def seed(server: SandboxServer, n: int) -> str:
    title, header, rows = messy_rows(n)
    data = [list(r) for r in rows]
    # Mess proportional to size: every 20th customer lost (archived), every 7th without
    # a phone (a finding → annotation + errors-tab line).
    status, phone = header.index("合作状态"), header.index("联系方式")
    for i, row in enumerate(data):
        if i % 20 == 11:
            row[status] = "流失客户"
        if i % 7 == 3:
            row[phone] = None
    grid: list[list[Any]] = [[title], list(header), *data]
    sid = server.create_spreadsheet(title, "owner@example.com", {"基础信息": grid})
    server.share(sid, EMAIL, "writer")
    return sid


def ledger_for(sid: str) -> LedgerConfig:
    base = load_ledger(ROOT / "config" / "ledgers" / "sales.yaml")
    return base.model_copy(update={"source": GoogleSource(connector="google", spreadsheet=sid)})


def sheets_log(server: SandboxServer) -> tuple[int, int, int]:
    """(Sheets calls, bytes in, bytes out) logged since the last clear."""
    log = [r for r in server.request_log if r.api == "sheets"]
    return len(log), sum(r.bytes_in for r in log), sum(r.bytes_out for r in log)


class TimedConnector(GoogleSheetsConnector):
    """The real connector, timing its read and its write half (guard read, write, key
    read; API calls included) for the table, and the remaining window: the local gap
    between the guard read's answer and the write request going out."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spent: dict[str, float] = {"read": 0.0, "apply": 0.0}
        self.windows: list[float] = []
        self._reread_done = 0.0

    def read(self, tabs: Sequence[TabRequest]) -> Snapshot:
        t0 = time.perf_counter()
        try:
            return super().read(tabs)
        finally:
            self.spent["read"] += time.perf_counter() - t0

    def reread(self, plan: Plan, snapshot: Snapshot) -> Snapshot:
        t0 = time.perf_counter()
        try:
            return super().reread(plan, snapshot)
        finally:
            self._reread_done = time.perf_counter()
            self.spent["apply"] += self._reread_done - t0

    def write(
        self,
        kept: Sequence[Resolved],
        fresh: Snapshot,
        snapshot: Snapshot,
        progress: Progress | None = None,
    ) -> Written:
        t0 = time.perf_counter()
        self.windows.append(t0 - self._reread_done)
        try:
            return super().write(kept, fresh, snapshot, progress)
        finally:
            self.spent["apply"] += time.perf_counter() - t0

    def read_keys(self, tabs: Mapping[str, KeyColumn]) -> dict[str, list[str] | None]:
        t0 = time.perf_counter()
        try:
            return super().read_keys(tabs)
        finally:
            self.spent["apply"] += time.perf_counter() - t0


def connector(server: SandboxServer, creds: Path, sid: str, rate: int) -> TimedConnector:
    return TimedConnector(
        sid,
        ledger="sales",
        key_column="客户编号",
        auth=open_session(creds, server.url),
        limiter=RateLimiter(rate, rate),
    )


def timed_cycle(
    server: SandboxServer,
    conn: TimedConnector,
    ledger: LedgerConfig,
    store: StateStore,
    when: datetime,
    name: str,
) -> dict[str, Any]:
    """Run one warm cycle: wall time, API time, connector read / apply time (API
    included), the rest (validation, rules, plan, state: the core), calls, operations."""
    server.clear_log()
    conn.http.seconds.clear()
    conn.spent = {"read": 0.0, "apply": 0.0}
    conn.windows = []
    t0 = time.perf_counter()
    result = run_cycle(ledger, conn, store, when)
    wall = time.perf_counter() - t0
    calls, _, _ = sheets_log(server)
    return {
        f"{name}_s": wall,
        f"{name}_read_s": conn.spent["read"],
        f"{name}_apply_s": conn.spent["apply"],
        f"{name}_core_s": wall - conn.spent["read"] - conn.spent["apply"],
        f"{name}_api_s": sum(conn.http.seconds.values()),
        f"{name}_write_s": conn.http.seconds.get("spreadsheets.batchUpdate", 0.0),
        f"{name}_calls": calls,
        f"{name}_ops": len(result.report.applied) if result.report else 0,
        f"{name}_archived": result.archived,
        f"{name}_window_ms": max(conn.windows, default=0.0) * 1000,
    }


def run_size(server: SandboxServer, creds: Path, n: int, tmp: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": n}
    now = datetime.combine(DEFAULT_TODAY, datetime.min.time(), tzinfo=ZoneInfo("Asia/Shanghai"))

    # syncer, no quota
    sid = seed(server, n)
    ledger = ledger_for(sid)
    conn = connector(server, creds, sid, 100_000)
    store = StateStore(f"sqlite:///{tmp}/state-{n}.db")
    server.clear_log()
    t0 = time.perf_counter()
    first = run_cycle(ledger, conn, store, now)
    out["cycle1_s"] = time.perf_counter() - t0
    out["cycle1_calls"], out["cycle1_in"], out["cycle1_out"] = sheets_log(server)
    out["cycle1_ops"] = len(first.report.applied) if first.report else 0
    # A typical cycle, three times (medians reported): a person makes a few dozen edits
    # (24 follow-up notes, 8 statuses to 合作中 → timestamps, 4 to 流失客户 → archived)
    # spread over the sheet.
    typical: list[dict[str, Any]] = []
    fetches: list[float] = []  # fetch + parse, sampled between cycles (a busy machine)
    for k in range(TYPICAL_RUNS):
        t0 = time.perf_counter()
        main = conn.read(tab_requests(ledger)).tables[ledger.tabs.main]
        fetches.append(time.perf_counter() - t0)
        status, notes = main.index_of("合作状态"), main.index_of("跟进内容")
        assert status is not None
        assert notes is not None
        step = max(1, len(main.rows) // 36)
        for j, i in enumerate(range(k, len(main.rows), step)):
            if j >= 36:
                break
            column, value = (notes, f"电话回访 {k}.{j}") if j < 24 else (status, "合作中")
            if j >= 32:
                value = "流失客户"
            cell = gspread.utils.rowcol_to_a1(main.sheet_row(i), column + 1)
            server.set_values(sid, ledger.tabs.main, cell, [[value]])
        when = now + timedelta(minutes=5 * (k + 1))
        typical.append(timed_cycle(server, conn, ledger, store, when, "typical"))
    for field_ in typical[0]:
        out[field_] = statistics.median(t[field_] for t in typical)
    main = conn.read([TabRequest(ledger.tabs.main, HEADER_ROW)]).tables[ledger.tabs.main]
    # A heavy cycle: 10% of the statuses change (half to 合作中, half to 流失客户).
    for i in range(0, len(main.rows), 10):
        row = main.sheet_row(i)
        letter = gspread.utils.rowcol_to_a1(row, status + 1)
        value = "合作中" if i % 20 == 0 else "流失客户"
        server.set_values(sid, ledger.tabs.main, letter, [[value]])
    later = now + timedelta(minutes=5 * (TYPICAL_RUNS + 1))
    out.update(timed_cycle(server, conn, ledger, store, later, "cycle2"))
    server.clear_log()
    t0 = time.perf_counter()
    idle = run_cycle(ledger, conn, store, later + timedelta(minutes=5))
    out["idle_s"] = time.perf_counter() - t0
    out["idle_sheets_calls"], _, _ = sheets_log(server)
    out["idle_outcome"] = idle.outcome
    # bare fetch + parse through the same stack (metadata cached, as in a cycle)
    for _ in range(3):
        t0 = time.perf_counter()
        conn.read(tab_requests(ledger))
        fetches.append(time.perf_counter() - t0)
    out["fetch_s"] = statistics.median(fetches)
    out["typical_ratio"] = out["typical_s"] / out["fetch_s"]
    out["ratio"] = out["cycle2_s"] / out["fetch_s"]
    store.close()
    conn.close()
    server.store.workbooks.pop(sid, None)  # free memory before the next phase
    if n > NAIVE_MAX_ROWS:
        return out

    # naive, same job on an identical sheet, capped
    sid2 = seed(server, n)
    ledger2 = ledger_for(sid2)
    conn2 = connector(server, creds, sid2, 100_000)
    store2 = StateStore(f"sqlite:///{tmp}/naive-{n}.db")
    dry = run_cycle(ledger2, conn2, store2, now, dry_run=True)
    snapshot = conn2.read(tab_requests(ledger2))
    store2.close()
    client = gspread.Client(None, session=open_session(creds, server.url).session)
    server.clear_log()
    t0 = time.perf_counter()
    naive_read(client, sid2, [ledger2.tabs.main, ledger2.tabs.history, ledger2.tabs.errors])
    assert dry.plan is not None
    done = naive_apply(client, sid2, dry.plan, snapshot, max_ops=NAIVE_CAP)
    wall = time.perf_counter() - t0
    calls, b_in, b_out = sheets_log(server)
    scale = done.total / max(done.done, 1)
    out["naive_ops"] = done.total
    out["naive_calls"] = round(calls * scale)
    out["naive_in"] = round(b_in * scale)
    out["naive_out"] = round(b_out * scale)
    out["naive_s"] = wall * scale
    out["naive_extrapolated"] = done.done < done.total
    conn2.close()

    # quota on: syncer paced at 55/min; naive stops at its first 429
    server.set_quotas(QuotaConfig())
    sid3 = seed(server, n)
    conn3 = connector(server, creds, sid3, 55)
    store3 = StateStore(f"sqlite:///{tmp}/quota-{n}.db")
    server.clear_log()
    t0 = time.perf_counter()
    q = run_cycle(ledger_for(sid3), conn3, store3, now)
    out["quota_syncer_s"] = time.perf_counter() - t0
    out["quota_syncer_429"] = sum(1 for r in server.request_log if r.status == 429)
    out["quota_syncer_outcome"] = q.outcome
    store3.close()
    conn3.close()
    sid4 = seed(server, n)
    server.clear_log()
    t0 = time.perf_counter()
    try:
        naive_read(client, sid4, [ledger2.tabs.main])
        naive_apply(client, sid4, dry.plan, snapshot, max_ops=NAIVE_CAP)
        out["quota_naive"] = "finished the capped run"
    except gspread.exceptions.APIError as exc:
        ok = sum(1 for r in server.request_log if r.api == "sheets" and r.status == 200)
        out["quota_naive"] = f"crashed with {exc.code} after {ok} calls"
    out["quota_naive_s"] = time.perf_counter() - t0
    # at 60 writes/min the naive job needs at least this long
    out["quota_naive_min_s"] = out["naive_calls"] / 60 * 60
    server.set_quotas(None)
    return out


def main(sizes: list[int]) -> None:
    tmp = Path(tempfile.mkdtemp())
    with SandboxServer() as server:
        creds = server.write_credentials(tmp / "sa.json", EMAIL)
        run_size(server, creds, 60, tmp)  # warm-up: imports, first token, caches
        results = [run_size(server, creds, n, tmp) for n in sizes]
    cols = [
        "rows",
        "cycle1_calls",
        "typical_calls",
        "cycle2_calls",
        "idle_sheets_calls",
        "cycle1_ops",
        "cycle2_ops",
        "cycle2_archived",
        "cycle1_in",
        "cycle1_out",
        "cycle1_s",
        "typical_ops",
        "typical_archived",
        "typical_s",
        "typical_api_s",
        "typical_write_s",
        "typical_read_s",
        "typical_apply_s",
        "typical_core_s",
        "typical_window_ms",
        "cycle2_window_ms",
        "cycle2_s",
        "cycle2_api_s",
        "cycle2_write_s",
        "cycle2_read_s",
        "cycle2_apply_s",
        "cycle2_core_s",
        "fetch_s",
        "typical_ratio",
        "ratio",
        "naive_ops",
        "naive_calls",
        "naive_in",
        "naive_out",
        "naive_s",
        "quota_syncer_s",
        "quota_syncer_429",
        "quota_naive",
        "quota_naive_min_s",
    ]
    for r in results:
        print({c: (round(r[c], 2) if isinstance(r[c], float) else r[c]) for c in cols if c in r})


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000])
