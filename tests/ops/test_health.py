"""Health, readiness and metrics over HTTP, and the serve() process loop."""

from __future__ import annotations

import json
import re
import socket
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from syncer import metrics
from syncer.daemon import Daemon, serve
from syncer.engine import CycleResult
from syncer.health import HealthServer, PortInUse, Readiness
from syncer.ledger import LedgerConfig
from syncer.model import ApplyReport, Finding, MoveRow, RowRef
from syncer.settings import Settings

from .conftest import make_ledger
from .test_daemon import wait_for


def get(url: str) -> tuple[int, bytes]:
    """GET ``url``; return status and body (errors included)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_readiness_follows_the_last_success_with_a_fake_clock() -> None:
    """Not ready before a success, ready after, not ready again after 3 silent intervals."""
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    readiness = Readiness(lambda: clock[0])
    readiness.track("sales", timedelta(minutes=5))
    assert readiness.not_ready() == {"*": "the daemon is starting"}
    readiness.started = True
    assert readiness.not_ready() == {"sales": "no successful cycle yet"}
    readiness.succeeded("sales", clock[0])
    assert readiness.not_ready() == {}
    clock[0] += timedelta(minutes=15)
    assert readiness.not_ready() == {}
    clock[0] += timedelta(seconds=1)
    assert "more than 3 intervals" in readiness.not_ready()["sales"]
    readiness.forget("sales")
    assert readiness.not_ready() == {}


def test_endpoints_serve_health_readiness_and_parsable_metrics() -> None:
    """/healthz is 200, /readyz reflects readiness, /metrics parses with cycle samples."""
    readiness = Readiness()
    readiness.track("web", timedelta(minutes=5))
    readiness.started = True
    now = datetime.now(UTC)
    result = CycleResult(
        "web", "c1", now - timedelta(seconds=2), now, "ok",
        findings=[Finding("t", 2, "k", "c", None, "required", "m")] * 3,
        report=ApplyReport(applied=[MoveRow("t", RowRef("k", 2), "h", (), "r", "a")] * 2),
    )
    metrics.observe_cycle(result)
    metrics.record_api_call("sales", "read")
    metrics.record_throttled("sales", "write")
    metrics.record_retry("sales", "write")
    server = HealthServer("127.0.0.1", 0, readiness)
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert get(f"{base}/healthz") == (200, b"ok\n")
        status, body = get(f"{base}/readyz")
        assert status == 503
        assert json.loads(body)["not_ready"] == {"web": "no successful cycle yet"}
        readiness.succeeded("web", now)
        assert get(f"{base}/readyz")[0] == 200
        assert get(f"{base}/nope")[0] == 404
        status, body = get(f"{base}/metrics")
    finally:
        server.stop()
    assert status == 200
    found = samples(body.decode())
    assert found[("syncer_cycles_total", (("ledger", "web"), ("outcome", "ok")))] >= 1
    assert found[("syncer_findings", (("ledger", "web"),))] == 3
    assert found[("syncer_rows_archived_total", (("ledger", "web"),))] >= 2
    assert found[("syncer_cycle_duration_seconds_count", (("ledger", "web"),))] >= 1
    assert found[("syncer_last_success_timestamp_seconds", (("ledger", "web"),))] == (
        now.timestamp()
    )
    assert found[("syncer_api_calls_total", (("kind", "read"), ("ledger", "sales")))] >= 1
    assert found[("syncer_api_throttled_total", (("kind", "write"), ("ledger", "sales")))] >= 1
    assert found[("syncer_api_retries_total", (("kind", "write"), ("ledger", "sales")))] >= 1


def test_port_in_use_is_a_clear_error() -> None:
    """A taken port raises PortInUse naming the port and the setting; serve() logs it
    and exits 1 without scheduling anything."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUse, match=f"127.0.0.1:{port}.*SYNCER_HTTP_PORT"):
            HealthServer("127.0.0.1", port, Readiness())
        settings = Settings(http_port=port, config_path="nowhere")
        daemon = Daemon([make_ledger()], run_cycle=lambda _l: None)  # type: ignore[arg-type,return-value]
        with capture_logs() as logs:
            code = serve(settings, [make_ledger()], daemon=daemon, loader=lambda _p: [])
        assert code == 1
        assert not daemon.scheduler.running
        [event] = [e for e in logs if e["event"] == "daemon.start_failed"]
        assert "already in use" in event["error"]


