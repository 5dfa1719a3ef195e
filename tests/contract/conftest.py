"""The connector contract suite: every connector passes the same tests.

Each connector is wrapped in a *harness* that can seed a workbook, show its raw cells,
and act like a person editing the source. The ``harness`` fixture is parametrized over
:data:`HARNESSES`.

HOW TO ADD A CONNECTOR (one line): write a factory ``make(tmp_path, tabs) -> Harness``
(see :class:`Harness` and the two below) and add it to :data:`HARNESSES`, e.g.::

    HARNESSES["google"] = google_harness   # from tests/contract/google_harness.py

``tabs`` is ``{tab: [row, ...]}`` with sheet row 1 first; values are typed
(str/int/float/bool/date/datetime/None).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import openpyxl
import pytest

from syncer.connectors.base import Connector
from syncer.connectors.memory import MemoryConnector
from syncer.connectors.xlsx import XlsxConnector
from syncer.engine import apply_plan
from syncer.model import ApplyReport, CellValue, Plan, Snapshot
from tests.staged import Staged

from .google_harness import google_harness

Tabs = Mapping[str, Sequence[Sequence[CellValue]]]


class Harness(Protocol):
    """A connector under test, plus the powers of a person editing its source."""

    connector: Connector

    def cells(self, tab: str) -> list[list[CellValue]]:
        """The tab's raw values (sheet row 1 first), trailing empty cells/rows trimmed."""

    def edit(self, tab: str, row: int, col: int, value: CellValue) -> None:
        """A person sets one cell (1-based) in the source, now."""

    def insert_row(self, tab: str, row: int, values: Sequence[CellValue]) -> None:
        """A person inserts a row so that it becomes sheet row ``row``."""

    def between_read_and_write(self, action: Callable[[], None]) -> None:
        """Run ``action`` inside the next apply, before the guard re-reads."""

    def apply(self, plan: Plan, snapshot: Snapshot) -> ApplyReport:
        """The engine's write half (guard read, guard, write, verify) on this connector."""


def _trim(rows: list[list[CellValue]]) -> list[list[CellValue]]:
    out = []
    for r in rows:
        r = list(r)
        while r and r[-1] is None:
            r.pop()
        out.append(r)
    while out and not out[-1]:
        out.pop()
    return out


class MemoryHarness:
    """The in-memory connector."""

    def __init__(self, tabs: Tabs) -> None:
        self.connector: MemoryConnector = MemoryConnector(tabs)
        self.staged = Staged(self.connector)

    def cells(self, tab: str) -> list[list[CellValue]]:
        return _trim(self.connector.rows(tab))

    def edit(self, tab: str, row: int, col: int, value: CellValue) -> None:
        self.connector.set_cell(tab, row, col, value)

    def insert_row(self, tab: str, row: int, values: Sequence[CellValue]) -> None:
        self.connector.insert_row(tab, row, values)

    def between_read_and_write(self, action: Callable[[], None]) -> None:
        self.staged.on("reread", action)

    def apply(self, plan: Plan, snapshot: Snapshot) -> ApplyReport:
        return apply_plan(self.staged, plan, snapshot)


def write_workbook(path: Path, tabs: Tabs) -> None:
    """Save ``tabs`` as an .xlsx file the way a spreadsheet program would (typed cells)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in tabs.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(r, c, value)
                if isinstance(value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(value, date):
                    cell.number_format = "yyyy-mm-dd"
    wb.save(path)


def read_workbook(path: Path, tab: str) -> list[list[CellValue]]:
    """A tab's values as the connector would type them."""
    from syncer.connectors.xlsx import _typed

    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb[tab]
    return _trim([[_typed(c.value, c.number_format) for c in row] for row in ws.iter_rows()])


class XlsxHarness:
    """The xlsx connector on a file in a temporary directory."""

    def __init__(self, tmp_path: Path, tabs: Tabs) -> None:
        self.path = tmp_path / "ledger.xlsx"
        write_workbook(self.path, tabs)
        self.connector: XlsxConnector = XlsxConnector(self.path)
        self.staged = Staged(self.connector)

    def cells(self, tab: str) -> list[list[CellValue]]:
        return read_workbook(self.path, tab)

    def edit(self, tab: str, row: int, col: int, value: CellValue) -> None:
        wb = openpyxl.load_workbook(self.path)
        wb[tab].cell(row, col).value = value
        wb.save(self.path)

    def insert_row(self, tab: str, row: int, values: Sequence[CellValue]) -> None:
        wb = openpyxl.load_workbook(self.path)
        ws = wb[tab]
        ws.insert_rows(row)
        for col, value in enumerate(values, start=1):
            ws.cell(row, col).value = value
        wb.save(self.path)

    def between_read_and_write(self, action: Callable[[], None]) -> None:
        self.staged.on("reread", action)

    def apply(self, plan: Plan, snapshot: Snapshot) -> ApplyReport:
        return apply_plan(self.staged, plan, snapshot)


HarnessFactory = Callable[[Path, Tabs], Harness]

#: Every connector the contract suite runs against. Add yours here (one line).
HARNESSES: dict[str, HarnessFactory] = {
    "memory": lambda _tmp, tabs: MemoryHarness(tabs),
    "xlsx": XlsxHarness,
}
HARNESSES["google"] = google_harness  # the Google connector on the Sheets sandbox


@pytest.fixture(params=sorted(HARNESSES))
def make_harness(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Tabs], Harness]:
    """A factory building the parametrized connector's harness over seeded tabs."""
    factory = HARNESSES[request.param]
    return lambda tabs: factory(tmp_path, tabs)
