"""Benchmark: one ``syncer worker`` vs three on 100 ledgers (PostgreSQL + the sandbox).

Each scenario gets a fresh PostgreSQL database (``syncer db upgrade``-ed), a sandbox with
per-user quotas on, ``--ledgers`` spreadsheets of customers on ``--every`` schedules and a
human editing random ledgers ``--edits`` times a second (status changes, comments, new
customers), so many cycles have real work. After every ledger's first cycle, it measures
``--seconds`` of steady running and reports, per minute:

* cycles finished (all outcomes) and ticks coalesced (a cycle of the ledger was still
  waiting: the fleet could not keep up with the schedule);
* Sheets API calls answered by the sandbox, against the per-user quota, and 429s;
* the mean delay from a tick to the start of its cycle.

Needs a PostgreSQL server: ``--pg URL`` or ``SYNCER_TEST_PG_URL`` (``source
.ci/postgres.sh && pg_start`` starts one). Run:

    .venv/bin/python bench/bench_replicas.py                       # 1 vs 3 workers
    .venv/bin/python bench/bench_replicas.py --workers 1 2 3 --seconds 120
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine  # noqa: E402

from syncer import migrations  # noqa: E402
from syncer.distributed.ticks import Ticks  # noqa: E402
from syncer.sandbox import SandboxServer  # noqa: E402
from syncer.sandbox.quotas import QuotaConfig  # noqa: E402
from tests.replicas.fleet import Fleet  # noqa: E402
from tests.unit import pgdb  # noqa: E402


def _cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def scenario(args: argparse.Namespace, workers: int) -> dict[str, Any]:
    """Run one fleet of ``workers`` and measure it."""
    url = pgdb.create_database("syncer_bench")
    engine = create_engine(url)
    migrations.upgrade(engine)
    ticks = Ticks(engine)
    quotas = QuotaConfig(
        read_per_user=args.quota,
        write_per_user=args.quota,
        read_per_project=args.quota * 5,
        write_per_project=args.quota * 5,
    )
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(quotas=quotas) as sandbox:
        fleet = Fleet(Path(tmp), sandbox, url, every=args.every, rate_per_minute=args.rate)
        fleet.setup(args.ledgers)

        def human() -> None:
            rng = random.Random(3)
            while not stop.wait(1.0 / args.edits):
                fleet.edit_randomly(rng)

        editor = threading.Thread(target=human, daemon=True)
        try:
            names = [f"w{i + 1}" for i in range(workers)]
            for name in names:
                fleet.start(name)
            warm = time.monotonic()
            while len(ticks.last_success()) < args.ledgers:
                if time.monotonic() - warm > 900:
                    raise SystemExit("the fleet never finished its first cycles")
                time.sleep(0.5)
            warmup = time.monotonic() - warm
            editor.start()
            time.sleep(5)
            pids = [p.pid for p in fleet.workers.values()]
            cpu0, own0 = _cpu(pids), time.process_time()
            t0 = time.time()
            time.sleep(args.seconds)
            t1 = time.time()
            cpu1, own1 = _cpu(pids), time.process_time()
            stop.set()
            editor.join(10)
            codes = fleet.stop_all()
        finally:
            stop.set()
            fleet.kill_all()
        requests = fleet.requests()
    records = ticks.records()
    engine.dispose()
    pgdb.drop_database(url)
    window = [r for r in records if t0 <= r.tick.timestamp() < t1]
    finished = [
        r for r in records if r.finished is not None and t0 <= r.finished.timestamp() < t1
    ]
    sheets = [t for t in requests if t0 <= t.at < t1 and t.request.api == "sheets"]
    lags = [
        (r.started - r.tick).total_seconds() for r in finished if r.started is not None
    ]
    minutes = (t1 - t0) / 60
    return {
        "workers": workers,
        "warmup_s": round(warmup, 1),
        "cycles_per_min": round(len(finished) / minutes, 1),
        "ok_cycles_per_min": round(sum(r.outcome == "ok" for r in finished) / minutes, 1),
        "coalesced_per_min": round(sum(r.status == "coalesced" for r in window) / minutes, 1),
        "sheets_calls_per_min": round(len(sheets) / minutes, 1),
        "reads_per_min": round(sum(t.request.kind == "read" for t in sheets) / minutes, 1),
        "writes_per_min": round(sum(t.request.kind == "write" for t in sheets) / minutes, 1),
        "quota_per_kind_per_min": args.quota,
        "http_429": sum(t.request.status == 429 for t in requests),
        "mean_tick_lag_s": round(statistics.fmean(lags), 2) if lags else None,
        "workers_cpu_s_per_s": round((cpu1 - cpu0) / (t1 - t0), 2),
        "sandbox_cpu_s_per_s": round((own1 - own0) / (t1 - t0), 2),
        "exit_codes": sorted(set(codes.values())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get(pgdb.ENV))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--ledgers", type=int, default=100)
    parser.add_argument("--every", default="10s")
    parser.add_argument("--edits", type=float, default=2.0, help="human edits per second")
    parser.add_argument("--quota", type=int, default=600, help="sandbox quota per minute")
    parser.add_argument("--rate", type=int, default=540, help="limiter rate per minute")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    if not args.pg:
        raise SystemExit(f"give --pg URL or set {pgdb.ENV} (source .ci/postgres.sh)")
    os.environ[pgdb.ENV] = args.pg
    print(
        f"{args.ledgers} ledgers every {args.every}, {args.edits} edits/s, quota "
        f"{args.quota}/min per user (limiter {args.rate}), {args.seconds:.0f} s measured"
    )
    for workers in args.workers:
        print(scenario(args, workers), flush=True)


if __name__ == "__main__":
    main()
