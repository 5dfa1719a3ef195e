"""Prometheus metrics of one syncer process, in one registry served at ``/metrics``.

Everything that counts something calls a small function here, so metric names and
labels live in one place. The Google connector reports its calls with
:func:`record_api_call`, :func:`record_throttled` and :func:`record_retry`; the daemon
reports cycles with :func:`observe_cycle`; backups with :func:`record_backup`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST as _CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class FinishedCycle(Protocol):
    """What :func:`observe_cycle` reads of a cycle (the engine's ``CycleResult``)."""

    @property
    def ledger(self) -> str:
        """The ledger's name."""

    @property
    def outcome(self) -> str:
        """ok, idle, failed or dry_run."""

    @property
    def started(self) -> datetime:
        """When the cycle started."""

    @property
    def finished(self) -> datetime:
        """When it finished."""

    @property
    def finding_count(self) -> int:
        """Its findings as the errors tab lists them (carried forward by an idle cycle)."""

    @property
    def findings_at(self) -> datetime | None:
        """When that count was computed (None: no cycle has computed findings yet)."""

    @property
    def archived(self) -> int:
        """Rows moved to the history tab."""

#: The registry every syncer metric lives in (not the library's global default, so the
#: exposition holds only our metrics and tests can read exact values).
REGISTRY = CollectorRegistry(auto_describe=True)

#: Content type of :func:`render`'s output.
CONTENT_TYPE = _CONTENT_TYPE

CYCLES = Counter(
    "syncer_cycles",
    "Cycles run, by ledger and outcome (ok, idle, failed, dry_run).",
    ["ledger", "outcome"],
    registry=REGISTRY,
)
CYCLE_SECONDS = Histogram(
    "syncer_cycle_duration_seconds",
    "Wall time of one cycle, read to record.",
    ["ledger"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
API_CALLS = Counter(
    "syncer_api_calls",
    "Calls made to a ledger's source API, by ledger and kind (read, write, drive, ...).",
    ["ledger", "kind"],
    registry=REGISTRY,
)
THROTTLED = Counter(
    "syncer_api_throttled",
    "API answers of 429 Too Many Requests, by ledger and kind.",
    ["ledger", "kind"],
    registry=REGISTRY,
)
RETRIES = Counter(
    "syncer_api_retries",
    "API calls retried after a temporary failure (429, 5xx, timeout), by ledger and kind.",
    ["ledger", "kind"],
    registry=REGISTRY,
)
FINDINGS = Gauge(
    "syncer_findings",
    "Findings in the ledger's errors tab, as the last cycle that computed them found them"
    " (idle and failed cycles keep the value).",
    ["ledger"],
    registry=REGISTRY,
)
ARCHIVED = Counter(
    "syncer_rows_archived",
    "Rows moved to the history tab.",
    ["ledger"],
    registry=REGISTRY,
)
LAST_SUCCESS = Gauge(
    "syncer_last_success_timestamp_seconds",
    "Unix time of the ledger's last successful cycle.",
    ["ledger"],
    registry=REGISTRY,
)
BACKUPS = Counter(
    "syncer_backups",
    "Backups attempted, by ledger and outcome (ok, failed).",
    ["ledger", "outcome"],
    registry=REGISTRY,
)
SKIPPED = Counter(
    "syncer_cycles_skipped",
    "Scheduled cycles not started: the previous one still ran, or the run was too late.",
    ["ledger"],
    registry=REGISTRY,
)
INCIDENTS = Counter(
    "syncer_incidents",
    "Incidents: repairs of races and crashes (misplaced writes undone, keys reconciled).",
    ["ledger"],
    registry=REGISTRY,
)
INTERRUPTED = Gauge(
    "syncer_interrupted_cycles",
    "Journaled cycles that stopped before finishing and are not yet recovered.",
    ["ledger"],
    registry=REGISTRY,
)
RECOVERED = Counter(
    "syncer_recovered_cycles",
    "Interrupted cycles recovered (reconciled) by a later cycle.",
    ["ledger"],
    registry=REGISTRY,
)
RELOADS = Counter(
    "syncer_config_reloads",
    "Ledger-file reloads, by outcome (ok, failed).",
    ["outcome"],
    registry=REGISTRY,
)

#: Cycle outcomes that count as success for ``last success`` and readiness.
SUCCESS_OUTCOMES = frozenset({"ok", "idle", "dry_run"})


def observe_cycle(result: FinishedCycle) -> None:
    """Count one finished cycle: outcome, duration, findings, archived rows, last success."""
    ledger = result.ledger
    CYCLES.labels(ledger=ledger, outcome=result.outcome).inc()
    seconds = max(0.0, (result.finished - result.started).total_seconds())
    CYCLE_SECONDS.labels(ledger=ledger).observe(seconds)
    if result.outcome in ("ok", "dry_run") or result.findings_at is not None:
        # computed by this cycle, or carried forward from the last that computed them
        FINDINGS.labels(ledger=ledger).set(result.finding_count)
    if result.archived:
        ARCHIVED.labels(ledger=ledger).inc(result.archived)
    if result.outcome in SUCCESS_OUTCOMES:
        LAST_SUCCESS.labels(ledger=ledger).set(result.finished.timestamp())


#: The kinds :func:`record_api_call` counts (see
#: :func:`syncer.connectors.google.transport.metric_kind`); series start at zero.
API_KINDS = ("read", "write", "metadata", "drive", "export")


def init_ledger(ledger: str) -> None:
    """Create every per-ledger series at zero, so a dashboard sees 0 before the first
    429, retry, incident or archived row instead of no series at all."""
    for kind in API_KINDS:
        API_CALLS.labels(ledger=ledger, kind=kind)
        THROTTLED.labels(ledger=ledger, kind=kind)
        RETRIES.labels(ledger=ledger, kind=kind)
    ARCHIVED.labels(ledger=ledger)
    SKIPPED.labels(ledger=ledger)
    INCIDENTS.labels(ledger=ledger)
    INTERRUPTED.labels(ledger=ledger)
    RECOVERED.labels(ledger=ledger)
    for outcome in ("ok", "idle", "failed"):
        CYCLES.labels(ledger=ledger, outcome=outcome)


def record_api_call(ledger: str, kind: str, count: int = 1) -> None:
    """Count ``count`` API calls of ``kind`` (e.g. ``read``, ``write``) for ``ledger``."""
    API_CALLS.labels(ledger=ledger, kind=kind).inc(count)


def record_throttled(ledger: str, kind: str) -> None:
    """Count one 429 answer to a call of ``kind`` for ``ledger``."""
    THROTTLED.labels(ledger=ledger, kind=kind).inc()


def record_retry(ledger: str, kind: str) -> None:
    """Count one retry of a call of ``kind`` for ``ledger`` after a temporary failure."""
    RETRIES.labels(ledger=ledger, kind=kind).inc()


def record_incidents(ledger: str, count: int) -> None:
    """Count ``count`` incidents (repairs, reconciliations) logged for ``ledger``."""
    INCIDENTS.labels(ledger=ledger).inc(count)


def set_interrupted(ledger: str, open_cycles: int) -> None:
    """How many of ``ledger``'s journaled cycles are interrupted and not yet recovered."""
    INTERRUPTED.labels(ledger=ledger).set(open_cycles)


def record_recovered(ledger: str, count: int = 1) -> None:
    """Count interrupted cycles of ``ledger`` that a later cycle recovered."""
    RECOVERED.labels(ledger=ledger).inc(count)


def record_backup(ledger: str, outcome: str) -> None:
    """Count one backup of ``ledger`` with ``outcome`` ``ok`` or ``failed``."""
    BACKUPS.labels(ledger=ledger, outcome=outcome).inc()


def record_skipped(ledger: str) -> None:
    """Count one scheduled cycle of ``ledger`` that did not start (overlap or misfire)."""
    SKIPPED.labels(ledger=ledger).inc()


def record_reload(outcome: str) -> None:
    """Count one reload of the ledger files with ``outcome`` ``ok`` or ``failed``."""
    RELOADS.labels(outcome=outcome).inc()


def render() -> bytes:
    """The registry in Prometheus text exposition format."""
    return generate_latest(REGISTRY)


# --- notifications (syncer.notify) ------------------------------------------------------

NOTIFY_MESSAGES = Counter(
    "syncer_notify_messages",
    "Notifications by destination kind, event and outcome (sent, failed, dropped).",
    ["kind", "event", "outcome"],
    registry=REGISTRY,
)
NOTIFY_RETRIES = Counter(
    "syncer_notify_retries",
    "Notification sends retried after a temporary failure, by kind.",
    ["kind"],
    registry=REGISTRY,
)
NOTIFY_THROTTLED = Counter(
    "syncer_notify_throttled",
    "Rate-limit answers from a notification service (e.g. DingTalk 130101), by kind.",
    ["kind"],
    registry=REGISTRY,
)


def record_notify(kind: str, event: str, outcome: str) -> None:
    """Count one notification of ``event`` to a ``kind`` destination: sent/failed/dropped."""
    NOTIFY_MESSAGES.labels(kind=kind, event=event, outcome=outcome).inc()


def record_notify_retry(kind: str, rate_limited: bool) -> None:
    """Count one retry of a notification (and the service's rate-limit answer, if so)."""
    NOTIFY_RETRIES.labels(kind=kind).inc()
    if rate_limited:
        NOTIFY_THROTTLED.labels(kind=kind).inc()
