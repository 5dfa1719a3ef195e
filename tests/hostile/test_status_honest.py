"""Status and metrics that stay true (issue 10, item 6), through the real CLI, the real
daemon's health server and the Google connector on the sandbox.

The inputs that broke them: an idle cycle after a cycle with findings (the metric and
`status` dropped to 0); a duplicate whose twin was archived (the run summary said one
finding more than the errors tab); a ledger whose main tab is gone (/readyz said "no
successful cycle yet" without the error).
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from syncer import metrics
from syncer.backup import generate_key
from syncer.cli import commands  # noqa: F401  (registers every command)
from syncer.cli.app import app
from syncer.config import load_ledgers
from syncer.connectors.google import GoogleSheetsConnector
from syncer.connectors.google.auth import open_session
from syncer.connectors.ratelimit import RateLimiter
from syncer.connectors.retry import RetryPolicy
from syncer.daemon import Daemon, serve
from syncer.engine import run_cycle
from syncer.health import HealthServer
from syncer.ledger import LedgerConfig
from syncer.sandbox import SandboxServer
from syncer.settings import Settings
from syncer.state import StateStore

HEADER = ["客户编号", "客户名称", "联系方式", "合作状态"]

LEDGER_YAML = """\
name: {name}
source:
  connector: xlsx
  path: {workbook}
tabs:
  main: 客户信息
key: 客户编号
schedule:
  every: {every}
columns:
  客户编号: {{type: text}}
  客户名称: {{type: text, unique: true}}
  联系方式: {{type: phone}}
  合作状态: {{type: choice, values: [合作中, 流失客户]}}
rules:
  - kind: archive
    when: {{column: 合作状态, op: equals, value: 流失客户}}
"""

#: 客户甲 twice: the second one is lost, so the cycle archives it. Before the fix the
#: summary counted both duplicate findings plus the bad phone (3) while the errors tab,
#: which describes the sheet after the cycle, listed only the bad phone (1).
ROWS = [
    ["XS001", "客户甲", "13900000001", "合作中"],
    ["XS002", "客户乙", "123", "合作中"],
    ["XS003", "客户甲", "13900000003", "流失客户"],
]


def write_ledger(root: Path, name: str, *, tab: str = "客户信息", every: str = "1h") -> Path:
    """A workbook with :data:`ROWS` in ``tab`` and its ledger file; return the config dir."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = tab
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(row)
    workbook = root / f"{name}.xlsx"
    book.save(workbook)
    config = root / "ledgers"
    config.mkdir(exist_ok=True)
    (config / f"{name}.yaml").write_text(
        LEDGER_YAML.format(name=name, workbook=workbook, every=every), encoding="utf-8"
    )
    return config


def errors_tab_total(root: Path, name: str) -> str:
    """The count cell of the errors tab's summary line, as the sheet shows it."""
    book = openpyxl.load_workbook(root / f"{name}.xlsx", read_only=True)
    try:
        rows = list(book["校验错误"].iter_rows(values_only=True))
    finally:
        book.close()
    summary = next(r for r in rows if r and r[0] == "汇总")
    return str(summary[1])


def cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Invoke the CLI in-process; return exit code and combined output."""
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def settings_for(root: Path, config: Path, port: int = 0) -> Settings:
    """Settings of a daemon on ``config`` with its own state file and backups."""
    return Settings(
        config_path=config,
        state_url=f"sqlite:///{root / 'state.db'}",
        backup_dir=root / "backups",
        backup_key=generate_key(),
        http_port=port,
        http_host="127.0.0.1",
    )


def get(url: str) -> tuple[int, str]:
    """GET ``url``: status and body (error answers included; -1 when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return -1, ""


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll ``condition`` until true; fail the test if it never becomes true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.05)


