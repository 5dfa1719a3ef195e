"""Honest status across idle cycles: when a run's finding count was computed.

An idle (or failed) cycle does not compute findings; its run record carries the count of
the last cycle that did, and ``findings_at`` says when that was. Existing ``ok`` runs
computed their own count, so they are stamped with their start time; other existing runs
keep NULL (unknown).

Revision ID: 0005_findings_at
Revises: 0004_journal
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_findings_at"
down_revision = "0004_journal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("runs")}
    if "findings_at" not in columns:
        with op.batch_alter_table("runs") as batch:
            batch.add_column(sa.Column("findings_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE runs SET findings_at = started WHERE outcome = 'ok' AND findings_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("findings_at")
