"""Suite-wide settings and fixtures.

Hypothesis runs without its per-example deadline: a deadline is a timing assertion, and
these machines are shared and noisy; a property test must fail on a wrong answer, never
on a slow one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.unit import pgdb

settings.register_profile("syncer", deadline=None)
settings.load_profile("syncer")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty state database on each backend (migration tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    url = pgdb.create_database("syncer_migrate")
    yield url
    pgdb.drop_database(url)
