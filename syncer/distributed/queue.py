"""The procrastinate app of ``syncer worker``: the dispatcher and the cycle task.

``syncer.dispatch`` is a periodic task (every ``SYNCER_DISPATCH_SECONDS``; procrastinate
defers one job per period whatever the number of replicas — the database deduplicates
periodic defers). It first recovers the cycles of dead workers, then records each due
(ledger, tick) and defers ``syncer.sync_ledger(ledger, tick)`` with ``lock`` and
``queueing_lock`` set to the ledger's name: at most one cycle per ledger runs and at
most one waits, on any number of replicas. A tick whose ledger already has one waiting
is recorded ``coalesced`` (like the daemon's coalescing of late runs).

Recovery: a job left ``doing`` by a worker whose heartbeat is older than
``SYNCER_WORKER_STALLED_SECONDS`` is retried (same ledger, same tick; its record's
``attempts`` becomes 2). If the ledger's next tick is already waiting, the retry would
be a second waiting cycle: the dead job is failed and its tick recorded ``abandoned``
— the waiting cycle runs instead and the journal makes it converge.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import structlog
from procrastinate import App, JobContext, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued, ProcrastinateException
from procrastinate.jobs import Job, Status
from sqlalchemy.engine import make_url

from syncer import metrics
from syncer.distributed.runtime import Runtime
from syncer.settings import Settings

log = structlog.get_logger("syncer.worker")

DISPATCH_QUEUE = "syncer-dispatch"
CYCLE_QUEUE = "syncer-cycles"
DISPATCH_TASK = "syncer.dispatch"
CYCLE_TASK = "syncer.sync_ledger"


def conninfo(state_url: str) -> str:
    """The libpq connection string of an SQLAlchemy ``postgresql+psycopg://`` URL."""
    url = make_url(state_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"{url.render_as_string()} is not a PostgreSQL URL")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def build_app(runtime: Runtime, settings: Settings) -> App:
    """The procrastinate app whose tasks run on ``runtime``."""
    app = App(connector=PsycopgConnector(conninfo=conninfo(settings.state_url)))

    @app.task(name=CYCLE_TASK, queue=CYCLE_QUEUE)
    def sync_ledger(ledger: str, tick: str) -> str:
        """Run the ledger's cycle for its tick (once: see :meth:`Runtime.run_tick`)."""
        return runtime.run_tick(ledger, datetime.fromisoformat(tick))

    every = settings.dispatch_seconds
    cron = "* * * * * *" if every == 1 else f"* * * * * */{every}"

    @app.periodic(cron=cron, periodic_id="dispatch")
    @app.task(name=DISPATCH_TASK, queue=DISPATCH_QUEUE, pass_context=True)
    async def dispatch(context: JobContext, timestamp: int) -> int:
        """Recover dead workers' cycles, then enqueue every due tick; return how many."""
        await recover(context.app, runtime, settings.worker_stalled_seconds)
        due = await asyncio.to_thread(runtime.dispatch)
        for ledger, tick in due:
            try:
                job_id = await sync_ledger.configure(
                    lock=ledger, queueing_lock=ledger
                ).defer_async(ledger=ledger, tick=tick.isoformat())
            except AlreadyEnqueued:
                await asyncio.to_thread(
                    runtime.ticks.coalesce, ledger, tick, "a cycle of this ledger was waiting"
                )
                metrics.record_skipped(ledger)
                log.info("worker.tick_coalesced", ledger=ledger, tick=tick.isoformat())
                continue
            await asyncio.to_thread(runtime.ticks.set_job, ledger, tick, job_id)
        return len(due)

    return app


async def recover(app: App, runtime: Runtime, stalled_seconds: float) -> int:
    """Retry (or abandon) the jobs of workers without a recent heartbeat; return how
    many cycle jobs were handled."""
    manager = app.job_manager
    handled = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds):
        if job.task_name != CYCLE_TASK:  # a dead dispatcher's job: the next one comes
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            continue
        handled += 1
        await _recover_cycle(app, runtime, job)
    return handled


async def _recover_cycle(app: App, runtime: Runtime, job: Job) -> None:
    manager = app.job_manager
    kwargs: dict[str, Any] = dict(job.task_kwargs)
    ledger, tick = str(kwargs["ledger"]), datetime.fromisoformat(str(kwargs["tick"]))
    waiting = await manager.list_jobs_async(
        task=CYCLE_TASK, status="todo", queueing_lock=job.queueing_lock
    )
    if not list(waiting):
        try:
            await manager.retry_job(job)
        except ProcrastinateException as exc:
            # the next tick was deferred meanwhile (its queueing lock), or another
            # replica recovered this job first: abandon it if it is still ours to handle
            log.info("worker.retry_refused", ledger=ledger, job=job.id, error=str(exc))
        else:
            log.warning("worker.tick_retried", ledger=ledger, tick=tick.isoformat(), job=job.id)
            return
    try:
        await manager.finish_job(job, status=Status.FAILED, delete_job=False)
    except ProcrastinateException:
        return  # no longer `doing`: another replica handled it
    await asyncio.to_thread(
        runtime.ticks.abandon, ledger, tick, "worker died; the next tick was waiting"
    )
    log.warning(
        "worker.tick_abandoned",
        ledger=ledger,
        tick=tick.isoformat(),
        job=job.id,
        note="its worker died mid-cycle; the ledger's next tick runs instead",
    )
