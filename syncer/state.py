"""State with SQLAlchemy (SQLite file by default): watched values, findings' first
sighting, change tokens and run history per ledger.

Tables (portable SQL, no SQLite-only features: PostgreSQL through psycopg 3 with
``SYNCER_STATE_URL=postgresql+psycopg://…``; defined in :mod:`syncer.state_tables`,
created and changed only by the Alembic revisions of :mod:`syncer.migrations`):

``watched``      (ledger, row_key, column_name) → value   previous watched values
``first_seen``   (ledger, identity) → first_seen          when each finding appeared
``watched_version`` ledger → generation of its watched values and first sightings
                 (bumped by every write of either)
``ledger_mark``  ledger → change token, config hash, last cycle time
``runs``         one row per cycle (RunRecord)

:meth:`StateStore.save` writes one cycle's observations in one transaction, touching
only rows that changed, with bulk statements (100,000 keys stay fast).

Steady-state cost is O(changes) in the database: a store keeps, per ledger, the watched
map and the first sightings it last read or wrote together with that ledger's
generation. ``load`` and ``save`` first read the one-row generation; while it matches,
the kept maps are used instead of re-reading every row, and ``save`` writes only the
values that differ. Every write of either table bumps the generation, so a write by any
other process (or another :class:`StateStore` on the same database) makes the next call
here re-read the rows. Opening a store checks the schema
revision (:func:`syncer.migrations.prepare`): SQLite is migrated in place, PostgreSQL must
be upgraded with ``syncer db upgrade`` first. A database made before migrations existed
is adopted by the baseline revision (missing tables such as ``watched_version`` are
created; its watched rows are read as they are). State is re-derivable: losing watched
values only means ``stamp_on_change`` treats those rows as first seen and stamps nothing
for one cycle. One store may serve several threads as long as each ledger runs one cycle at a time
(the daemon's per-ledger lock): the kept maps are per ledger and replaced, never
mutated, and a race can only make a kept map look stale (re-read), never wrong.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.expression import Insert, Update

from syncer import migrations
from syncer.errors import StateError
from syncer.rules.base import PreviousState
from syncer.state_tables import (
    first_seen_table,
    mark_table,
    metadata,
    runs_table,
    version_table,
    watched_table,
)

__all__ = ["LedgerMark", "RunRecord", "StateStore", "display_url", "metadata"]

_CHUNK = 500


@dataclass(frozen=True)
class RunRecord:
    """One cycle of one ledger, as recorded."""

    ledger: str
    cycle_id: str
    started: datetime
    finished: datetime
    outcome: str  # "ok" | "idle" | "failed" | "dry_run"
    findings: int
    applied: int
    dropped: int
    archived: int
    api_calls: int
    error: str | None = None
    #: when ``findings`` was computed: this run's start for a cycle that computed it, the
    #: start of an earlier cycle for an idle (or failed) one carrying its count forward,
    #: None when no cycle has computed findings yet
    findings_at: datetime | None = None


@dataclass(frozen=True)
class _Kept:
    """A ledger's watched map and first sightings as of ``generation``; never mutated once
    built."""

    generation: int
    watched: dict[str, dict[str, str]]
    first_seen: dict[str, datetime]


@dataclass(frozen=True)
class LedgerMark:
    """What decides whether a ledger's next cycle may be skipped as idle."""

    change_token: str | None
    config_hash: str | None
    last_cycle: datetime | None


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes: everything is stored in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"timestamps must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


