"""The write path on the memory connector: change tokens, the journal, reconciliation and
the state store's bookkeeping of archived customers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engine import HEADER, HISTORY, MAIN, NOW, ledger, workbook

from syncer import metrics
from syncer.connectors.base import TabRequest
from syncer.connectors.memory import MemoryConnector
from syncer.engine import JournalContext, apply_plan, run_cycle
from syncer.journal import Intent, Journal, JournalEntry, MovingRow, intent_of
from syncer.model import AppendRow, CellValue, Plan, RemoveRow, RowRef
from syncer.reconcile import reconcile
from syncer.state import StateStore
from tests.staged import Staged

HISTORY_HEADER = [*HEADER, "归档时间", "归档原因"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    """A fresh state store."""
    s = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    yield s
    s.close()


def keys(conn: MemoryConnector, tab: str, header_row: int) -> list[Any]:
    """The first column of ``tab`` below its header."""
    return [r[0] for r in conn.rows(tab)[header_row:] if r]


def test_archived_customers_are_forgotten_by_the_state_store(store: StateStore) -> None:
    """A customer moved to history loses its watched values: a key reused later starts
    fresh instead of inheriting a stale status."""
    conn = MemoryConnector(workbook())
    run_cycle(ledger(), conn, store, NOW)
    assert "XS2024001" in store.load("t").watched
    conn.set_cell(MAIN, 3, "合作状态", "流失客户")
    result = run_cycle(ledger(), conn, store, NOW + timedelta(hours=1))
    assert result.archived == 1
    assert "XS2024001" not in store.load("t").watched


def test_an_edit_made_while_the_cycle_writes_is_processed_next_cycle(store: StateStore) -> None:
    """A status change landing after syncer's write (before the token is recorded) leaves
    the recorded token behind the sheet: the next cycle reads and stamps the change."""
    conn = MemoryConnector(workbook())
    staged = Staged(conn)
    staged.on("settle_token", lambda: conn.set_cell(MAIN, 3, "合作状态", "意向客户"))
    run_cycle(ledger(), staged, store, NOW)
    result = run_cycle(ledger(), staged, store, NOW + timedelta(minutes=1))
    assert result.outcome == "ok"
    assert conn.rows(MAIN)[2][HEADER.index("状态变更时间")] is not None
    third = run_cycle(ledger(), staged, store, NOW + timedelta(minutes=2))
    assert third.outcome == "idle"


def test_a_cycle_that_archives_journals_its_intent_and_closes_it(store: StateStore) -> None:
    """The archiving cycle records which customers it moves, with their rows, before
    writing; the entry is closed as done once the cycle recorded."""
    conn = MemoryConnector(workbook())
    result = run_cycle(ledger(), conn, store, NOW)
    (entry,) = Journal(store).entries("t")
    assert (entry.cycle_id, entry.status) == (result.cycle_id, "done")
    assert [m.key for m in entry.intent.appended] == ["XS2024003"]
    assert dict(entry.intent.appended[0].values)["联系人姓名"] == "王五"
    assert entry.intent.removed == ("XS2024003",)


@pytest.mark.parametrize("odd", [None, 2**70], ids=["64-bit values", "an integer past 64 bits"])
def test_an_intent_keeps_every_kind_of_cell_value(store: StateStore, odd: int | None) -> None:
    """Text, numbers, booleans, empty cells, dates and date-times (with their zone) come
    back from the journal as they went in, also when a value is an integer too large for
    the fast encoder."""
    values: tuple[tuple[str, CellValue], ...] = (
        ("客户编号", "XS1"),
        ("电话", 13800138000),
        ("金额", 1.5),
        ("VIP", True),
        ("备注", None),
        ("签约日期", date(2024, 3, 1)),
        ("归档时间", NOW),
        ("大数", odd),
    )
    intent = Intent((MovingRow("XS1", HISTORY, values),), ("XS1",), ("XS9",))
    journal = Journal(store)
    journal.begin("t", "c-1", NOW, intent, 2)
    (entry,) = journal.entries("t")
    assert entry.intent == intent
    assert [type(v) for _, v in entry.intent.appended[0].values] == [type(v) for _, v in values]


def test_the_intent_prepared_during_the_guard_read_is_kept_only_for_the_same_operations(
    store: StateStore,
) -> None:
    """The intent worked out ahead for a whole plan is journaled when the guard kept every
    operation; when it kept fewer, the journal holds the intent of those it kept."""
    ops = tuple(
        op
        for i in range(4)
        for op in (
            AppendRow(
                HISTORY,
                f"K{i}",
                (("客户编号", f"K{i}"), ("签约日期", date(2024, 3, i + 1))),
                "r",
                "t",
            ),
            RemoveRow(MAIN, RowRef(f"K{i}", i + 2), "lost", "t"),
        )
    )
    plan = Plan("t", ops, "客户编号")
    journal = Journal(store)
    for cycle, kept in (("all", ops), ("fewer", ops[2:])):
        context = JournalContext(journal, "t", cycle, NOW)
        context.prepare(plan)
        context.intend(list(kept), plan.key_column)
        (entry,) = [e for e in journal.entries("t") if e.cycle_id == cycle]
        assert entry.intent == intent_of(kept, plan.key_column)
    assert [m.key for m in entry.intent.appended] == ["K1", "K2", "K3"]


def test_light_journal_entries_keep_moved_keys_and_open_intents(store: StateStore) -> None:
    """Entries read without full intents still name the keys each cycle moved, and an
    open entry still carries its whole intent."""
    journal = Journal(store)
    rows = tuple(
        MovingRow(f"K{i}", HISTORY, (("客户编号", f"K{i}"), ("备注", i))) for i in range(50)
    )
    journal.begin("t", "done-1", NOW, Intent(rows[:30], ("K0",)), 1)
    journal.finish("t", "done-1", NOW)
    journal.begin("t", "open-2", NOW + timedelta(minutes=1), Intent(rows[30:]), 1)
    light = {e.cycle_id: e for e in journal.entries("t", full_intents=False)}
    assert light["done-1"].moved == {f"K{i}" for i in range(30)}
    assert light["done-1"].intent == Intent()
    assert light["open-2"].intent.appended == rows[30:]
    assert light["open-2"].moved == {f"K{i}" for i in range(30, 50)}
    full = {e.cycle_id: e for e in journal.entries("t")}
    assert full["done-1"].intent == Intent(rows[:30], ("K0",))
    assert full["done-1"].moved == light["done-1"].moved


def test_a_customer_in_neither_tab_is_restored_from_an_interrupted_journal(
    store: StateStore,
) -> None:
    """An interrupted cycle whose customer vanished from both tabs: the next cycle appends
    the journaled row to history, logs an incident and closes the entry as recovered."""
    conn = MemoryConnector(workbook())
    run_cycle(ledger(), conn, store, NOW)
    journal = Journal(store)
    row: tuple[tuple[str, CellValue], ...] = (
        ("客户编号", "XS2024009"),
        ("联系人姓名", "赵九"),
        ("最近跟进时间", date(2024, 1, 2)),
    )
    journal.begin("t", "dead-cycle", NOW, Intent((MovingRow("XS2024009", HISTORY, row),)), 2)
    before = metrics.RECOVERED.labels(ledger="t")._value.get()
    result = run_cycle(ledger(), conn, store, NOW + timedelta(days=1))
    assert result.outcome == "ok", result.error
    assert result.report is not None
    assert any("XS2024009" in i and "neither" in i for i in result.report.incidents)
    assert "XS2024009" in keys(conn, HISTORY, 1)
    assert conn.rows(HISTORY)[-1][HISTORY_HEADER.index("最近跟进时间")] == date(2024, 1, 2)
    (dead,) = [e for e in journal.entries("t") if e.cycle_id == "dead-cycle"]
    assert (dead.status, dead.closed_by) == ("recovered", result.cycle_id)
    assert metrics.RECOVERED.labels(ledger="t")._value.get() == before + 1
    again = run_cycle(ledger(), conn, store, NOW + timedelta(days=1, minutes=1))
    assert keys(conn, HISTORY, 1).count("XS2024009") == 1
    assert again.report is None or not again.report.incidents


def test_an_interrupted_archive_is_completed_without_losing_the_row(store: StateStore) -> None:
    """A customer appended to history but still in main (the removal never ran) with the
    same values: the next cycle removes the main copy and says so."""
    book = workbook()
    book[HISTORY] = [HISTORY_HEADER, [*book[MAIN][3], None, None, "2024-05-31", "流失"]]
    conn = MemoryConnector(book)
    result = run_cycle(ledger(), conn, store, NOW)
    assert result.report is not None
    assert any("XS2024002" in i and "both" in i for i in result.report.incidents)
    assert "XS2024002" not in keys(conn, MAIN, 2)
    assert keys(conn, HISTORY, 1).count("XS2024002") == 1


def test_differing_copies_keep_the_persons_main_row_when_syncer_moved_it(
    store: StateStore,
) -> None:
    """A key syncer was moving, in both tabs, edited in main since: the main row (the
    person's work) stays and the stale history copy goes."""
    conn = MemoryConnector(workbook())
    journal = Journal(store)
    moving = MovingRow("XS2024002", HISTORY, (("客户编号", "XS2024002"),))
    journal.begin("t", "old", NOW, Intent((moving,)), 1)
    journal.finish("t", "old", NOW)
    conn.add_tab(HISTORY, [HISTORY_HEADER, ["XS2024002", "李四（旧）", "12345", "流失客户"]])
    result = run_cycle(ledger(), conn, store, NOW)
    assert result.outcome == "ok", result.error
    assert "XS2024002" in keys(conn, MAIN, 2)
    assert "XS2024002" not in keys(conn, HISTORY, 1)


def test_differing_copies_nobody_moved_are_left_for_people(store: StateStore) -> None:
    """A returning customer entered again under its old id is not touched: both rows stay
    and an incident asks a person to look."""
    conn = MemoryConnector(workbook())
    conn.add_tab(HISTORY, [HISTORY_HEADER, ["XS2024002", "李四（旧）", "12345", "流失客户"]])
    result = run_cycle(ledger(), conn, store, NOW)
    assert result.report is not None
    assert any("by hand" in i for i in result.report.incidents)
    assert "XS2024002" in keys(conn, MAIN, 2)
    assert "XS2024002" in keys(conn, HISTORY, 1)


def test_a_row_appended_twice_to_history_is_removed_once(store: StateStore) -> None:
    """Two identical history copies of one customer become one."""
    conn = MemoryConnector(workbook())
    twice = ["XS2024007", "钱七", "13700137000", "流失客户"]
    conn.add_tab(HISTORY, [HISTORY_HEADER, twice, list(twice)])
    run_cycle(ledger(), conn, store, NOW)
    assert keys(conn, HISTORY, 1).count("XS2024007") == 1


key_pool = st.sampled_from([f"K{i}" for i in range(6)])
row_of = st.tuples(key_pool, st.sampled_from(["a", "b"]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(row_of, max_size=6, unique_by=lambda r: r[0]),
    st.lists(row_of, max_size=6),
    st.lists(key_pool, max_size=3, unique=True),
)
def test_reconciliation_never_loses_a_customer(
    main: list[tuple[str, str]], history: list[tuple[str, str]], moved: list[str]
) -> None:
    """Whatever the two tabs hold and whatever syncer was moving: after reconciling, every
    key seen before is still somewhere, a key with an identical history copy has left
    main, and history holds no identical copies."""
    lg = ledger(
        columns={"客户编号": {"type": "text"}, "联系人姓名": {"type": "text"}},
        rules=[
            {"kind": "archive", "when": {"column": "联系人姓名", "op": "equals", "value": "zz"}}
        ],
        header_row=1,
    )
    conn = MemoryConnector(
        {
            MAIN: [["客户编号", "联系人姓名"], *[list(r) for r in main]],
            HISTORY: [["客户编号", "联系人姓名"], *[list(r) for r in history]],
        }
    )
    snap = conn.read([TabRequest(MAIN, 1), TabRequest(HISTORY, 1)])
    entries = []
    if moved:
        intent = Intent(tuple(MovingRow(k, HISTORY, (("客户编号", k),)) for k in moved))
        entries.append(JournalEntry("c", "t", NOW, "done", 1, 1, intent))
    fix = reconcile(lg, snap.tables, entries)
    apply_plan(conn, Plan("t", tuple(fix.ops), "客户编号"), snap)
    after_main = [r[0] for r in conn.rows(MAIN)[1:] if r]
    history_rows = [tuple(r) for r in conn.rows(HISTORY)[1:] if r]
    after_history = [r[0] for r in history_rows]
    assert {k for k, _ in main} | {k for k, _ in history} <= set(after_main) | set(after_history)
    assert len(set(history_rows)) == len(history_rows)  # no identical copies left
    for key, name in main:
        if (key, name) in history:
            assert key not in after_main
