"""From cycles to messages: which events happened, to whom, and when to send them.

The daemon calls :meth:`Notifier.after_cycle` after every cycle (on the cycle's pool
thread) and wraps its pre-removal hook with :meth:`Notifier.tap`, which lets the
notifier see the snapshot a cycle read (for customer keys and the owner column). A
timer thread calls :meth:`Notifier.tick` for digests and debounced findings. None of
these raise or block on a send: messages go to the :class:`Dispatcher`'s queue.

Events:

* ``new_findings`` — findings not yet announced to a destination; at most one message
  per ``debounce`` interval; the first sighting of a ledger only records what is open.
* ``archived`` — rows a cycle moved to the history tab.
* ``cycle_failed`` — ``failures`` failed cycles in a row, or at once for an exhausted
  quota or a sheet that refuses access (403); one alert per failure streak.
* ``recovered`` — the first success after an alerted streak; also an interrupted cycle
  recovered: a cycle incident mentioning an interruption (the write journal's
  reconciliation), or a call to :meth:`Notifier.interrupted_recovered`.
* ``digest`` — on the destination's cron in the ledger's time zone: open findings by
  column and owner, customers archived, new customers, IDs assigned since the last one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog
from apscheduler.triggers.cron import CronTrigger

from syncer.ledger import AssignId, LedgerConfig
from syncer.model import CellValue, Finding, MoveRow, Plan, SetCell, Snapshot, canonical, is_blank
from syncer.notify import compose
from syncer.notify.config import DestinationBase, destination_id, duration_seconds
from syncer.notify.dispatch import Dispatcher
from syncer.notify.message import Link, Message
from syncer.notify.services import AnyDestination
from syncer.notify.store import NotifyStore

if TYPE_CHECKING:
    from syncer.engine import CycleResult
    from syncer.state import RunRecord

log = structlog.get_logger("syncer.notify")

SUCCESS = frozenset({"ok", "idle", "dry_run"})
#: A digest more than this late (the daemon was down at its time) is skipped.
DIGEST_GRACE = timedelta(hours=12)
#: notify_event rows older than this are pruned.
KEEP_EVENTS = timedelta(days=35)

BeforeRemoval = Callable[[LedgerConfig, Snapshot, Plan, datetime], object]


def failure_reason(error: str | None) -> str:
    """``quota``, ``unshared`` or ``failed`` for a cycle's error message."""
    text = (error or "").lower()
    if "quota" in text or "429" in text or "rate limit" in text:
        return "quota"
    if "(403)" in text or "403" in text.split() or "share the spreadsheet" in text:
        return "unshared"
    return "failed"


@dataclass
class _Seen:
    """What the tap saw of a cycle's snapshot."""

    keys: set[str]
    owners_by_key: dict[str, str]
    owners_by_row: dict[int, str]
    errors_gid: int | None


@dataclass
class _View:
    ledger: LedgerConfig
    streak: int | None = None
    findings: list[Finding] | None = None
    pending: _Seen | None = None
    errors_gid: int | None = None
    keys: set[str] | None = field(default=None, repr=False)
    keys_loaded: bool = False
    #: New findings wait for a destination's debounce interval (the timer sends them).
    waiting: bool = False


