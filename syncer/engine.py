"""One cycle of one ledger, every stage visible here::

    change token ─► read ─► validate ─► reconcile + rules ─► plan
        ─► re-read ─► guard ─► (journal) ─► write ─► verify ─► record

The connector does the I/O of ``read``, ``re-read`` (the guard read), ``write`` and the
verify stage's key read; the engine decides: :func:`syncer.guard.guard` keeps or drops
each operation against the re-read, :mod:`syncer.journal` records the intent of a cycle
that moves, creates or deletes rows before its first write, :mod:`syncer.verify` checks
where the write landed, and :mod:`syncer.reconcile` repairs, from every cycle's read,
what an interrupted cycle left (a key in both tabs, or in neither). The change token
recorded is the one the cycle *read*, advanced only by the cycle's own writes
(:meth:`Connector.settle_token`), so an edit made while the cycle wrote is never
skipped as idle.

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
import operator
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import structlog

from syncer import metrics
from syncer.background import in_background
from syncer.connectors.base import Connector, Progress, TabRequest
from syncer.connectors.retry import RetryPolicy
from syncer.errors import (
    ConnectorError,
    SourceChanged,
    StateError,
    SyncerError,
    WriteNotSent,
)
from syncer.gc_pause import collector_paused_for_cycle
from syncer.guard import guard
from syncer.incremental import (
    DEFAULT_FULL_PASS_EVERY,
    CycleMemo,
    RuleRunner,
    full_pass_reason,
)
from syncer.journal import Intent, Journal, intent_of
from syncer.ledger import LedgerConfig
from syncer.model import (
    ApplyReport,
    Dropped,
    Finding,
    MoveRow,
    Operation,
    Plan,
    SetCell,
    Snapshot,
    Written,
)
from syncer.planner import build_plan
from syncer.reconcile import reconcile
from syncer.rules import ledger_zone, time_rule_due
from syncer.state import LedgerMark, RunRecord, StateStore
from syncer.table_cache import TableCache
from syncer.validate import validate
from syncer.validate.incremental import validate_incremental
from syncer.verify import verify

log = structlog.get_logger("syncer.engine")

#: Journal entries a cycle reads for reconciliation: its own ledger's most recent ones.
RECENT_JOURNAL = 20

#: Tries of a guarded write Google refuses for a temporary reason (each after a fresh
#: guard read), and the waits between them.
WRITE_ATTEMPTS = 4
_WRITE_BACKOFF = RetryPolicy(base=0.5, cap=8.0)

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
    #: the findings as the errors tab lists them after this cycle (empty unless it
    #: computed them: an idle or failed cycle carries a count instead, see below)
    findings: list[Finding] = field(default_factory=list)
    plan: Plan | None = None
    report: ApplyReport | None = None
    error: str | None = None
    #: API calls (or file loads and saves) the whole cycle made, idle check included.
    api_calls: int = 0
    #: when the counted findings were computed: ``started`` for a cycle that computed
    #: them, an earlier cycle's start for an idle or failed one, None when unknown
    findings_at: datetime | None = None
    #: an idle or failed cycle: the count of the last cycle that computed findings
    carried_findings: int | None = None
    #: why the cycle validated every row (see :mod:`syncer.incremental`), None when it
    #: validated only the changed rows (or did not validate)
    full_pass: str | None = None
    #: main-tab rows the cycle validated (the others' results were kept); None when it
    #: did not validate
    rows_checked: int | None = None

    @property
    def finding_count(self) -> int:
        """The one count of findings: this cycle's, or the one it carries forward."""
        return len(self.findings) if self.carried_findings is None else self.carried_findings

    @property
    def archived(self) -> int:
        """Rows moved to the history tab by this cycle."""
        if self.report is None:
            return 0
        return sum(1 for op in self.report.applied if isinstance(op, MoveRow))


def config_hash(ledger: LedgerConfig) -> str:
    """A hash of the ledger's configuration: a changed ledger file is never idle."""
    return hashlib.sha256(ledger.model_dump_json().encode()).hexdigest()[:32]


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


