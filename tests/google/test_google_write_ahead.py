"""The errors tab's requests worked out while the guard read is on the wire
(syncer.connectors.google.ahead): the same batch as worked out in the write, used only
for the very inputs it was made from, and nothing of a cycle kept afterwards."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.connectors.base import TabRequest
from syncer.connectors.google.ahead import WriteAhead
from syncer.connectors.google.builders import (
    PreparedTab,
    SheetMeta,
    build_writes,
    prepare_replacements,
)
from syncer.engine import apply_plan
from syncer.guard import Resolved, guard
from syncer.model import CellValue, Plan, ReplaceTab, RowRef, SetCell, Snapshot, Table

from .conftest import MakeConnector, MakeSheet

ERRORS = "Errors"
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
    ahead.start(Plan("t", (op,)), snapshot, META)
    with pytest.raises(ValueError, match="not a finite number"):
        ahead.take()
    assert ahead.take() == {}


def test_work_is_started_once_per_plan_and_not_for_plans_without_a_robot_tab() -> None:
    """A guard read sent again for the same plan keeps the work started; a plan with no
    robot-owned tab starts none."""
    snapshot = Snapshot({ERRORS: _tab([])})
    plan = Plan("t", (_op([["Main", 3, "a"]]),))
    ahead = WriteAhead()
    ahead.start(plan, snapshot, META)
    first = ahead._future
    ahead.start(plan, snapshot, META)
    assert first is not None
    assert ahead._future is first
    assert set(ahead.take()) == {id(plan.ops[0])}
    cells = Plan("t", (SetCell("Main", RowRef("k", 2, "f"), "c", "v", None, "r"),))
    ahead.start(cells, snapshot, META)
    assert ahead._future is None


def test_the_connector_prepares_during_the_guard_read_and_keeps_nothing(
    make_sheet: MakeSheet, make_connector: MakeConnector
) -> None:
    """Through the sandbox: the guard read starts the work, the write uses it and the tab
    reads as planned; a write half that ends without writing drops it."""
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
