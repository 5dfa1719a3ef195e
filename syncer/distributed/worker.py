"""The ``syncer worker`` process: a procrastinate worker plus the periodic dispatcher.

Start any number of them on one PostgreSQL state database, with the same settings and
the same ledger files. Each one:

* checks the state schema (``syncer db upgrade`` first; a clear error otherwise);
* shares the Google rate limiter with the fleet through the database (the daemon's
  runner does so whenever the state is PostgreSQL);
* serves ``/healthz``, ``/readyz`` and ``/metrics`` (:mod:`syncer.health`) — ``/readyz``
  is ready when every ledger had a successful cycle, by any replica, within three
  intervals of its schedule;
* runs two procrastinate workers on one event loop: one for the dispatcher's queue
  (one job at a time, so cycles never starve it) and one for cycles
  (``SYNCER_MAX_WORKERS`` at once, each on a thread).

SIGTERM/SIGINT stop fetching jobs and wait for running cycles to finish (an apply is
never cut in half), then the process exits 0.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any

import structlog
from sqlalchemy.engine import make_url

from syncer.connectors import ratelimit
from syncer.daemon import WATCH_SECONDS
from syncer.distributed.queue import CYCLE_QUEUE, DISPATCH_QUEUE, build_app
from syncer.distributed.runtime import Runtime
from syncer.errors import ConfigError, SyncerError
from syncer.health import HealthServer
from syncer.settings import Settings

log = structlog.get_logger("syncer.worker")


def _watch(runtime: Runtime, stop: threading.Event, every: float) -> None:
    """Keep the ledger files and the fleet's successes fresh between jobs."""
    while not stop.wait(every):
        try:
            runtime.refresh()
            runtime.refresh_readiness()
        except Exception as exc:  # the database may be failing over: try again later
            log.warning("worker.watch_failed", error=str(exc))


async def _serve(runtime: Runtime, settings: Settings) -> None:
    app = build_app(runtime, settings)
    common: dict[str, Any] = {
        "name": runtime.worker,
        "install_signal_handlers": False,
        "update_heartbeat_interval": settings.worker_heartbeat_seconds,
        "stalled_worker_timeout": settings.worker_stalled_seconds,
        "fetch_job_polling_interval": 1.0,
        "delete_jobs": "successful",
    }
    async with app.open_async():
        workers = [
            asyncio.create_task(
                app.run_worker_async(queues=[DISPATCH_QUEUE], concurrency=1, **common)
            ),
            asyncio.create_task(
                app.run_worker_async(
                    queues=[CYCLE_QUEUE], concurrency=settings.max_workers, **common
                )
            ),
        ]
        loop = asyncio.get_running_loop()
        received: list[str] = []

        def stop(sig: signal.Signals) -> None:
            received.append(sig.name)
            for task in workers:
                task.cancel()

        installed = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop, sig)
                installed.append(sig)
        log.info(
            "worker.started",
            worker=runtime.worker,
            ledgers=runtime.ledgers,
            concurrency=settings.max_workers,
        )
        try:
            results = await asyncio.gather(*workers, return_exceptions=True)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(
                result, asyncio.CancelledError
            ):
                raise result
        log.info("worker.stopping", signal=received[0] if received else None)


def run_worker(settings: Settings) -> int:
    """Run one worker until SIGTERM/SIGINT; return the exit code (0 clean stop, 1 cannot
    start: database, schema, port; 2 unusable configuration)."""
    if make_url(settings.state_url).get_backend_name() != "postgresql":
        log.error(
            "worker.start_failed",
            error="syncer worker needs a PostgreSQL state database",
            hint="set SYNCER_STATE_URL=postgresql+psycopg://user:password@host/db and run "
            "`syncer db upgrade`; with SQLite, run one `syncer run` instead",
        )
        return 1
    runtime: Runtime | None = None
    server: HealthServer | None = None
    stop = threading.Event()
    try:
        runtime = Runtime(settings)
        runtime.refresh()
        if settings.http_port:
            server = HealthServer(settings.http_host, settings.http_port, runtime.readiness)
    except ConfigError as exc:
        log.error("worker.start_failed", error=str(exc))
        if runtime is not None:
            runtime.close()
        return 2
    except SyncerError as exc:  # schema behind, database unreachable, port in use
        log.error("worker.start_failed", error=str(exc))
        if runtime is not None:
            runtime.close()
        return 1
    watcher = threading.Thread(
        target=_watch, args=(runtime, stop, WATCH_SECONDS), name="syncer-watch", daemon=True
    )
    code = 1
    try:
        if server is not None:
            server.start()
            log.info("worker.http", host=settings.http_host, port=server.port)
        runtime.refresh_readiness()
        runtime.readiness.started = True
        watcher.start()
        asyncio.run(_serve(runtime, settings))
        code = 0
    except Exception as exc:  # the queue's database went away for good, a bug: say so
        log.exception("worker.failed", error=f"{exc.__class__.__name__}: {exc}")
    finally:
        stop.set()
        if server is not None:
            server.stop()
        ratelimit.stop_sharing()
        runtime.close()
        log.info("worker.exit", code=code)
    return code