def _connector_error(ledger: LedgerConfig, source: str, exc: ConnectorError) -> str:
    """The ledger, its source (unless the message names it already) and the message."""
    text = str(exc)
    named = source.rsplit(" ", 1)[-1] in text
    if text.startswith(f"ledger {ledger.name!r}"):
        return text
    return f"ledger {ledger.name!r}{'' if named else f' ({source})'}: {text}"


def _unrecorded_keys(report: ApplyReport) -> set[str]:
    """Keys whose observed values must not be recorded: an operation on them was dropped
    (a person edited meanwhile) or missed its row. The next cycle plans them again."""
    keys = set(report.misplaced)
    for d in report.dropped:
        if isinstance(d.op, SetCell | MoveRow) and d.op.target.key:
            keys.add(d.op.target.key)
    return keys


def _recordable(
    observed: dict[str, dict[str, str]], skip: set[str]
) -> Mapping[str, Mapping[str, str]]:
    """The observed values to record: all but the rows in ``skip``. Without any (the
    usual cycle) the planner's map is passed on as it is, not copied (100,000 rows)."""
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
    full_pass_every: timedelta = DEFAULT_FULL_PASS_EVERY,
) -> CycleResult:
    """Run one cycle. Never raises for a broken sheet: failures are in the result.

    ``now`` must be timezone-aware; rules see it in the ledger's zone. ``dry_run``
    computes the plan and stops before writing or recording anything. ``clock`` (optional)
    gives the finishing time for the run record; without it ``finished == now``.
    ``before_removal`` (optional) runs after planning and before applying, e.g. the
    pre-removal backup; if it raises a SyncerError the cycle fails and nothing is applied.
    ``full_pass_every`` (``SYNCER_FULL_PASS_HOURS``) bounds the time between full passes of
    validation (:mod:`syncer.incremental`); zero makes every cycle one.
    """
    if now.tzinfo is None:
        raise ValueError("run_cycle needs a timezone-aware `now`")
    now = now.astimezone(ledger_zone(ledger))
    cid = cycle_id or uuid.uuid4().hex[:12]
    result = CycleResult(ledger.name, cid, now, now, "failed")
    with structlog.contextvars.bound_contextvars(ledger=ledger.name, cycle_id=cid):
        calls = connector.calls_made()
        try:
            with collector_paused_for_cycle():  # see syncer.gc_pause: 1-2 s of a 100k cycle
                _cycle(
                    ledger, connector, store, now, dry_run, result, before_removal, full_pass_every
                )
        except ConnectorError as exc:
            result.outcome = "failed"
            result.error = _connector_error(ledger, connector.describe(), exc)
        except SyncerError as exc:
            result.outcome, result.error = "failed", _prefixed(ledger, str(exc))
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
        result.api_calls = connector.calls_made() - calls
        if result.outcome in ("idle", "failed"):
            _carry_findings(store, result)
        if not dry_run:
            _record_run(store, result)
        event = log.warning if result.outcome == "failed" else log.info
        event(
            "cycle.finished",
            outcome=result.outcome,
            findings=result.finding_count,
            planned=len(result.plan) if result.plan is not None else 0,
            applied=len(result.report.applied) if result.report else 0,
            dropped=len(result.report.dropped) if result.report else 0,
            archived=result.archived,
            api_calls=result.api_calls,
            incidents=len(result.report.incidents) if result.report else 0,
            full_pass=result.full_pass,
            rows_checked=result.rows_checked,
            error=result.error,
        )
    return result


def _prefixed(ledger: LedgerConfig, text: str) -> str:
    """``text`` under the ledger's name, unless it names the ledger already."""
    if text.startswith((f"ledger {ledger.name!r}", f"ledger {ledger.name}:")):
        return text
    return f"ledger {ledger.name!r}: {text}"


