"""Notification state in the state database (its own tables, same SQLAlchemy URL).

``notify_mark``   (ledger, destination, name) → time and text   last digest, alerts sent
``notify_seen``   (ledger, destination, identity)                findings already announced
``notify_event``  ledger, time, kind, count, detail              what a digest sums up
``notify_key``    (ledger, row_key)                              customers seen, for "new"

Everything here is re-derivable: losing it means one digest covers a shorter or longer
period, or a finding is announced again. Writes touch only what changed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    delete,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from syncer.errors import StateError

metadata = MetaData()

mark_table = Table(
    "notify_mark",
    metadata,
    Column("ledger", String(200), primary_key=True),
    Column("destination", String(200), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=True),
    Column("text", Text, nullable=True),
)

seen_table = Table(
    "notify_seen",
    metadata,
    Column("ledger", String(200), primary_key=True),
    Column("destination", String(200), primary_key=True),
    Column("identity", String(1000), primary_key=True),
)

event_table = Table(
    "notify_event",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ledger", String(200), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("count", Integer, nullable=False),
    Column("detail", Text, nullable=False),
)

key_table = Table(
    "notify_key",
    metadata,
    Column("ledger", String(200), primary_key=True),
    Column("row_key", String(400), primary_key=True),
)

#: The PostgreSQL advisory lock under which a process creates the missing tables.
DDL_LOCK = 0x7379_6E63_6E74  # "syncnt"

#: Longest detail list kept per event (the digest shows a few examples, then counts).
MAX_DETAIL = 20


@dataclass(frozen=True)
class Mark:
    """A named time (and optional text) per ledger and destination."""

    at: datetime | None
    text: str | None


@dataclass(frozen=True)
class Tally:
    """What happened since a time: a count and some examples per kind."""

    counts: dict[str, int]
    examples: dict[str, list[str]]

    def count(self, kind: str) -> int:
        """How many of ``kind``."""
        return self.counts.get(kind, 0)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _create_tables(engine: Engine) -> None:
    """Create the missing notification tables. On PostgreSQL under an advisory lock held
    to the end of the transaction: replicas starting together would otherwise each see a
    table missing and all but one ``CREATE TABLE`` fail on the catalog."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DDL_LOCK})
        metadata.create_all(conn)


