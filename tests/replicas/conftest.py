"""Fixtures of the replica tests: a fresh, migrated PostgreSQL database per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine

from syncer import migrations
from tests.unit import pgdb


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new PostgreSQL database migrated to the newest revision (dropped afterwards)."""
    url = pgdb.create_database("syncer_replicas")
    engine = create_engine(url)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()
    yield url
    pgdb.drop_database(url)


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards)."""
    url = pgdb.create_database("syncer_empty")
    yield url
    pgdb.drop_database(url)
