"""When a cycle may work incrementally, and what it keeps between cycles.

A cycle validates only the rows whose content changed since the last successful cycle
(:mod:`syncer.validate.incremental`; the uniqueness checks still see whole columns) and
keeps a :class:`CycleMemo` in the state store's per-ledger memory
(:meth:`syncer.state.StateStore.keep_memo`), never in the database. A **full pass**
(every row checked, the memo rebuilt) runs when:

* there is no memo: the process just started, or the ledger never had a successful
  cycle here (``no_memo``);
* the state has no mark for the ledger — a new or emptied database (``state_missing``);
* the ledger file changed (``config_changed``);
* the state's mark is not the one this process saved with the memo: another replica
  ran a cycle of the ledger, or the state database was restored or copied
  (``state_changed``);
* the memo was made by another version of the incremental code (``version``);
* the last full pass is older than ``SYNCER_FULL_PASS_HOURS`` (``scheduled``; 0 makes
  every cycle a full pass).

Rules (:class:`RuleRunner`): ``normalize`` runs only on the rows the validation did not
know (new content, blank rows) and the rows it proposed a write for at the last cycle:
its decisions depend on a row's own values, so a known row it left alone is left alone
again. ``archive`` runs on the rows the validation did not know, the rows its condition
matched at the last cycle, and the rows where a time-based part of the condition
(``older_than``/``newer_than``, evaluated on its date column alone for every row, at the
last cycle's time and now) changed its answer: any other row is one the condition did
not match and still does not. ``stamp_on_change`` runs on the rows the validation did
not know and the rows whose watched values the last cycle did not record under their
key (no usable key then, an operation on the row dropped or lost with its plan, the row
moved to history: :meth:`RuleRunner.unrecorded`): every other row still shows the values
recorded for its key, so it is not stamped, and recording it again changes nothing (it
is left out of the observed values; the state saved is the same). That holds while no
robot-written column (the annotation column, a stamp target, the key) is watched;
otherwise the stamp rules run on every row. ``assign_id`` runs on every row (it reads
every id).

``syncer plan`` (a dry run) always takes the full pass and keeps nothing. The result of
an incremental cycle (findings, plan, writes, recorded state) equals the full pass's on
the same snapshot and state; the property tests in ``tests/unit/test_incremental.py``
check it on random edit sequences.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from syncer.conditions import Condition, age_test, evaluate, time_comparisons
from syncer.ledger_parts import RuleBase
from syncer.model import SetCell, Table
from syncer.rules import run_rule
from syncer.rules.archive import Archive
from syncer.rules.base import RuleContext, RuleResult, column, ledger_row_keys
from syncer.rules.normalize import Normalize
from syncer.rules.stamp_on_change import StampOnChange
from syncer.state import LedgerMark
from syncer.validate.incremental import VERSION, ValidationMemo

#: How often a full pass runs at the latest when ``SYNCER_FULL_PASS_HOURS`` is not set.
DEFAULT_FULL_PASS_EVERY = timedelta(hours=24)


@dataclass(frozen=True)
class CycleMemo:
    """What a successful cycle leaves for the next one of its ledger, in memory."""

    validation: ValidationMemo | None
    #: when the last full pass ran (carried by the incremental cycles after it)
    full_at: datetime
    #: the ledger mark the cycle saved: (config hash, last cycle time)
    saved: tuple[str | None, datetime | None]
    version: int = VERSION
    #: the normalize, archive and stamp rules (by their place in the ledger's rules) that
    #: ran through the :class:`RuleRunner` and flagged rows in the validation memo's
    #: entries (normalize: rows it proposed a write for; archive: rows its condition
    #: matched; stamp: rows whose watched values were not recorded under their key)
    tracked: frozenset[int] = frozenset()


def full_pass_reason(
    memo: object | None,
    mark: LedgerMark | None,
    config_hash: str,
    now: datetime,
    every: timedelta,
) -> str | None:
    """Why this cycle must check every row (see the module doc), or None when the memo
    may be used."""
    if not isinstance(memo, CycleMemo):
        return "no_memo"
    if mark is None:
        return "state_missing"
    if mark.config_hash != config_hash:
        return "config_changed"
    if memo.saved != (mark.config_hash, mark.last_cycle):
        return "state_changed"
    if memo.version != VERSION or memo.validation is None:
        return "version" if memo.version != VERSION else "no_memo"
    if every <= timedelta(0) or now - memo.full_at >= every:
        return "scheduled"
    return None


class RuleRunner:
    """Runs one cycle's rules like :func:`~syncer.rules.run_rule`, ``normalize``,
    ``archive`` and ``stamp_on_change`` on the rows that may have a new answer only (see
    the module doc): their operations are the full run's, in the same order (rows keep
    their relative order), and their observed values differ only by rows whose recorded
    values they repeat.

    ``tracked`` is the last cycle's :attr:`CycleMemo.tracked` and ``since`` its time
    (empty and None after a full pass); the rows each rule flagged then are in the
    validation memo's entries (:attr:`ValidationMemo.flagged`), and this cycle's flags
    are written into them. After the plan, :attr:`tracked_now` is this cycle's.
    """

    def __init__(
        self,
        validation: ValidationMemo | None,
        tracked: frozenset[int] = frozenset(),
        since: datetime | None = None,
    ) -> None:
        self.validation = validation
        self.tracked = tracked
        self.since = since
        self.tracked_now: set[int] = set()
        #: rows each normalize, archive and stamp rule (by its place in the rules) ran on
        self.rows_run: dict[int, int] = {}
        #: the stamp rules run here, and each data row's key (None: not usable)
        self._stamps: list[int] = []
        self._keys: list[str | None] = []

    def __call__(self, rule: RuleBase, ctx: RuleContext) -> RuleResult:
        """The result of ``rule`` over ``ctx`` (see the class doc)."""
        table = ctx.snapshot.get(ctx.ledger.tabs.main)
        memo = self.validation
        if (
            not isinstance(rule, Normalize | Archive | StampOnChange)
            or not rule.enabled
            or table is None
            or memo is None
            or len(memo.keys) != len(table.rows)
            or (isinstance(rule, StampOnChange) and not _stamps_incremental(ctx))
        ):
            return run_rule(rule, ctx)
        number = next(i for i, r in enumerate(ctx.ledger.rules) if r is rule)
        if number not in self.tracked or (isinstance(rule, Archive) and self.since is None):
            picked = set(range(len(table.rows)))
        else:
            picked = set(memo.unknown).union(memo.flagged.get(number, ()))
            if isinstance(rule, Archive) and self.since is not None:
                picked.update(_time_changed(rule.when, table, ctx, self.since))
        rows = sorted(picked)
        self.rows_run[number] = len(rows)
        if len(rows) == len(table.rows):
            result, sub = run_rule(rule, ctx), table
        elif not rows:
            result, sub = RuleResult(), table
        else:
            result, sub = _on_rows(rule, ctx, table, rows)
        first = table.header_row + 1
        if isinstance(rule, Archive):
            matched = evaluate(rule.when, sub, ctx.ledger, ctx.now, ctx.cache) if rows else []
            flagged = {rows[j] for j, hit in enumerate(matched) if hit}
        elif isinstance(rule, StampOnChange):
            self._keys = ledger_row_keys(ctx.ledger, table, ctx.cache)
            self._stamps.append(number)
            flagged = {i for i in rows if self._keys[i] is None}
        else:
            flagged = {
                op.target.row - first
                for op in result.ops
                if isinstance(op, SetCell) and op.tab == table.name
            }
        memo.flag(number, flagged, memo.keys)
        self.tracked_now.add(number)
        return result

    def unrecorded(self, keys: set[str]) -> None:
        """After the write: the watched values of ``keys`` were not recorded (an
        operation on the row was dropped or missed) or were forgotten (the row moved to
        history), so the stamp rules look at their rows again next cycle."""
        memo = self.validation
        if not keys or not self._stamps or memo is None:
            return
        rows = {i for i, key in enumerate(self._keys) if key is not None and key in keys}
        for number in self._stamps:
            memo.flag(number, rows, memo.keys, only=False)


def _stamps_incremental(ctx: RuleContext) -> bool:
    """True when no stamp rule watches a column the robot writes (the annotation column,
    a stamp target, the key): a planned write there changes the recorded values of a
    row the rule would skip (see the module doc)."""
    ledger = ctx.ledger
    written = {*ledger.owned_columns(), ledger.key}
    return not any(
        written.intersection(rule.watch) for rule in ledger.rules if isinstance(rule, StampOnChange)
    )


def _time_changed(
    condition: Condition, table: Table, ctx: RuleContext, since: datetime
) -> list[int]:
    """Data rows where a time-based comparison of ``condition`` answers differently now
    than at ``since``: each is decided once per distinct cell of its date column (by type
    and value where the column mixes types, as the condition's evaluation does), and only
    the rows holding a cell whose answer changed are looked for."""
    found: set[int] = set()
    for leaf in time_comparisons(condition):
        values = column(table, leaf.column, ctx.cache)
        then, now = age_test(leaf, since), age_test(leaf, ctx.now)
        mixed = len(set(map(type, values)) - {type(None)}) > 1
        slots: list[Any] = list(zip(map(type, values), values, strict=True)) if mixed else values
        flips = {
            slot
            for slot in set(slots)
            if then(slot[1] if mixed else slot) != now(slot[1] if mixed else slot)
        }
        if flips:
            hits = np.fromiter(map(flips.__contains__, slots), dtype=bool, count=len(slots))
            found.update(np.flatnonzero(hits).tolist())
    return sorted(found)


def _on_rows(
    rule: RuleBase, ctx: RuleContext, table: Table, rows: list[int]
) -> tuple[RuleResult, Table]:
    """``rule`` run on a tab holding only data rows ``rows`` of ``table`` (keys decided
    over the whole tab; its operations address the rows' sheet rows: see
    :meth:`Table.part`); and that tab."""
    sub = table.part(rows)
    ledger = ctx.ledger
    everyone = ledger_row_keys(ledger, table, ctx.cache)
    slot = ("keys", ledger.key, tuple(ledger.placeholders_for(ledger.key)))
    ctx.cache.get(sub, slot, lambda: [everyone[i] for i in rows])
    tables = dict(ctx.snapshot.tables)
    tables[table.name] = sub
    result = run_rule(rule, replace(ctx, snapshot=replace(ctx.snapshot, tables=tables)))
    return result, sub
