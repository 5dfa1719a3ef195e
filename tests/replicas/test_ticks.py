"""Ticks of a schedule, per-(ledger, tick) records, the runtime that claims them, and the
recovery of a dead worker's job — on SQLite and PostgreSQL, no sandbox needed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from syncer.distributed.schedule import due_tick
from syncer.distributed.ticks import Ticks
from syncer.engine import CycleResult
from syncer.ledger import LedgerConfig, Schedule
from syncer.settings import Settings
from syncer.state import StateStore
from tests.unit import pgdb

T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)


# --- schedule ---------------------------------------------------------------------------


@given(
    seconds=st.integers(min_value=1, max_value=7200),
    offset=st.integers(min_value=0, max_value=10**6),
    step=st.integers(min_value=0, max_value=10**4),
)
def test_every_ticks_are_aligned_and_each_is_due_once(seconds: int, offset: int, step: int) -> None:
    """For `every`, the due tick is the latest multiple of the interval at or before
    now, and asking again with it as the last tick gives nothing until the next one."""
    every = f"{seconds}s"
    now = T0 + timedelta(seconds=offset)
    first = due_tick(Schedule(every=every), "UTC", now, T0 - timedelta(days=365))
    assert first is not None
    assert first <= now
    assert int(first.timestamp()) % seconds == 0
    assert now - first < timedelta(seconds=seconds)
    later = now + timedelta(seconds=step)
    again = due_tick(Schedule(every=every), "UTC", later, first)
    if later - first < timedelta(seconds=seconds):
        assert again is None
    else:
        assert again is not None
        assert again > first


def test_never_dispatched_ledger_is_due_now() -> None:
    """A ledger the fleet never dispatched runs at once (like the daemon at start)."""
    now = T0 + timedelta(seconds=7, microseconds=5)
    assert due_tick(Schedule(every="1h"), "UTC", now, None) == T0 + timedelta(seconds=7)
    assert due_tick(Schedule(cron="0 3 * * *"), "UTC", now, None) == T0 + timedelta(seconds=7)


def test_cron_tick_is_the_latest_fire_time_in_the_ledger_zone() -> None:
    """A cron tick is its latest fire time at or before now, in the ledger's zone; a
    fire time already dispatched is not due again."""
    schedule = Schedule(cron="*/10 * * * *")
    now = datetime(2026, 3, 1, 9, 27, 3, tzinfo=UTC)
    last = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert due_tick(schedule, "Asia/Shanghai", now, last) == datetime(2026, 3, 1, 9, 20, tzinfo=UTC)
    assert due_tick(schedule, "Asia/Shanghai", now, now.replace(minute=20, second=0)) is None
    daily = Schedule(cron="0 9 * * *")  # 09:00 in Shanghai is 01:00 UTC
    assert due_tick(daily, "Asia/Shanghai", now, last - timedelta(days=1)) == datetime(
        2026, 3, 1, 1, 0, tzinfo=UTC
    )


# --- records -----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated state database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
        StateStore(url).close()
        yield url
        return
    url = pgdb.create_database("syncer_ticks")
    from syncer import migrations

    engine = create_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    yield url
    pgdb.drop_database(url)


@pytest.fixture
def ticks(state_url: str) -> Iterator[Ticks]:
    """The tick records of the database."""
    engine = create_engine(state_url)
    yield Ticks(engine)
    engine.dispose()


def test_a_tick_is_queued_once_whatever_the_dispatchers(ticks: Ticks) -> None:
    """Two dispatchers queueing the same tick: one wins; an older tick is refused."""
    assert ticks.queue("sales", T0, T0)
    assert not ticks.queue("sales", T0, T0)
    assert not ticks.queue("sales", T0 - timedelta(seconds=5), T0)
    assert ticks.queue("sales", T0 + timedelta(seconds=5), T0)
    assert ticks.last_dispatched() == {"sales": T0 + timedelta(seconds=5)}
    assert [r.status for r in ticks.records("sales")] == ["queued", "queued"]


def test_claim_runs_a_tick_once_and_a_retry_after_death_once_more(ticks: Ticks) -> None:
    """A queued tick is claimed (attempt 1); while running, a retry after its worker's
    death claims it again (attempt 2, first start kept); once done, never again."""
    ticks.queue("sales", T0, T0)
    first = ticks.claim("sales", T0, "w1", T0 + timedelta(seconds=1))
    assert first is not None
    assert (first.attempts, first.worker, first.status) == (1, "w1", "running")
    again = ticks.claim("sales", T0, "w2", T0 + timedelta(seconds=9))
    assert again is not None
    assert again.attempts == 2
    assert again.first_started == T0 + timedelta(seconds=1)
    assert again.started == T0 + timedelta(seconds=9)
    ticks.finish("sales", T0, status="done", finished=T0 + timedelta(seconds=10), outcome="ok")
    assert ticks.claim("sales", T0, "w3", T0 + timedelta(seconds=11)) is None
    assert ticks.last_success() == {"sales": T0 + timedelta(seconds=10)}


def test_coalesced_abandoned_and_unknown_ticks_never_run(ticks: Ticks) -> None:
    """Only queued or running ticks can be claimed."""
    ticks.queue("a", T0, T0)
    ticks.coalesce("a", T0, "one was waiting")
    ticks.queue("b", T0, T0)
    ticks.abandon("b", T0, "worker died")
    assert ticks.claim("a", T0, "w", T0) is None
    assert ticks.claim("b", T0, "w", T0) is None
    assert ticks.claim("c", T0, "w", T0) is None
    assert {r.ledger: r.status for r in ticks.records()} == {"a": "coalesced", "b": "abandoned"}


def test_prune_forgets_only_finished_old_ticks(ticks: Ticks) -> None:
    """Old finished records go; old queued or running ones stay."""
    for i in range(3):
        ticks.queue("sales", T0 + timedelta(minutes=i), T0)
    ticks.finish("sales", T0, status="done", finished=T0)
    ticks.claim("sales", T0 + timedelta(minutes=1), "w", T0)
    assert ticks.prune(T0 + timedelta(hours=1)) == 1
    assert [r.status for r in ticks.records()] == ["running", "queued"]


# --- the runtime ----------------------------------------------------------------------------


def _ledger_file(root: Path, name: str, every: str = "1h") -> None:
    root.mkdir(parents=True, exist_ok=True)
    data = {
        "name": name,
        "source": {"connector": "xlsx", "path": str(root / f"{name}.xlsx")},
        "tabs": {"main": "Main"},
        "key": "id",
        "schedule": {"every": every},
        "columns": {"id": {"type": "text"}},
    }
    (root / f"{name}.yaml").write_text(json.dumps(data), encoding="utf-8")


class Cycles:
    """A cycle function that records which ledgers ran (the engine is tested elsewhere)."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def __call__(self, ledger: LedgerConfig) -> CycleResult:
        self.ran.append(ledger.name)
        return CycleResult(ledger.name, f"c{len(self.ran)}", T0, T0, "ok")


