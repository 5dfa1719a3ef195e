"""The long-running service behind ``syncer run``: ledgers cycled on their schedules.

One APScheduler 3 ``BackgroundScheduler`` holds a job per ledger, built from the ledger's
``schedule`` (``every: 5m`` → an interval, ``cron: '*/10 * * * *'`` → a crontab in the
ledger's zone). Each job has ``max_instances=1`` and ``coalesce=True``: a ledger never
runs twice at once, and late runs collapse into one (within a misfire grace). Ledgers
run in parallel in a bounded thread pool (``SYNCER_MAX_WORKERS``). Every ledger also
gets a scheduled backup job (``SYNCER_BACKUP_CRON``).

Signals: SIGTERM/SIGINT stop accepting new cycles and wait for running ones to finish —
an apply is never cut in half — then :func:`serve` returns 0. SIGHUP, or a changed ledger
file (mtime poll), reloads the ledger files; an invalid new file keeps the old
configuration running and logs ``daemon.reload_failed``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from syncer import metrics
from syncer.errors import ConfigError, SyncerError
from syncer.health import HealthServer, Readiness
from syncer.ledger import LedgerConfig, Schedule
from syncer.settings import Settings

if TYPE_CHECKING:
    from syncer.engine import CycleResult

log = structlog.get_logger("syncer.daemon")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: How often the main loop checks ledger files for changes.
WATCH_SECONDS = 2.0
#: Longest misfire grace: a run later than this is skipped (the next one comes anyway).
MAX_GRACE_SECONDS = 300

CycleFn = Callable[[LedgerConfig], "CycleResult"]
BackupFn = Callable[[LedgerConfig], None]
Loader = Callable[[Path], list[LedgerConfig]]


def parse_every(text: str) -> timedelta:
    """``30s``, ``5m``, ``1h``, ``1d`` → a timedelta (at least one second)."""
    text = text.strip()
    unit = text[-1:]
    if unit not in _UNITS or not text[:-1].strip().isdigit():
        raise ConfigError(f"schedule `every: {text}` is not a duration like 30s, 5m, 1h or 1d")
    seconds = int(text[:-1].strip()) * _UNITS[unit]
    if seconds < 1:
        raise ConfigError(f"schedule `every: {text}` must be at least 1s")
    return timedelta(seconds=seconds)


def trigger_for(schedule: Schedule, timezone: str) -> BaseTrigger:
    """The APScheduler trigger of a ledger's schedule (cron fields in ``timezone``)."""
    if schedule.every is not None:
        return IntervalTrigger(seconds=int(parse_every(schedule.every).total_seconds()))
    assert schedule.cron is not None
    try:
        return CronTrigger.from_crontab(schedule.cron, timezone=timezone)
    except ValueError as exc:
        raise ConfigError(
            f"schedule `cron: {schedule.cron}` is invalid ({exc}); use 5 fields like "
            "'*/10 * * * *' (minute hour day month weekday)"
        ) from exc


def expected_interval(trigger: BaseTrigger, now: datetime) -> timedelta:
    """The gap between a trigger's next two fire times after ``now`` (≥ 1 second)."""
    if isinstance(trigger, IntervalTrigger):
        interval: timedelta = trigger.interval
        return max(interval, timedelta(seconds=1))
    first: datetime | None = trigger.get_next_fire_time(None, now)
    if first is None:
        return timedelta(days=1)
    second: datetime | None = trigger.get_next_fire_time(first, first + timedelta(microseconds=1))
    if second is None:
        return timedelta(days=1)
    return max(second - first, timedelta(seconds=1))


def misfire_grace(interval: timedelta) -> int:
    """Seconds a late run may still start: half the interval, 1 s to 5 min."""
    return int(min(max(interval.total_seconds() / 2, 1), MAX_GRACE_SECONDS))


@dataclass
class _Tracked:
    ledger: LedgerConfig
    lock: threading.Lock


