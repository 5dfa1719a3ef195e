"""Survival against the sandbox: quota and server-error bursts, dropped connections,
token expiry mid-run, unshared sheets — and one failing ledger never stops the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncer.connectors.base import TabRequest
from syncer.engine import run_cycle
from syncer.errors import PermissionDenied, RetriesExhausted, SourceNotFound
from syncer.sandbox import SandboxServer
from syncer.state import StateStore

from .conftest import EMAIL, HEADER, MakeConnector, MakeSheet, customer_rows, ledger_for

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TABS = [TabRequest("Main"), TabRequest("History")]


@pytest.mark.parametrize("status", [429, 503, 500])
def test_burst_is_ridden_out(
    status: int, make_sheet: MakeSheet, make_connector: MakeConnector, clean_sandbox: SandboxServer
) -> None:
    """Three failures in a row are retried with backoff and the read succeeds."""
    sid = make_sheet({"Main": customer_rows(5)})
    conn = make_connector(sid)
    clean_sandbox.inject(status, probability=1.0, times=3, api="sheets")
    snap = conn.read(TABS)
    assert len(snap.tables["Main"].rows) == 5
    assert conn.http.policy.stats.retries == 3
    failed = [r for r in clean_sandbox.request_log if r.status == status]
    assert len(failed) == 3


def test_dropped_connection_is_retried(
    make_sheet: MakeSheet, make_connector: MakeConnector, clean_sandbox: SandboxServer
) -> None:
    """A connection dropped without an answer is retried like a 503."""
    sid = make_sheet({"Main": customer_rows(2)})
    conn = make_connector(sid)
    clean_sandbox.inject(drop=True, on_request=1, api="sheets")
    assert len(conn.read(TABS).tables["Main"].rows) == 2
    assert conn.http.policy.stats.retries == 1


def test_endless_503_gives_a_clear_error(
    make_sheet: MakeSheet, make_connector: MakeConnector, clean_sandbox: SandboxServer
) -> None:
    """When 503s never stop, the policy gives up naming the ledger and spreadsheet."""
    sid = make_sheet({"Main": customer_rows(2)})
    conn = make_connector(sid, ledger="sales")
    clean_sandbox.inject(503, probability=1.0, times=None, api="sheets")
    with pytest.raises(RetriesExhausted) as err:
        conn.read(TABS)
    assert "'sales'" in str(err.value)
    assert sid in str(err.value)
    assert conn.http.attempts == conn.http.policy.max_attempts


def test_token_expiry_mid_run_refreshes_once(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> None:
    """Tokens revoked between cycles: a 401, one refresh, and the cycle completes."""
    sid = make_sheet({"Main": customer_rows(5, lost_every=5), "History": [HEADER[:6]]})
    conn = make_connector(sid)
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        assert run_cycle(ledger_for(sid), conn, store, NOW).outcome == "ok"
        assert clean_sandbox.expire_tokens() >= 1  # every access token now answers 401
        clean_sandbox.set_values(sid, "Main", "D2", [["paused"]])
        result = run_cycle(ledger_for(sid), conn, store, NOW + timedelta(minutes=5))
    finally:
        store.close()
    assert result.outcome == "ok", result.error
    assert conn.http.policy.stats.refreshes == 1
    assert [r.status for r in clean_sandbox.request_log].count(401) == 1


def test_unshared_sheet_fails_clearly_and_others_continue(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
) -> None:
    """A sheet not shared with the robot: a clear 403 naming the account; the next
    ledger in the same run still completes."""
    private = make_sheet({"Main": customer_rows(3)}, share=False)
    shared = make_sheet({"Main": customer_rows(3), "History": [HEADER[:6]]})
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    results = []
    try:
        for name, sid in (("private", private), ("shared", shared)):
            ledger = ledger_for(sid, name=name)
            results.append(run_cycle(ledger, make_connector(sid, ledger=name), store, NOW))
    finally:
        store.close()
    assert results[0].outcome == "failed"
    assert f"{EMAIL} as Editor" in (results[0].error or "")
    assert results[1].outcome == "ok", results[1].error
    with pytest.raises(PermissionDenied):
        make_connector(private).read(TABS)


def test_missing_spreadsheet_is_not_retried(
    make_connector: MakeConnector, clean_sandbox: SandboxServer
) -> None:
    """A wrong spreadsheet id answers 404 once, with a hint about source.spreadsheet."""
    conn = make_connector("1NoSuchSpreadsheetIdAtAll0000000000000000000")
    with pytest.raises(SourceNotFound) as err:
        conn.read(TABS)
    assert "source.spreadsheet" in str(err.value)
    assert conn.http.attempts == 1


def test_quota_on_keeps_syncer_inside_it(
    tmp_path: Path,
    make_sheet: MakeSheet,
    make_connector: MakeConnector,
    clean_sandbox: SandboxServer,
) -> None:
    """With the sandbox's 60/min quota on, consecutive full cycles (each a handful of
    calls, whatever the number of changes) never draw a 429."""
    from syncer.sandbox import QuotaConfig

    sid = make_sheet({"Main": customer_rows(50, lost_every=5), "History": [HEADER[:6]]})
    clean_sandbox.set_quotas(QuotaConfig())
    conn = make_connector(sid, rate=55)
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    try:
        for minute in range(3):
            clean_sandbox.set_values(sid, "Main", "D2", [["paused" if minute % 2 else "active"]])
            result = run_cycle(ledger_for(sid), conn, store, NOW + timedelta(minutes=minute))
            assert result.outcome == "ok", result.error
    finally:
        store.close()
    assert not [r for r in clean_sandbox.request_log if r.status == 429]
