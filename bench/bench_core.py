"""Benchmark: validate + rules + plan (the pure core, no I/O) on 10k and 100k rows × 20
columns of the sales ledger (config/ledgers/sales.yaml).

Rows are the messy example ledger's (``syncer.examples.messy_rows(n)``): every kind of
documented mess (bad phones, placeholders, out-of-dropdown values, full-width digits,
odd dates, duplicates, lost and stale customers) followed by realistic clean customers.
The steady state is timed: the previous state is the one the first cycle recorded.
Each size is timed ``--runs`` times (default 5) in this process, after one warm-up run,
each on a fresh snapshot object (so no per-table memo carries over, as in a real
cycle); the median is reported, per stage. ``--first`` times first cycles instead
(empty previous state: every row is seen for the first time). Run:

    .venv/bin/python bench/bench_core.py            # 10k and 100k rows
    .venv/bin/python bench/bench_core.py --sizes 10000 --runs 3
    .venv/bin/python bench/bench_core.py --profile 100000   # cProfile top functions
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncer.config import load_ledger  # noqa: E402
from syncer.examples import HEADER_ROW, MAIN_TAB, messy_rows  # noqa: E402
from syncer.ledger import LedgerConfig  # noqa: E402
from syncer.model import Snapshot, Table  # noqa: E402
from syncer.planner import build_plan  # noqa: E402
from syncer.rules.base import PreviousState  # noqa: E402
from syncer.validate import validate  # noqa: E402

NOW = datetime(2024, 6, 1, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
BUDGET_100K_S = 1.5


def rows_table(n: int) -> Table:
    """``n`` rows of the messy example ledger (``syncer.examples.messy_rows``): the
    documented mess in its first rows, realistic clean customers after them."""
    header, rows = messy_rows(n=n)[1:]
    return Table(name=MAIN_TAB, header_row=HEADER_ROW, header=header, rows=tuple(rows))


def snapshot_of(ledger: LedgerConfig, table: Table) -> Snapshot:
    """A snapshot holding only the main tab (history and errors tabs absent)."""
    main = Table(ledger.tabs.main, table.header_row, table.header, table.rows)
    return Snapshot(tables={ledger.tabs.main: main}, change_token="bench")


def previous_for(ledger: LedgerConfig, snap: Snapshot) -> PreviousState:
    """The state a steady cycle sees: every row's watched values already recorded."""
    findings = validate(ledger, snap)
    planned = build_plan(ledger, snap, findings, PreviousState(), NOW)
    return PreviousState(watched=planned.observed, first_seen=planned.first_seen)


def fresh(snap: Snapshot) -> Snapshot:
    """A new snapshot object with the same rows, as the next cycle's read would give: the
    rules' per-table memo (column lists, texts, keys) starts cold, as in a real cycle."""
    return Snapshot(tables={name: replace(t) for name, t in snap.tables.items()})


def time_once(
    ledger: LedgerConfig, snap: Snapshot, previous: PreviousState
) -> tuple[float, float, int, int]:
    """(validate seconds, plan seconds, findings, operations) of one cycle's core, on a
    fresh snapshot object (nothing memoised from an earlier run)."""
    snap = fresh(snap)
    t0 = time.perf_counter()
    findings = validate(ledger, snap)
    t1 = time.perf_counter()
    planned = build_plan(ledger, snap, findings, previous, NOW)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, len(findings), len(planned.plan)


def main(argv: Sequence[str] | None = None) -> int:
    """Print a table of median timings per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ledger", type=Path, default=ROOT / "config/ledgers/sales.yaml")
    parser.add_argument("--profile", type=int, metavar="ROWS", help="profile one size")
    parser.add_argument(
        "--first", action="store_true", help="time first cycles (empty previous state)"
    )
    args = parser.parse_args(argv)
    ledger = load_ledger(args.ledger)
    tables = {n: rows_table(n) for n in {*args.sizes, *([args.profile] if args.profile else [])}}
    if args.profile:
        snap = snapshot_of(ledger, tables[args.profile])
        prev = previous_for(ledger, snap)
        prof = cProfile.Profile()
        prof.enable()
        time_once(ledger, snap, prev)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
        return 0
    width = len(next(iter(tables.values())).header)
    print(
        f"validate + rules + plan, ledger {ledger.name}, {width} columns,"
        f" {'first' if args.first else 'steady'} cycle, median of {args.runs} runs"
    )
    print(
        f"{'rows':>8} | {'validate s':>10} | {'plan s':>8} | {'total s':>8} |"
        f" {'findings':>8} | {'ops':>7}"
    )
    print("-" * 66)
    worst = 0.0
    for n in args.sizes:
        snap = snapshot_of(ledger, tables[n])
        prev = PreviousState() if args.first else previous_for(ledger, snap)
        time_once(ledger, snap, prev)  # warm-up: imports and first-use caches
        samples = [time_once(ledger, snap, prev) for _ in range(args.runs)]
        v = statistics.median(s[0] for s in samples)
        p = statistics.median(s[1] for s in samples)
        total = statistics.median(s[0] + s[1] for s in samples)
        print(
            f"{n:>8} | {v:>10.3f} | {p:>8.3f} | {total:>8.3f} |"
            f" {samples[0][2]:>8} | {samples[0][3]:>7}"
        )
        if n == 100_000:
            worst = total
    if worst:
        verdict = "within" if worst <= BUDGET_100K_S else "OVER"
        print(f"100k rows: {worst:.3f} s — {verdict} the {BUDGET_100K_S} s guidance")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