class Daemon:
    """Schedules ledger cycles and backups; knows nothing about connectors or state.

    ``run_cycle`` runs one cycle of a ledger and returns its result; ``run_backup`` (when
    given) backs a ledger up. Both are called on pool threads and must not raise (what
    they raise is logged and counted as a failure).
    """

    def __init__(
        self,
        ledgers: Sequence[LedgerConfig],
        *,
        run_cycle: CycleFn,
        run_backup: BackupFn | None = None,
        max_workers: int = 4,
        backup_cron: str | None = None,
        timezone: str = "Asia/Shanghai",
        readiness: Readiness | None = None,
        clock: Callable[[], datetime] | None = None,
        run_at_start: bool = True,
        after_cycle: Callable[[LedgerConfig, CycleResult], None] | None = None,
    ) -> None:
        self._run_cycle = run_cycle
        self._after_cycle = after_cycle  # notifications; must not raise
        self._run_backup = run_backup
        self._backup_cron = backup_cron or None
        self._timezone = timezone
        self._clock = clock or (lambda: datetime.now(UTC))
        self._run_at_start = run_at_start
        self.readiness = readiness or Readiness(self._clock)
        self._ledgers: dict[str, _Tracked] = {}
        self._guard = threading.Lock()
        self._stopping = threading.Event()
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=max_workers)},
            job_defaults={"max_instances": 1, "coalesce": True},
            timezone=timezone,
        )
        self.scheduler.add_listener(self._on_skip, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        self._pending = list(ledgers)

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Schedule every ledger and start the scheduler."""
        self.scheduler.start()
        self.apply_config(self._pending)
        self.readiness.started = True
        log.info("daemon.started", ledgers=sorted(self._ledgers))

    def stop(self, wait: bool = True) -> None:
        """Stop starting cycles; with ``wait``, return only when running cycles finished."""
        self._stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        log.info("daemon.stopped")

    @property
    def ledgers(self) -> list[str]:
        """Names of the ledgers currently scheduled."""
        with self._guard:
            return sorted(self._ledgers)

    def configs(self) -> list[LedgerConfig]:
        """The configurations of the ledgers currently scheduled (the status page)."""
        with self._guard:
            return [tracked.ledger for _, tracked in sorted(self._ledgers.items())]

    # --- configuration ----------------------------------------------------------------

    def apply_config(self, ledgers: Sequence[LedgerConfig]) -> None:
        """Make the scheduled jobs match ``ledgers``: add new, reschedule changed, drop gone.

        Triggers are built first, so a bad schedule raises ConfigError and changes nothing.
        """
        now = self._clock()
        triggers = {
            ledger.name: trigger_for(ledger.schedule, ledger.timezone) for ledger in ledgers
        }
        backup_trigger: BaseTrigger | None = None
        if self._backup_cron and self._run_backup is not None:
            try:
                backup_trigger = CronTrigger.from_crontab(
                    self._backup_cron, timezone=self._timezone
                )
            except ValueError as exc:
                raise ConfigError(
                    f"SYNCER_BACKUP_CRON={self._backup_cron!r} is invalid ({exc}); use 5 fields "
                    "like '30 2 * * *', or set it empty to disable scheduled backups"
                ) from exc
        wanted = {ledger.name: ledger for ledger in ledgers}
        with self._guard:
            for name in sorted(set(self._ledgers) - set(wanted)):
                del self._ledgers[name]
                self.readiness.forget(name)
                for job_id in (f"cycle:{name}", f"backup:{name}"):
                    if self.scheduler.get_job(job_id) is not None:
                        self.scheduler.remove_job(job_id)
                log.info("daemon.ledger_removed", ledger=name)
            for name, ledger in wanted.items():
                known = self._ledgers.get(name)
                if known is not None and known.ledger == ledger:
                    continue
                if known is not None:
                    known.ledger = ledger  # the running cycle keeps its own copy
                else:
                    self._ledgers[name] = _Tracked(ledger, threading.Lock())
                    metrics.init_ledger(name)
                trigger = triggers[name]
                interval = expected_interval(trigger, now)
                self.readiness.track(name, interval)
                first = now if (known is None and self._run_at_start) else None
                self.scheduler.add_job(
                    self._cycle_job,
                    trigger,
                    args=(name,),
                    id=f"cycle:{name}",
                    name=f"cycle {name}",
                    replace_existing=True,
                    misfire_grace_time=misfire_grace(interval),
                    **({"next_run_time": first} if first is not None else {}),
                )
                if backup_trigger is not None:
                    self.scheduler.add_job(
                        self._backup_job,
                        backup_trigger,
                        args=(name,),
                        id=f"backup:{name}",
                        name=f"backup {name}",
                        replace_existing=True,
                        misfire_grace_time=3600,
                    )
                log.info(
                    "daemon.ledger_scheduled",
                    ledger=name,
                    schedule=ledger.schedule.every or ledger.schedule.cron,
                    changed=known is not None,
                )

    # --- jobs ----------------------------------------------------------------------------

    def _tracked(self, name: str) -> _Tracked | None:
        with self._guard:
            return self._ledgers.get(name)

    def _cycle_job(self, name: str) -> None:
        tracked = self._tracked(name)
        if tracked is None or self._stopping.is_set():
            return
        if not tracked.lock.acquire(blocking=False):  # belt and braces over max_instances
            metrics.record_skipped(name)
            log.warning("daemon.cycle_overlap_skipped", ledger=name)
            return
        try:
            ledger = tracked.ledger
            log.info("daemon.cycle_started", ledger=name)
            try:
                result = self._run_cycle(ledger)
            except Exception as exc:  # the engine should not raise; never kill the pool
                log.exception("daemon.cycle_crashed", ledger=name, error=str(exc))
                metrics.CYCLES.labels(ledger=name, outcome="failed").inc()
                self.readiness.failed(name, self._clock(), f"internal error: {exc}")
                return
            metrics.observe_cycle(result)
            if self._after_cycle is not None:
                self._after_cycle(ledger, result)
            if result.outcome in metrics.SUCCESS_OUTCOMES:
                self.readiness.succeeded(name, self._clock())
            else:
                self.readiness.failed(name, self._clock(), result.error)
        finally:
            tracked.lock.release()

    def _backup_job(self, name: str) -> None:
        tracked = self._tracked(name)
        if tracked is None or self._stopping.is_set() or self._run_backup is None:
            return
        try:
            self._run_backup(tracked.ledger)
        except Exception as exc:  # logged and metered; the next backup comes anyway
            log.error("daemon.backup_failed", ledger=name, error=str(exc))

    def _on_skip(self, event: JobExecutionEvent) -> None:
        job_id = str(event.job_id)
        if job_id.startswith("cycle:"):
            name = job_id.removeprefix("cycle:")
            metrics.record_skipped(name)
            log.info("daemon.cycle_skipped", ledger=name, reason="still running or too late")


# --- file watch ------------------------------------------------------------------------------


def config_signature(path: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, mtimes and sizes of the ledger files under ``path`` (changes on any edit)."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
    else:
        files = [path]
    signature: list[tuple[str, int, int]] = []
    for file in files:
        try:
            st = file.stat()
        except OSError:
            continue
        signature.append((str(file), st.st_mtime_ns, st.st_size))
    return tuple(signature)


def reload(daemon: Daemon, path: Path, loader: Loader) -> bool:
    """Reload ledger files into ``daemon``; on any problem keep the old config and log it."""
    try:
        ledgers = loader(path)
        daemon.apply_config(ledgers)
    except ConfigError as exc:
        metrics.record_reload("failed")
        log.error(
            "daemon.reload_failed",
            path=str(path),
            problems=exc.problems,
            hint="the previous configuration keeps running; fix the file and save it again",
        )
        return False
    metrics.record_reload("ok")
    log.info("daemon.reloaded", path=str(path), ledgers=[ledger.name for ledger in ledgers])
    return True


# --- the process --------------------------------------------------------------------------


class _Runner:
    """The production cycle and backup functions, on the process's :class:`Runtime`."""

    def __init__(self, settings: Settings) -> None:
        from syncer.notify.runtime import build_notifier
        from syncer.runtime import Runtime

        self.runtime = Runtime(settings)
        self.settings = settings
        self.store = self.runtime.store
        self.notifier = build_notifier(settings, self.store)

    def cycle(self, ledger: LedgerConfig) -> CycleResult:
        result = self.runtime.cycle(
            ledger, clock=lambda: datetime.now(UTC), tap=self.notifier.tap
        )
        if result.cycle_id == "-":
            log.error("daemon.connector_failed", ledger=ledger.name, error=result.error)
        return result

    def backup(self, ledger: LedgerConfig) -> None:
        from syncer.backup import backup_ledger

        settings, backups = self.runtime.settings, self.runtime.backups
        assert backups is not None
        with self.runtime.connector(ledger) as connector:
            backup_ledger(ledger, connector, backups, datetime.now(UTC))
        backups.prune(
            ledger.name,
            settings.backup_keep_daily,
            settings.backup_keep_weekly,
            settings.backup_keep_last,
        )

    def close(self) -> None:
        self.notifier.stop()
        self.notifier.store.close()
        self.runtime.close()


def _install_signals(
    stop: threading.Event, hup: threading.Event, wake: threading.Event, received: list[str]
) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def on_stop(signum: int, _frame: FrameType | None) -> None:
        # Only set flags here: the main loop logs (no I/O inside a signal handler).
        received.append(signal.Signals(signum).name)
        stop.set()
        wake.set()

    def on_hup(_signum: int, _frame: FrameType | None) -> None:
        hup.set()
        wake.set()

    previous: dict[int, Any] = {}
    for sig, handler in (
        (signal.SIGTERM, on_stop),
        (signal.SIGINT, on_stop),
        (signal.SIGHUP, on_hup),
    ):
        previous[sig] = signal.signal(sig, handler)
    return previous


def serve(
    settings: Settings,
    ledgers: Sequence[LedgerConfig],
    *,
    loader: Loader | None = None,
    stop: threading.Event | None = None,
    daemon: Daemon | None = None,
    watch_seconds: float = WATCH_SECONDS,
) -> int:
    """Run the daemon until SIGTERM/SIGINT (or ``stop`` is set); return the exit code.

    0 after a clean stop; 1 when it cannot start (the health port is in use, the state
    database or the backup key is unusable) — logged as ``daemon.start_failed`` with the
    fix, before anything is scheduled. Serves ``/healthz``, ``/readyz`` and ``/metrics``
    unless ``SYNCER_HTTP_PORT`` is 0.
    ``loader`` re-reads the ledger files on SIGHUP or when they change (default
    :func:`syncer.config.load_ledgers`); ``daemon`` replaces the production one (tests).
    """
    if loader is None:
        from syncer.config import load_ledgers

        loader = load_ledgers
    stop = stop or threading.Event()
    hup = threading.Event()
    wake = threading.Event()
    runner: _Runner | None = None
    server: HealthServer | None = None
    try:
        if daemon is None:
            runner = _Runner(settings)
            daemon = Daemon(
                ledgers,
                run_cycle=runner.cycle,
                run_backup=runner.backup,
                max_workers=settings.max_workers,
                backup_cron=settings.backup_cron,
                timezone=settings.timezone,
                after_cycle=runner.notifier.after_cycle,
            )
            runner.notifier.watch(ledgers)
        if settings.http_port:
            status = None
            if runner is not None:
                from syncer.notify.runtime import build_status_page, next_run_of

                status = build_status_page(
                    settings, runner.store, daemon.configs, next_run_of(daemon.scheduler)
                )
            server = HealthServer(settings.http_host, settings.http_port, daemon.readiness, status)
    except SyncerError as exc:  # port in use, state database or backup key unusable
        log.error("daemon.start_failed", error=str(exc))
        if runner is not None:
            runner.close()
        return 1
    received: list[str] = []
    previous = _install_signals(stop, hup, wake, received)
    code = 1
    try:
        if server is not None:
            server.start()
            log.info("daemon.http", host=settings.http_host, port=server.port)
        if runner is not None:
            runner.notifier.start()
        watched = config_signature(settings.config_path)
        try:
            daemon.start()
        except ConfigError as exc:
            log.error("daemon.start_failed", error=str(exc))
            code = 2
            return code
        while not stop.is_set():
            wake.wait(watch_seconds)
            wake.clear()
            if stop.is_set():
                break
            current = config_signature(settings.config_path)
            if hup.is_set() or current != watched:
                hup.clear()
                watched = current
                reload(daemon, settings.config_path, loader)
        log.info(
            "daemon.stopping",
            signal=received[0] if received else None,
            note="waiting for running cycles to finish",
        )
        code = 0
    finally:
        daemon.stop(wait=True)
        if server is not None:
            server.stop()
        if runner is not None:
            runner.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("daemon.exit", code=code)
    return code
