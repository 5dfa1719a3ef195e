"""`syncer sandbox` staging a team through the real CLI: extra users with their own keys,
faults by rate, the JSON-lines request log, and the Google example ledger run against the
seeded spreadsheet."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2.service_account import Credentials
from typer.testing import CliRunner

from syncer.cli import commands  # noqa: F401  (registers the commands)
from syncer.cli.app import app
from syncer.connectors.google.endpoints import redirect_session
from syncer.examples import write_messy_workbook
from syncer.sandbox.faults import FaultInjector, FaultSpec

from .conftest import SCOPES

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "examples" / "sales-google.yaml"
EXAMPLE_ID = "1SyncerSandboxSalesLedger2024"
ROBOT = "syncer@sandbox.iam.gserviceaccount.com"
SHEETS = "https://sheets.googleapis.com/v4/spreadsheets"


@dataclass
class Running:
    """A `syncer sandbox` process and what it printed before serving."""

    proc: subprocess.Popen[str]
    url: str
    banner: str


@contextmanager
def sandbox_command(*args: str) -> Iterator[Running]:
    """Run `syncer sandbox --port 0 …` until it serves; stop it with SIGTERM after."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer", "sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        banner = "".join(lines)
        url = re.search(r"listening on (http://\S+)", banner)
        assert url is not None, banner + (proc.stderr.read() if proc.stderr else "")
        yield Running(proc, url.group(1), banner)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Sandbox stopped." in out


def session_for(key_file: Path, url: str) -> AuthorizedSession:
    """An authorized session of the key in ``key_file``, sent to the sandbox at ``url``."""
    creds = Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        json.loads(key_file.read_text()), scopes=SCOPES
    )
    token_session = requests.Session()
    redirect_session(token_session, url)
    session = AuthorizedSession(creds, auth_request=Request(token_session))
    redirect_session(session, url)
    return session


def test_team_keys_sharing_request_log_and_the_google_example(tmp_path: Path) -> None:
    """--user issues a separate identity per person (own key file, 0600) sharing the seeded
    spreadsheet as writer or reader; --request-log writes every request as a JSON line;
    the Google example ledger plans against the seeded spreadsheet by its fixed id."""
    seed = write_messy_workbook(tmp_path / "客户信息管理_销售部_2024.xlsx")
    credentials, keys, log = tmp_path / "sa.json", tmp_path / "keys", tmp_path / "requests.jsonl"
    with sandbox_command(
        "--seed", str(seed), "--spreadsheet-id", EXAMPLE_ID, "--no-quotas",
        "--credentials-out", str(credentials), "--keys-dir", str(keys),
        "--user", "alice@team.example.com", "--user", "Bob@team.example.com:reader",
        "--request-log", str(log),
    ) as running:
        assert f"Seeded spreadsheet {EXAMPLE_ID} " in running.banner
        alice_key, bob_key = keys / "alice.json", keys / "bob.json"
        assert f"User alice@team.example.com: {alice_key}, writer of {EXAMPLE_ID}" in running.banner
        assert f"User bob@team.example.com: {bob_key}, reader of {EXAMPLE_ID}" in running.banner
        infos = [json.loads(p.read_text()) for p in (credentials, alice_key, bob_key)]
        assert [i["client_email"] for i in infos] == [
            ROBOT, "alice@team.example.com", "bob@team.example.com"]
        assert len({i["private_key_id"] for i in infos}) == 3
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in (alice_key, bob_key))

        alice, bob = session_for(alice_key, running.url), session_for(bob_key, running.url)
        cell = f"{SHEETS}/{EXAMPLE_ID}/values/A1?valueInputOption=RAW"
        assert alice.put(cell, json={"values": [["title by alice"]]}).status_code == 200
        assert bob.get(f"{SHEETS}/{EXAMPLE_ID}/values/A1").json()["values"] == [["title by alice"]]
        refused = bob.put(cell, json={"values": [["bob"]]})
        assert refused.status_code == 403
        assert refused.json()["error"]["status"] == "PERMISSION_DENIED"

        env = {
            "SYNCER_GOOGLE_API_BASE": running.url,
            "SYNCER_CREDENTIALS_PATH": str(credentials),
            "SYNCER_STATE_URL": f"sqlite:///{tmp_path}/state.db",
        }
        planned = CliRunner().invoke(app, ["plan", "--config", str(EXAMPLE)], env=env)
        assert planned.exit_code == 0, planned.output
        assert re.search(r"sales-google: [1-9]\d* operation\(s\) planned", planned.output)
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    users = {e["user"] for e in entries if e["api"] == "sheets"}
    assert {ROBOT, "alice@team.example.com", "bob@team.example.com"} <= users
    assert {"time", "method", "path", "kind", "status", "bytes_out"} <= set(entries[0])
    assert any(e["user"] == "bob@team.example.com" and e["status"] == 403 for e in entries)


