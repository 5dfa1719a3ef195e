"""The write's requests worked out while the guard read is on the wire
(syncer.connectors.google.ahead): the errors tab's and the whole batch's, the same as
worked out in the write, used only for the very inputs they were made from, and nothing
of a cycle kept afterwards."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.connectors.base import TabRequest
from syncer.connectors.google.ahead import WriteAhead, prepare_batch
from syncer.connectors.google.bodies import write_chunks
from syncer.connectors.google.builders import (
    PreparedTab,
    SheetMeta,
    build_writes,
    prepare_replacements,
)
from syncer.engine import apply_plan
from syncer.guard import Resolved, guard, kept_as_read
from syncer.model import (
    CellValue,
    MoveRow,
    Plan,
    ReplaceTab,
    SetCell,
    Snapshot,
    Table,
)
from syncer.rules.base import row_ref

from .conftest import MakeConnector, MakeSheet

ERRORS = "Errors"
LIMIT = 2_000_000
META = {ERRORS: SheetMeta(7, ERRORS, 12, 4)}
text = st.one_of(st.none(), st.sampled_from(["a", "b", "行 3", "缺少联系方式"]), st.integers(0, 9))
lines = st.lists(st.lists(text, max_size=4), max_size=14)


def _tab(rows: list[list[Any]]) -> Table:
    """The errors tab as read: header on row 1."""
    return Table(ERRORS, 1, ("tab", "row", "problem"), tuple(tuple(r) for r in rows))


def _op(rows: list[list[Any]], shifting: tuple[int, ...] = ()) -> ReplaceTab:
    content: tuple[tuple[CellValue, ...], ...] = (
        ("tab", "row", "problem"),
        *(tuple(r) for r in rows),
    )
    return ReplaceTab(ERRORS, content, "errors", shifting=shifting)


@given(old=lines, new=lines, shifting=st.sampled_from([(), (1,)]))
def test_prepared_requests_are_the_ones_the_write_makes(
    old: list[list[Any]], new: list[list[Any]], shifting: tuple[int, ...]
) -> None:
    """Random old and new contents: the batch built with the prepared tab equals the batch
    built without it, and the prepared tab is what it used."""
    snapshot = Snapshot({ERRORS: _tab(old)})
    op = _op(new, shifting)
    prepared = prepare_replacements([op], snapshot, META)
    kept = [Resolved(op, None)]
    with_it = build_writes(kept, snapshot, META, snapshot, prepared)
    without = build_writes(kept, snapshot, META, snapshot)
    assert with_it.requests == without.requests
    assert with_it.applied == without.applied == [op]
    ready = prepared[id(op)]
    assert ready.same == (not without.requests)
    if ready.requests:  # the grid grows first when the new content needs more rows
        assert with_it.requests[-len(ready.requests) :] == ready.requests


def test_a_prepared_tab_is_used_only_for_the_inputs_it_was_made_from() -> None:
    """Prepared for another operation, another read of the tab, another sheet or another
    grid size, the requests are worked out again; for the same ones they are used."""
    snapshot = Snapshot({ERRORS: _tab([["Main", 3, "a"]])})
    op = _op([["Main", 3, "b"]])
    marker = [{"updateCells": {"marker": True}}]
    made = PreparedTab(op, snapshot.get(ERRORS), 7, (12, 4), False, marker)
    kept = [Resolved(op, None)]

    def sent(ready: PreparedTab) -> list[dict[str, Any]]:
        return build_writes(kept, snapshot, META, snapshot, {id(op): ready}).requests

    assert sent(made) == marker
    honest = build_writes(kept, snapshot, META, snapshot).requests
    assert honest != marker
    assert sent(replace(made, op=_op([["Main", 3, "b"]]))) == honest
    assert sent(replace(made, old=_tab([["Main", 3, "a"]]))) == honest
    assert sent(replace(made, sheet_id=8)) == honest
    assert sent(replace(made, grid=(13, 4))) == honest
    assert sent(replace(made, same=True)) == []  # the tab already shows the rows


def test_an_error_in_the_prepared_work_is_raised_by_the_write() -> None:
    """A value no cell can hold fails the write, as when worked out there; after take()
    nothing is left to take."""
    snapshot = Snapshot({ERRORS: _tab([["Main", 3, "a"]])})
    op = _op([["Main", 3, float("nan")]])
    ahead = WriteAhead()
    ahead.start(Plan("t", (op,)), snapshot, META, {ERRORS}, LIMIT)
    with pytest.raises(ValueError, match="not a finite number"):
        ahead.take()
    assert ahead.take().replacements == {}
    assert ahead.take().batch is None


def test_work_is_started_once_per_plan_and_not_for_empty_plans() -> None:
    """A guard read sent again for the same plan keeps the work started; a plan with no
    robot-owned tab prepares no tab, and an empty plan starts nothing."""
    snapshot = Snapshot({ERRORS: _tab([])})
    plan = Plan("t", (_op([["Main", 3, "a"]]),))
    ahead = WriteAhead()
    ahead.start(plan, snapshot, META, {ERRORS}, LIMIT)
    first = ahead._future
    ahead.start(plan, snapshot, META, {ERRORS}, LIMIT)
    assert first is not None
    assert ahead._future is first
    assert set(ahead.take().replacements) == {id(plan.ops[0])}
    main = Table("Main", 1, ("k", "c"), (("k", None),))
    cells = Plan("t", (SetCell("Main", row_ref(main, 0, "k"), "c", "v", None, "r"),))
    meta = {**META, "Main": SheetMeta(3, "Main", 5, 2)}
    ahead.start(cells, Snapshot({"Main": main}), meta, {"Main"}, LIMIT)
    prepared = ahead.take()
    assert prepared.replacements == {}
    assert prepared.batch is not None
    ahead.start(Plan("t", ()), snapshot, META, {ERRORS}, LIMIT)
    assert ahead._future is None


def test_the_connector_prepares_during_the_guard_read_and_keeps_nothing(
    make_sheet: MakeSheet, make_connector: MakeConnector
) -> None:
    """Through the sandbox: the guard read starts the work, the write sends the batch
    prepared ahead and the tab reads as planned; a write half that ends without writing
    drops it."""
    sid = make_sheet(
        {"Main": [["id"], ["k1"]], ERRORS: [["tab", "row", "problem"], ["Main", 2, "old"]]}
    )
    conn = make_connector(sid)
    snapshot = conn.read([TabRequest("Main", 1), TabRequest(ERRORS, 1)])
    op = _op([["Main", 2, "new"], ["Main", 3, "more"]])
    plan = Plan("t", (op,), "id")
    fresh = conn.reread(plan, snapshot)
    assert conn.ahead._future is not None
    written = conn.write(guard(plan, snapshot, fresh).kept, fresh, snapshot)
    assert written.applied == [op]
    assert conn.ahead._future is None  # taken by the write
    assert conn.ahead.batches_used == 1
    after = conn.read([TabRequest(ERRORS, 1)]).tables[ERRORS]
    assert after.rows == (("Main", 2, "new"), ("Main", 3, "more"))
    again = _op([["Main", 2, "newer"]])
    conn.reread(Plan("t", (again,), "id"), snapshot)
    assert conn.ahead._future is not None
    conn.release_locks()  # the engine's end of a write half that wrote nothing
    assert conn.ahead._future is None
    assert conn.ahead._plan is None
    report = apply_plan(conn, Plan("t", (again,), "id"), conn.read([TabRequest(ERRORS, 1)]))
    assert report.applied == [again]
    assert conn.ahead._plan is None
    conn.close()


MAIN, HISTORY = "Main", "History"
MAIN_ROWS = [["k1", "a", None], ["k2", "b", "x"], ["k3", "c", None], [None, "d", None]]
TABS_META = {
    MAIN: SheetMeta(0, MAIN, 10, 3),
    HISTORY: SheetMeta(1, HISTORY, 3, 2),
    ERRORS: SheetMeta(7, ERRORS, 12, 4),
}
_CHANGES = st.sampled_from(
    ["none", "index", "dropped", "header", "meta", "another read", "one tab fewer read", "limit"]
)


def _read() -> Snapshot:
    main = Table(MAIN, 1, ("id", "name", "note"), tuple(tuple(r) for r in MAIN_ROWS))
    history = Table(HISTORY, 1, ("id", "name"), (("k0", "z"),))
    return Snapshot({MAIN: main, HISTORY: history, ERRORS: _tab([["Main", 3, "a"]])})


def _plan(read: Snapshot, picks: list[tuple[str, int]]) -> Plan:
    """SetCells, MoveRows and an errors tab on ``read``'s main tab."""
    main = read.tables[MAIN]
    ops: list[Any] = []
    for kind, i in picks:
        key = main.cell(i, "id")
        ref = row_ref(main, i, str(key) if key else None)
        if kind == "cell":
            ops.append(SetCell(MAIN, ref, "note", f"n{i}", main.cell(i, "note"), "r"))
        else:
            values = (("id", key), ("name", main.cell(i, "name")))
            ops.append(MoveRow(MAIN, ref, HISTORY, values, "lost", "r"))
    ops.append(_op([["Main", 2, "new"]]))
    return Plan("t", tuple(ops), "id")