def _runtime(state_url: str, config: Path, cycles: Cycles, clock: list[datetime]) -> object:
    from syncer.distributed.runtime import Runtime

    settings = Settings(state_url=state_url, config_path=config)
    store = StateStore(state_url)
    return Runtime(settings, worker="w1", cycle=cycles, store=store, clock=lambda: clock[0])


def test_runtime_dispatches_due_ticks_and_runs_each_once(state_url: str, tmp_path: Path) -> None:
    """The dispatcher queues each due ledger once per tick; running a tick twice (a
    retried job) runs the cycle once; a new ledger file is picked up by the next
    dispatch; readiness follows the recorded successes."""
    from syncer.distributed.runtime import Runtime

    config = tmp_path / "ledgers"
    _ledger_file(config, "a")
    _ledger_file(config, "b")
    cycles, clock = Cycles(), [T0]
    runtime = _runtime(state_url, config, cycles, clock)
    assert isinstance(runtime, Runtime)
    try:
        due = runtime.dispatch()
        assert sorted(name for name, _ in due) == ["a", "b"]
        assert runtime.dispatch() == []  # same second: nothing new
        for name, tick in due:
            assert runtime.run_tick(name, tick) == "done"
            assert runtime.run_tick(name, tick) == "skipped"  # a retried job
        assert sorted(cycles.ran) == ["a", "b"]
        _ledger_file(config, "c")
        clock[0] = T0 + timedelta(seconds=1)
        assert [name for name, _ in runtime.dispatch()] == ["c"]
        runtime.readiness.started = True
        runtime.refresh_readiness()
        assert set(runtime.readiness.not_ready()) == {"c"}
    finally:
        runtime.store.close()


