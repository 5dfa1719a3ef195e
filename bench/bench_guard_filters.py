"""Where one-row ``gridRange`` filters stop paying: the numbers behind the guard's
``MAX_FILTER_SPANS`` (``syncer.connectors.google.builders``).

Usage::

    .venv/bin/python bench/bench_guard_filters.py                  # 100k rows, 5 rounds
    .venv/bin/python bench/bench_guard_filters.py --spans 5000,15000 --rounds 3

The sandbox serves the messy ledger of ``bench_incremental.py`` in its own process. Each
round reads, through the Google connector, the guard read a plan touching N rows spread
evenly over the main tab would make — its header, key column, the two columns syncer
stamps read whole, and N one-row filters in one ``values.batchGetByDataFilter`` — and,
against it, the tab read whole and typed at one row in ten (the heavy cycle's share).
Both are turned into the guard's fresh Snapshot (``guard_snapshot``), as the connector
does. Reports the median wall time and this process's CPU time per read.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import tempfile
import time
from collections.abc import Callable

from bench_incremental import MAIN, ROOT, Child, bench_connector, sandbox_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--spans", default="5000,10000,15000,20000,30000")
    args = parser.parse_args()

    from syncer.config import load_ledger
    from syncer.connectors.google import GoogleSheetsConnector
    from syncer.connectors.google.guard_ranges import GuardPart, guard_snapshot
    from syncer.engine import tab_requests

    sandbox = Child(mp.get_context("spawn"), sandbox_main, args.rows, tempfile.mkdtemp())
    url, creds, sid = sandbox.first()
    conn = bench_connector(GoogleSheetsConnector, sid, url, creds)
    meta = conn.metadata()
    ledger = load_ledger(ROOT / "config" / "ledgers" / "sales.yaml")
    table = conn.read(tab_requests(ledger)).tables[MAIN]
    hr, n = table.header_row, len(table.rows)
    key = table.index_of(ledger.key)
    written = tuple(
        sorted(p for c in ("状态变更时间", "下次跟进时间") if (p := table.index_of(c)) is not None)
    )

    def spread(count: int) -> set[int]:
        return set(range(hr + 1, hr + 1 + n, max(1, n // count)))

    def whole() -> None:
        part = GuardPart(MAIN, hr, key, "all", columns=written)
        values = conn._batch_get_known([(MAIN, part.a1())])
        guard_snapshot([part], values, meta, {MAIN: (spread(n // 10), set())})

    def filters(count: int) -> Callable[[], None]:
        def read() -> None:
            rows = spread(count)
            parts = [GuardPart(MAIN, hr, key, "header"), GuardPart(MAIN, hr, key, "key")]
            parts += [GuardPart(MAIN, hr, key, "column", col_pos=c) for c in written]
            parts += [GuardPart(MAIN, hr, key, "rows", r, r) for r in sorted(rows)]
            values = conn._batch_get_by_grid(parts, meta)
            guard_snapshot(parts, values, meta, {MAIN: (rows, set())})

        return read

    cases: dict[str, Callable[[], None]] = {"the tab whole": whole}
    for count in (int(s) for s in args.spans.split(",")):
        cases[f"{count:,} one-row filters"] = filters(count)
    seen: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, read in cases.items():
            t0, c0 = time.perf_counter(), time.process_time()
            read()
            seen[name].append((time.perf_counter() - t0, time.process_time() - c0))
    sandbox.ask("stop")
    print(f"{args.rows:,} rows, medians of {args.rounds}")
    print("| guard read | wall s | syncer CPU s |\n|---|---:|---:|")
    for name, times in seen.items():
        wall = statistics.median(t for t, _ in times)
        cpu = statistics.median(c for _, c in times)
        print(f"| {name} | {wall:.2f} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
