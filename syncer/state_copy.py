"""Copy a whole state database to another one (``syncer db copy``): the move from one
process on SQLite to replicas on PostgreSQL.

The source is brought to the newest schema revision first (a SQLite file migrates on
open), the target is migrated with Alembic, and must hold no state yet — the copy never
merges. Rows are copied table by table as stored (escaped texts stay escaped, so the
target reads exactly like the source), in chunks, in one transaction on the target; on
PostgreSQL the ``runs`` id sequence is moved past the copied ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from syncer import migrations
from syncer.errors import StateError
from syncer.state import StateStore, display_url
from syncer.state_tables import metadata

_CHUNK = 2_000
#: Fleet bookkeeping that does not move with the state (rebuilt by the new workers).
_NOT_COPIED = frozenset({"rate_buckets"})


@dataclass(frozen=True)
class CopyReport:
    """Rows copied per table."""

    rows: dict[str, int]


def copy_state(
    source_url: str, target_url: str, progress: Callable[[str, int], None] | None = None
) -> CopyReport:
    """Copy every state table of ``source_url`` into the empty ``target_url``."""
    source = StateStore(source_url)  # migrates a SQLite source to the newest revision
    target: Engine | None = None
    try:
        target = create_engine(target_url)
        try:
            migrations.upgrade(target)
        except SQLAlchemyError as exc:
            raise StateError(
                f"target database {display_url(target_url)} cannot be migrated ({exc})"
            ) from exc
        tables = [t for t in metadata.sorted_tables if t.name not in _NOT_COPIED]
        copied: dict[str, int] = {}
        with target.begin() as out, source.engine.connect() as src:
            for table in tables:
                if out.execute(select(func.count()).select_from(table)).scalar_one():
                    raise StateError(
                        f"target database {display_url(target_url)} already holds state "
                        f"(table {table.name} is not empty); `syncer db copy` only fills an "
                        "empty database"
                    )
            for table in tables:
                count = 0
                result = src.execution_options(yield_per=_CHUNK).execute(select(table))
                for chunk in result.mappings().partitions(_CHUNK):
                    out.execute(insert(table), [dict(row) for row in chunk])
                    count += len(chunk)
                copied[table.name] = count
                if progress is not None:
                    progress(table.name, count)
            if target.dialect.name == "postgresql" and copied.get("runs"):
                out.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('runs', 'id'), "
                        "(SELECT max(id) FROM runs))"
                    )
                )
        return CopyReport(copied)
    finally:
        source.close()
        if target is not None:
            target.dispose()
