"""The state database's tables, as the code uses them today.

Every schema change is also an Alembic revision under :mod:`syncer.migrations` (a test
compares the migrated schema with these tables on SQLite and PostgreSQL). Portable SQL
only: the same tables serve SQLite (one process) and PostgreSQL (several replicas).

Single-node tables: ``watched``, ``watched_version``, ``first_seen``, ``ledger_mark``,
``runs`` (see :mod:`syncer.state`). Replica tables (``syncer worker``):

``cycle_ticks``     (ledger, tick) → one record per scheduled cycle: who ran it, when,
                    how it ended — a retried tick that already finished never runs again
``ledger_dispatch`` ledger → the last tick the dispatcher enqueued
``rate_buckets``    (credential, kind) → the fleet's shared token bucket per credential

Crash safety: ``journal`` — cycle id → the status and write progress of a cycle that
moves, creates or deletes rows; ``journal_intents`` — cycle id → that cycle's intent,
written before its first write (see :mod:`syncer.journal`). The intent (every moved row's
values: megabytes for a mass archive) has a table of its own so that recording each write
call's progress, and closing the entry, rewrite a small row.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

watched_table = Table(
    "watched",
    metadata,
    Column("ledger", String(200), primary_key=True),
    Column("row_key", String(400), primary_key=True),
    Column("column_name", String(400), primary_key=True),
    Column("value", Text, nullable=False),
)

#: One row per ledger whose watched values were ever written by this version: a counter
#: bumped in the same transaction as every change to that ledger's ``watched`` rows.
version_table = Table(
    "watched_version",
    metadata,
    Column("ledger", String(200), primary_key=True),
    Column("generation", Integer, nullable=False),
)

first_seen_table = Table(
    "first_seen",
    metadata,
    Column("ledger", String(200), primary_key=True),
    Column("identity", String(1000), primary_key=True),
    Column("first_seen", DateTime(timezone=True), nullable=False),
)

mark_table = Table(
    "ledger_mark",
    metadata,
    Column("ledger", String(200), primary_key=True),
    Column("change_token", String(400), nullable=True),
    Column("config_hash", String(128), nullable=True),
    Column("last_cycle", DateTime(timezone=True), nullable=True),
)

runs_table = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ledger", String(200), nullable=False, index=True),
    Column("cycle_id", String(64), nullable=False),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("finished", DateTime(timezone=True), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("findings", Integer, nullable=False),
    Column("applied", Integer, nullable=False),
    Column("dropped", Integer, nullable=False),
    Column("archived", Integer, nullable=False),
    Column("api_calls", Integer, nullable=False),
    Column("error", Text, nullable=True),
    #: when ``findings`` was computed: this run's start, or (idle/failed runs) the start
    #: of the last run that computed it; NULL when unknown
    Column("findings_at", DateTime(timezone=True), nullable=True),
)


cycle_ticks_table = Table(
    "cycle_ticks",
    metadata,
    Column("ledger", String(200), primary_key=True),
    Column("tick", DateTime(timezone=True), primary_key=True),
    #: queued | running | done | failed | coalesced | abandoned
    Column("status", String(20), nullable=False),
    Column("job_id", BigInteger, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("worker", String(200), nullable=True),
    Column("queued", DateTime(timezone=True), nullable=False),
    Column("first_started", DateTime(timezone=True), nullable=True),
    Column("started", DateTime(timezone=True), nullable=True),
    Column("finished", DateTime(timezone=True), nullable=True),
    Column("cycle_id", String(64), nullable=True),
    Column("outcome", String(20), nullable=True),
    Column("note", Text, nullable=True),
)

dispatch_table = Table(
    "ledger_dispatch",
    metadata,
    Column("ledger", String(200), primary_key=True),
    Column("last_tick", DateTime(timezone=True), nullable=False),
)

rate_buckets_table = Table(
    "rate_buckets",
    metadata,
    Column("credential", String(400), primary_key=True),
    Column("kind", String(10), primary_key=True),
    Column("tokens", Float, nullable=False),
    #: seconds since the epoch, by the database's clock (one clock for the whole fleet)
    Column("updated", Float, nullable=False),
)


journal_table = Table(
    "journal",
    metadata,
    Column("cycle_id", String(64), primary_key=True),
    Column("ledger", String(200), nullable=False, index=True),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False),
    Column("writes_planned", Integer, nullable=False),
    Column("writes_done", Integer, nullable=False),
    #: Where the intent lived before revision 0006. Kept so that replicas of the previous
    #: version keep working during a rolling upgrade (they write and read it here); this
    #: version writes "{}" and reads it only for an entry with no ``journal_intents`` row.
    Column("intent", Text, nullable=False),
    Column("closed", DateTime(timezone=True), nullable=True),
    Column("closed_by", String(64), nullable=True),
)

journal_intents_table = Table(
    "journal_intents",
    metadata,
    Column("cycle_id", String(64), ForeignKey("journal.cycle_id"), primary_key=True),
    #: JSON list of the keys the intent appends: all a finished entry is read for. Before
    #: ``intent``, so reading it does not fetch the large value.
    Column("moved", Text, nullable=False),
    Column("intent", Text, nullable=False),
)