@given(
    picks=st.lists(st.tuples(st.sampled_from(["cell", "move"]), st.integers(0, 3)), max_size=6),
    change=_CHANGES,
    at=st.integers(0, 6),
)
def test_a_prepared_batch_is_sent_only_when_the_write_would_make_the_same(
    picks: list[tuple[str, int]], change: str, at: int
) -> None:
    """Whatever the guard answered, the sheet metadata, the headers it read and the call
    size: the write prepared ahead fits exactly when nothing it was made from differs,
    and one that fits is the write worked out then (its calls, whether the deletions
    wait, and the fate of every operation). A small call size makes several calls."""
    read = _read()
    plan = _plan(read, picks)
    replacements = prepare_replacements(plan.ops, read, TABS_META)
    ready = prepare_batch(plan, read, TABS_META, {MAIN, HISTORY}, replacements, 300)
    assert ready is not None
    kept = kept_as_read(plan, read)
    fresh = Snapshot({MAIN: read.tables[MAIN], HISTORY: read.tables[HISTORY]})
    meta, snapshot, limit = dict(TABS_META), read, 300
    rows = [i for i, r in enumerate(kept) if r.index is not None]
    if change == "index" and rows:
        i = rows[at % len(rows)]
        kept[i] = Resolved(kept[i].op, (kept[i].index or 0) + 1)
    elif change == "dropped":
        del kept[at % len(kept)]
    elif change == "header":
        history = read.tables[HISTORY]
        fresh = Snapshot({**fresh.tables, HISTORY: replace(history, header=("id", "名"))})
    elif change == "meta":
        meta[MAIN] = replace(meta[MAIN], rows=11)
    elif change == "another read":
        snapshot = _read()
    elif change == "one tab fewer read":
        fresh = Snapshot({MAIN: read.tables[MAIN]})
    elif change == "limit":
        limit = 301
    fits = ready.fits(kept, fresh, meta, snapshot, limit)
    assert fits == (change == "none" or (change == "index" and not rows))
    if fits:
        worked_out = build_writes(kept, fresh, meta, snapshot, replacements)
        assert ready.batch == replace(worked_out, requests=[])
        calls = write_chunks(worked_out.requests, worked_out.removal_requests(), limit)
        assert (ready.chunks, ready.relocate) == calls


