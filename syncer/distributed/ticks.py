"""Per-(ledger, tick) cycle records: the fleet's memory of which scheduled cycle ran.

One row of ``cycle_ticks`` per tick the dispatcher enqueued, keyed by (ledger, tick):

``queued``     enqueued, not started yet
``running``    a worker claimed it (``attempts`` counts the claims: 2 = recovered after
               its first worker died mid-cycle)
``done``       the cycle finished (any engine outcome, in ``outcome``)
``failed``     the cycle raised
``coalesced``  never ran: a cycle of the ledger was already waiting (at most one waits)
``abandoned``  its worker died and the ledger's next tick was already waiting, so that
               one runs instead (the journal makes it converge)

A job only runs its cycle after :meth:`Ticks.claim` moved the row from ``queued`` or
``running`` to ``running``: a retried job whose tick is already ``done`` does nothing,
so a retried tick never writes twice. ``ledger_dispatch`` holds the last tick enqueued
per ledger: the conditional update in :meth:`Ticks.queue` lets exactly one dispatcher
enqueue a tick even when two dispatch jobs overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from syncer.state_tables import cycle_ticks_table as T
from syncer.state_tables import dispatch_table as D

#: Engine outcomes that count as a successful cycle (readiness).
SUCCESS = ("ok", "idle", "dry_run")


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class TickRecord:
    """One row of ``cycle_ticks``."""

    ledger: str
    tick: datetime
    status: str
    attempts: int
    worker: str | None
    job_id: int | None
    queued: datetime
    first_started: datetime | None
    started: datetime | None
    finished: datetime | None
    cycle_id: str | None
    outcome: str | None
    note: str | None


class Ticks:
    """The tick records of one state database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- the dispatcher -------------------------------------------------------------

    def last_dispatched(self) -> dict[str, datetime]:
        """Each ledger's last enqueued tick."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(D.c.ledger, D.c.last_tick)).all()
        return {ledger: _aware(tick) or tick for ledger, tick in rows}

    def queue(self, ledger: str, tick: datetime, now: datetime) -> bool:
        """Record ``tick`` as enqueued; False when another dispatcher already did."""
        try:
            with self.engine.begin() as conn:
                moved = conn.execute(
                    update(D)
                    .where(and_(D.c.ledger == ledger, D.c.last_tick < tick))
                    .values(last_tick=tick)
                ).rowcount
                if not moved:
                    exists = conn.execute(select(D.c.ledger).where(D.c.ledger == ledger)).first()
                    if exists is not None:
                        return False
                    conn.execute(insert(D).values(ledger=ledger, last_tick=tick))
                conn.execute(
                    insert(T).values(
                        ledger=ledger, tick=tick, status="queued", attempts=0, queued=now
                    )
                )
        except IntegrityError:
            return False
        return True

    def set_job(self, ledger: str, tick: datetime, job_id: int) -> None:
        """Remember the procrastinate job that carries the tick."""
        self._set(ledger, tick, job_id=job_id)

    def coalesce(self, ledger: str, tick: datetime, note: str) -> None:
        """The tick will not run: a cycle of the ledger is already waiting."""
        self._set(ledger, tick, status="coalesced", note=note)

    def abandon(self, ledger: str, tick: datetime, note: str) -> None:
        """A dead worker's tick that is not retried (the ledger's next tick waits)."""
        self._set(ledger, tick, status="abandoned", note=note)

    # --- the worker -----------------------------------------------------------------

    def claim(self, ledger: str, tick: datetime, worker: str, now: datetime) -> TickRecord | None:
        """Start (or, after a dead worker, restart) the tick's cycle; None when it must
        not run (already done, coalesced, abandoned, or unknown)."""
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(T)
                .where(
                    and_(
                        T.c.ledger == ledger,
                        T.c.tick == tick,
                        T.c.status.in_(("queued", "running")),
                    )
                )
                .values(
                    status="running",
                    attempts=T.c.attempts + 1,
                    worker=worker,
                    started=now,
                    first_started=func.coalesce(T.c.first_started, now),
                )
            ).rowcount
            if not claimed:
                return None
            row = conn.execute(select(T).where(and_(T.c.ledger == ledger, T.c.tick == tick)))
            return _record(row.mappings().one())

    def finish(
        self,
        ledger: str,
        tick: datetime,
        *,
        status: str,
        finished: datetime,
        outcome: str | None = None,
        cycle_id: str | None = None,
        note: str | None = None,
    ) -> None:
        """Record how the tick's cycle ended (``done`` or ``failed``)."""
        self._set(
            ledger,
            tick,
            status=status,
            finished=finished,
            outcome=outcome,
            cycle_id=cycle_id,
            note=note,
        )

    # --- reading --------------------------------------------------------------------

    def get(self, ledger: str, tick: datetime) -> TickRecord | None:
        """One tick's record."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(T).where(and_(T.c.ledger == ledger, T.c.tick == tick)))
                .mappings()
                .first()
            )
        return _record(row) if row is not None else None

    def records(self, ledger: str | None = None) -> list[TickRecord]:
        """Every record (of one ledger), oldest tick first."""
        query = select(T).order_by(T.c.ledger, T.c.tick)
        if ledger is not None:
            query = query.where(T.c.ledger == ledger)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query).mappings().all()]

    def last_success(self) -> dict[str, datetime]:
        """Each ledger's latest finished successful cycle (any replica)."""
        query = (
            select(T.c.ledger, func.max(T.c.finished))
            .where(and_(T.c.status == "done", T.c.outcome.in_(SUCCESS)))
            .group_by(T.c.ledger)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {ledger: when for ledger, raw in rows if (when := _aware(raw)) is not None}

    def prune(self, before: datetime) -> int:
        """Forget finished records of ticks older than ``before``; return how many."""
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    delete(T).where(
                        and_(T.c.tick < before, T.c.status.notin_(("queued", "running")))
                    )
                ).rowcount
            )

    def _set(self, ledger: str, tick: datetime, **values: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(T).where(and_(T.c.ledger == ledger, T.c.tick == tick)).values(**values)
            )


def _record(row: RowMapping) -> TickRecord:
    def when(name: str) -> datetime | None:
        value = row[name]
        return _aware(value) if isinstance(value, datetime) else None

    job = row["job_id"]
    return TickRecord(
        ledger=str(row["ledger"]),
        tick=when("tick") or datetime.min.replace(tzinfo=UTC),
        status=str(row["status"]),
        attempts=int(str(row["attempts"])),
        worker=str(row["worker"]) if row["worker"] is not None else None,
        job_id=int(str(job)) if job is not None else None,
        queued=when("queued") or datetime.min.replace(tzinfo=UTC),
        first_started=when("first_started"),
        started=when("started"),
        finished=when("finished"),
        cycle_id=str(row["cycle_id"]) if row["cycle_id"] is not None else None,
        outcome=str(row["outcome"]) if row["outcome"] is not None else None,
        note=str(row["note"]) if row["note"] is not None else None,
    )