def _cycle(
    ledger: LedgerConfig,
    connector: Connector,
    store: StateStore,
    now: datetime,
    dry_run: bool,
    result: CycleResult,
    before_removal: BeforeRemoval | None = None,
    full_pass_every: timedelta = DEFAULT_FULL_PASS_EVERY,
) -> None:
    read_token = connector.change_token()
    writes_before = connector.write_calls()
    journal = Journal(store)
    mark = None if dry_run else store.mark(ledger.name)
    left_open = [] if dry_run else journal.interrupted(ledger.name)
    if not dry_run and is_idle(ledger, mark, read_token, now) and not left_open:
        result.outcome = "idle"  # an interrupted cycle is never idle
        return
    if left_open:  # a crash may have left a write lock held: the read releases it
        connector.after_interruption()
    snapshot = connector.read(tab_requests(ledger))
    if snapshot.get(ledger.tabs.main) is None:
        raise ConnectorError(
            f"tab {ledger.tabs.main!r} not found; rename the tab back or fix tabs.main in the"
            " ledger file. Nothing was written"
        )
    memo = store.memo(ledger.name)
    runner: RuleRunner | None = None
    if dry_run:  # `syncer plan`: the full pass, nothing kept
        result.full_pass = "dry_run"
        result.findings = validate(ledger, snapshot)
        validation = None
    else:
        reason = full_pass_reason(memo, mark, config_hash(ledger), now, full_pass_every)
        usable = memo if reason is None and isinstance(memo, CycleMemo) else None
        kept = usable.validation if usable is not None else None
        result.findings, validation = validate_incremental(ledger, snapshot, kept)
        result.full_pass = reason
        runner = (
            RuleRunner(validation, usable.tracked, usable.saved[1])
            if usable is not None
            else RuleRunner(validation)
        )
    main_rows = snapshot.tables[ledger.tabs.main].rows
    result.rows_checked = validation.checked if validation is not None else len(main_rows)
    previous = store.load(ledger.name)
    recent = journal.entries(ledger.name, limit=RECENT_JOURNAL, full_intents=False)
    interrupted = [e for e in recent if e.status == "open"]
    for entry in interrupted:
        log.warning(
            "cycle.interrupted_found",
            interrupted_cycle=entry.cycle_id,
            writes_done=entry.writes_done,
            writes_planned=entry.writes_planned,
        )
    cache = TableCache()  # column reads shared by the stages of this cycle
    repairs = reconcile(ledger, snapshot.tables, recent, cache)
    if runner is None:
        planned = build_plan(ledger, snapshot, result.findings, previous, now, cache=cache)
    else:
        planned = build_plan(
            ledger, snapshot, result.findings, previous, now, runner=runner, cache=cache
        )
    result.findings, result.findings_at = list(planned.findings), now
    plan = Plan(ledger.name, (*planned.plan.ops, *repairs.ops), planned.plan.key_column)
    result.plan = plan
    if dry_run:
        result.outcome = "dry_run"
        return
    if before_removal is not None:
        before_removal(ledger, snapshot, plan, now)
    context = JournalContext(journal, ledger.name, result.cycle_id, now)
    report = apply_plan(connector, plan, snapshot, journal=context, cache=cache)
    report.incidents[:0] = repairs.incidents
    # Interrupted cycles are recovered once every repair of this cycle landed.
    recovered = interrupted if set(repairs.ops) <= set(report.applied) else []
    report.incidents.extend(
        f"interrupted cycle {e.cycle_id} ({e.writes_done} of {e.writes_planned} write calls"
        " had landed) recovered: the tabs are reconciled"
        for e in recovered
    )
    result.report = report
    for incident in report.incidents:
        log.warning("cycle.incident", incident=incident)
    if report.incidents:
        metrics.record_incidents(ledger.name, len(report.incidents))
    unrecorded = _unrecorded_keys(report)
    observed = _recordable(planned.observed, unrecorded)
    # The token the cycle read, advanced only by syncer's own writes: an edit made while
    # it wrote leaves the recorded token behind, so the next cycle reads. A dropped
    # operation or a repair leaves no token at all: the next cycle re-plans.
    if report.dropped or report.incidents:
        new_token = None
    else:
        writes = connector.write_calls() - writes_before
        new_token = connector.settle_token(read_token, writes)
    moved = [op.target.key for op in report.applied if isinstance(op, MoveRow) and op.target.key]
    store.save(
        ledger.name,
        observed,
        planned.first_seen,
        new_token,
        config_hash=config_hash(ledger),
        now=now,
        forget=moved,
    )
    full_at = memo.full_at if result.full_pass is None and isinstance(memo, CycleMemo) else now
    tracked: frozenset[int] = frozenset()
    if runner is not None:
        runner.unrecorded(unrecorded | set(moved))
        tracked = frozenset(runner.tracked_now)
    saved = (config_hash(ledger), now)
    store.keep_memo(ledger.name, CycleMemo(validation, full_at, saved, tracked=tracked))
    journal.finish(ledger.name, result.cycle_id, now)
    if recovered:
        journal.recovered(ledger.name, [e.cycle_id for e in recovered], result.cycle_id, now)
        metrics.record_recovered(ledger.name, len(recovered))
        log.warning(
            "cycle.recovered",
            recovered=[e.cycle_id for e in recovered],
            repairs=len(repairs.ops),
        )
    metrics.set_interrupted(ledger.name, len(journal.interrupted(ledger.name)))
    result.outcome = "ok"


