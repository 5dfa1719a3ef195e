"""What guard-shaped reads cost on the sandbox: the numbers behind the guard's read cost
model (``syncer.connectors.google.guard_ranges.ROW_CELLS`` / ``RANGE_CELLS``).

Usage::

    .venv/bin/python bench/bench_guard_ranges.py              # 100k rows, 5 rounds
    .venv/bin/python bench/bench_guard_ranges.py --rows 250000

The sandbox serves the messy ledger of ``bench_incremental.py`` in its own process; this
process sends each read through the Google connector's HTTP stack (retry policy, rate
limiter, authorized session) and reports the median wall time of the request and of
decoding its answer (the collector paused, as the connector decodes), and its size.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import statistics
import tempfile
import time
from collections.abc import Callable

from bench_incremental import MAIN, Child, bench_connector, sandbox_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from syncer.connectors.google import GoogleSheetsConnector
    from syncer.connectors.google.connector import SHEETS_BASE
    from syncer.connectors.google.read import decode_json

    sandbox = Child(mp.get_context("spawn"), sandbox_main, args.rows, tempfile.mkdtemp())
    url, creds, sid = sandbox.first()
    conn = bench_connector(GoogleSheetsConnector, sid, url, creds)
    sheet_id = conn.metadata()[MAIN].sheet_id
    options = {
        "valueRenderOption": "UNFORMATTED_VALUE",
        "dateTimeRenderOption": "FORMATTED_STRING",
        "majorDimension": "ROWS",
    }

    def get(ranges: list[str]) -> bytes:
        params = {"ranges": ranges, **options}
        return bytes(
            conn.http.request("get", f"{SHEETS_BASE}/{sid}/values:batchGet", params=params).content
        )

    def post(rows: list[tuple[int, int]]) -> bytes:
        filters = [
            {"gridRange": {"sheetId": sheet_id, "startRowIndex": a, "endRowIndex": b}}
            for a, b in rows
        ]
        body = {"dataFilters": filters, **options}
        path = f"{SHEETS_BASE}/{sid}/values:batchGetByDataFilter"
        return bytes(conn.http.request("post", path, json=body).content)

    q = f"'{MAIN}'"
    one_in_50 = [3 + 50 * i for i in range(args.rows // 50)]
    cases: dict[str, Callable[[], bytes]] = {
        "whole tab": lambda: get([q]),
        "key column": lambda: get([f"{q}!A3:A"]),
        "header + key + 3 columns": lambda: get(
            [f"{q}!2:2", f"{q}!A3:A", f"{q}!K3:K", f"{q}!P3:Q"]
        ),
        "200 one-row A1 ranges": lambda: get([f"{q}!{r}:{r}" for r in one_in_50[:200]]),
        "1,000 one-row gridRange filters": lambda: post([(r - 1, r) for r in one_in_50[:1000]]),
        f"{len(one_in_50):,} one-row gridRange filters (1 in 50)": lambda: post(
            [(r - 1, r) for r in one_in_50]
        ),
    }
    seen: dict[str, list[tuple[float, float, int]]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, read in cases.items():
            gc.disable()
            t0 = time.perf_counter()
            body = read()
            t1 = time.perf_counter()
            decode_json(body)
            t2 = time.perf_counter()
            gc.enable()
            seen[name].append((t1 - t0, t2 - t1, len(body)))
    sandbox.ask("stop")
    print(f"| read ({args.rows:,} rows) | request s | decode s | MB |")
    print("|---|---:|---:|---:|")
    for name, runs in seen.items():
        request = statistics.median(r[0] for r in runs)
        decode = statistics.median(r[1] for r in runs)
        print(f"| {name} | {request:.3f} | {decode:.3f} | {runs[0][2] / 1e6:.2f} |")


if __name__ == "__main__":
    main()
