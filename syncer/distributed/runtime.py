"""What a ``syncer worker`` process holds: its ledgers, the state, the tick records.

No procrastinate here (the tasks in :mod:`syncer.distributed.queue` call into this), so
it is tested with SQLite or PostgreSQL alone.

* :meth:`Runtime.refresh` re-reads the ledger files when they changed (every replica
  reads the same directory; the dispatcher and every job refresh first, so a changed
  file is in use everywhere from the next tick on; an invalid file keeps the previous
  configuration, like the daemon);
* :meth:`Runtime.dispatch` records the ticks that are due and returns them to enqueue;
* :meth:`Runtime.run_tick` claims a tick and runs its cycle through :meth:`Runtime.cycle`
  — the one place a worker runs a ledger's cycle.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from syncer import metrics
from syncer.daemon import config_signature
from syncer.distributed.schedule import due_tick, interval
from syncer.distributed.ticks import SUCCESS, Ticks
from syncer.errors import ConfigError
from syncer.health import Readiness
from syncer.ledger import LedgerConfig
from syncer.settings import Settings

if TYPE_CHECKING:
    from syncer.daemon import CycleFn
    from syncer.engine import CycleResult
    from syncer.state import StateStore

log = structlog.get_logger("syncer.worker")

#: Finished tick records older than this are pruned by the dispatcher.
KEEP_TICKS = timedelta(days=7)


def default_worker_name() -> str:
    """``host-pid``: unique per process, readable in the tick records."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Runtime:
    """One worker process's ledgers, state store and tick records.

    ``cycle`` replaces the production cycle (tests); by default it is the daemon's
    runner (connector, engine, state, backups before removals).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        worker: str | None = None,
        cycle: CycleFn | None = None,
        store: StateStore | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from syncer.daemon import _Runner

        self.settings = settings
        self.worker = worker or settings.worker_name or default_worker_name()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._runner: _Runner | None = None
        if store is None:
            self._runner = _Runner(settings)  # opens the store: checks the schema revision
            store = self._runner.store
        self.store = store
        self._cycle = cycle
        self.ticks = Ticks(store.engine)
        self.readiness = Readiness(self._clock)
        self._lock = threading.Lock()
        self._ledgers: dict[str, LedgerConfig] = {}
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._pruned: datetime | None = None

    # --- configuration ----------------------------------------------------------------

    def refresh(self) -> bool:
        """Reload the ledger files if they changed; return whether the set changed."""
        from syncer.config import load_ledgers

        path = self.settings.config_path
        signature = config_signature(path)
        with self._lock:
            if signature == self._signature:
                return False
            first = self._signature is None
            try:
                ledgers = load_ledgers(path)
                now = self._clock()
                intervals = {lg.name: interval(lg.schedule, lg.timezone, now) for lg in ledgers}
            except ConfigError as exc:
                self._signature = signature
                metrics.record_reload("failed")
                log.error(
                    "worker.reload_failed",
                    path=str(path),
                    problems=exc.problems,
                    hint="the previous configuration keeps running; fix the file",
                )
                if first:
                    raise
                return False
            self._signature = signature
            for gone in set(self._ledgers) - {lg.name for lg in ledgers}:
                self.readiness.forget(gone)
            self._ledgers = {lg.name: lg for lg in ledgers}
            for name, every in intervals.items():
                self.readiness.track(name, every)
        if not first:
            metrics.record_reload("ok")
        log.info("worker.ledgers_loaded", ledgers=sorted(self._ledgers), reload=not first)
        return True

    def ledger(self, name: str) -> LedgerConfig | None:
        """The current configuration of a ledger (None when no longer configured)."""
        with self._lock:
            return self._ledgers.get(name)

    @property
    def ledgers(self) -> list[str]:
        """Names of the configured ledgers."""
        with self._lock:
            return sorted(self._ledgers)

    # --- the dispatcher ---------------------------------------------------------------

    def dispatch(self) -> list[tuple[str, datetime]]:
        """Record every due tick as queued and return them (ledger, tick) to enqueue."""
        self.refresh()
        now = self._clock()
        last = self.ticks.last_dispatched()
        with self._lock:
            ledgers = list(self._ledgers.values())
        due: list[tuple[str, datetime]] = []
        for ledger in ledgers:
            tick = due_tick(ledger.schedule, ledger.timezone, now, last.get(ledger.name))
            if tick is not None and self.ticks.queue(ledger.name, tick, now):
                due.append((ledger.name, tick))
        if self._pruned is None or now - self._pruned > timedelta(hours=1):
            self._pruned = now
            self.ticks.prune(now - KEEP_TICKS)
        return due

    # --- one tick -----------------------------------------------------------------------

    def run_tick(self, name: str, tick: datetime) -> str:
        """Run the cycle of ``name`` for ``tick`` unless that tick already ran; return
        what happened (``done``, ``failed``, ``skipped``)."""
        self.refresh()
        ledger = self.ledger(name)
        now = self._clock()
        if ledger is None:
            self.ticks.finish(
                name, tick, status="failed", finished=now, note="ledger no longer configured"
            )
            log.warning("worker.ledger_gone", ledger=name, tick=tick.isoformat())
            return "failed"
        claimed = self.ticks.claim(name, tick, self.worker, now)
        if claimed is None:
            found = self.ticks.get(name, tick)
            log.info(
                "worker.tick_skipped",
                ledger=name,
                tick=tick.isoformat(),
                status=found.status if found else None,
                reason="this tick already ran (a retried job) or will not run",
            )
            return "skipped"
        if claimed.attempts > 1:
            log.warning(
                "worker.tick_recovered",
                ledger=name,
                tick=tick.isoformat(),
                attempt=claimed.attempts,
                note="its previous worker died mid-cycle; the journal makes this run converge",
            )
        log.info("worker.cycle_started", ledger=name, tick=tick.isoformat())
        try:
            result = self.cycle(ledger)
        except Exception as exc:  # never let one ledger kill the worker's pool
            log.exception("worker.cycle_crashed", ledger=name, error=str(exc))
            metrics.CYCLES.labels(ledger=name, outcome="failed").inc()
            self.ticks.finish(
                name, tick, status="failed", finished=self._clock(), note=str(exc)[:2000]
            )
            return "failed"
        metrics.observe_cycle(result)
        finished = self._clock()
        self.ticks.finish(
            name,
            tick,
            status="done",
            finished=finished,
            outcome=result.outcome,
            cycle_id=result.cycle_id,
            note=result.error,
        )
        if result.outcome in SUCCESS:
            self.readiness.succeeded(name, finished)
        else:
            self.readiness.failed(name, finished, result.error)
        return "done"

    def cycle(self, ledger: LedgerConfig) -> CycleResult:
        """Run one cycle of ``ledger``: the one place a worker does so."""
        if self._cycle is not None:
            return self._cycle(ledger)
        assert self._runner is not None
        return self._runner.cycle(ledger)

    # --- readiness ------------------------------------------------------------------------

    def refresh_readiness(self) -> None:
        """Feed every ledger's latest success by any replica into this worker's /readyz."""
        for name, when in self.ticks.last_success().items():
            self.readiness.succeeded(name, when)

    def close(self) -> None:
        """Close the state store."""
        if self._runner is not None:
            self._runner.close()