def sample(text: str, name: str, ledger: str) -> float | None:
    """The value of ``name{ledger=...}`` in a Prometheus exposition (None: no series)."""
    prefix = f'{name}{{ledger="{ledger}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    return None


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[Callable[[Path], int]]:
    """Start the production daemon (`serve`) on a config dir; stopped after the test."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(config: Path) -> int:
        port = free_port()
        settings = settings_for(tmp_path, config, port)
        ledgers = load_ledgers(config)
        thread = threading.Thread(target=serve, args=(settings, ledgers), kwargs={"stop": stop})
        thread.start()
        threads.append(thread)
        return port

    yield start
    stop.set()
    for thread in threads:
        thread.join(30)


def test_summary_status_and_errors_tab_give_one_count_and_idle_keeps_it(tmp_path: Path) -> None:
    """`run --once` says what the errors tab says (1, not 3, with an archived twin); the
    idle run that follows still says 1 with when it was computed, in the summary, the
    status table and the status JSON."""
    config = write_ledger(tmp_path, "honest-cli")
    env = {
        "SYNCER_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "SYNCER_BACKUP_DIR": str(tmp_path / "backups"),
        "SYNCER_CONFIG_PATH": str(config),
        "SYNCER_LOG_FORMAT": "json",
        "SYNCER_BACKUP_KEY": generate_key(),
    }
    code, out = cli(env, "run", "--once")
    assert code == 0, out
    assert "honest-cli: ok — 1 finding(s)" in out
    assert errors_tab_total(tmp_path, "honest-cli") == "共 1 条问题"

    code, out = cli(env, "run", "--once")
    assert code == 0, out
    assert "honest-cli: idle" in out
    assert "1 finding(s) as of" in out

    code, out = cli(env, "status", "--json", "--runs", "2")
    assert code == 0, out
    idle, computed = json.loads(out)["ledgers"][0]["runs"]
    assert (idle["outcome"], computed["outcome"]) == ("idle", "ok")
    assert idle["findings"] == computed["findings"] == 1
    assert idle["findings_at"] == computed["findings_at"] == computed["started"]

    code, out = cli(env, "status")
    assert code == 0, out
    as_of = datetime.fromisoformat(computed["findings_at"]).astimezone(UTC)
    assert f"1 (as of {as_of:%H:%M})" in out


def test_metric_keeps_the_findings_across_idle_cycles_of_the_daemon(
    tmp_path: Path, serving: Callable[[Path], int]
) -> None:
    """The daemon's /metrics still shows syncer_findings 1 after idle cycles (it dropped to
    0), the same count the errors tab and the idle run records carry."""
    config = write_ledger(tmp_path, "honest-metric", every="1s")
    port = serving(config)
    # the daemon creates the state database: open it only once a cycle has succeeded
    wait_for(lambda: get(f"http://127.0.0.1:{port}/readyz")[0] == 200)
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        wait_for(lambda: [r.outcome for r in store.runs("honest-metric", 2)] == ["idle", "idle"])
        runs = store.runs("honest-metric", 3)
    finally:
        store.close()
    status, body = get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    assert sample(body, "syncer_findings", "honest-metric") == 1
    assert sample(body, "syncer_last_success_timestamp_seconds", "honest-metric") is not None
    assert errors_tab_total(tmp_path, "honest-metric") == "共 1 条问题"
    assert [r.findings for r in runs] == [1, 1, 1]
    assert runs[0].findings_at == runs[2].findings_at == runs[2].started


def test_readyz_quotes_the_failure(tmp_path: Path, serving: Callable[[Path], int]) -> None:
    """A ledger whose main tab is missing: /readyz gives the failure's time and error, not
    only "no successful cycle yet"."""
    config = write_ledger(tmp_path, "honest-ready", tab="客户资料")
    port = serving(config)
    url = f"http://127.0.0.1:{port}/readyz"
    wait_for(lambda: "last cycle failed at" in get(url)[1])
    status, body = get(url)
    assert status == 503
    reason = json.loads(body)["not_ready"]["honest-ready"]
    assert reason.startswith("no successful cycle yet; last cycle failed at ")
    assert "ledger 'honest-ready'" in reason
    assert "'客户信息' not found" in reason


def test_findings_and_last_success_have_no_false_value_before_the_first_cycle(
    tmp_path: Path,
) -> None:
    """Before a ledger's first cycle the daemon exposes its counters at 0 but no
    syncer_findings (0 would claim a clean sheet) and no last-success time (0 is 1970)."""
    config = write_ledger(tmp_path, "honest-fresh")
    ledgers = load_ledgers(config)
    daemon = Daemon(ledgers, run_cycle=lambda _l: None, run_at_start=False)  # type: ignore[arg-type,return-value]
    server = HealthServer("127.0.0.1", 0, daemon.readiness)
    daemon.start()
    server.start()
    try:
        metrics_status, body = get(f"http://127.0.0.1:{server.port}/metrics")
        ready_status, ready = get(f"http://127.0.0.1:{server.port}/readyz")
    finally:
        server.stop()
        daemon.stop()
    assert metrics_status == 200
    assert 'syncer_cycles_total{ledger="honest-fresh",outcome="ok"} 0.0' in body
    assert sample(body, "syncer_rows_archived_total", "honest-fresh") == 0
    assert sample(body, "syncer_findings", "honest-fresh") is None
    assert sample(body, "syncer_last_success_timestamp_seconds", "honest-fresh") is None
    assert ready_status == 503
    assert json.loads(ready)["not_ready"] == {"honest-fresh": "no successful cycle yet"}


# --- API calls on the Google connector ----------------------------------------------------

GOOGLE_LEDGER: dict[str, Any] = {
    "name": "honest-google",
    "tabs": {"main": "Main", "history": "History", "errors": "Errors"},
    "key": "id",
    "locale": "en",
    "timezone": "UTC",
    "columns": {"id": {"type": "text"}, "phone": {"type": "phone", "required": True}},
}


class _Clock:
    """A clock whose sleeps only advance it (no real waiting)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _api_calls(ledger: str) -> float:
    """Every syncer_api_calls sample of ``ledger``, summed over kinds."""
    return sum(
        s.value
        for m in metrics.REGISTRY.collect()
        if m.name == "syncer_api_calls"
        for s in m.samples
        if s.name == "syncer_api_calls_total" and s.labels.get("ledger") == ledger
    )


