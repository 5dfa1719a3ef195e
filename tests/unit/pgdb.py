"""The PostgreSQL server of the tests: found through ``SYNCER_TEST_PG_URL`` (``.ci/run``
starts a real PostgreSQL 15 and exports it). Without it a PostgreSQL test skips with the
reason — unless ``CI`` is set, where a missing server is a failure, never a skip."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ENV = "SYNCER_TEST_PG_URL"


def server_url() -> str:
    """The server's URL (``postgresql+psycopg://…/postgres``), or skip/fail without one."""
    url = os.environ.get(ENV)
    if url:
        return url
    reason = (
        f"{ENV} is not set: no PostgreSQL server for this test (.ci/run starts one; by hand: "
        "`source .ci/postgres.sh && pg_start`)"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason + " — CI must run the PostgreSQL tests")
    pytest.skip(reason)


def create_database(prefix: str = "syncer_test") -> str:
    """A new, empty database on the test server; returns its URL."""
    base = make_url(server_url())
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database made by :func:`create_database` (closing its sessions first)."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": target.database},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}"'))
    finally:
        admin.dispose()


def truncate_all(url: str) -> None:
    """Empty every syncer table of the database (the schema and its revision stay)."""
    from syncer.state_tables import metadata

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
    finally:
        engine.dispose()