@dataclass
class JournalContext:
    """Where :func:`apply_plan` journals a cycle that changes rows."""

    journal: Journal
    ledger: str
    cycle_id: str
    now: datetime
    begun: bool = False
    #: the intent of a whole plan, worked out on a thread (see :meth:`prepare`)
    _ahead: tuple[Plan, Future[Intent]] | None = field(default=None, init=False, repr=False)

    def open(self) -> None:
        """Begin the cycle's entry with no intent yet (before a write lock is taken)."""
        if not self.begun:
            self.journal.begin(self.ledger, self.cycle_id, self.now, Intent(), 1)
            self.begun = True

    def prepare(self, plan: Plan) -> None:
        """Work out and serialize the intent of every operation of ``plan`` on a thread,
        while the guard read is out: when the guard keeps them all (the usual answer),
        :meth:`intend` only writes it. An archive's intent is megabytes of JSON, and the
        time between the guard read and the write is the time the guard cannot see."""

        def work() -> Intent:
            intent = intent_of(plan.ops, plan.key_column)
            _ = intent.stored  # serialized here
            return intent

        self._ahead = (plan, in_background(work, "syncer-journal-ahead"))

    def _intent_of(self, ops: Sequence[Operation], key_column: str | None) -> Intent:
        """The intent of ``ops``: the prepared one when they are the prepared plan's very
        operations (an error there is met again here)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            plan, future = ahead
            same = len(ops) == len(plan.ops) and all(map(operator.is_, ops, plan.ops))
            if same and key_column == plan.key_column and future.exception() is None:
                return future.result()
        return intent_of(ops, key_column)

    def intend(self, ops: Sequence[Operation], key_column: str | None) -> Progress | None:
        """Record the intent of ``ops`` before the write (a retry after a refused write
        replaces it); the per-call progress recorder once the cycle has an entry."""
        intent = self._intent_of(ops, key_column)
        if intent and self.begun:
            self.journal.revise(self.ledger, self.cycle_id, intent)
        elif intent:
            self.journal.begin(self.ledger, self.cycle_id, self.now, intent, 1)
            self.begun = True
        return partial(self.journal.progress, self.ledger, self.cycle_id) if self.begun else None


def apply_plan(
    connector: Connector,
    plan: Plan,
    snapshot: Snapshot,
    *,
    journal: JournalContext | None = None,
    cache: TableCache | None = None,
) -> ApplyReport:
    """The write half of a cycle: re-read → guard → (journal) → write → verify.

    ``plan`` was computed from ``snapshot``. The guard read is the connector's last call
    before the write; nothing but local work (the guard, request building, and — for a
    plan that moves, creates or deletes rows — one journal insert) separates them. A
    source saved meanwhile (:class:`SourceChanged`) drops the whole plan, re-planned next
    cycle. Never raises for a dropped operation: the report says what happened.
    ``cache``: the cycle's column reads (the guard and the verify stage share theirs)."""
    report = ApplyReport()
    if not plan:
        return report
    calls = connector.calls_made()
    try:
        made = cache if cache is not None else TableCache()
        report = _write_half(connector, plan, snapshot, journal, made)
    finally:
        connector.release_locks()  # a write lock outlives only a write that did not land
        report.api_calls = connector.calls_made() - calls
    return report


