"""Fixtures for ``syncer init``: a CLI runner in a temporary directory, workbooks written
with openpyxl (with dropdowns, title rows, blank and repeated headers), one sandbox for
the Google path, and a helper that runs a dry cycle and returns its findings."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import structlog
from openpyxl.worksheet.datavalidation import DataValidation
from typer.testing import CliRunner

import syncer.cli.commands  # noqa: F401  (registers every command)
from syncer.cli.app import app
from syncer.config import load_ledger
from syncer.connectors import open_connector
from syncer.engine import run_cycle
from syncer.sandbox import SandboxServer
from syncer.settings import Settings
from syncer.state import StateStore

ROOT = Path(__file__).resolve().parents[2]
SALES = ROOT / "config" / "ledgers" / "sales.yaml"
#: The moment the example workbook's stale dates are relative to (2024-06-30).
NOW = datetime(2024, 6, 30, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@dataclass
class Outcome:
    """What one CLI invocation returned."""

    exit_code: int
    stdout: str
    stderr: str


Cli = Callable[..., Outcome]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """Run ``syncer ARGS`` in ``tmp_path`` (own state database, JSON logs); ``input``
    feeds the interactive prompts, ``env`` adds variables."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNCER_STATE_URL", f"sqlite:///{tmp_path / 'var' / 'state.db'}")
    monkeypatch.setenv("SYNCER_LOG_FORMAT", "json")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Outcome:
        result = runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    yield invoke
    structlog.reset_defaults()  # the runner's streams are closed now


def write_book(
    path: Path,
    tabs: dict[str, Sequence[Sequence[Any]]],
    *,
    dropdowns: Sequence[tuple[str, str, str]] = (),
    merges: Sequence[tuple[str, str]] = (),
    names: dict[str, str] | None = None,
) -> Path:
    """A workbook with ``tabs`` (row 1 first); ``dropdowns`` are (tab, cells, formula1)
    list rules, ``merges`` (tab, cells), ``names`` workbook-level defined names."""
    from openpyxl.workbook.defined_name import DefinedName

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in tabs.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    for tab, cells, formula in dropdowns:
        rule = DataValidation(type="list", formula1=formula, allow_blank=True)
        rule.add(cells)
        book[tab].add_data_validation(rule)
    for tab, cells in merges:
        book[tab].merge_cells(cells)
    for name, ref in (names or {}).items():
        book.defined_names[name] = DefinedName(name, attr_text=ref)
    book.save(path)
    return path


def findings_of(ledger_file: Path, settings: Settings | None = None) -> set[tuple[Any, ...]]:
    """(row, column, check) of every finding of one dry cycle of ``ledger_file`` at NOW."""
    ledger = load_ledger(ledger_file)
    store = StateStore(f"sqlite:///{ledger_file.parent / (ledger.name + '-state.db')}")
    connector = open_connector(ledger, settings or Settings())
    try:
        result = run_cycle(ledger, connector, store, NOW, dry_run=True)
    finally:
        connector.close()
        store.close()
    assert result.outcome == "dry_run", result.error
    return {(f.row, f.column, f.check) for f in result.findings}


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """One in-process Sheets sandbox for the session."""
    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="session")
def credentials(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A service-account key whose token endpoint is the sandbox."""
    return sandbox.write_credentials(tmp_path_factory.mktemp("creds") / "sa.json")


@pytest.fixture
def google_env(sandbox: SandboxServer, credentials: Path) -> dict[str, str]:
    """Environment that points syncer's Google client at the sandbox."""
    return {"SYNCER_CREDENTIALS_PATH": str(credentials), "SYNCER_GOOGLE_API_BASE": sandbox.url}
