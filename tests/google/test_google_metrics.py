"""Prometheus metrics of the Google connector, scraped from syncer's registry."""

from __future__ import annotations

from syncer import metrics
from syncer.connectors.base import TabRequest
from syncer.connectors.google.transport import metric_kind
from syncer.sandbox import SandboxServer

from .conftest import MakeConnector, MakeSheet, customer_rows


def sample(name: str, kind: str, ledger: str = "t") -> float:
    """The current value of counter ``name`` for ``ledger`` and ``kind`` (0 when never
    counted)."""
    value = metrics.REGISTRY.get_sample_value(f"{name}_total", {"ledger": ledger, "kind": kind})
    return value or 0.0


def test_calls_retries_and_throttles_are_counted_once_each(
    make_sheet: MakeSheet, make_connector: MakeConnector, clean_sandbox: SandboxServer
) -> None:
    """Two 429s then success: one logical read call, two retries, two throttled answers."""
    sid = make_sheet({"Main": customer_rows(3)})
    conn = make_connector(sid)
    conn.metadata()
    calls, retries, throttled = (
        sample("syncer_api_calls", "read"),
        sample("syncer_api_retries", "read"),
        sample("syncer_api_throttled", "read"),
    )
    clean_sandbox.inject(429, probability=1.0, times=2, api="sheets")
    conn.read([TabRequest("Main")])
    assert sample("syncer_api_calls", "read") - calls == 1
    assert sample("syncer_api_retries", "read") - retries == 2
    assert sample("syncer_api_throttled", "read") - throttled == 2
    assert conn.http.attempts - sum(conn.calls.values()) == 2


def test_metric_kinds_match_the_logical_calls(
    make_sheet: MakeSheet, make_connector: MakeConnector
) -> None:
    """Each logical call is counted under its kind, as the connector's own counters say."""
    sid = make_sheet({"Main": customer_rows(3)})
    conn = make_connector(sid)
    kinds = ("read", "metadata", "drive")
    before = {k: sample("syncer_api_calls", k) for k in kinds}
    conn.change_token()
    conn.read([TabRequest("Main")])
    expected = {
        k: sum(n for what, n in conn.calls.items() if metric_kind(what) == k) for k in kinds
    }
    assert {k: sample("syncer_api_calls", k) - before[k] for k in kinds} == expected
    assert expected == {"read": 1, "metadata": 1, "drive": 1}
    assert b"syncer_api_calls_total" in metrics.render()


def test_every_api_series_of_a_ledger_starts_at_zero() -> None:
    """A ledger's call, 429 and retry series exist at 0 before its first call."""
    metrics.init_ledger("fresh-ledger")
    for name in ("syncer_api_calls", "syncer_api_throttled", "syncer_api_retries"):
        for kind in metrics.API_KINDS:
            assert metrics.REGISTRY.get_sample_value(
                f"{name}_total", {"ledger": "fresh-ledger", "kind": kind}
            ) == 0.0


def test_batch_get_by_data_filter_counts_as_a_read() -> None:
    """The guard's POST read is a read for metrics and the rate limiter, not a write."""
    assert metric_kind("values.batchGetByDataFilter") == "read"
    assert metric_kind("spreadsheets.batchUpdate") == "write"
    assert metric_kind("drive.files.export") == "export"
