"""Benchmark: the engine's own work around a cycle (state load/save, bookkeeping) on the
sales ledger (config/ledgers/sales.yaml, source swapped to the in-memory connector) with
``syncer.examples.messy_rows(n)`` rows × 20 columns.

Setup: one first cycle (every row seen for the first time, state saved from empty), then a
few cells edited; the timed cycles are steady ones (second cycle onwards after edits). Each
timed run edits ``--edits`` status cells first, so the state has some changes to save. For
every run the script reports the whole ``run_cycle`` and, separately, the time spent in
:class:`~syncer.state.StateStore` calls (load, save, mark, record_run), and a
first save of the whole watched map into an empty database. Median of ``--runs``. Run:

    .venv/bin/python bench/bench_cycle.py                    # 100k rows, 5 runs
    .venv/bin/python bench/bench_cycle.py --rows 10000 --runs 3
    .venv/bin/python bench/bench_cycle.py --profile          # cProfile of one steady cycle

``--baseline FILE`` also times another implementation of ``syncer/state.py`` (e.g. an
older one: ``git show <rev>:syncer/state.py > /tmp/old_state.py``) in the same process:
whole cycles with each store, and the store alone (first save of the watched map into an
empty database, a steady save with ``--edits`` changed values, a load by a fresh store and
a load by the store that just saved).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncer.config import load_ledger  # noqa: E402
from syncer.connectors.memory import MemoryConnector  # noqa: E402
from syncer.engine import run_cycle  # noqa: E402
from syncer.examples import HEADER_ROW, messy_rows  # noqa: E402
from syncer.ledger import LedgerConfig, MemorySource  # noqa: E402
from syncer.state import StateStore  # noqa: E402

NOW = datetime(2024, 6, 1, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
STATUS = "合作状态"


class TimedStore:
    """Wraps a state store (of any implementation) and adds up the wall time spent in the
    methods a cycle calls."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.spent = 0.0

    def _timed(self, name: str, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return getattr(self.store, name)(*args, **kwargs)
        finally:
            self.spent += time.perf_counter() - t0

    def load(self, ledger: str) -> Any:
        """Timed ``load``."""
        return self._timed("load", ledger)

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Timed ``save``."""
        self._timed("save", *args, **kwargs)

    def mark(self, ledger: str) -> Any:
        """Timed ``mark``."""
        return self._timed("mark", ledger)

    def record_run(self, run: Any) -> None:
        """Timed ``record_run``."""
        self._timed("record_run", run)


def memory_ledger(path: Path) -> LedgerConfig:
    """The sales ledger with its source swapped to the in-memory connector."""
    ledger = load_ledger(path)
    return ledger.model_copy(update={"source": MemorySource(connector="memory")})


def workbook(ledger: LedgerConfig, n: int) -> dict[str, list[list[Any]]]:
    """The main tab of ``n`` messy rows (title row, header row, data)."""
    title, header, rows = messy_rows(n=n)
    main: list[list[Any]] = [[title], list(header), *[list(r) for r in rows]]
    return {ledger.tabs.main: main}


def edit(conn: MemoryConnector, ledger: LedgerConfig, count: int, salt: int) -> None:
    """A person changes ``count`` status cells spread over the tab."""
    rows = conn.workbook[ledger.tabs.main]
    col = list(rows[HEADER_ROW - 1]).index(STATUS) + 1
    step = max(1, (len(rows) - HEADER_ROW) // max(1, count))
    values = ("合作中", "意向客户")
    for i in range(count):
        row = HEADER_ROW + 1 + ((i * step + salt) % (len(rows) - HEADER_ROW))
        conn.set_cell(ledger.tabs.main, row, col, values[(i + salt) % 2])


def load_store_class(path: Path | None) -> type[StateStore]:
    """``StateStore`` of the given state.py file (None: the current one)."""
    if path is None:
        return StateStore
    spec = importlib.util.spec_from_file_location("baseline_state", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    found: type[StateStore] = module.StateStore
    return found


def watched_map(n: int) -> dict[str, dict[str, str]]:
    """A watched map like the sales ledger's: two watched columns per row."""
    return {f"XS2024{i:07d}": {"合作状态": "合作中", "跟进内容": f"电话沟通 {i}"} for i in range(n)}


def store_alone(cls: type[StateStore], n: int, edits: int, runs: int) -> dict[str, float]:
    """Medians (seconds) of first save, steady save, cold load and warm load."""
    marks: dict[str, list[float]] = {"first save": [], "steady save": [], "cold load": []}
    marks["warm load"] = []
    for run in range(runs):
        observed = watched_map(n)
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'state.db'}"
            store = cls(url)
            t0 = time.perf_counter()
            store.save("sales", observed, {}, "t0")
            marks["first save"].append(time.perf_counter() - t0)
            store.load("sales")
            for i in range(edits):
                observed[f"XS2024{(i * 997 + run) % n:07d}"] = {
                    "合作状态": f"意向客户{run}",
                    "跟进内容": "x",
                }
            t0 = time.perf_counter()
            store.save("sales", observed, {}, "t1")
            marks["steady save"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            store.load("sales")
            marks["warm load"].append(time.perf_counter() - t0)
            fresh = cls(url)
            t0 = time.perf_counter()
            fresh.load("sales")
            marks["cold load"].append(time.perf_counter() - t0)
            fresh.close()
            store.close()
    return {name: statistics.median(values) for name, values in marks.items()}


def cycles(
    ledger: LedgerConfig, n: int, edits: int, runs: int, cls: type[StateStore]
) -> tuple[float, float, float, float]:
    """(first cycle s, its state s, median steady cycle s, its state s) with ``cls``."""
    book = workbook(ledger, n)
    with tempfile.TemporaryDirectory() as tmp:
        inner = cls(f"sqlite:///{Path(tmp) / 'state.db'}")
        store = TimedStore(inner)
        as_store = cast(StateStore, store)
        conn = MemoryConnector(book)
        t0 = time.perf_counter()
        first = run_cycle(ledger, conn, as_store, NOW)
        first_s, first_state = time.perf_counter() - t0, store.spent
        assert first.outcome == "ok", first.error
        now = NOW
        samples: list[tuple[float, float]] = []
        for run in range(runs + 1):
            edit(conn, ledger, edits, run)
            now += timedelta(minutes=5)
            store.spent = 0.0
            t0 = time.perf_counter()
            result = run_cycle(ledger, conn, as_store, now)
            took = time.perf_counter() - t0
            assert result.outcome == "ok", result.error
            if run:  # the first steady cycle is a warm-up
                samples.append((took, store.spent))
        inner.close()
    return (
        first_s,
        first_state,
        statistics.median(s[0] for s in samples),
        statistics.median(s[1] for s in samples),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print median cycle and state timings."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--ledger", type=Path, default=ROOT / "config/ledgers/sales.yaml")
    parser.add_argument("--profile", action="store_true", help="cProfile one steady cycle")
    parser.add_argument("--baseline", type=Path, help="another state.py to compare with")
    args = parser.parse_args(argv)
    ledger = memory_ledger(args.ledger)
    if not args.profile:
        report(ledger, args.rows, args.edits, args.runs, args.baseline)
        return 0
    profile(ledger, args.rows, args.edits)
    return 0


def profile(ledger: LedgerConfig, n: int, edits: int) -> None:
    """cProfile the second steady cycle (after a first cycle and one warm-up)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = StateStore(f"sqlite:///{Path(tmp) / 'state.db'}")
        conn = MemoryConnector(workbook(ledger, n))
        now = NOW
        run_cycle(ledger, conn, store, now)
        for run in range(2):
            edit(conn, ledger, edits, run)
            now += timedelta(minutes=5)
            prof = cProfile.Profile()
            prof.enable()
            result = run_cycle(ledger, conn, store, now)
            prof.disable()
            assert result.outcome == "ok", result.error
        store.close()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
    pstats.Stats(prof).sort_stats("tottime").print_stats(20)


def report(ledger: LedgerConfig, n: int, edits: int, runs: int, baseline: Path | None) -> None:
    """Print the comparison table(s)."""
    variants: list[tuple[str, type[StateStore]]] = [("current", StateStore)]
    if baseline is not None:
        variants.insert(0, (f"baseline {baseline.name}", load_store_class(baseline)))
    print(f"ledger {ledger.name} on memory, {n} rows, {edits} edits per cycle, median of {runs}")
    print(f"{'state.py':<24} | {'first s':>8} | {'state':>6} | {'steady s':>8} | {'state':>6}")
    for name, cls in variants:
        first, first_state, steady, steady_state = cycles(ledger, n, edits, runs, cls)
        print(
            f"{name:<24} | {first:>8.3f} | {first_state:>6.3f} | {steady:>8.3f} |"
            f" {steady_state:>6.3f}"
        )
    print(f"store alone, {n} keys x 2 watched columns, {edits} changed keys, median of {runs}")
    names = ("first save", "steady save", "cold load", "warm load")
    print(f"{'state.py':<24} | " + " | ".join(f"{c:>11}" for c in names))
    for name, cls in variants:
        got = store_alone(cls, n, edits, runs)
        print(f"{name:<24} | " + " | ".join(f"{got[c]:>11.3f}" for c in names))


if __name__ == "__main__":
    raise SystemExit(main())