def test_nothing_is_prepared_for_a_guard_read_of_a_tab_the_read_did_not_have() -> None:
    """A tab the plan created is known by its header in the guard read alone: no write is
    prepared for it (it could not be the one sent), so none is kept in memory meanwhile."""
    read = _read()
    plan = _plan(read, [("cell", 0), ("move", 1)])
    replacements = prepare_replacements(plan.ops, read, TABS_META)
    assert prepare_batch(plan, read, TABS_META, {MAIN, HISTORY}, replacements, LIMIT)
    assert prepare_batch(plan, read, TABS_META, {MAIN, "New"}, replacements, LIMIT) is None


def test_the_write_works_the_batch_out_again_when_the_guard_found_rows_elsewhere(
    clean_sandbox: Any, make_sheet: MakeSheet, make_connector: MakeConnector
) -> None:
    """Through the sandbox: a person inserts a row above and edits another between the
    read and the guard read. The guard keeps the move of a row it finds one row down and
    drops the rest; the write does not send the batch prepared for the rows as read, the
    right row is archived and the person's edits are intact."""
    sid = make_sheet(
        {
            MAIN: [["id", "name", "note"], *MAIN_ROWS],
            HISTORY: [["id", "name"], ["k0", "z"]],
            ERRORS: [["tab", "row", "problem"], ["Main", 2, "old"]],
        }
    )
    conn = make_connector(sid)
    snapshot = conn.read([TabRequest(MAIN, 1), TabRequest(HISTORY, 1), TabRequest(ERRORS, 1)])
    plan = _plan(snapshot, [("move", 0), ("cell", 1), ("cell", 2)])
    clean_sandbox.insert_rows(sid, MAIN, 2)
    clean_sandbox.set_values(sid, MAIN, "A2", [["k9", "new", None]])
    clean_sandbox.set_values(sid, MAIN, "B4", [["edited"]])  # k2's name
    report = apply_plan(conn, plan, snapshot)
    assert conn.ahead.batches_used == 0
    assert [op.kind for op in report.applied] == ["replace_tab", "move_row"]
    assert [d.reason for d in report.dropped] == [
        "row k2 changed since read",
        "row k3 changed since read",  # found where the guard did not read it again
    ]
    main = clean_sandbox.values(sid, MAIN)
    assert main[1:] == [["k9", "new"], ["k2", "edited", "x"], ["k3", "c"], [None, "d"]]
    assert clean_sandbox.values(sid, HISTORY)[1:] == [["k0", "z"], ["k1", "a"]]
    conn.close()
