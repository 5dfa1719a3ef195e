"""One cycle of one ledger: read → validate → rules → plan → guard → apply → record.

:func:`run_cycle` never raises for a broken source or sheet: the outcome is ``failed``
and ``error`` says which ledger, which source and what to do. Each cycle binds
``ledger`` and ``cycle_id`` to the log context and ends with one ``cycle.finished`` event.

Idle skip: when the source's change token equals the one recorded at the last
successful cycle, the ledger file is unchanged, and no time-based rule can have become
due since (archive conditions with ``older_than``/``newer_than`` count in days in the
ledger's zone: a new calendar day makes them due; hour/minute durations always do), the
cycle ends ``idle`` without reading the source.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

from syncer.connectors.base import Connector, TabRequest
from syncer.errors import ConnectorError, SourceChanged, StateError, SyncerError
from syncer.ledger import (
    All,
    AnyOf,
    Archive,
    Compare,
    Condition,
    LedgerConfig,
    Not,
    parse_duration_days,
)
from syncer.model import ApplyReport, Dropped, Finding, MoveRow, Plan, SetCell, Snapshot
from syncer.planner import build_plan
from syncer.state import LedgerMark, RunRecord, StateStore
from syncer.validate import validate

log = structlog.get_logger("syncer.engine")

#: Called after planning and before applying a plan (e.g. the pre-removal backup).
BeforeRemoval = Callable[[LedgerConfig, Snapshot, Plan, datetime], object]


@dataclass
class CycleResult:
    """What one cycle saw and did."""

    ledger: str
    cycle_id: str
    started: datetime
    finished: datetime
    outcome: str  # "ok" | "idle" | "failed" | "dry_run"
    findings: list[Finding] = field(default_factory=list)
    plan: Plan | None = None
    report: ApplyReport | None = None
    error: str | None = None

    @property
    def archived(self) -> int:
        """Rows moved to the history tab by this cycle."""
        if self.report is None:
            return 0
        return sum(1 for op in self.report.applied if isinstance(op, MoveRow))


def config_hash(ledger: LedgerConfig) -> str:
    """A hash of the ledger's configuration: a changed ledger file is never idle."""
    return hashlib.sha256(ledger.model_dump_json().encode()).hexdigest()[:32]


def _durations(condition: Condition) -> Iterable[str]:
    if isinstance(condition, Compare):
        if condition.op in ("older_than", "newer_than"):
            yield str(condition.value)
    elif isinstance(condition, All):
        for sub in condition.all:
            yield from _durations(sub)
    elif isinstance(condition, AnyOf):
        for sub in condition.any:
            yield from _durations(sub)
    elif isinstance(condition, Not):
        yield from _durations(condition.not_)


def time_rule_due(ledger: LedgerConfig, last_cycle: datetime | None, now: datetime) -> bool:
    """True when a time-based rule may match rows it did not match at ``last_cycle``."""
    durations = [
        d
        for rule in ledger.rules
        if isinstance(rule, Archive) and rule.enabled
        for d in _durations(rule.when)
    ]
    if not durations:
        return False
    if last_cycle is None:
        return True
    for text in durations:
        days = parse_duration_days(text)
        if days is None or not float(days).is_integer():
            return True  # sub-day durations can become due at any moment
    zone = _zone(ledger)
    return last_cycle.astimezone(zone).date() != now.astimezone(zone).date()


