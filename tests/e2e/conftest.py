"""End-to-end CLI fixtures: a temporary working directory with a state database, and a
runner that invokes ``syncer`` in-process (typer's CliRunner) like a user would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
import structlog
from typer.testing import CliRunner

import syncer.cli.commands  # noqa: F401  (registers every command)
from syncer.cli.app import app
from syncer.model import CellValue

NOW = "2024-06-01T10:30:00+08:00"


@dataclass
class Outcome:
    """What one CLI invocation returned."""

    exit_code: int
    stdout: str
    stderr: str


Cli = Callable[..., Outcome]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """Run ``syncer ARGS`` in ``tmp_path`` with its own state database, JSON logs."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNCER_STATE_URL", f"sqlite:///{tmp_path / 'var' / 'state.db'}")
    monkeypatch.setenv("SYNCER_LOG_FORMAT", "json")
    runner = CliRunner()

    def invoke(*args: str) -> Outcome:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    yield invoke
    structlog.reset_defaults()  # the runner's streams are closed now


def write_xlsx(path: Path, tabs: dict[str, list[list[CellValue]]]) -> None:
    """A workbook with ``tabs`` (sheet row 1 first)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in tabs.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(list(row))
    wb.save(path)


def sheet(path: Path, tab: str) -> list[list[CellValue]]:
    """A tab's stored values (formulas as text), trailing empties trimmed."""
    ws = openpyxl.load_workbook(path)[tab]
    out: list[list[CellValue]] = []
    for row in ws.iter_rows(values_only=True):
        cells = list(row)
        while cells and cells[-1] is None:
            cells.pop()
        out.append(cells)
    while out and not out[-1]:
        out.pop()
    return out
