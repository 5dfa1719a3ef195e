"""Replicas starting together on one PostgreSQL database: the notification tables, which
every process creates when missing, are created once without a race."""

from __future__ import annotations

import threading

from sqlalchemy import inspect

from syncer.errors import StateError
from syncer.notify.store import NotifyStore, metadata
from tests.unit import pgdb

STARTS = 6
ROUNDS = 4


def _start_together(url: str) -> list[Exception]:
    barrier = threading.Barrier(STARTS)
    failures: list[Exception] = []
    stores: list[NotifyStore] = []
    lock = threading.Lock()

    def start() -> None:
        barrier.wait()
        try:
            store = NotifyStore(url)
        except StateError as exc:
            with lock:
                failures.append(exc)
            return
        with lock:
            stores.append(store)

    threads = [threading.Thread(target=start) for _ in range(STARTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for store in stores:
        store.close()
    return failures


def test_replicas_starting_at_once_create_the_notification_tables_once() -> None:
    """Six processes' stores opened at the same moment on an empty database (four times)
    all open, and the database ends with every notification table."""
    for _ in range(ROUNDS):
        url = pgdb.create_database("syncer_notify")
        try:
            assert _start_together(url) == []
            store = NotifyStore(url)
            try:
                tables = set(inspect(store.engine).get_table_names())
            finally:
                store.close()
            assert set(metadata.tables) <= tables
        finally:
            pgdb.drop_database(url)
