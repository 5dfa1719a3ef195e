"""Several replicas on PostgreSQL: ``syncer worker`` (see docs/operations.md).

The seam between syncer and procrastinate. Only :mod:`syncer.distributed.queue` and
:mod:`syncer.distributed.worker` import procrastinate; the single-node path (``syncer
run``, the daemon) imports nothing from this package.

* :mod:`~syncer.distributed.schedule` — which tick of a ledger's schedule is due (pure);
* :mod:`~syncer.distributed.ticks` — the per-(ledger, tick) cycle records and the
  dispatcher's marks (SQLAlchemy, SQLite or PostgreSQL);
* :mod:`~syncer.distributed.queue` — the procrastinate app: the periodic ``dispatch``
  task and the ``sync_ledger`` task;
* :mod:`~syncer.distributed.worker` — the ``syncer worker`` process.
"""
