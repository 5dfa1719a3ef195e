"""Schema migrations of the state database (Alembic, for SQLite and PostgreSQL).

:func:`prepare` runs whenever a :class:`~syncer.state.StateStore` opens:

* the schema is at the newest revision: nothing to do (one one-row query);
* **SQLite** empty: today's tables are created and stamped (:func:`create_fresh`);
  behind, or made by a syncer from before migrations (tables but no
  ``alembic_version``): upgraded in place — one process owns the file, and the baseline
  revision keeps existing tables and their rows;
* **PostgreSQL** behind or empty: :class:`~syncer.errors.StateError` telling the operator
  to run ``syncer db upgrade`` — several replicas must not race a migration at start;
* a revision this syncer does not know (a newer syncer migrated the database): an error
  asking for the newer syncer, on both.

``syncer db upgrade`` calls :func:`upgrade`, ``syncer db current`` :func:`current`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from syncer.errors import StateError

_HERE = Path(__file__).resolve().parent


def ours(name: str | None, kind: str, _parents: Any) -> bool:
    """Alembic's ``include_name``: syncer's tables only (procrastinate's queue tables in
    the same PostgreSQL database are managed by their own revision, not compared)."""
    from syncer.state_tables import metadata

    return kind != "table" or name in metadata.tables


def config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for these migrations (no ini file needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision this syncer knows."""
    found = _script().get_current_head()
    assert found is not None
    return found


def known(revision: str) -> bool:
    """Whether ``revision`` is one of this syncer's revisions."""
    try:
        return _script().get_revision(revision) is not None
    except Exception:  # alembic raises its own error for an unknown id
        return False


def current(conn: Connection) -> str | None:
    """The database's revision (None: never migrated — empty or from before Alembic)."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to ``revision``; return the revisions (before, after)."""
    with engine.begin() as conn:
        before = current(conn)
        command.upgrade(config(conn), revision)
        after = current(conn)
    return before, after


def create_fresh(engine: Engine) -> None:
    """Create today's tables in an empty database and stamp it at the newest revision:
    what running every revision gives (a test compares both), ten times faster — many
    single-node tests and first starts open a new SQLite file."""
    from syncer.state_tables import metadata

    with engine.begin() as conn:
        metadata.create_all(conn)
        MigrationContext.configure(conn).stamp(_script(), "head")


def prepare(engine: Engine, url: str) -> None:
    """Make sure the schema is usable by this syncer (see the module doc)."""
    try:
        with engine.connect() as conn:
            found = current(conn)
            tables = set(inspect(conn).get_table_names()) if found is None else set()
    except SQLAlchemyError as exc:
        raise StateError(f"state database {url} cannot be opened ({exc})") from exc
    wanted = head()
    if found == wanted:
        return
    if found is not None and not known(found):
        raise StateError(
            f"state database {url} is at schema revision {found}, which this syncer does not "
            f"know (its newest is {wanted}): a newer syncer migrated it. Run that version, "
            "or restore the database from before the upgrade."
        )
    if engine.dialect.name == "sqlite":
        try:
            if found is None and not tables:
                create_fresh(engine)
            else:
                upgrade(engine)
        except SQLAlchemyError as exc:
            with engine.connect() as conn:  # another process may have just done it
                if current(conn) == wanted:
                    return
            raise StateError(f"state database {url} could not be migrated ({exc})") from exc
        return
    state = (
        f"at revision {found}"
        if found is not None
        else ("from before migrations" if tables else "empty")
    )
    raise StateError(
        f"state database {url} is {state}, this syncer needs schema revision {wanted}: "
        "run `syncer db upgrade` once (with the same SYNCER_STATE_URL) before starting it"
    )
