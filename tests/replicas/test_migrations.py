"""Alembic migrations of the state database, on SQLite and PostgreSQL, and the schema
check when a store opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from syncer import migrations
from syncer.errors import StateError
from syncer.state import StateStore
from syncer.state_tables import metadata


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": migrations.ours}
        )
        return list(compare_metadata(context, metadata))


def test_every_revision_runs_and_matches_the_tables(empty_url: str) -> None:
    """Upgrading an empty database through every revision gives exactly the tables the
    code defines (no autogenerate difference), and the newest revision is recorded."""
    engine = create_engine(empty_url)
    try:
        before, after = migrations.upgrade(engine)
        assert (before, after) == (None, migrations.head())
        assert _diff(engine) == []
        assert migrations.upgrade(engine) == (after, after)  # idempotent
    finally:
        engine.dispose()


def test_downgrade_to_base_and_up_again(empty_url: str) -> None:
    """Every revision's downgrade works: down to nothing, up again, same schema."""
    engine = create_engine(empty_url)
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            command.downgrade(migrations.config(conn), "base")
        with engine.connect() as conn:
            left = set(inspect(conn).get_table_names()) & {t.name for t in metadata.sorted_tables}
        assert left == set()
        migrations.upgrade(engine)
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_fresh_sqlite_store_equals_the_migrated_schema(tmp_path: Path) -> None:
    """A new SQLite file opened by a store (created and stamped, the fast path) has the
    same schema as running every revision, and is at the newest revision."""
    store = StateStore(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert _diff(store.engine) == []
        with store.engine.connect() as conn:
            assert migrations.current(conn) == migrations.head()
    finally:
        store.close()


def test_sqlite_behind_is_upgraded_on_open_keeping_rows(tmp_path: Path) -> None:
    """A SQLite state at the baseline revision is migrated when a store opens it, and its
    watched values survive."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    migrations.upgrade(engine, "0001_baseline")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO watched VALUES ('L', 'K1', 's', 'a')"),
        )
    engine.dispose()
    store = StateStore(url)
    try:
        assert dict(store.load("L").watched) == {"K1": {"s": "a"}}
        with store.engine.connect() as conn:
            assert migrations.current(conn) == migrations.head()
    finally:
        store.close()


def test_postgresql_empty_is_refused_with_the_fix(empty_pg_url: str) -> None:
    """A store on an empty PostgreSQL database does not migrate it: it says to run
    `syncer db upgrade`, and creates nothing."""
    with pytest.raises(StateError, match="syncer db upgrade") as caught:
        StateStore(empty_pg_url)
    assert "empty" in str(caught.value)
    engine = create_engine(empty_pg_url)
    try:
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []
    finally:
        engine.dispose()


def test_postgresql_behind_is_refused_naming_both_revisions(empty_pg_url: str) -> None:
    """A PostgreSQL state at an older revision is refused with its revision, the one
    needed and the command to run."""
    engine = create_engine(empty_pg_url)
    migrations.upgrade(engine, "0001_baseline")
    engine.dispose()
    with pytest.raises(StateError) as caught:
        StateStore(empty_pg_url)
    message = str(caught.value)
    assert "0001_baseline" in message
    assert migrations.head() in message
    assert "syncer db upgrade" in message


def test_unknown_revision_is_refused_on_both(empty_url: str) -> None:
    """A database migrated by a newer syncer (a revision this one does not know) is
    refused, never downgraded or written."""
    engine = create_engine(empty_url)
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(StateError, match="newer syncer"):
        StateStore(empty_url)


def test_postgresql_upgrade_installs_the_job_queue(pg_url: str) -> None:
    """On PostgreSQL the migrations also install procrastinate's schema (once)."""
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
        assert found is not None
    finally:
        engine.dispose()


def test_password_is_masked_in_errors(empty_pg_url: str) -> None:
    """The state URL's password never appears in an error message."""
    from sqlalchemy.engine import make_url

    with_password = make_url(empty_pg_url).set(password="s3cret-pw")
    with pytest.raises(StateError) as caught:
        StateStore(with_password.render_as_string(hide_password=False))
    assert "s3cret-pw" not in str(caught.value)