def test_faults_by_rate_answer_like_google_and_drop_connections(tmp_path: Path) -> None:
    """--fault 429@1:sheets answers every Sheets call with Google's 429 body; --fault
    drop@1:drive closes Drive connections without an answer; tokens are unaffected."""
    credentials = tmp_path / "sa.json"
    with sandbox_command(
        "--credentials-out", str(credentials), "--no-quotas",
        "--fault", "429@1:sheets", "--fault", "drop@1:drive", "--fault-seed", "5",
    ) as running:
        assert "Fault: 429@1:sheets (seed 5)" in running.banner
        session = session_for(credentials, running.url)
        answer = session.get(f"{SHEETS}/anything")
        assert answer.status_code == 429
        assert answer.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get("https://www.googleapis.com/drive/v3/files/anything", timeout=10)


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        (["--fault", "503"], "no rate after '@'"),
        (["--fault", "503@2"], "within 0 and 1"),
        (["--fault", "teapot@0.1"], "unknown kind 'teapot'"),
        (["--fault", "503@0.1:gmail"], "sheets, drive, oauth"),
        (["--user", "not-an-email"], "give an email"),
        (["--user", "a@b.c:owner"], ":writer or :reader"),
        (["--spreadsheet-id", "bad id!"], "letters, digits"),
    ],
)
def test_bad_team_and_fault_options_exit_2(option: list[str], problem: str) -> None:
    """A malformed --fault, --user or --spreadsheet-id is a usage error naming the fix."""
    result = CliRunner().invoke(app, ["sandbox", "--port", "0", *option])
    assert result.exit_code == 2
    assert problem in re.sub(r"[│╭╮╰╯─\s]+", " ", result.output)  # rich's box, unwrapped


def test_fault_specs_parse_into_the_faults_they_name() -> None:
    """Each kind of spec becomes the matching fault: status, drop, latency, API."""
    assert FaultSpec.parse("429@0.05") == FaultSpec(rate=0.05, status=429)
    assert FaultSpec.parse("drop@1:sheets") == FaultSpec(rate=1.0, drop=True, api="sheets")
    assert FaultSpec.parse("latency=1.5@0.2:oauth") == FaultSpec(
        rate=0.2, latency=1.5, api="oauth")


def test_faults_by_rate_are_reproducible_from_the_seed() -> None:
    """The same specs and seed hit the same requests; another seed hits others."""

    def hits(seed: int) -> list[tuple[int | None, bool]]:
        injector = FaultInjector()
        for index, text in enumerate(["503@0.3", "drop@0.2:sheets"]):
            FaultSpec.parse(text).inject(injector, seed + index)
        decisions = [injector.decide("sheets") for _ in range(200)]
        return [(d.status, d.drop) for d in decisions]

    first = hits(11)
    assert first == hits(11)
    assert first != hits(12)
    assert 20 < sum(1 for status, _ in first if status == 503) < 100
    assert any(drop for _, drop in first)
