"""Issue 11's yardstick: steady-state cycles against a bare fetch, three processes.

Usage::

    .venv/bin/python bench/bench_incremental.py                  # 100k rows, 3 rounds
    .venv/bin/python bench/bench_incremental.py --rows 250000 --rounds 3
    .venv/bin/python bench/bench_incremental.py --json out.json  # also write the raw runs
    SYNCER_BENCH_PROFILE=/tmp/prof .venv/bin/python bench/bench_incremental.py  # cProfile
                                          # each cycle of the syncer process into the dir

Three processes, so neither the sandbox's work nor the bench's bookkeeping is counted in
the syncer process (its CPU time and its peak RSS):

* **sandbox** — a :class:`~syncer.sandbox.SandboxServer` (no quotas) serving HTTP in its own
  process; it seeds the messy 20-column ledger (``syncer.examples.messy_rows``, mess
  proportional to size as in ``bench/bench_google.py``), makes the "human edits" of each
  scenario through its direct API (each bumps the Drive version like a person's edit)
  and counts the Sheets calls in its request log.
* **syncer** — a fresh process running :func:`syncer.engine.run_cycle` with the real
  :class:`~syncer.connectors.google.GoogleSheetsConnector` and a SQLite state store;
  it also takes the *bare fetch*: one ``values.batchGet`` of the three tabs turned into
  Tables through the same client stack (``connector.read``). It reports wall times per
  cycle, connector stage times (read, guard read, write, key read; API included) and
  its ``ru_maxrss`` at the end.
* **this process** — orders the work and prints medians.

After seeding, a first cycle fixes the seeded mess and a second settles (after one
person's edit, so that it reads: the first cycle adds the annotation column, and the
validation memo is keyed by the header, so the cycle after it checks every row again —
without this settling cycle, the first *typical* round did); then, interleaved
(``--rounds`` times): fetch, *typical* (24 follow-up notes → 24 dates, 8 statuses to
合作中 → 8 timestamps, 4 to 流失客户 → 4 archived rows), fetch, *2% edited* (the follow-up
note of every 50th row → ~2% stamps), *idle* (no edit: 0 Sheets calls expected). The
*heavy* cycles (10% of the statuses changed: half 合作中, half 流失客户 → ~5% of the rows
archived each time) run last, each after a fetch, since each removes 5% of the rows.
Ratios are the median cycle over the median of the fetches of the same phase; the *CPU
ratio* does the same with the syncer process's CPU time, which a busy machine disturbs
less than wall time (the sandbox's work is not in it). The *paired* ratios are the median
of each cycle over the mean of the two fetches around it (:func:`paired_ratio`): on a
machine whose speed drifts during the run (bare fetches from 2.2 to 3.9 s in one run)
they compare times taken seconds apart.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from syncer.connectors.google import GoogleSheetsConnector

ROOT = Path(__file__).resolve().parents[1]
EMAIL = "syncer@sandbox.iam.gserviceaccount.com"
MAIN, HISTORY, ERRORS = "基础信息", "客户历史库", "校验错误"
HEADER_ROW = 2
_C = TypeVar("_C", bound="GoogleSheetsConnector")


# --- the sandbox process ---------------------------------------------------------------


def _seed(server: Any, n: int) -> str:
    from bench_google import seed  # the same messy ledger as bench_google.py

    return seed(server, n)


def _edits(server: Any, sid: str, scenario: str, k: int) -> int:
    """A person's edits for ``scenario`` (round ``k``), made directly; how many cells."""
    import gspread.utils

    with server.atomically():
        grid = server.values(sid, MAIN)
        header = [str(v) for v in grid[HEADER_ROW - 1]]
        status, notes = header.index("合作状态"), header.index("跟进内容")
        n = len(grid) - HEADER_ROW
        edits: list[tuple[int, int, str]] = []  # (0-based data row, column, value)
        if scenario == "typical":
            step = max(1, n // 36)
            for j, i in enumerate(range(k, n, step)):
                if j >= 36:
                    break
                column, value = (notes, f"电话回访 {k}.{j}") if j < 24 else (status, "合作中")
                if j >= 32:
                    value = "流失客户"
                edits.append((i, column, value))
        elif scenario == "edited":
            edits = [(i, notes, f"第{k}轮回访 {i}") for i in range(k % 50, n, 50)]
        elif scenario == "settle":  # one note, so the settling cycle reads and validates
            edits = [(0, notes, "首次回访")]
        elif scenario == "heavy":
            for i in range(k % 10, n, 10):
                edits.append((i, status, "合作中" if (i // 10) % 2 == 0 else "流失客户"))
        for i, column, value in edits:
            a1 = gspread.utils.rowcol_to_a1(HEADER_ROW + 1 + i, column + 1)
            server.set_values(sid, MAIN, a1, [[value]])
    return len(edits)


def sandbox_main(pipe: Connection, rows: int, tmp: str) -> None:
    """Serve a seeded sandbox; answer the parent's commands until ``stop``."""
    from syncer.sandbox import SandboxServer

    server = SandboxServer().start()
    creds = server.write_credentials(Path(tmp) / "sa.json", EMAIL)
    sid = _seed(server, rows)
    pipe.send((server.url, str(creds), sid))
    while True:
        cmd, *args = pipe.recv()
        if cmd == "stop":
            server.stop()
            pipe.send(None)
            return
        if cmd == "clear":
            server.clear_log()
            pipe.send(None)
        elif cmd == "calls":
            log = list(server.request_log)
            pipe.send(
                {
                    "sheets": sum(1 for r in log if r.api == "sheets"),
                    "drive": sum(1 for r in log if r.api == "drive"),
                    "bytes_in": sum(r.bytes_in for r in log if r.api == "sheets"),
                    "bytes_out": sum(r.bytes_out for r in log if r.api == "sheets"),
                }
            )
        elif cmd == "edit":
            pipe.send(_edits(server, sid, args[0], args[1]))


# --- the syncer process ----------------------------------------------------------------


def bench_connector(cls: type[_C], sid: str, url: str, creds: str) -> _C:
    """A Google connector (``cls``: the class or a subclass) on the bench's sandbox ledger,
    with no rate limit in the way."""
    from syncer.connectors.google.auth import open_session
    from syncer.connectors.ratelimit import RateLimiter

    return cls(
        sid,
        ledger="sales",
        key_column="客户编号",
        auth=open_session(Path(creds), url),
        limiter=RateLimiter(100_000, 100_000),
    )


def syncer_main(pipe: Connection, url: str, creds: str, sid: str, db: str) -> None:
    """Run cycles and bare fetches on command; report times and peak RSS."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    from syncer.config import load_ledger
    from syncer.connectors.base import KeyColumn, Progress, TabRequest
    from syncer.connectors.google import GoogleSheetsConnector
    from syncer.engine import run_cycle, tab_requests
    from syncer.ledger import GoogleSource
    from syncer.model import Plan, Snapshot, Written
    from syncer.state import StateStore

    class Timed(GoogleSheetsConnector):
        """The real connector, timing its stages (API calls included)."""

        spent: dict[str, float]

        def _timed(self, stage: str, fn: Any, *args: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args)
            finally:
                self.spent[stage] = self.spent.get(stage, 0.0) + time.perf_counter() - t0

        def read(self, tabs: Sequence[TabRequest]) -> Snapshot:
            return self._timed("read", super().read, tabs)  # type: ignore[no-any-return]

        def reread(self, plan: Plan, snapshot: Snapshot) -> Snapshot:
            return self._timed("guard", super().reread, plan, snapshot)  # type: ignore[no-any-return]

        def write(
            self, kept: Any, fresh: Snapshot, snapshot: Snapshot, progress: Progress | None = None
        ) -> Written:
            return self._timed("write", super().write, kept, fresh, snapshot, progress)  # type: ignore[no-any-return]

        def read_keys(self, tabs: Mapping[str, KeyColumn]) -> dict[str, list[str] | None]:
            return self._timed("keys", super().read_keys, tabs)  # type: ignore[no-any-return]

        def read_keys_at(
            self, tabs: Mapping[str, KeyColumn], rows: Mapping[str, Collection[int]]
        ) -> dict[str, dict[int, str] | None]:
            return self._timed("keys", super().read_keys_at, tabs, rows)  # type: ignore[no-any-return]

    base = load_ledger(ROOT / "config" / "ledgers" / "sales.yaml")
    ledger = base.model_copy(update={"source": GoogleSource(connector="google", spreadsheet=sid)})
    conn = bench_connector(Timed, sid, url, creds)
    conn.spent = {}
    store = StateStore(f"sqlite:///{db}")
    pipe.send(None)
    while True:
        cmd, *args = pipe.recv()
        if cmd == "stop":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            store.close()
            conn.close()
            pipe.send({"maxrss_mib": usage.ru_maxrss / 1024})
            return
        if cmd == "rss":
            pipe.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        elif cmd == "fetch":
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            rows = len(conn.read(tab_requests(ledger)).tables[MAIN].rows)
            wall = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            # The fetched tables are dropped here: kept in a variable until the next fetch,
            # they had stayed alive through the next cycle and added ~200 MiB to its peak.
            pipe.send({"s": wall, "cpu_s": cpu, "rows": rows})
        elif cmd == "cycle":
            conn.spent = {}
            calls_before = sum(conn.http.calls.values())
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            profile_dir = os.environ.get("SYNCER_BENCH_PROFILE")
            profiler = cProfile.Profile() if profile_dir else contextlib.nullcontext()
            with profiler:
                result = run_cycle(ledger, conn, store, datetime.fromisoformat(args[0]))
            if isinstance(profiler, cProfile.Profile):
                profiler.dump_stats(os.path.join(str(profile_dir), f"{args[1]}.prof"))
            wall = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            stages = {k: round(v, 4) for k, v in conn.spent.items()}
            io = sum(stages.values())
            pipe.send(
                {
                    "s": wall,
                    "cpu_s": cpu,
                    "outcome": result.outcome,
                    "error": result.error,
                    "ops": len(result.report.applied) if result.report else 0,
                    "archived": getattr(result, "archived", None),
                    "client_calls": sum(conn.http.calls.values()) - calls_before,
                    "stages": stages,
                    "core_s": wall - io,
                }
            )


# --- the parent -------------------------------------------------------------------------


class Child:
    """A child process answering commands over a pipe."""

    def __init__(self, ctx: Any, target: Any, *args: Any) -> None:
        self.pipe, there = ctx.Pipe()
        self.proc = ctx.Process(target=target, args=(there, *args), daemon=True)
        self.proc.start()

    def ask(self, *cmd: Any) -> Any:
        self.pipe.send(cmd)
        return self.pipe.recv()

    def first(self) -> Any:
        return self.pipe.recv()


def run(rows: int, rounds: int, scenarios: Sequence[str]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    tmp = tempfile.mkdtemp(prefix="bench-incr-")
    t0 = time.perf_counter()
    sandbox = Child(ctx, sandbox_main, rows, tmp)
    url, creds, sid = sandbox.first()
    print(f"seeded {rows} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    syncer = Child(ctx, syncer_main, url, creds, sid, os.path.join(tmp, "state.db"))
    syncer.first()
    now = datetime(2024, 6, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    minute = [0]

    def cycle(scenario: str, k: int) -> dict[str, Any]:
        edited = sandbox.ask("edit", scenario, k) if scenario not in ("idle", "setup") else 0
        minute[0] += 5
        sandbox.ask("clear")
        when = (now + timedelta(minutes=minute[0])).isoformat()
        out: dict[str, Any] = syncer.ask("cycle", when, f"{scenario}-{k}")
        out.update(sandbox.ask("calls"))
        out["edited_cells"] = edited
        if out["outcome"] not in ("ok", "idle"):
            raise SystemExit(f"{scenario} cycle failed: {out['error']}")
        print(
            f"{scenario:8} {out['s']:6.2f} s  sheets calls {out['sheets']}  "
            f"ops {out['ops']}  stages {out['stages']}",
            file=sys.stderr,
        )
        return out

    for label in ("setup", "settle"):
        out = cycle(label, 0)
        print(f"{label} cycle: {out['s']:.1f} s, {out['ops']} ops", file=sys.stderr)
    rss_setup = syncer.ask("rss")
    fetches: dict[str, list[float]] = {"steady": [], "heavy": []}
    fetch_cpu: dict[str, list[float]] = {"steady": [], "heavy": []}
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in scenarios}
    timeline: list[tuple[str, dict[str, Any]]] = []  # ("fetch" or scenario, its times)

    def fetch(phase: str) -> None:
        got = syncer.ask("fetch")
        fetches[phase].append(got["s"])
        fetch_cpu[phase].append(got["cpu_s"])
        timeline.append(("fetch", got))
        print(f"fetch    {got['s']:6.2f} s  ({got['rows']} rows)", file=sys.stderr)

    for k in range(rounds):
        for scenario in ("typical", "edited", "idle"):
            if scenario not in scenarios:
                continue
            if scenario != "idle":
                fetch("steady")
            runs[scenario].append(cycle(scenario, k))
            timeline.append((scenario, runs[scenario][-1]))
    fetch("steady")
    rss_steady = syncer.ask("rss")
    if "heavy" in scenarios:
        for k in range(rounds):
            fetch("heavy")
            runs["heavy"].append(cycle("heavy", k))
            timeline.append(("heavy", runs["heavy"][-1]))
        fetch("heavy")
    rss = syncer.ask("stop")
    sandbox.ask("stop")
    summary: dict[str, Any] = {
        "rows": rows,
        "rounds": rounds,
        "fetch_s": statistics.median(fetches["steady"]),
        "fetch_heavy_s": statistics.median(fetches["heavy"]) if fetches["heavy"] else None,
        "fetches": fetches,
        # the syncer process's CPU time: steadier than wall time on a busy machine
        "fetch_cpu_s": statistics.median(fetch_cpu["steady"]),
        "fetch_heavy_cpu_s": statistics.median(fetch_cpu["heavy"]) if fetch_cpu["heavy"] else None,
        "peak_rss_mib": round(rss["maxrss_mib"], 1),
        "peak_rss_after_first_cycle_mib": round(rss_setup, 1),
        "peak_rss_after_steady_mib": round(rss_steady, 1),
        "scenarios": {},
    }
    for scenario, got in runs.items():
        if not got:
            continue
        base = summary["fetch_heavy_s"] if scenario == "heavy" else summary["fetch_s"]
        med = statistics.median(r["s"] for r in got)
        cpu = statistics.median(r["cpu_s"] for r in got)
        cpu_base = summary["fetch_heavy_cpu_s"] if scenario == "heavy" else summary["fetch_cpu_s"]
        stages = {
            name: statistics.median(r["stages"].get(name, 0.0) for r in got)
            for name in sorted({n for r in got for n in r["stages"]})
        }
        summary["scenarios"][scenario] = {
            "median_s": round(med, 3),
            "ratio": round(med / base, 2) if scenario != "idle" else None,
            "paired_ratio": paired_ratio(timeline, scenario, "s"),
            "paired_cpu_ratio": paired_ratio(timeline, scenario, "cpu_s"),
            "cpu_s": round(cpu, 3),
            "cpu_ratio": round(cpu / cpu_base, 2) if scenario != "idle" else None,
            "sheets_calls": sorted({r["sheets"] for r in got}),
            "drive_calls": sorted({r["drive"] for r in got}),
            "ops": statistics.median(r["ops"] for r in got),
            "sent_mb": round(statistics.median(r["bytes_in"] for r in got) / 1e6, 2),
            "received_mb": round(statistics.median(r["bytes_out"] for r in got) / 1e6, 2),
            "stages_s": {k: round(v, 3) for k, v in stages.items()},
            "core_s": round(statistics.median(r["core_s"] for r in got), 3),
            "runs_s": [round(r["s"], 3) for r in got],
        }
    return summary


def paired_ratio(
    timeline: Sequence[tuple[str, Mapping[str, Any]]], scenario: str, key: str
) -> float | None:
    """The median over ``scenario``'s cycles of each cycle's ``key`` time over the mean of
    the bare fetches right before and right after it: each ratio is taken within a few
    seconds, so a machine whose speed drifts over the run disturbs it less than the
    ratio of the two medians. None for the idle cycles (no fetch to compare)."""
    if scenario == "idle":
        return None
    ratios: list[float] = []
    for i, (kind, times) in enumerate(timeline):
        if kind != scenario:
            continue
        before = next((t for k, t in reversed(timeline[:i]) if k == "fetch"), None)
        after = next((t for k, t in timeline[i + 1 :] if k == "fetch"), None)
        around = [t[key] for t in (before, after) if t is not None]
        ratios.append(times[key] / statistics.mean(around))
    return round(statistics.median(ratios), 2) if ratios else None


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--scenarios", default="typical,edited,heavy,idle", help="comma-separated subset"
    )
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    summary = run(args.rows, args.rounds, args.scenarios.split(","))
    print(
        f"rows {summary['rows']}: bare fetch {summary['fetch_s']:.2f} s"
        f" (CPU {summary['fetch_cpu_s']:.2f} s)",
        end="",
    )
    if summary["fetch_heavy_s"] is not None:
        print(f" (heavy phase {summary['fetch_heavy_s']:.2f} s)", end="")
    print(
        f"; syncer peak RSS {summary['peak_rss_mib']:.0f} MiB (after the first cycle "
        f"{summary['peak_rss_after_first_cycle_mib']:.0f}, after the steady rounds "
        f"{summary['peak_rss_after_steady_mib']:.0f})"
    )
    print(
        "| scenario | median cycle s | ratio to fetch | paired ratio | CPU s | CPU ratio |"
        " paired CPU ratio | Sheets calls | stages (s) | core s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---|---:|")

    def times(ratio: float | None) -> str:
        return "—" if ratio is None else f"{ratio:.2f}×"

    for name, s in summary["scenarios"].items():
        print(
            f"| {name} | {s['median_s']:.2f} | {times(s['ratio'])} |"
            f" {times(s['paired_ratio'])} | {s['cpu_s']:.2f} | {times(s['cpu_ratio'])} |"
            f" {times(s['paired_cpu_ratio'])} | {s['sheets_calls']} | {s['stages_s']} |"
            f" {s['core_s']:.2f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
