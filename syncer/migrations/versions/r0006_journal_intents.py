"""The journal's intents in a table of their own.

A mass archive's intent holds every moved row's values (megabytes). In the ``journal``
row, each write call's progress and the closing of the entry rewrote it whole, and every
cycle read the recent entries' intents back to learn which keys they moved. Now
``journal_intents`` holds the intent with the moved keys beside it (``moved``, a JSON
list, read without the intent), and ``journal`` the status and progress.

``journal.intent`` stays, with its rows, so that replicas of the previous version keep
working during a rolling upgrade (revisions only add): this version writes "{}" there
and reads it for an entry such a replica wrote (one without a ``journal_intents`` row).

Revision ID: 0006_journal_intents
Revises: 0005_findings_at
Create Date: 2026-12-04
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0006_journal_intents"
down_revision = "0005_findings_at"
branch_labels = None
depends_on = None

_BATCH = 100  # entries copied per statement: an intent can be megabytes


def upgrade() -> None:
    bind = op.get_bind()
    if sa.inspect(bind).has_table("journal_intents"):
        return  # a database adopted by the baseline, made by a build with this table
    op.create_table(
        "journal_intents",
        sa.Column(
            "cycle_id",
            sa.String(64),
            sa.ForeignKey("journal.cycle_id"),
            primary_key=True,
        ),
        sa.Column("moved", sa.Text, nullable=False),
        sa.Column("intent", sa.Text, nullable=False),
    )
    journal = sa.table("journal", sa.column("cycle_id", sa.String), sa.column("intent", sa.Text))
    intents = sa.table(
        "journal_intents",
        sa.column("cycle_id", sa.String),
        sa.column("moved", sa.Text),
        sa.column("intent", sa.Text),
    )
    ids = [r[0] for r in bind.execute(sa.select(journal.c.cycle_id)).all()]
    for start in range(0, len(ids), _BATCH):
        rows = bind.execute(
            sa.select(journal.c.cycle_id, journal.c.intent).where(
                journal.c.cycle_id.in_(ids[start : start + _BATCH])
            )
        ).all()
        bind.execute(
            sa.insert(intents),
            [
                {"cycle_id": cycle_id, "moved": _moved(text), "intent": text}
                for cycle_id, text in rows
            ],
        )


def _moved(text: str) -> str:
    """The JSON list of the keys an intent appends (as ``syncer.journal`` writes it).
    The entries keep their intents in ``journal`` too, for replicas of 0005."""
    keys = [m["key"] for m in json.loads(text).get("appended", [])]
    return json.dumps(keys, ensure_ascii=False)


def downgrade() -> None:
    op.execute(
        "UPDATE journal SET intent = (SELECT i.intent FROM journal_intents i"
        " WHERE i.cycle_id = journal.cycle_id)"
        " WHERE cycle_id IN (SELECT cycle_id FROM journal_intents)"
    )
    op.drop_table("journal_intents")
