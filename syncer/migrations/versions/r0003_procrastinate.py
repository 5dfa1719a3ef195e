"""PostgreSQL only: procrastinate's job queue schema (for ``syncer worker``).

Applied once, from the installed procrastinate's own schema file; on SQLite this
revision does nothing (replicas need PostgreSQL). A later procrastinate upgrade that
changes its schema comes as a new revision running procrastinate's migration files.
Downgrading leaves the queue's tables in place.

Revision ID: 0003_procrastinate
Revises: 0002_replicas
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_procrastinate"
down_revision = "0002_replicas"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if bind.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
        return
    from procrastinate.schema import SchemaManager

    # Through the driver's own cursor with no parameters: the schema's PL/pgSQL holds '%'
    # characters that a parameterised execute would read as placeholders.
    cursor = bind.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(SchemaManager.get_schema())
    finally:
        cursor.close()


def downgrade() -> None:
    pass
