"""Baseline: the state tables of syncer before migrations existed.

A database created by an older syncer (tables made on open, no ``alembic_version``) is
adopted by this revision: tables it already has are kept with their rows, missing ones
(e.g. ``watched_version``) are created.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def _tables() -> dict[str, list[sa.Column[object]]]:
    return {
        "watched": [
            sa.Column("ledger", sa.String(200), primary_key=True),
            sa.Column("row_key", sa.String(400), primary_key=True),
            sa.Column("column_name", sa.String(400), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        ],
        "watched_version": [
            sa.Column("ledger", sa.String(200), primary_key=True),
            sa.Column("generation", sa.Integer, nullable=False),
        ],
        "first_seen": [
            sa.Column("ledger", sa.String(200), primary_key=True),
            sa.Column("identity", sa.String(1000), primary_key=True),
            sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        ],
        "ledger_mark": [
            sa.Column("ledger", sa.String(200), primary_key=True),
            sa.Column("change_token", sa.String(400), nullable=True),
            sa.Column("config_hash", sa.String(128), nullable=True),
            sa.Column("last_cycle", sa.DateTime(timezone=True), nullable=True),
        ],
        "runs": [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("ledger", sa.String(200), nullable=False),
            sa.Column("cycle_id", sa.String(64), nullable=False),
            sa.Column("started", sa.DateTime(timezone=True), nullable=False),
            sa.Column("finished", sa.DateTime(timezone=True), nullable=False),
            sa.Column("outcome", sa.String(20), nullable=False),
            sa.Column("findings", sa.Integer, nullable=False),
            sa.Column("applied", sa.Integer, nullable=False),
            sa.Column("dropped", sa.Integer, nullable=False),
            sa.Column("archived", sa.Integer, nullable=False),
            sa.Column("api_calls", sa.Integer, nullable=False),
            sa.Column("error", sa.Text, nullable=True),
        ],
    }


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, columns in _tables().items():
        if name not in existing:
            op.create_table(name, *columns)
    indexes = (
        {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("runs")}
        if "runs" in existing
        else set()
    )
    if "ix_runs_ledger" not in indexes:
        op.create_index("ix_runs_ledger", "runs", ["ledger"])


def downgrade() -> None:
    op.drop_index("ix_runs_ledger", table_name="runs")
    for name in reversed(list(_tables())):
        op.drop_table(name)