# --- recovery of a dead worker's job (procrastinate on PostgreSQL) -------------------------


def test_dead_workers_job_is_retried_or_abandoned(pg_url: str, tmp_path: Path) -> None:
    """A cycle job left `doing` by a worker without heartbeat is retried (the same tick,
    claimed as attempt 2) when nothing waits for its ledger, and failed + recorded
    `abandoned` when the ledger's next tick is already waiting."""
    from procrastinate.exceptions import AlreadyEnqueued

    from syncer.distributed.queue import CYCLE_QUEUE, build_app, recover
    from syncer.distributed.runtime import Runtime

    config = tmp_path / "ledgers"
    _ledger_file(config, "a")
    _ledger_file(config, "b")
    cycles, clock = Cycles(), [T0]
    runtime = _runtime(pg_url, config, cycles, clock)
    assert isinstance(runtime, Runtime)
    settings = Settings(state_url=pg_url, config_path=config)

    async def scenario() -> dict[str, str]:
        app = build_app(runtime, settings)
        task = app.tasks["syncer.sync_ledger"]
        async with app.open_async():
            manager = app.job_manager
            dead = await manager.register_worker()
            outcome: dict[str, str] = {}
            for name, tick in runtime.dispatch():
                await task.configure(lock=name, queueing_lock=name).defer_async(
                    ledger=name, tick=tick.isoformat()
                )
                job = await manager.fetch_job(queues=[CYCLE_QUEUE], worker_id=dead)
                assert job is not None
                runtime.ticks.claim(name, tick, "dead", clock[0])  # it started, then died
                outcome[name] = tick.isoformat()
            # ledger b's next tick is already waiting
            clock[0] = T0 + timedelta(hours=1)
            await task.configure(lock="b", queueing_lock="b").defer_async(
                ledger="b", tick=clock[0].isoformat()
            )
            with pytest.raises(AlreadyEnqueued):
                await task.configure(lock="b", queueing_lock="b").defer_async(
                    ledger="b", tick=clock[0].isoformat()
                )
            assert await recover(app, runtime, stalled_seconds=30) == 0  # heartbeat fresh
            async with app.connector.pool.connection() as conn:  # type: ignore[attr-defined]
                await conn.execute(
                    "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'"
                )
            assert await recover(app, runtime, stalled_seconds=30) == 2
            statuses = {
                job.task_kwargs["ledger"] + "@" + job.task_kwargs["tick"]: job.status
                for job in await manager.list_jobs_async()
            }
            return {**outcome, **{"jobs": json.dumps(statuses, sort_keys=True)}}

    try:
        outcome = asyncio.run(scenario())
        jobs = json.loads(outcome["jobs"])
        assert jobs[f"a@{outcome['a']}"] == "todo"  # retried
        assert jobs[f"b@{outcome['b']}"] == "failed"  # abandoned for the waiting one
        assert jobs[f"b@{(T0 + timedelta(hours=1)).isoformat()}"] == "todo"
        tick_a = datetime.fromisoformat(outcome["a"])
        tick_b = datetime.fromisoformat(outcome["b"])
        record_b = runtime.ticks.get("b", tick_b)
        assert record_b is not None
        assert record_b.status == "abandoned"
        assert runtime.run_tick("a", tick_a) == "done"  # the retry claims attempt 2
        record_a = runtime.ticks.get("a", tick_a)
        assert record_a is not None
        assert (record_a.attempts, record_a.status, record_a.worker) == (2, "done", "w1")
    finally:
        runtime.store.close()
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cycle_ticks")).scalar_one() == 2
    engine.dispose()