def _zone(ledger: LedgerConfig) -> ZoneInfo:
    try:
        return ZoneInfo(ledger.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_idle(
    ledger: LedgerConfig, mark: LedgerMark | None, token: str | None, now: datetime
) -> bool:
    """Whether a cycle may be skipped without reading the source."""
    return (
        mark is not None
        and token is not None
        and mark.change_token == token
        and mark.config_hash == config_hash(ledger)
        and not time_rule_due(ledger, mark.last_cycle, now)
    )


def tab_requests(ledger: LedgerConfig) -> list[TabRequest]:
    """The tabs a cycle reads: main (at its header row), history and errors (row 1)."""
    return [
        TabRequest(ledger.tabs.main, ledger.header_row),
        TabRequest(ledger.tabs.history, 1),
        TabRequest(ledger.tabs.errors, 1),
    ]


def _source_label(ledger: LedgerConfig) -> str:
    source = ledger.source
    if source.connector == "xlsx":
        return f"xlsx workbook {source.path}"
    if source.connector == "google":
        return f"Google spreadsheet {source.spreadsheet}"
    return f"in-memory workbook {source.name}"


def _connector_error(ledger: LedgerConfig, exc: ConnectorError) -> str:
    """The ledger, its source (unless the message names it already) and the message."""
    label = _source_label(ledger)
    named = label.rsplit(" ", 1)[-1] in str(exc)
    return f"ledger {ledger.name!r}{'' if named else f' ({label})'}: {exc}"


def _dropped_keys(dropped: Iterable[Dropped]) -> set[str]:
    keys: set[str] = set()
    for d in dropped:
        if isinstance(d.op, SetCell | MoveRow) and d.op.target.key:
            keys.add(d.op.target.key)
    return keys


def _recordable(
    observed: dict[str, dict[str, str]], skip: set[str]
) -> Mapping[str, Mapping[str, str]]:
    """The observed values to record: all but the rows whose operations were dropped.
    Without drops (the usual cycle) the planner's map is passed on as it is, not copied
    (100,000 rows per cycle)."""
    if not skip:
        return observed
    return {k: v for k, v in observed.items() if k not in skip}


def run_cycle(
    ledger: LedgerConfig,
    connector: Connector,
    store: StateStore,
    now: datetime,
    *,
    dry_run: bool = False,
    cycle_id: str | None = None,
    clock: Callable[[], datetime] | None = None,
    before_removal: BeforeRemoval | None = None,
) -> CycleResult:
    """Run one cycle. Never raises for a broken sheet: failures are in the result.

    ``now`` must be timezone-aware; rules see it in the ledger's zone. ``dry_run``
    computes the plan and stops before writing or recording anything. ``clock`` (optional)
    gives the finishing time for the run record; without it ``finished == now``.
    ``before_removal`` (optional) runs after planning and before applying, e.g. the
    pre-removal backup; if it raises a SyncerError the cycle fails and nothing is applied.
    """
    if now.tzinfo is None:
        raise ValueError("run_cycle needs a timezone-aware `now`")
    now = now.astimezone(_zone(ledger))
    cid = cycle_id or uuid.uuid4().hex[:12]
    result = CycleResult(ledger.name, cid, now, now, "failed")
    with structlog.contextvars.bound_contextvars(ledger=ledger.name, cycle_id=cid):
        try:
            _cycle(ledger, connector, store, now, dry_run, result, before_removal)
        except ConnectorError as exc:
            result.outcome, result.error = "failed", _connector_error(ledger, exc)
        except StateError as exc:
            result.outcome, result.error = "failed", f"ledger {ledger.name!r}: {exc}"
        except SyncerError as exc:
            result.outcome, result.error = "failed", f"ledger {ledger.name!r}: {exc}"
        except Exception as exc:  # a bug must not stop the other ledgers
            log.exception("cycle.crashed")
            result.outcome, result.error = (
                "failed",
                (
                    f"ledger {ledger.name!r}: internal error {exc.__class__.__name__}: {exc};"
                    " please report it with the log of this cycle"
                ),
            )
        result.finished = clock() if clock is not None else now
        if not dry_run:
            _record_run(store, result)
        event = log.warning if result.outcome == "failed" else log.info
        event(
            "cycle.finished",
            outcome=result.outcome,
            findings=len(result.findings),
            planned=len(result.plan) if result.plan is not None else 0,
            applied=len(result.report.applied) if result.report else 0,
            dropped=len(result.report.dropped) if result.report else 0,
            archived=result.archived,
            api_calls=result.report.api_calls if result.report else 0,
            error=result.error,
        )
    return result


def _cycle(
    ledger: LedgerConfig,
    connector: Connector,
    store: StateStore,
    now: datetime,
    dry_run: bool,
    result: CycleResult,
    before_removal: BeforeRemoval | None = None,
) -> None:
    token = connector.change_token()
    if not dry_run and is_idle(ledger, store.mark(ledger.name), token, now):
        result.outcome = "idle"
        return
    snapshot = connector.read(tab_requests(ledger))
    if snapshot.get(ledger.tabs.main) is None:
        raise ConnectorError(
            f"tab {ledger.tabs.main!r} not found; rename the tab back or fix tabs.main in the"
            " ledger file. Nothing was written"
        )
    result.findings = validate(ledger, snapshot)
    previous = store.load(ledger.name)
    planned = build_plan(ledger, snapshot, result.findings, previous, now)
    result.plan = planned.plan
    if dry_run:
        result.outcome = "dry_run"
        return
    if before_removal is not None:
        before_removal(ledger, snapshot, planned.plan, now)
    report, raced = _apply(connector, planned.plan, snapshot)
    result.report = report
    for incident in report.incidents:
        log.warning("cycle.incident", incident=incident)
    observed = _recordable(planned.observed, _dropped_keys(report.dropped))
    # After a write the token is the source's new one. Dropped operations (a person edited
    # meanwhile) leave no token, so the next cycle reads and re-plans instead of idling.
    if raced or report.dropped:
        new_token = None
    else:
        new_token = connector.change_token() if report.applied else token
    store.save(
        ledger.name,
        observed,
        planned.first_seen,
        new_token,
        config_hash=config_hash(ledger),
        now=now,
    )
    moved = [op.target.key for op in report.applied if isinstance(op, MoveRow) and op.target.key]
    if moved:
        store.forget_keys(ledger.name, moved)
    result.outcome = "ok"


def _apply(connector: Connector, plan: Plan, snapshot: Snapshot) -> tuple[ApplyReport, bool]:
    """Apply a non-empty plan; a source saved meanwhile drops everything (re-planned)."""
    if not plan:
        return ApplyReport(), False
    try:
        return connector.apply(plan, snapshot), False
    except SourceChanged as exc:
        log.info("cycle.source_changed", reason=str(exc))
        return ApplyReport(dropped=[Dropped(op, str(exc)) for op in plan], api_calls=1), True


def _record_run(store: StateStore, result: CycleResult) -> None:
    report = result.report or ApplyReport()
    try:
        store.record_run(
            RunRecord(
                ledger=result.ledger,
                cycle_id=result.cycle_id,
                started=result.started,
                finished=result.finished,
                outcome=result.outcome,
                findings=len(result.findings),
                applied=len(report.applied),
                dropped=len(report.dropped),
                archived=result.archived,
                api_calls=report.api_calls,
                error=result.error,
            )
        )
    except StateError as exc:
        log.error("cycle.record_failed", error=str(exc))
        if result.error is None:
            result.outcome, result.error = "failed", f"ledger {result.ledger!r}: {exc}"