class Notifier:
    """Turns cycle results into notifications for each ledger's destinations."""

    def __init__(
        self,
        store: NotifyStore,
        dispatcher: Dispatcher,
        *,
        ops: Sequence[AnyDestination] = (),
        runs: Callable[[str, int], list[RunRecord]] | None = None,
        clock: Callable[[], datetime] | None = None,
        status_url: str | None = None,
        tick_seconds: float = 30.0,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.ops = list(ops)
        self._runs = runs
        self._clock = clock or (lambda: datetime.now(UTC))
        self._status_url = status_url
        self._tick_seconds = tick_seconds
        self._lock = threading.RLock()
        self._views: dict[str, _View] = {}
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._pruned: datetime | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the dispatcher and the digest timer."""
        self.dispatcher.start()
        self._stop.clear()
        self._timer = threading.Thread(
            target=self._tick_loop, name="syncer-notify-tick", daemon=True
        )
        self._timer.start()

    def stop(self) -> None:
        """Stop the timer and the dispatcher."""
        self._stop.set()
        if self._timer is not None:
            self._timer.join(5)
            self._timer = None
        self.dispatcher.stop()

    def _tick_loop(self) -> None:
        while not self._stop.wait(self._tick_seconds):
            self.tick()

    def watch(self, ledgers: Sequence[LedgerConfig]) -> None:
        """Know these ledgers (their digests run even before their first cycle)."""
        with self._lock:
            for ledger in ledgers:
                self._view(ledger)
                for dest_id, dest in self.destinations(ledger):
                    if dest.owner_column and dest.owner_column not in ledger.columns:
                        log.warning(
                            "notify.owner_column_unknown",
                            ledger=ledger.name,
                            destination=dest_id,
                            owner_column=dest.owner_column,
                            hint="name one of the ledger's columns; the digest skips owners",
                        )

    # --- destinations -------------------------------------------------------------------

    def destinations(self, ledger: LedgerConfig) -> list[tuple[str, AnyDestination]]:
        """The ledger's destinations and the process-wide ops ones, each with its id."""
        own = [(destination_id(d, i), d) for i, d in enumerate(ledger.notify)]
        ops = [(f"ops.{destination_id(d, i)}", d) for i, d in enumerate(self.ops)]
        return own + ops

    def _wanting(self, ledger: LedgerConfig, event: str) -> list[tuple[str, AnyDestination]]:
        return [(i, d) for i, d in self.destinations(ledger) if event in d.when]

    def _send(self, dest_id: str, destination: AnyDestination, message: Message) -> None:
        self.dispatcher.submit(destination, dest_id, message)

    def _links(self, view: _View) -> tuple[Link, ...]:
        links = compose.sheet_links(view.ledger, view.errors_gid)
        if self._status_url:
            from syncer.i18n import t

            links += (Link(t(view.ledger.locale, "notify.link.status"), self._status_url),)
        return links

    def _view(self, ledger: LedgerConfig) -> _View:
        view = self._views.get(ledger.name)
        if view is None:
            view = self._views[ledger.name] = _View(ledger)
        view.ledger = ledger
        return view

    # --- hooks --------------------------------------------------------------------------

    def tap(self, inner: BeforeRemoval | None) -> BeforeRemoval:
        """Wrap a cycle's pre-removal hook: note the snapshot, then call ``inner``."""

        def before_removal(
            ledger: LedgerConfig, snapshot: Snapshot, plan: Plan, now: datetime
        ) -> object:
            try:
                self.observe(ledger, snapshot)
            except Exception:  # never let notifications break a cycle
                log.exception("notify.observe_failed", ledger=ledger.name)
            return inner(ledger, snapshot, plan, now) if inner is not None else None

        return before_removal

    def observe(self, ledger: LedgerConfig, snapshot: Snapshot) -> None:
        """Note keys, owners and the errors tab id of a cycle's snapshot."""
        if not self._wanting(ledger, "digest"):
            return
        table = snapshot.get(ledger.tabs.main)
        if table is None:
            return
        owner = self._owner(ledger)
        keys_cells = table.column_values(ledger.key)
        owner_cells: list[CellValue] = table.column_values(owner) if owner else []
        keys: set[str] = set()
        by_key: dict[str, str] = {}
        by_row: dict[int, str] = {}
        for index, cell in enumerate(keys_cells):
            key = canonical(cell).strip() if not is_blank(cell) else ""
            if key:
                keys.add(key)
            if owner_cells:
                who = canonical(owner_cells[index]).strip()
                if key:
                    by_key[key] = who
                by_row[table.sheet_row(index)] = who
        errors = snapshot.get(ledger.tabs.errors)
        with self._lock:
            self._view(ledger).pending = _Seen(
                keys, by_key, by_row, errors.sheet_id if errors is not None else None
            )

    def _owner(self, ledger: LedgerConfig) -> str | None:
        for _, dest in self._wanting(ledger, "digest"):
            found = compose.owner_column(ledger, dest.owner_column)
            if found is not None:
                return found
        return None

    def after_cycle(self, ledger: LedgerConfig, result: CycleResult) -> None:
        """React to one finished cycle; never raises."""
        if not self.destinations(ledger):
            return
        try:
            with self._lock:
                self._after_cycle(ledger, result)
        except Exception:
            log.exception("notify.after_cycle_failed", ledger=ledger.name)

    def _after_cycle(self, ledger: LedgerConfig, result: CycleResult) -> None:
        view = self._view(ledger)
        now = self._clock()
        seen, view.pending = view.pending, None
        if seen is not None:
            view.errors_gid = seen.errors_gid
        self._failures(view, result)
        if result.outcome != "ok":
            return
        for incident in result.report.incidents if result.report is not None else []:
            if "interrupt" in incident.lower():
                self.interrupted_recovered(ledger, incident)
        view.findings = list(result.findings)
        owner = self._owner(ledger)
        if self._wanting(ledger, "digest"):
            owners = self._owners_of(result.findings, seen)
            summary = compose.summarize(result.findings, owners, ledger.locale, owner)
            self.store.set_mark(ledger.name, "*", "summary", now, summary.to_json())
            self._tally(view, result, seen, now)
        self._archived(view, result)
        self._new_findings(view, now)

    @staticmethod
    def _owners_of(findings: Sequence[Finding], seen: _Seen | None) -> dict[str, str]:
        if seen is None:
            return {}
        owners: dict[str, str] = {}
        for f in findings:
            who = seen.owners_by_key.get(f.key or "") if f.key else None
            if who is None and f.row is not None:
                who = seen.owners_by_row.get(f.row)
            if who:
                owners[f.identity] = who
        return owners

    # --- failures -----------------------------------------------------------------------

    def _failures(self, view: _View, result: CycleResult) -> None:
        name = view.ledger.name
        if view.streak is None:
            view.streak = self._history_streak(name, result)
        elif result.outcome == "failed":
            view.streak += 1
        if result.outcome == "failed":
            reason = failure_reason(result.error)
            for dest_id, dest in self._wanting(view.ledger, "cycle_failed"):
                if self.store.mark(name, dest_id, "alerted") is not None:
                    continue
                if reason == "failed" and view.streak < dest.failures:
                    continue
                self.store.set_mark(name, dest_id, "alerted", self._clock(), reason)
                message = compose.cycle_failed(
                    view.ledger, reason, view.streak, result.error, self._links(view)
                )
                self._send(dest_id, dest, message)
            return
        if result.outcome not in SUCCESS:
            return
        streak, view.streak = view.streak, 0
        for dest_id, dest in self.destinations(view.ledger):
            if self.store.mark(name, dest_id, "alerted") is None:
                continue
            self.store.clear_mark(name, dest_id, "alerted")
            if "recovered" in dest.when:
                self._send(
                    dest_id, dest, compose.recovered(view.ledger, streak, links=self._links(view))
                )

    def _history_streak(self, name: str, result: CycleResult) -> int:
        """Failed cycles in a row up to and including ``result``, from the run history."""
        runs = self._runs(name, 200) if self._runs is not None else []
        streak = 0
        counted_current = False
        for run in runs:
            if run.outcome != "failed":
                break
            streak += 1
            counted_current = counted_current or run.cycle_id == result.cycle_id
        if result.outcome != "failed":
            return streak
        return streak if counted_current else streak + 1

    def interrupted_recovered(self, ledger: LedgerConfig, detail: str) -> None:
        """Tell ``recovered`` destinations that an interrupted cycle was recovered."""
        with self._lock:
            view = self._view(ledger)
            for dest_id, dest in self._wanting(ledger, "recovered"):
                self._send(
                    dest_id, dest, compose.recovered(ledger, 0, detail, links=self._links(view))
                )

    # --- digest material ------------------------------------------------------------------

    def _tally(self, view: _View, result: CycleResult, seen: _Seen | None, now: datetime) -> None:
        ledger = view.ledger
        applied = result.report.applied if result.report is not None else []
        moved = [op for op in applied if isinstance(op, MoveRow)]
        self.store.add_event(
            ledger.name, now, "archived", len(moved), [self._moved_line(op) for op in moved]
        )
        id_rules = {r.name or r.kind for r in ledger.rules if isinstance(r, AssignId)}
        assigned = [
            canonical(op.value)
            for op in applied
            if isinstance(op, SetCell) and op.column == ledger.key and op.rule in id_rules
        ]
        self.store.add_event(ledger.name, now, "ids_assigned", len(assigned), assigned)
        if seen is None:
            return
        if not view.keys_loaded:
            view.keys = self.store.keys(ledger.name)
            view.keys_loaded = True
        before = view.keys
        current = (seen.keys | set(assigned)) - {op.target.key for op in moved if op.target.key}
        if before is not None:
            new = sorted(seen.keys - before)
            self.store.add_event(
                ledger.name, now, "new_customers", len(new) + len(assigned), new + assigned
            )
        if before != current:
            self.store.update_keys(ledger.name, before, current)
            view.keys = current

    @staticmethod
    def _moved_line(op: MoveRow) -> str:
        key = op.target.key or f"#{op.target.row}"
        return f"{key} · {op.reason}" if op.reason else key

    def _archived(self, view: _View, result: CycleResult) -> None:
        if result.report is None:
            return
        moved = [op for op in result.report.applied if isinstance(op, MoveRow)]
        if not moved:
            return
        items = [self._moved_line(op) for op in moved]
        for dest_id, dest in self._wanting(view.ledger, "archived"):
            self._send(dest_id, dest, compose.archived(view.ledger, items, self._links(view)))

    # --- new findings (debounced) ---------------------------------------------------------

    def _new_findings(self, view: _View, now: datetime) -> None:
        findings = view.findings
        if findings is None:
            return
        name = view.ledger.name
        current = {f.identity: f for f in findings}
        view.waiting = False
        for dest_id, dest in self._wanting(view.ledger, "new_findings"):
            baseline = self.store.mark(name, dest_id, "findings_baseline")
            if baseline is None:
                self.store.set_seen(name, dest_id, current)
                self.store.set_mark(name, dest_id, "findings_baseline", now)
                continue
            announced = self.store.seen(name, dest_id)
            still = announced & current.keys()
            pending = [f for i, f in current.items() if i not in announced]
            last = self.store.mark(name, dest_id, "findings_sent")
            due = (
                last is None
                or last.at is None
                or (now - last.at >= timedelta(seconds=duration_seconds(dest.debounce)))
            )
            if pending and due:
                message = compose.new_findings(
                    view.ledger, pending, len(findings), self._links(view)
                )
                self._send(dest_id, dest, message)
                self.store.set_seen(name, dest_id, still | {f.identity for f in pending})
                self.store.set_mark(name, dest_id, "findings_sent", now)
            else:
                view.waiting = view.waiting or bool(pending)
                if still != announced:
                    self.store.set_seen(name, dest_id, still)

    # --- the timer ----------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> None:
        """Send due digests and debounced findings; never raises."""
        now = now or self._clock()
        with self._lock:
            views = list(self._views.values())
        for view in views:
            try:
                with self._lock:
                    self._digests(view, now)
                    if view.waiting:
                        self._new_findings(view, now)
            except Exception:
                log.exception("notify.tick_failed", ledger=view.ledger.name)
        if self._pruned is None or now - self._pruned > timedelta(hours=6):
            try:
                self.store.prune_events(now - KEEP_EVENTS)
                self._pruned = now
            except Exception:
                log.exception("notify.prune_failed")

    def _digests(self, view: _View, now: datetime) -> None:
        ledger = view.ledger
        for dest_id, dest in self._wanting(ledger, "digest"):
            last = self.store.mark(ledger.name, dest_id, "digest")
            if last is None or last.at is None:
                self.store.set_mark(ledger.name, dest_id, "digest", now)
                continue
            due = next_digest(dest, ledger, last.at)
            if due is None or due > now:
                continue
            self.store.set_mark(ledger.name, dest_id, "digest", now)
            if now - due > DIGEST_GRACE:
                log.info(
                    "notify.digest_skipped", ledger=ledger.name, destination=dest_id, due=str(due)
                )
                continue
            self._send(dest_id, dest, self.digest_message(ledger, dest, last.at, now))

    def digest_message(
        self, ledger: LedgerConfig, dest: DestinationBase, since: datetime, now: datetime
    ) -> Message:
        """The digest of ``ledger`` for the period ``since`` → ``now``."""
        found = self.store.mark(ledger.name, "*", "summary")
        if found is not None and found.text:
            summary = compose.FindingSummary.from_json(found.text)
        else:
            summary = compose.FindingSummary(self._last_findings(ledger.name), {}, {})
        owner = compose.owner_column(ledger, dest.owner_column)
        tally = self.store.tally(ledger.name, since)
        view = self._view(ledger)
        return compose.digest(ledger, summary, owner, tally, since, now, self._links(view))

    def _last_findings(self, name: str) -> int:
        runs = self._runs(name, 50) if self._runs is not None else []
        return next((r.findings for r in runs if r.outcome == "ok"), 0)


def next_digest(dest: DestinationBase, ledger: LedgerConfig, after: datetime) -> datetime | None:
    """The first digest time of ``dest`` after ``after`` (in the ledger's zone)."""
    trigger = CronTrigger.from_crontab(dest.digest, timezone=ZoneInfo(ledger.timezone))
    found: Any = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
    return found.astimezone(UTC) if found is not None else None
