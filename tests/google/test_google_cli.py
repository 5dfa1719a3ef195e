"""End-to-end CLI against the sandbox: ``syncer demo`` and ``syncer sheet setup``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
import structlog
from typer.testing import CliRunner

from syncer.cli import commands  # noqa: F401  (registers every command)
from syncer.cli.app import app
from syncer.sandbox import SandboxServer

from .conftest import HEADER, MakeSheet, customer_rows


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`syncer run` points logging at the runner's stderr, closed after invoke: undo it."""
    saved = structlog.get_config()
    handlers, level = list(logging.root.handlers), logging.root.level
    yield
    structlog.configure(**saved)
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)


def test_demo_runs_end_to_end_and_exports_xlsx(tmp_path: Path) -> None:
    """`syncer demo` seeds the sandbox, runs real cycles and leaves an .xlsx to open."""
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "cycle 2 (after the edit)" in result.output
    assert "idle" in result.output
    assert "not re-checked" in result.output  # an idle cycle claims no "0 findings"
    export = out / "demo-result.xlsx"
    workbook = openpyxl.load_workbook(export)
    assert "基础信息" in workbook.sheetnames


def test_sheet_setup_is_idempotent(
    tmp_path: Path,
    make_sheet: MakeSheet,
    clean_sandbox: SandboxServer,
    credentials: Path,
    monkeypatch: object,
) -> None:
    """`syncer sheet setup` adds the frozen header and rules once; a re-run adds nothing."""
    sid = make_sheet({"Main": customer_rows(5), "History": [HEADER[:6]]})
    ledger = tmp_path / "t.yaml"
    ledger.write_text(
        f"""name: t
source: {{connector: google, spreadsheet: "https://docs.google.com/spreadsheets/d/{sid}/edit"}}
tabs: {{main: Main, history: History, errors: Errors}}
key: id
locale: en
annotation_column: note
columns:
  id: {{type: text}}
  status: {{type: choice, values: [active, paused, lost]}}
rules:
  - {{kind: archive, when: {{column: status, op: equals, value: lost}}}}
""",
        encoding="utf-8",
    )
    env = {"SYNCER_CREDENTIALS_PATH": str(credentials), "SYNCER_GOOGLE_API_BASE": clean_sandbox.url}
    runner = CliRunner()
    first = runner.invoke(app, ["sheet", "setup", "--config", str(ledger)], env=env)
    assert first.exit_code == 0, first.output
    assert "dropdown on 'status'" in first.output
    assert clean_sandbox.frozen_rows(sid, "Main") == 1
    writes = [r for r in clean_sandbox.request_log if r.kind == "write"]
    second = runner.invoke(app, ["sheet", "setup", "--config", str(ledger)], env=env)
    assert second.exit_code == 0, second.output
    again = [r for r in clean_sandbox.request_log if r.kind == "write"][len(writes) :]
    # Only the dropdown is re-set (setDataValidation replaces, never duplicates).
    assert len(again) <= 1
    assert "highlight" not in second.output


def _ledger_file(path: Path, name: str, sid: str) -> None:
    path.write_text(
        f"""name: {name}
source: {{connector: google, spreadsheet: {sid}}}
tabs: {{main: Main, history: History, errors: Errors}}
key: id
locale: en
timezone: UTC
annotation_column: note
columns:
  id: {{type: text}}
  name: {{type: text, required: true}}
  phone: {{type: phone, required: true}}
  status: {{type: choice, values: [active, paused, lost]}}
rules:
  - {{kind: archive, when: {{column: status, op: equals, value: lost}}}}
""",
        encoding="utf-8",
    )


def test_run_once_continues_past_an_unshared_ledger(
    tmp_path: Path, make_sheet: MakeSheet, clean_sandbox: SandboxServer, credentials: Path
) -> None:
    """`syncer run --once` over two Google ledgers: the unshared one fails with the
    sharing hint, the other one is processed."""
    shared = make_sheet({"Main": customer_rows(6, lost_every=3), "History": [HEADER[:6]]})
    private = make_sheet({"Main": customer_rows(6)}, share=False)
    ledgers = tmp_path / "ledgers"
    ledgers.mkdir()
    _ledger_file(ledgers / "a.yaml", "a_private", private)
    _ledger_file(ledgers / "b.yaml", "b_shared", shared)
    env = {
        "SYNCER_CREDENTIALS_PATH": str(credentials),
        "SYNCER_GOOGLE_API_BASE": clean_sandbox.url,
        "SYNCER_STATE_URL": f"sqlite:///{tmp_path}/state.db",
    }
    result = CliRunner().invoke(app, ["run", "--once", "--config", str(ledgers)], env=env)
    assert result.exit_code == 1, result.output
    assert "a_private: FAILED" in result.output
    assert "as Editor" in result.output
    assert "b_shared: ok" in result.output
    history = clean_sandbox.values(shared, "History")
    assert [r[0] for r in history[1:]] == ["C000003", "C000006"]
