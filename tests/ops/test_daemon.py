"""The daemon: schedules, overlap prevention, bounded parallelism, reloads, clean stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from syncer import metrics
from syncer.daemon import (
    Daemon,
    config_signature,
    expected_interval,
    misfire_grace,
    parse_every,
    reload,
    trigger_for,
)
from syncer.engine import CycleResult
from syncer.errors import ConfigError
from syncer.ledger import LedgerConfig, Schedule

from .conftest import make_ledger

T0 = datetime(2026, 11, 25, 0, 3, tzinfo=UTC)


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll ``condition`` until true; fail the test if it never becomes true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.02)


class FakeCycles:
    """A cycle function that records calls and can block until released."""

    def __init__(self, block: bool = False, outcome: str = "ok") -> None:
        self.calls: list[str] = []
        self.running = 0
        self.max_running = 0
        self.release = threading.Event()
        if not block:
            self.release.set()
        self.outcome = outcome
        self.finished = 0
        self._lock = threading.Lock()

    def __call__(self, ledger: LedgerConfig) -> CycleResult:
        with self._lock:
            self.calls.append(ledger.name)
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            self.release.wait(30)
            now = datetime.now(UTC)
            return CycleResult(ledger.name, "c", now, now, self.outcome)
        finally:
            with self._lock:
                self.running -= 1
                self.finished += 1


def test_every_maps_to_interval_and_cron_to_zoned_crontab() -> None:
    """`every` becomes an interval trigger; `cron` fires in the ledger's time zone."""
    interval = trigger_for(Schedule(every="5m"), "Asia/Shanghai")
    assert isinstance(interval, IntervalTrigger)
    assert interval.interval == timedelta(minutes=5)
    cron = trigger_for(Schedule(cron="0 9 * * 1-5"), "Asia/Shanghai")
    assert isinstance(cron, CronTrigger)
    # Wednesday 00:03 UTC is 08:03 in Shanghai: next fire is 09:00 Shanghai = 01:00 UTC.
    fire = cron.get_next_fire_time(None, T0)
    assert fire is not None
    assert fire.astimezone(UTC) == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def test_fake_clock_drives_fire_times() -> None:
    """Walking a fake clock through a trigger yields one fire per interval, none skipped."""
    trigger = trigger_for(Schedule(every="5m"), "UTC")
    job_start = IntervalTrigger(seconds=300, start_date=T0)
    fires: list[datetime] = []
    previous = None
    clock = T0
    for _ in range(6):
        nxt = job_start.get_next_fire_time(previous, clock)
        assert nxt is not None
        fires.append(nxt)
        previous, clock = nxt, nxt + timedelta(seconds=1)
    gaps = {b - a for a, b in pairwise(fires)}
    assert gaps == {timedelta(minutes=5)}
    assert expected_interval(trigger, T0) == timedelta(minutes=5)
    assert expected_interval(trigger_for(Schedule(cron="*/10 * * * *"), "UTC"), T0) == (
        timedelta(minutes=10)
    )
    assert expected_interval(trigger_for(Schedule(cron="0 3 * * *"), "UTC"), T0) == (
        timedelta(days=1)
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("2d", 172800), ("5 m", 300)]
)
def test_parse_every(text: str, seconds: int) -> None:
    """Durations in s/m/h/d parse to seconds."""
    assert parse_every(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0s", "5x", "m", "-1m"])
def test_parse_every_rejects_bad_durations(text: str) -> None:
    """Zero, unknown units and signs are config errors naming the value."""
    with pytest.raises(ConfigError, match="every"):
        parse_every(text)


def test_invalid_cron_is_a_config_error() -> None:
    """A crontab with a bad field is rejected with the 5-field hint."""
    with pytest.raises(ConfigError, match="5 fields"):
        trigger_for(Schedule(cron="61 * * * *"), "UTC")


def test_misfire_grace_is_half_the_interval_capped() -> None:
    """Grace is half an interval, at least 1 s and at most 5 min."""
    assert misfire_grace(timedelta(seconds=1)) == 1
    assert misfire_grace(timedelta(minutes=5)) == 150
    assert misfire_grace(timedelta(days=1)) == 300


def test_short_real_interval_runs_repeatedly_and_stops_cleanly() -> None:
    """An `every: 1s` ledger cycles again and again; after stop() nothing more runs."""
    cycles = FakeCycles()
    daemon = Daemon([make_ledger(schedule={"every": "1s"})], run_cycle=cycles, max_workers=2)
    daemon.start()
    try:
        wait_for(lambda: len(cycles.calls) >= 3)
    finally:
        daemon.stop()
    done = len(cycles.calls)
    assert cycles.max_running == 1
    assert daemon.readiness.not_ready() == {}
    time.sleep(1.2)  # longer than the interval: a live scheduler would have run again
    assert len(cycles.calls) == done


def test_slow_cycle_never_overlaps_itself() -> None:
    """A cycle slower than its interval is never started twice; late runs are skipped."""
    cycles = FakeCycles(block=True)
    skipped = lambda: metrics.REGISTRY.get_sample_value(  # noqa: E731
        "syncer_cycles_skipped_total", {"ledger": "slow"}
    ) or 0.0
    before = skipped()
    daemon = Daemon([make_ledger("slow", schedule={"every": "1s"})], run_cycle=cycles)
    daemon.start()
    try:
        wait_for(lambda: skipped() >= before + 2)
        assert cycles.calls == ["slow"]
        assert cycles.running == 1
    finally:
        cycles.release.set()
        daemon.stop()
    assert cycles.max_running == 1


def test_ledgers_run_in_parallel_within_the_pool_bound() -> None:
    """Three slow ledgers with max_workers=2 never have more than two cycles at once."""
    cycles = FakeCycles(block=True)
    ledgers = [make_ledger(f"l{i}", schedule={"every": "1h"}) for i in range(3)]
    daemon = Daemon(ledgers, run_cycle=cycles, max_workers=2)
    daemon.start()
    try:
        wait_for(lambda: cycles.running == 2)
        time.sleep(0.3)
        assert cycles.running == 2
        cycles.release.set()
        wait_for(lambda: cycles.finished == 3)
    finally:
        cycles.release.set()
        daemon.stop()
    assert cycles.max_running == 2
    assert sorted(cycles.calls) == ["l0", "l1", "l2"]


def test_stop_waits_for_the_running_cycle() -> None:
    """stop() returns only after the cycle in progress has finished (never cut mid-apply)."""
    cycles = FakeCycles(block=True)
    daemon = Daemon([make_ledger(schedule={"every": "1h"})], run_cycle=cycles)
    daemon.start()
    wait_for(lambda: cycles.running == 1)
    stopper = threading.Thread(target=daemon.stop)
    stopper.start()
    stopper.join(0.5)
    assert stopper.is_alive()
    assert cycles.finished == 0
    cycles.release.set()
    stopper.join(10)
    assert not stopper.is_alive()
    assert cycles.finished == 1


def test_failed_and_crashing_cycles_are_metered_not_fatal() -> None:
    """A failed outcome or an exception counts as failed and the daemon keeps going."""

    def crash(ledger: LedgerConfig) -> CycleResult:
        raise RuntimeError("boom")

    failed = lambda name: metrics.REGISTRY.get_sample_value(  # noqa: E731
        "syncer_cycles_total", {"ledger": name, "outcome": "failed"}
    ) or 0.0
    crash_before, fail_before = failed("crashy"), failed("failing")
    daemons = [
        Daemon([make_ledger("crashy", schedule={"every": "1h"})], run_cycle=crash),
        Daemon(
            [make_ledger("failing", schedule={"every": "1h"})],
            run_cycle=FakeCycles(outcome="failed"),
        ),
    ]
    for daemon in daemons:
        daemon.start()
    try:
        wait_for(lambda: failed("crashy") == crash_before + 1)
        wait_for(lambda: failed("failing") == fail_before + 1)
    finally:
        for daemon in daemons:
            daemon.stop()
    assert "failing" in daemons[1].readiness.not_ready()


def test_apply_config_adds_reschedules_and_removes() -> None:
    """Reloading adds new ledgers, reschedules changed ones and drops removed ones."""
    cycles = FakeCycles()
    daemon = Daemon(
        [make_ledger("a", schedule={"every": "1h"}), make_ledger("b", schedule={"every": "1h"})],
        run_cycle=cycles,
        run_at_start=False,
    )
    daemon.start()
    try:
        daemon.apply_config(
            [make_ledger("a", schedule={"every": "2h"}), make_ledger("c", schedule={"every": "1h"})]
        )
        assert daemon.ledgers == ["a", "c"]
        assert daemon.scheduler.get_job("cycle:b") is None
        job = daemon.scheduler.get_job("cycle:a")
        assert job.trigger.interval == timedelta(hours=2)
        assert job.max_instances == 1
        assert job.coalesce is True
        assert job.misfire_grace_time == 300
    finally:
        daemon.stop()


def test_invalid_reload_keeps_the_old_config(tmp_path: Path) -> None:
    """A loader raising ConfigError leaves the running jobs untouched and is metered."""
    daemon = Daemon(
        [make_ledger("a", schedule={"every": "1h"})], run_cycle=FakeCycles(), run_at_start=False
    )

    def broken(path: Path) -> list[LedgerConfig]:
        raise ConfigError([f"{path}:3:1: unknown key `shedule` (hint: did you mean `schedule`?)"])

    failed = lambda: metrics.REGISTRY.get_sample_value(  # noqa: E731
        "syncer_config_reloads_total", {"outcome": "failed"}
    ) or 0.0
    before = failed()
    daemon.start()
    try:
        assert reload(daemon, tmp_path, broken) is False
        assert daemon.ledgers == ["a"]
        assert daemon.scheduler.get_job("cycle:a") is not None
        assert failed() == before + 1
        assert reload(daemon, tmp_path, lambda _p: [make_ledger("b", schedule={"every": "1h"})])
        assert daemon.ledgers == ["b"]
    finally:
        daemon.stop()


def test_config_signature_changes_when_a_file_changes(tmp_path: Path) -> None:
    """Editing, adding or removing a ledger file changes the watched signature."""
    (tmp_path / "a.yaml").write_text("name: a\n")
    (tmp_path / "notes.txt").write_text("ignored")
    first = config_signature(tmp_path)
    assert [Path(p).name for p, _, _ in first] == ["a.yaml"]
    (tmp_path / "a.yaml").write_text("name: a\nkey: x\n")
    second = config_signature(tmp_path)
    assert second != first
    (tmp_path / "b.yml").write_text("name: b\n")
    assert len(config_signature(tmp_path)) == 2
