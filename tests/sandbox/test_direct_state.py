"""The direct-state API tests use for seeding, asserting and human edits."""

from __future__ import annotations

import datetime as dt

import gspread
import pytest

from syncer.sandbox import SandboxServer

from .conftest import ROBOT


def test_human_edits_are_visible_and_bump_the_version(sandbox: SandboxServer,
                                                      gc: gspread.Client, title: str) -> None:
    """sort_tab, delete_rows, rename_tab and delete_tab change what gspread reads."""
    sid = sandbox.create_spreadsheet(title, ROBOT, {
        "Main": [["k", "when"], [3, dt.date(2024, 1, 3)], [1, dt.date(2024, 1, 1)],
                 [2, dt.datetime(2024, 1, 2, 9, 30)]],
        "Scratch": [["x"]],
    })
    version = sandbox.drive_version(sid)
    sandbox.sort_tab(sid, "Main", column_index=0)
    sandbox.delete_rows(sid, "Main", at_row=3)
    sandbox.rename_tab(sid, "Main", "客户")
    sandbox.delete_tab(sid, "Scratch")
    assert sandbox.drive_version(sid) == version + 4
    assert sandbox.values(sid, "客户") == [["k", "when"], [1, dt.date(2024, 1, 1)],
                                          [3, dt.date(2024, 1, 3)]]
    assert gc.open_by_key(sid).worksheet("客户").get_all_values() == [
        ["k", "when"], ["1", "2024-01-01"], ["3", "2024-01-03"]]


def test_direct_state_errors_name_the_problem(sandbox: SandboxServer, title: str) -> None:
    """Bad direct-state calls raise with the tab, cell or id involved."""
    sid = sandbox.create_spreadsheet(title, ROBOT, {"Main": [["a"]]})
    with pytest.raises(KeyError, match="Nope"):
        sandbox.values(sid, "Nope")
    with pytest.raises(KeyError, match="no spreadsheet"):
        sandbox.values("missing", "Main")
    with pytest.raises(ValueError, match="not an A1 cell"):
        sandbox.note(sid, "Main", "A:B")
    with pytest.raises(ValueError, match="insert rows first"):
        sandbox.set_values(sid, "Main", "A1000", [["x"], ["y"]])
    with pytest.raises(ValueError, match="last tab"):
        sandbox.delete_tab(sid, "Main")
    with pytest.raises(ValueError, match="reader"):
        sandbox.share(sid, "x@example.com", "owner")  # type: ignore[arg-type]
