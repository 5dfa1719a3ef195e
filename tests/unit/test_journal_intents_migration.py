"""Revision 0006: the journal's intents move to ``journal_intents``, with the moved keys."""

from __future__ import annotations

import json
from datetime import datetime

from alembic import command
from sqlalchemy import create_engine, text

from syncer import migrations
from syncer.journal import Intent, Journal
from syncer.state import StateStore

_INTENT = {
    "appended": [
        {"key": "XS1", "tab": "客户历史库", "values": [["客户编号", "XS1"], ["备注", "流失"]]},
        {"key": "XS2", "tab": "客户历史库", "values": [["客户编号", "XS2"], ["备注", 3]]},
    ],
    "removed": ["XS1", "XS2"],
    "created": [],
}


def test_upgrade_keeps_each_entrys_intent_and_names_its_moved_keys(empty_url: str) -> None:
    """A database at 0005 with a done and an open entry: after the upgrade, the open entry
    still carries its whole intent, the done one names the keys it moved, and a
    downgrade puts each intent back in its journal row."""
    engine = create_engine(empty_url)
    migrations.upgrade(engine, "0005_findings_at")
    with engine.begin() as conn:
        for cycle_id, status, started in (
            ("done-1", "done", datetime(2026, 12, 1, 9)),
            ("open-2", "open", datetime(2026, 12, 1, 10)),
        ):
            conn.execute(
                text(
                    "INSERT INTO journal (cycle_id, ledger, started, status, writes_planned,"
                    " writes_done, intent) VALUES (:c, 'sales', :s, :st, 2, 1, :i)"
                ),
                {"c": cycle_id, "s": started, "st": status, "i": json.dumps(_INTENT)},
            )
    migrations.upgrade(engine)  # `syncer db upgrade` (SQLite would also migrate on open)
    engine.dispose()
    store = StateStore(empty_url)
    try:
        light = {e.cycle_id: e for e in Journal(store).entries("sales", full_intents=False)}
        assert light["done-1"].moved == {"XS1", "XS2"}
        assert light["open-2"].intent.removed == ("XS1", "XS2")
        assert dict(light["open-2"].intent.appended[1].values)["备注"] == 3
        (interrupted,) = Journal(store).interrupted("sales")
        assert (interrupted.cycle_id, interrupted.writes_done) == ("open-2", 1)
    finally:
        store.close()
    engine = create_engine(empty_url)
    try:
        with engine.begin() as conn:
            command.downgrade(migrations.config(conn), "0005_findings_at")
            back = dict(conn.execute(text("SELECT cycle_id, intent FROM journal")).all())
        assert {c: json.loads(t) for c, t in back.items()} == {
            "done-1": _INTENT,
            "open-2": _INTENT,
        }
    finally:
        engine.dispose()


def test_entries_of_a_replica_from_before_the_revision_are_read(empty_url: str) -> None:
    """During a rolling upgrade a replica of the previous version writes its intent into
    ``journal`` only: this version still reads that entry's moved keys and open intent,
    and leaves "{}" there for such a replica to read in its own entries."""
    engine = create_engine(empty_url)
    migrations.upgrade(engine)
    engine.dispose()
    store = StateStore(empty_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO journal (cycle_id, ledger, started, status, writes_planned,"
                    " writes_done, intent) VALUES ('old-1', 'sales', :s, 'open', 3, 2, :i)"
                ),
                {"s": datetime(2026, 12, 1, 9), "i": json.dumps(_INTENT)},
            )
        journal = Journal(store)
        journal.begin("sales", "new-2", datetime(2026, 12, 1, 10).astimezone(), Intent(), 1)
        light = {e.cycle_id: e for e in journal.entries("sales", full_intents=False)}
        assert light["old-1"].moved == {"XS1", "XS2"}
        assert light["old-1"].intent.removed == ("XS1", "XS2")  # open: its whole intent
        assert light["new-2"].intent == Intent()
        journal.finish("sales", "old-1", datetime(2026, 12, 1, 11).astimezone())
        (done,) = [e for e in journal.entries("sales", full_intents=False) if e.status == "done"]
        assert (done.cycle_id, done.moved, done.intent) == ("old-1", {"XS1", "XS2"}, Intent())
        with store.engine.connect() as conn:
            left = conn.execute(text("SELECT intent FROM journal WHERE cycle_id = 'new-2'"))
            assert left.scalar_one() == "{}"
    finally:
        store.close()