def test_api_calls_of_a_cycle_match_the_metrics_on_google(tmp_path: Path) -> None:
    """On the Google sandbox each cycle's `api_calls` (ok, then idle: it was 0 while the
    metrics counted 3) equals what syncer_api_calls{ledger} counted for that cycle."""
    email = "syncer@sandbox.iam.gserviceaccount.com"
    rows = [["id", "phone"], ["C1", "13800000001"], ["C2", None]]
    with SandboxServer() as sandbox:
        sid = sandbox.create_spreadsheet("ledger", "owner@example.com", {"Main": rows})
        sandbox.share(sid, email, "writer")
        key = sandbox.write_credentials(tmp_path / "sa.json", email)
        data = {**GOOGLE_LEDGER, "source": {"connector": "google", "spreadsheet": sid}}
        ledger = LedgerConfig.model_validate(data)
        clock = _Clock()
        connector = GoogleSheetsConnector(
            sid,
            ledger=ledger.name,
            key_column="id",
            auth=open_session(key, sandbox.url),
            policy=RetryPolicy(sleep=clock.sleep, clock=clock, rng=random.Random(1)),
            limiter=RateLimiter(1000, 1000, clock=clock, sleep=clock.sleep),
        )
        store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
        try:
            counted: list[tuple[str, int, float]] = []
            t0 = datetime(2026, 12, 1, 10, 42, tzinfo=UTC)
            for i in range(2):
                before = _api_calls(ledger.name)
                result = run_cycle(ledger, connector, store, t0 + timedelta(minutes=i))
                counted.append((result.outcome, result.api_calls, _api_calls(ledger.name) - before))
            recorded = [r.api_calls for r in reversed(store.runs(ledger.name))]
        finally:
            store.close()
            connector.close()
    assert [outcome for outcome, _, _ in counted] == ["ok", "idle"]
    assert all(calls == metered for _, calls, metered in counted)
    assert counted[1][1] > 0
    assert recorded == [calls for _, calls, _ in counted]