def _write_half(
    connector: Connector,
    plan: Plan,
    snapshot: Snapshot,
    journal: JournalContext | None,
    cache: TableCache,
) -> ApplyReport:
    report = ApplyReport()
    refused = connector.over_limits(plan, snapshot)
    if refused:
        for reason, count in Counter(d.reason for d in refused).items():
            log.warning("cycle.over_limit", reason=reason, operations=count)
        report.dropped.extend(refused)
        skip = {id(d.op) for d in refused}
        plan = Plan(plan.ledger, tuple(op for op in plan if id(op) not in skip), plan.key_column)
        if not plan:
            return report
    landed = _guarded_write(connector, plan, snapshot, journal, report, cache)
    if landed is None:
        return report
    written, fresh = landed
    checked_after = verify(connector, written, fresh, snapshot, plan.key_column, cache)
    report.incidents.extend(checked_after.incidents)
    report.misplaced |= checked_after.misplaced
    if checked_after.repairs and checked_after.now is not None:
        fixes = Plan(plan.ledger, tuple(checked_after.repairs), plan.key_column)
        repaired = ApplyReport()
        again = _guarded_write(connector, fixes, checked_after.now, None, repaired, cache)
        if again is not None:
            report.incidents.extend(repaired.incidents)
        report.dropped.extend(repaired.dropped)
    return report


def _guarded_write(
    connector: Connector,
    plan: Plan,
    snapshot: Snapshot,
    journal: JournalContext | None,
    report: ApplyReport,
    cache: TableCache,
) -> tuple[Written, Snapshot] | None:
    """Guard read → guard → (journal) → write, into ``report``; the write and the guard
    read it was checked against, or None when nothing was written.

    A write Google refuses before applying any of it (:class:`WriteNotSent`) is not
    repeated as it was — it was checked against a read that is old by then: after a wait,
    the guard read and the guard run again (up to :data:`WRITE_ATTEMPTS` tries)."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            if journal is not None and connector.locks_writes:
                journal.open()  # before the lock: a crash holding it is found and undone
            if journal is not None:
                journal.prepare(plan)  # during the guard read
            fresh = connector.reread(plan, snapshot)
            checked = guard(plan, snapshot, fresh, cache)
            if not checked.kept:
                report.dropped.extend(checked.dropped)
                return None
            kept = [r.op for r in checked.kept]
            progress = journal.intend(kept, plan.key_column) if journal is not None else None
            written = connector.write(checked.kept, fresh, snapshot, progress)
        except SourceChanged as exc:
            log.info("cycle.source_changed", reason=str(exc))
            report.dropped.extend(Dropped(op, str(exc)) for op in plan)
            return None
        except WriteNotSent as exc:
            connector.release_locks()  # people are not kept out while syncer waits
            if attempt + 1 == WRITE_ATTEMPTS:
                log.warning("cycle.write_refused", error=str(exc), attempts=attempt + 1)
                report.dropped.extend(
                    Dropped(op, f"Google refused the write ({exc}); planned again next cycle")
                    for op in plan
                )
                return None
            wait = _WRITE_BACKOFF.backoff(attempt, exc.retry_after)
            log.warning("cycle.write_refused", error=str(exc), retry_in=round(wait, 1))
            time.sleep(wait)
            continue
        report.dropped.extend(checked.dropped)
        report.applied.extend(written.applied)
        report.dropped.extend(written.dropped)
        report.incidents.extend(written.incidents)
        return written, fresh
    return None


def _carry_findings(store: StateStore, result: CycleResult) -> None:
    """An idle or failed cycle computed no findings (or none that reached the sheet): it
    carries the count of the last cycle that did, and when that was, so the status, the
    metric and the run record keep saying what the errors tab says."""
    try:
        last = store.last_findings(result.ledger)
    except StateError as exc:
        log.warning("cycle.findings_unknown", error=str(exc))
        last = None
    result.findings = []
    result.carried_findings, result.findings_at = last if last is not None else (None, None)


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
                findings=result.finding_count,
                applied=len(report.applied),
                dropped=len(report.dropped),
                archived=result.archived,
                api_calls=result.api_calls,
                error=result.error,
                findings_at=result.findings_at,
            )
        )
    except StateError as exc:
        log.error("cycle.record_failed", error=str(exc))
        if result.error is None:
            result.outcome, result.error = "failed", f"ledger {result.ledger!r}: {exc}"