def _chunks(items: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _delete_watched(conn: Connection, ledger: str, keys: Iterable[str]) -> int:
    """Delete the watched values of ``keys``; how many rows went."""
    deleted = 0
    for chunk in _chunks(sorted({_enc(key) for key in keys})):
        deleted += conn.execute(
            delete(watched_table).where(
                and_(watched_table.c.ledger == ledger, watched_table.c.row_key.in_(chunk))
            )
        ).rowcount
    return deleted


def _without(
    watched: Mapping[str, dict[str, str]], keys: Iterable[str]
) -> dict[str, dict[str, str]]:
    """A copy of ``watched`` without ``keys``."""
    remaining = dict(watched)
    for key in keys:
        remaining.pop(key, None)
    return remaining


class StateStore:
    """The state database. ``url`` is an SQLAlchemy URL (``sqlite:///path`` by default).

    For a SQLite file the parent directory is created and the file made owner-only (0600).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        #: the URL as shown in messages and logs (password masked)
        self.shown = display_url(url)
        try:
            parsed = make_url(url)
            is_sqlite = parsed.get_backend_name() == "sqlite"
            if is_sqlite and parsed.database not in (None, "", ":memory:"):
                db_file = Path(str(parsed.database))
                db_file.parent.mkdir(parents=True, exist_ok=True)
                if not db_file.exists():
                    db_file.touch(mode=0o600)
                os.chmod(db_file, 0o600)
            self.engine: Engine = create_engine(url, future=True, pool_pre_ping=not is_sqlite)
            if parsed.get_backend_name() == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            migrations.prepare(self.engine, self.shown)
            #: per ledger: the watched map this store last read or wrote (see module doc)
            self._kept: dict[str, _Kept] = {}
            #: per ledger: the engine's memo of its last cycle (see :meth:`keep_memo`)
            self._memos: dict[str, object] = {}
        except (SQLAlchemyError, OSError, ValueError) as exc:
            raise StateError(
                f"state database {self.shown} cannot be opened ({exc}); check SYNCER_STATE_URL and"
                " that its directory is writable"
            ) from exc

    # --- reads -------------------------------------------------------------------------

    def load(self, ledger: str) -> PreviousState:
        """What the last cycles recorded for ``ledger``.

        Both maps are read-only views; while no other writer touched the ledger since
        this store last read or wrote it, they cost one one-row query.
        """
        try:
            with self._connect() as conn:
                kept = self._state(conn, ledger)
        except SQLAlchemyError as exc:
            raise self._failed("read", ledger, exc) from exc
        return PreviousState(
            watched=MappingProxyType(kept.watched), first_seen=MappingProxyType(kept.first_seen)
        )

    def mark(self, ledger: str) -> LedgerMark | None:
        """The change token, config hash and time of the last successful cycle."""
        with self._connect() as conn:
            row = conn.execute(
                select(
                    mark_table.c.change_token, mark_table.c.config_hash, mark_table.c.last_cycle
                ).where(mark_table.c.ledger == ledger)
            ).first()
        if row is None:
            return None
        return LedgerMark(row[0], row[1], _aware(row[2]))

    def last_change_token(self, ledger: str) -> str | None:
        """The source's change token at the last successful cycle."""
        found = self.mark(ledger)
        return found.change_token if found else None

    def runs(self, ledger: str | None = None, limit: int = 20) -> list[RunRecord]:
        """Most recent runs first, optionally for one ledger."""
        query = select(runs_table).order_by(runs_table.c.id.desc()).limit(limit)
        if ledger is not None:
            query = query.where(runs_table.c.ledger == ledger)
        with self._connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            RunRecord(
                ledger=r["ledger"],
                cycle_id=r["cycle_id"],
                started=_aware(r["started"]) or r["started"],
                finished=_aware(r["finished"]) or r["finished"],
                outcome=r["outcome"],
                findings=r["findings"],
                applied=r["applied"],
                dropped=r["dropped"],
                archived=r["archived"],
                api_calls=r["api_calls"],
                error=r["error"],
                findings_at=_aware(r["findings_at"]),
            )
            for r in rows
        ]

    def last_findings(self, ledger: str) -> tuple[int, datetime] | None:
        """The finding count the ledger's last computing cycle found, and when (None when
        no cycle has computed findings yet). Idle and failed runs carry the same pair."""
        query = (
            select(runs_table.c.findings, runs_table.c.findings_at)
            .where(runs_table.c.ledger == ledger, runs_table.c.findings_at.is_not(None))
            .order_by(runs_table.c.id.desc())
            .limit(1)
        )
        try:
            with self._connect() as conn:
                row = conn.execute(query).first()
        except SQLAlchemyError as exc:
            raise self._failed("read", ledger, exc) from exc
        if row is None:
            return None
        at = _aware(row[1])
        assert at is not None
        return int(row[0]), at

    # --- writes ------------------------------------------------------------------------

    def save(
        self,
        ledger: str,
        observed: Mapping[str, Mapping[str, str]],
        first_seen: Mapping[str, datetime],
        change_token: str | None,
        *,
        config_hash: str | None = None,
        now: datetime | None = None,
        forget: Collection[str] = (),
    ) -> None:
        """Record one cycle, in one transaction.

        ``observed`` (row key → column → value) updates those keys' watched values (keys
        not mentioned keep theirs); ``first_seen`` is the complete set of current findings
        (identities absent from it are forgotten); the ledger's mark is replaced.
        ``forget`` names keys whose watched values are dropped (customers moved to
        history): whatever ``observed`` says of them is not written.
        """
        kept: _Kept | None = None
        try:
            with self._begin() as conn:
                start = self._state(conn, ledger)
                watched = self._save_watched(conn, ledger, observed, start, set(forget))
                if forget and _delete_watched(conn, ledger, forget):
                    watched = _without(start.watched if watched is None else watched, forget)
                seen = self._save_first_seen(conn, ledger, first_seen, start)
                kept = start
                if watched is not None or seen is not None:
                    generation = self._bump(conn, ledger, start.generation)
                    kept = (
                        _Kept(
                            generation,
                            start.watched if watched is None else watched,
                            start.first_seen if seen is None else seen,
                        )
                        if generation == start.generation + 1
                        else None  # another writer got in between: re-read next time
                    )
                conn.execute(delete(mark_table).where(mark_table.c.ledger == ledger))
                conn.execute(
                    insert(mark_table).values(
                        ledger=ledger,
                        change_token=change_token,
                        config_hash=config_hash,
                        last_cycle=_utc(now) if now is not None else None,
                    )
                )
        except SQLAlchemyError as exc:
            self._kept.pop(ledger, None)
            raise self._failed("save", ledger, exc) from exc
        except BaseException:  # e.g. a naive timestamp: rolled back, re-read next time
            self._kept.pop(ledger, None)
            raise
        self._keep(ledger, kept)

    def forget_keys(self, ledger: str, keys: Iterable[str]) -> None:
        """Drop the watched values of ``keys`` (e.g. customers moved to history)."""
        todo = sorted(set(keys))
        if not todo:
            return
        kept: _Kept | None = None
        try:
            with self._begin() as conn:
                before = self._generation(conn, ledger)
                deleted = _delete_watched(conn, ledger, todo)
                known = self._kept.get(ledger)
                if deleted:
                    after = self._bump(conn, ledger, before)
                    if known is not None and known.generation == before and after == before + 1:
                        kept = _Kept(after, _without(known.watched, todo), known.first_seen)
                elif known is not None and known.generation == before:
                    kept = known
        except SQLAlchemyError as exc:
            self._kept.pop(ledger, None)
            raise self._failed("update", ledger, exc) from exc
        self._keep(ledger, kept)

    def record_run(self, run: RunRecord) -> None:
        """Append one cycle to the run history."""
        with self._begin() as conn:
            conn.execute(
                insert(runs_table).values(
                    ledger=run.ledger,
                    cycle_id=run.cycle_id,
                    started=_utc(run.started),
                    finished=_utc(run.finished),
                    outcome=run.outcome,
                    findings=run.findings,
                    applied=run.applied,
                    dropped=run.dropped,
                    archived=run.archived,
                    api_calls=run.api_calls,
                    error=run.error,
                    findings_at=_utc(run.findings_at) if run.findings_at is not None else None,
                )
            )

    def prune_runs(self, ledger: str, before: datetime) -> int:
        """Delete the ledger's run records that finished before ``before``, but its newest
        and its newest with findings (the status and the carried finding count read
        them); how many went."""
        of_ledger = runs_table.c.ledger == ledger
        newest = select(func.max(runs_table.c.id)).where(of_ledger)
        counted = newest.where(runs_table.c.findings_at.is_not(None))
        try:
            with self._begin() as conn:
                keep = {i for q in (newest, counted) if (i := conn.execute(q).scalar())}
                return int(
                    conn.execute(
                        delete(runs_table).where(
                            of_ledger,
                            runs_table.c.finished < _utc(before),
                            runs_table.c.id.not_in(keep),
                        )
                    ).rowcount
                )
        except SQLAlchemyError as exc:
            raise self._failed("prune the run history in", ledger, exc) from exc

    def memo(self, ledger: str) -> object | None:
        """What :meth:`keep_memo` kept for ``ledger`` in this process (None: nothing)."""
        return self._memos.get(ledger)

    def keep_memo(self, ledger: str, memo: object | None) -> None:
        """Keep the engine's in-memory memo of ``ledger``'s last cycle (the incremental
        validation's, :mod:`syncer.incremental`), beside the kept watched maps; None
        forgets it. Never stored in the database: a new process starts with a full pass."""
        if memo is None:
            self._memos.pop(ledger, None)
        else:
            self._memos[ledger] = memo

    def close(self) -> None:
        """Dispose of the engine."""
        self.engine.dispose()

    # --- internals ---------------------------------------------------------------------

    def _connect(self) -> Any:
        try:
            return self.engine.connect()
        except SQLAlchemyError as exc:
            raise StateError(f"state database {self.shown} is unusable: {exc}") from exc

    def _begin(self) -> Any:
        try:
            return self.engine.begin()
        except SQLAlchemyError as exc:
            raise StateError(f"state database {self.shown} is unusable: {exc}") from exc

    def _failed(self, doing: str, ledger: str, exc: SQLAlchemyError) -> StateError:
        return StateError(
            f"state database {self.shown} could not {doing} the state of ledger {ledger!r}"
            f" ({exc.__class__.__name__}: {exc}); check that the database is reachable and"
            " writable (the next cycle retries)"
        )

    def _keep(self, ledger: str, kept: _Kept | None) -> None:
        """Remember (or forget) the ledger's watched map after a committed transaction."""
        if kept is None:
            self._kept.pop(ledger, None)
        else:
            self._kept[ledger] = kept

    @staticmethod
    def _generation(conn: Connection, ledger: str) -> int:
        """The ledger's watched generation; 0 when never bumped (new or older database)."""
        found = conn.execute(
            select(version_table.c.generation).where(version_table.c.ledger == ledger)
        ).scalar()
        return int(found) if found is not None else 0

    @staticmethod
    def _bump(conn: Connection, ledger: str, seen: int) -> int:
        """Advance the ledger's generation (inside the writing transaction); return the
        value now stored. ``seen + 1`` unless another writer bumped it meanwhile."""
        bumped = conn.execute(
            update(version_table)
            .where(version_table.c.ledger == ledger)
            .values(generation=version_table.c.generation + 1)
        ).rowcount
        if not bumped:
            conn.execute(insert(version_table).values(ledger=ledger, generation=seen + 1))
        return StateStore._generation(conn, ledger)

    def _state(self, conn: Connection, ledger: str) -> _Kept:
        """The ledger's watched map and first sightings: the kept ones while their
        generation is current, else read whole (the generation is read first, so a
        concurrent write can only make the kept copy look older than it is, never newer)."""
        generation = self._generation(conn, ledger)
        known = self._kept.get(ledger)
        if known is not None and known.generation == generation:
            return known
        watched: dict[str, dict[str, str]] = {}
        rows = conn.execute(
            select(
                watched_table.c.row_key, watched_table.c.column_name, watched_table.c.value
            ).where(watched_table.c.ledger == ledger)
        )
        for stored_key, stored_column, stored_value in rows:
            key, column, value = _dec(stored_key), _dec(stored_column), _dec(stored_value)
            columns = watched.get(key)
            if columns is None:
                watched[key] = {column: value}
            else:
                columns[column] = value
        first_seen: dict[str, datetime] = {}
        for identity, when in conn.execute(
            select(first_seen_table.c.identity, first_seen_table.c.first_seen).where(
                first_seen_table.c.ledger == ledger
            )
        ).all():
            aware = _aware(when)
            if aware is not None:
                first_seen[_dec(identity)] = aware
        known = _Kept(generation, watched, first_seen)
        self._kept[ledger] = known
        return known

    @staticmethod
    def _save_watched(
        conn: Connection,
        ledger: str,
        observed: Mapping[str, Mapping[str, str]],
        start: _Kept,
        skip: set[str],
    ) -> dict[str, dict[str, str]] | None:
        """Write the values of ``observed`` (but the keys in ``skip``) that differ from the
        stored ones (``start``); return the ledger's watched map as it will be once the
        transaction commits (None: nothing changed)."""
        known = start.watched
        inserts: list[dict[str, str]] = []
        updates: list[dict[str, str]] = []
        replaced: dict[str, dict[str, str]] = {}
        for key, columns in observed.items():
            if key in skip:
                continue
            old = known.get(key)
            if old is not None and old == columns:
                continue  # the steady state: nothing of this row changed
            new: dict[str, str] | None = None
            for column, value in columns.items():
                was = old.get(column) if old is not None else None
                if was == value:
                    continue
                row = {
                    "ledger": ledger,
                    "row_key": _enc(key),
                    "column_name": _enc(column),
                    "value": _enc(value),
                }
                (inserts if was is None else updates).append(row)
                if new is None:
                    new = dict(old) if old is not None else {}
                new[column] = value
            if new is not None:
                replaced[key] = new
        if not replaced:
            return None
        if inserts:
            _executemany(conn, insert(watched_table), inserts)
        if updates:
            _executemany(
                conn,
                update(watched_table)
                .where(
                    and_(
                        watched_table.c.ledger == _bind("ledger"),
                        watched_table.c.row_key == _bind("row_key"),
                        watched_table.c.column_name == _bind("column_name"),
                    )
                )
                .values(value=_bind("value")),
                [{f"b_{k}": v for k, v in u.items()} for u in updates],
            )
        merged = dict(known)
        merged.update(replaced)
        return merged

    @staticmethod
    def _save_first_seen(
        conn: Connection, ledger: str, first_seen: Mapping[str, datetime], start: _Kept
    ) -> dict[str, datetime] | None:
        """Make the stored first sightings ``first_seen``, writing only the differences
        from ``start``'s; the new map (None: nothing changed)."""
        current = start.first_seen
        wanted = {i: _utc(when) for i, when in first_seen.items()}
        gone = [i for i in current if i not in wanted]
        changed = [i for i, when in wanted.items() if i in current and current[i] != when]
        for chunk in _chunks([_enc(i) for i in gone + changed]):
            conn.execute(
                delete(first_seen_table).where(
                    and_(
                        first_seen_table.c.ledger == ledger,
                        first_seen_table.c.identity.in_(chunk),
                    )
                )
            )
        new = [
            {"ledger": ledger, "identity": _enc(i), "first_seen": when}
            for i, when in wanted.items()
            if i not in current or i in changed
        ]
        if new:
            conn.execute(insert(first_seen_table), new)
        return wanted if gone or new else None


