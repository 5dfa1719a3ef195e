"""Crash safety: the journal of cycles that move, create or delete rows.

Revision ID: 0004_journal
Revises: 0003_procrastinate
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_journal"
down_revision = "0003_procrastinate"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("journal"):
        return  # made by a development build that created it on first use
    op.create_table(
        "journal",
        sa.Column("cycle_id", sa.String(64), primary_key=True),
        sa.Column("ledger", sa.String(200), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("writes_planned", sa.Integer, nullable=False),
        sa.Column("writes_done", sa.Integer, nullable=False),
        sa.Column("intent", sa.Text, nullable=False),
        sa.Column("closed", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_journal_ledger", "journal", ["ledger"])


def downgrade() -> None:
    op.drop_index("ix_journal_ledger", table_name="journal")
    op.drop_table("journal")
