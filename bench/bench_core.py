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
    .venv/bin/python bench/bench_core.py --incremental      # full vs incremental after edits
    .venv/bin/python bench/bench_core.py --incremental --cpu   # the same in CPU seconds

``--incremental`` times the cycle after a few dozen edits (36 cells on 36 rows) and after
2 % of the rows were edited, both ways on the same edited snapshot and state: the full
pass (``validate`` + ``build_plan``) and the incremental one (``validate_incremental``
against the memo of the previous cycle + ``build_plan``); it checks that both give the
same findings and plan.
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
from syncer.incremental import RuleRunner  # noqa: E402
from syncer.ledger import LedgerConfig  # noqa: E402
from syncer.model import Snapshot, Table  # noqa: E402
from syncer.planner import build_plan  # noqa: E402
from syncer.rules.base import PreviousState  # noqa: E402
from syncer.validate import validate  # noqa: E402
from syncer.validate.incremental import ValidationMemo, validate_incremental  # noqa: E402

NOW = datetime(2024, 6, 1, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
BUDGET_100K_S = 1.5
#: The clock of the timings: wall time, or the process's CPU time (``--cpu``; steadier
#: on a shared machine, and the same for this single-threaded work when it is idle).
CLOCK = time.perf_counter


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
    t0 = CLOCK()
    findings = validate(ledger, snap)
    t1 = CLOCK()
    planned = build_plan(ledger, snap, findings, previous, NOW)
    t2 = CLOCK()
    return t1 - t0, t2 - t1, len(findings), len(planned.plan)


#: Columns the edits of ``--incremental`` change, in turn: a plain text, the watched
#: follow-up text (stamped) and the phone (unique together with the contact name).
EDITED = ("客户名称", "跟进内容", "联系方式")


def edited(snap: Snapshot, count: int, seed: int = 11) -> Snapshot:
    """``snap`` with ``count`` rows edited (one cell each, in :data:`EDITED` turn)."""
    import random

    table = next(iter(snap.tables.values()))
    rows = list(table.rows)
    rnd = random.Random(seed)
    for n, index in enumerate(rnd.sample(range(len(rows)), count)):
        pos = table.index_of(EDITED[n % len(EDITED)])
        assert pos is not None
        row = list(rows[index])
        row[pos] = f"1{rnd.choice('3456789')}{rnd.randrange(10**9):09d}" if n % 3 == 2 else (
            f"{row[pos]}·改"
        )
        rows[index] = tuple(row)
    return Snapshot(tables={table.name: replace(table, rows=tuple(rows))})


def time_incremental(
    ledger: LedgerConfig,
    snap: Snapshot,
    previous: PreviousState,
    memo: ValidationMemo | None,
    tracked: frozenset[int],
) -> tuple[float, float, int, int, int]:
    """(validate s, plan s, findings, operations, rows validated) of the incremental cycle
    on a fresh snapshot object; asserts that it equals the full pass."""
    snap = fresh(snap)
    t0 = CLOCK()
    findings, after = validate_incremental(ledger, snap, memo)
    t1 = CLOCK()
    planned = build_plan(
        ledger, snap, findings, previous, NOW, runner=RuleRunner(after, tracked, NOW)
    )
    t2 = CLOCK()
    full = validate(ledger, snap)
    assert [repr(f) for f in findings] == [repr(f) for f in full]
    assert planned.plan == build_plan(ledger, snap, full, previous, NOW).plan
    return t1 - t0, t2 - t1, len(findings), len(planned.plan), after.checked if after else 0


def incremental(ledger: LedgerConfig, tables: dict[int, Table], sizes: list[int], runs: int) -> int:
    """Print full vs incremental medians after a few dozen edits and after 2 % of rows."""
    clock = "CPU" if CLOCK is time.process_time else "wall"
    print(
        f"full vs incremental cycle after edits, ledger {ledger.name}, {clock} seconds,"
        f" median of {runs} runs"
    )
    print(
        f"{'rows':>8} | {'edits':>6} | {'path':>11} | {'validate s':>10} | {'plan s':>8} |"
        f" {'total s':>8} | {'checked':>7} | {'findings':>8} | {'ops':>5}"
    )
    print("-" * 96)
    for n in sizes:
        snap = snapshot_of(ledger, tables[n])
        prev = previous_for(ledger, snap)
        findings, memo = validate_incremental(ledger, snap, None)
        runner = RuleRunner(memo)
        build_plan(ledger, snap, findings, prev, NOW, runner=runner)
        for count in (36, n // 50):
            after = edited(snap, count)
            time_once(ledger, after, prev)  # warm-up
            full = [time_once(ledger, after, prev) for _ in range(runs)]
            inc = [
                time_incremental(ledger, after, prev, memo, frozenset(runner.tracked_now))
                for _ in range(runs)
            ]
            for path, samples, checked in (
                ("full", full, n),
                ("incremental", inc, inc[0][4]),
            ):
                v = statistics.median(s[0] for s in samples)
                p = statistics.median(s[1] for s in samples)
                total = statistics.median(s[0] + s[1] for s in samples)
                print(
                    f"{n:>8} | {count:>6} | {path:>11} | {v:>10.3f} | {p:>8.3f} | {total:>8.3f} |"
                    f" {checked:>7} | {samples[0][2]:>8} | {samples[0][3]:>5}"
                )
    return 0


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
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="time full vs incremental cycles after 36 edits and after 2%% of rows edited",
    )
    parser.add_argument("--cpu", action="store_true", help="time CPU, not wall, seconds")
    args = parser.parse_args(argv)
    if args.cpu:
        global CLOCK
        CLOCK = time.process_time
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
    if args.incremental:
        return incremental(ledger, tables, args.sizes, args.runs)
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