def _executemany(conn: Connection, statement: Insert | Update, rows: list[dict[str, str]]) -> None:
    """One DBAPI ``executemany`` of ``statement`` over ``rows`` (all text values).

    The statement is compiled once for the connection's dialect and the parameters handed
    to the driver as they are (tuples for positional paramstyles such as SQLite's, dicts
    for named ones such as psycopg's), skipping SQLAlchemy's per-row parameter processing:
    about twice as fast for the 200,000 values of a first save. Text needs no processing.
    """
    compiled = statement.compile(dialect=conn.dialect)
    names = compiled.positiontup
    params: list[tuple[str, ...]] | list[dict[str, str]] = (
        [tuple(row[name] for name in names) for row in rows] if names else rows
    )
    conn.exec_driver_sql(str(compiled), params)


#: Prefix of a stored text that had to be escaped (see :func:`_enc`).
_ESCAPED = "\x01json:"


def _enc(text: str) -> str:
    """Text as stored: PostgreSQL text cannot hold NUL, so a text with NUL (or one that
    starts like an escaped one) is stored as a JSON string behind a marker; every other
    text — practically all — is stored as it is. Same on every backend, so a copied
    database reads the same."""
    if "\x00" in text or text.startswith(_ESCAPED):
        return _ESCAPED + json.dumps(text)
    return text


def _dec(stored: str) -> str:
    """The text :func:`_enc` stored."""
    if stored.startswith(_ESCAPED):
        decoded: str = json.loads(stored[len(_ESCAPED) :])
        return decoded
    return stored


def display_url(url: str) -> str:
    """``url`` with its password masked (safe for logs and error messages)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: StateStore reports it
        return url


def _bind(name: str) -> Any:
    return bindparam(f"b_{name}")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
