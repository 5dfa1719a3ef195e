"""Alembic environment of the state database: run on the connection syncer hands over
(``config.attributes["connection"]``), or on ``sqlalchemy.url`` for the ``alembic`` CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from syncer.migrations import ours
from syncer.state_tables import metadata

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=getattr(connection, "dialect").name == "sqlite",  # noqa: B009
        compare_type=True,
        include_name=ours,
    )
    with context.begin_transaction():
        context.run_migrations()


given = config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    engine = create_engine(str(config.get_main_option("sqlalchemy.url")))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
