"""Seeding from .xlsx and the standalone ``syncer sandbox`` command."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import gspread
import openpyxl
import requests
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2.service_account import Credentials
from openpyxl.comments import Comment

from syncer.connectors.google.endpoints import redirect_session
from syncer.sandbox import SandboxServer

from .conftest import ROBOT, SCOPES


def _workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "客户"
    ws.append(["姓名", "金额", "日期", "合计"])
    ws.append(["张三", 12.5, dt.datetime(2024, 3, 1), "=B2*2"])
    ws["A2"].comment = Comment("VIP", "someone")
    ws.freeze_panes = "A2"
    book.create_sheet("History").append(["old"])
    book.save(path)
    return path


def test_seed_from_xlsx(sandbox: SandboxServer, gc: gspread.Client, tmp_path: Path) -> None:
    """An .xlsx seeds tabs, typed values, dates, formulas, notes and frozen rows."""
    sid = sandbox.seed_from_xlsx(_workbook(tmp_path / "ledger.xlsx"), owner=ROBOT)
    assert sandbox.tabs(sid) == ["客户", "History"]
    assert sandbox.values(sid, "客户") == [["姓名", "金额", "日期", "合计"],
                                          ["张三", 12.5, dt.date(2024, 3, 1), "=B2*2"]]
    assert sandbox.note(sid, "客户", "A2") == "VIP"
    assert sandbox.frozen_rows(sid, "客户") == 1
    ws = gc.open_by_key(sid).worksheet("客户")
    assert ws.spreadsheet.title == "ledger"
    assert ws.row_values(2)[:3] == ["张三", "12.5", "2024-03-01"]


def test_sandbox_command_serves_a_seeded_sheet(tmp_path: Path) -> None:
    """`syncer sandbox` prints its URL and credentials; gspread reads the seed; SIGTERM stops it."""
    seed = _workbook(tmp_path / "ledger.xlsx")
    creds_path = tmp_path / "sa.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer", "sandbox", "--port", "0", "--seed", str(seed),
         "--credentials-out", str(creds_path), "--owner", "admin@example.com", "--no-quotas"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        text = "".join(lines)
        url = re.search(r"listening on (http://\S+)", text)
        sid = re.search(r"Seeded spreadsheet (\S+)", text)
        assert url is not None, text
        assert sid is not None, text
        assert f"SYNCER_GOOGLE_API_BASE={url.group(1)}" in text
        assert creds_path.stat().st_mode & 0o777 == 0o600
        info = json.loads(creds_path.read_text())
        assert info["token_uri"] == f"{url.group(1)}/token"
        creds = Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=SCOPES)
        token_session = requests.Session()
        redirect_session(token_session, url.group(1))
        session = AuthorizedSession(creds, auth_request=Request(token_session))
        redirect_session(session, url.group(1))
        sheet = gspread.Client(auth=creds, session=session).open_by_key(sid.group(1))
        assert sheet.worksheet("客户").acell("A2").value == "张三"
        owners = {p["emailAddress"]: p["role"] for p in sheet.list_permissions()}
        assert owners["admin@example.com"] == "owner"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Sandbox stopped." in out


def test_sandbox_command_port_in_use_exits_2() -> None:
    """A busy port is a clear error (exit 2) naming the port and the next step."""
    import socket

    from typer.testing import CliRunner

    from syncer.cli import commands  # noqa: F401  (registers the commands)
    from syncer.cli.app import app

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["sandbox", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "--port" in result.output


def test_sandbox_command_bad_seed_exits_2(tmp_path: Path) -> None:
    """A seed that is not an .xlsx workbook is a clear error (exit 2), not a traceback."""
    from typer.testing import CliRunner

    from syncer.cli import commands  # noqa: F401  (registers the commands)
    from syncer.cli.app import app

    bad = tmp_path / "ledger.xlsx"
    bad.write_text("not a workbook")
    result = CliRunner().invoke(app, ["sandbox", "--port", "0", "--seed", str(bad),
                                      "--credentials-out", str(tmp_path / "sa.json")])
    assert result.exit_code == 2
    assert f"cannot load --seed {bad}" in result.output