def test_serve_cycles_serves_metrics_reloads_and_stops(tmp_path) -> None:
    """serve() runs ledgers, answers /readyz 200 after a success, reloads a changed file,
    and returns 0 once asked to stop."""
    config = tmp_path / "ledgers"
    config.mkdir()
    (config / "a.yaml").write_text("name: a\n")
    calls: list[str] = []

    def cycle(ledger: LedgerConfig) -> CycleResult:
        calls.append(ledger.name)
        now = datetime.now(UTC)
        return CycleResult(ledger.name, "c", now, now, "ok")

    loaded: list[str] = []

    def loader(path):
        loaded.append(str(path))
        hourly = {"every": "1h"}
        return [make_ledger("a", schedule=hourly), make_ledger("b", schedule=hourly)]

    port = free_port()
    settings = Settings(http_port=port, config_path=config)
    daemon = Daemon([make_ledger("a", schedule={"every": "1h"})], run_cycle=cycle)
    stop = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(
        target=lambda: codes.append(
            serve(settings, [], daemon=daemon, loader=loader, stop=stop, watch_seconds=0.05)
        )
    )
    thread.start()
    try:
        wait_for(lambda: get_quiet(f"http://127.0.0.1:{port}/readyz") == 200)

        (config / "a.yaml").write_text("name: a\nchanged: true\n")
        wait_for(lambda: daemon.ledgers == ["a", "b"])
        wait_for(lambda: "b" in calls)
        assert loaded == [str(config)]
    finally:
        stop.set()
        thread.join(15)
    assert codes == [0]
    assert not daemon.scheduler.running
    assert get_quiet(f"http://127.0.0.1:{port}/healthz") is None


def get_quiet(url: str) -> int | None:
    """The status of GET ``url``, or None when nothing answers."""
    try:
        return get(url)[0]
    except OSError:
        return None


def test_invalid_backup_cron_exits_2_without_running(tmp_path) -> None:
    """A bad SYNCER_BACKUP_CRON is logged as a start failure and serve() returns 2."""
    calls: list[str] = []
    daemon = Daemon(
        [make_ledger()],
        run_cycle=lambda lg: calls.append(lg.name),  # type: ignore[arg-type,func-returns-value]
        run_backup=lambda _lg: None,
        backup_cron="every night",
    )
    with capture_logs() as logs:
        code = serve(Settings(http_port=0, config_path=tmp_path), [], daemon=daemon)
    assert code == 2
    [event] = [e for e in logs if e["event"] == "daemon.start_failed"]
    assert "SYNCER_BACKUP_CRON" in event["error"]
    assert calls == []
    assert not daemon.scheduler.running


def test_operations_doc_lists_exactly_the_exported_metrics() -> None:
    """docs/operations.md's metric table names every metric syncer exports, and no other."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
    row = re.compile(r"^\| `([a-z_]+)` \| `(?:ledger|kind|outcome)", re.M)
    documented = set(row.findall(doc.read_text(encoding="utf-8")))
    exported = set()
    for family in metrics.REGISTRY.collect():
        name = family.name.removeprefix("syncer_")
        exported.add(name + "_total" if family.type == "counter" else name)
    assert documented == exported


def test_readiness_quotes_the_last_failure_until_a_success() -> None:
    """A failed cycle's time and error are in the not-ready reason (first cycle or stale
    success), and a later success clears them."""
    clock = [datetime(2026, 12, 2, 10, 0, tzinfo=UTC)]
    readiness = Readiness(lambda: clock[0])
    readiness.track("sales", timedelta(minutes=5))
    readiness.started = True
    readiness.failed("sales", clock[0], "ledger 'sales': tab '客户信息' not found")
    assert readiness.not_ready() == {
        "sales": "no successful cycle yet; last cycle failed at 2026-12-02 10:00:00 UTC:"
        " ledger 'sales': tab '客户信息' not found"
    }
    readiness.succeeded("sales", clock[0] + timedelta(minutes=1))
    assert readiness.not_ready() == {}
    clock[0] += timedelta(minutes=20)
    readiness.failed("sales", clock[0], None)
    reason = readiness.not_ready()["sales"]
    assert reason.startswith("last success 1140s ago")
    assert reason.endswith("failed at 2026-12-02 10:20:00 UTC: no error message was recorded")
    readiness.succeeded("sales", clock[0])
    assert readiness.not_ready() == {}