class NotifyStore:
    """The notification tables in the database at ``url`` (created when missing)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        try:
            parsed = make_url(url)
            self.engine: Engine = create_engine(url, future=True)
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, ""):
                from sqlalchemy import event

                event.listen(self.engine, "connect", _sqlite_wal)
            _create_tables(self.engine)
        except (SQLAlchemyError, ValueError) as exc:
            raise StateError(
                f"state database {url} cannot hold notification state ({exc}); check "
                "SYNCER_STATE_URL"
            ) from exc

    def close(self) -> None:
        """Dispose of the engine."""
        self.engine.dispose()

    # --- marks ------------------------------------------------------------------------

    def mark(self, ledger: str, destination: str, name: str) -> Mark | None:
        """The mark ``name`` of a ledger's destination, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(mark_table.c.at, mark_table.c.text).where(
                    and_(
                        mark_table.c.ledger == ledger,
                        mark_table.c.destination == destination,
                        mark_table.c.name == name,
                    )
                )
            ).first()
        return None if row is None else Mark(_aware(row[0]), row[1])

    def set_mark(
        self, ledger: str, destination: str, name: str, at: datetime | None, text: str | None = None
    ) -> None:
        """Replace the mark ``name``."""
        where = and_(
            mark_table.c.ledger == ledger,
            mark_table.c.destination == destination,
            mark_table.c.name == name,
        )
        with self._lock, self.engine.begin() as conn:
            conn.execute(delete(mark_table).where(where))
            conn.execute(
                insert(mark_table).values(
                    ledger=ledger,
                    destination=destination,
                    name=name,
                    at=at.astimezone(UTC) if at is not None else None,
                    text=text,
                )
            )

    def clear_mark(self, ledger: str, destination: str, name: str) -> None:
        """Drop the mark ``name``."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                delete(mark_table).where(
                    and_(
                        mark_table.c.ledger == ledger,
                        mark_table.c.destination == destination,
                        mark_table.c.name == name,
                    )
                )
            )

    # --- announced findings ---------------------------------------------------------------

    def seen(self, ledger: str, destination: str) -> set[str]:
        """Finding identities already announced to a destination."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(seen_table.c.identity).where(
                    and_(seen_table.c.ledger == ledger, seen_table.c.destination == destination)
                )
            )
            return {r[0] for r in rows}

    def set_seen(self, ledger: str, destination: str, identities: Iterable[str]) -> None:
        """Make the announced set exactly ``identities`` (writes only the difference)."""
        wanted = set(identities)
        current = self.seen(ledger, destination)
        gone = sorted(current - wanted)
        new = sorted(wanted - current)
        if not gone and not new:
            return
        with self._lock, self.engine.begin() as conn:
            for i in range(0, len(gone), 500):
                conn.execute(
                    delete(seen_table).where(
                        and_(
                            seen_table.c.ledger == ledger,
                            seen_table.c.destination == destination,
                            seen_table.c.identity.in_(gone[i : i + 500]),
                        )
                    )
                )
            if new:
                conn.execute(
                    insert(seen_table),
                    [{"ledger": ledger, "destination": destination, "identity": x} for x in new],
                )

    # --- digest events ----------------------------------------------------------------------

    def add_event(
        self, ledger: str, at: datetime, kind: str, count: int, detail: Iterable[str] = ()
    ) -> None:
        """Record ``count`` things of ``kind`` (archived, new_customers, ids_assigned)."""
        if count <= 0:
            return
        examples = list(detail)[:MAX_DETAIL]
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                insert(event_table).values(
                    ledger=ledger,
                    at=at.astimezone(UTC),
                    kind=kind,
                    count=count,
                    detail=json.dumps(examples, ensure_ascii=False),
                )
            )

    def tally(self, ledger: str, since: datetime) -> Tally:
        """Counts and examples of every kind recorded after ``since``."""
        counts: dict[str, int] = {}
        examples: dict[str, list[str]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(event_table.c.kind, event_table.c.count, event_table.c.detail)
                .where(and_(event_table.c.ledger == ledger, event_table.c.at > since))
                .order_by(event_table.c.id)
            )
            for kind, count, detail in rows:
                counts[kind] = counts.get(kind, 0) + int(count)
                kept = examples.setdefault(kind, [])
                for item in json.loads(detail):
                    if len(kept) < MAX_DETAIL:
                        kept.append(str(item))
        return Tally(counts, examples)

    def prune_events(self, before: datetime) -> None:
        """Drop events older than ``before`` (digests look back a few days at most)."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(delete(event_table).where(event_table.c.at < before))

    # --- known customers --------------------------------------------------------------------

    def keys(self, ledger: str) -> set[str] | None:
        """Customer keys seen in the ledger; None before its first sighting."""
        if self.mark(ledger, "*", "keys") is None:
            return None
        with self.engine.connect() as conn:
            rows = conn.execute(select(key_table.c.row_key).where(key_table.c.ledger == ledger))
            return {r[0] for r in rows}

    def update_keys(self, ledger: str, before: set[str] | None, now: set[str]) -> None:
        """Store ``now`` as the ledger's keys, given what was stored (``before``)."""
        old = before or set()
        gone = sorted(old - now)
        new = sorted(now - old)
        with self._lock, self.engine.begin() as conn:
            for i in range(0, len(gone), 500):
                conn.execute(
                    delete(key_table).where(
                        and_(
                            key_table.c.ledger == ledger, key_table.c.row_key.in_(gone[i : i + 500])
                        )
                    )
                )
            if new:
                conn.execute(insert(key_table), [{"ledger": ledger, "row_key": k} for k in new])
        if before is None:
            self.set_mark(ledger, "*", "keys", datetime.now(UTC))


def _sqlite_wal(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
