"""JSON logs through the real CLI: every line of a cycle with 429 retries is JSON with
the cycle's context, third-party library records included."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from syncer.logs import configure_logging
from syncer.sandbox import SandboxServer

from .conftest import MakeSheet, customer_rows

LEDGER = """name: t
source: {{connector: google, spreadsheet: "{sid}"}}
tabs: {{main: Main, history: History, errors: Errors}}
key: id
locale: en
timezone: UTC
annotation_column: note
columns:
  id: {{type: text, unique: true}}
  name: {{type: text, required: true}}
  phone: {{type: phone, required: true}}
  status: {{type: choice, values: [active, paused, lost], required: true}}
rules:
  - {{kind: archive, when: {{column: status, op: equals, value: lost}}}}
"""


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    """configure_logging replaces the root handlers: put them back after the test."""
    saved = structlog.get_config()
    handlers, level = list(logging.root.handlers), logging.root.level
    yield
    structlog.configure(**saved)
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)


def test_every_stderr_line_of_a_throttled_cycle_is_json_with_its_context(
    tmp_path: Path, make_sheet: MakeSheet, clean_sandbox: SandboxServer, credentials: Path
) -> None:
    """`syncer run --once` with injected 429s: each stderr line is JSON; every line of the
    cycle carries ledger and cycle_id, and the retries are logged as api.retry events."""
    sid = make_sheet({"Main": customer_rows(6, lost_every=3, bad_every=2)})
    ledger = tmp_path / "t.yaml"
    ledger.write_text(LEDGER.format(sid=sid), encoding="utf-8")
    clean_sandbox.inject(429, times=2, api="sheets")
    env = {
        **os.environ,
        "SYNCER_LOG_FORMAT": "json",
        "SYNCER_CREDENTIALS_PATH": str(credentials),
        "SYNCER_GOOGLE_API_BASE": clean_sandbox.url,
        "SYNCER_STATE_URL": f"sqlite:///{tmp_path}/state.db",
        "SYNCER_BACKUP_DIR": str(tmp_path / "backups"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "run", "--once", "--config", str(ledger)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # raises on any non-JSON line
    retries = [e for e in events if e["event"] == "api.retry"]
    assert retries, "the injected 429s were retried and logged"
    start = next(i for i, e in enumerate(events) if e.get("cycle_id"))
    end = next(i for i, e in enumerate(events) if e["event"] == "cycle.finished")
    for event in events[start : end + 1]:
        assert (event.get("ledger"), bool(event.get("cycle_id"))) == ("t", True), event


@pytest.mark.usefixtures("_restore_logging")
def test_third_party_records_get_the_cycle_context_and_scrubbing() -> None:
    """A gspread-style stdlib record inside a cycle renders as JSON with ledger, cycle_id,
    its logger name, and the phone number in it masked."""
    out = io.StringIO()
    configure_logging("json", "INFO", stream=out)
    with structlog.contextvars.bound_contextvars(ledger="sales", cycle_id="c1"):
        logging.getLogger("gspread.client").warning("slow answer for 13800138000")
    event = json.loads(out.getvalue().strip())
    assert (event["ledger"], event["cycle_id"], event["logger"]) == (
        "sales",
        "c1",
        "gspread.client",
    )
    assert "13800138000" not in event["event"]
