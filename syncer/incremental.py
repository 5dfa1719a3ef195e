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

Rules: ``normalize`` runs only on the rows the validation did not know (new content,
blank rows) and the rows it proposed a write for at the last cycle (:class:`RuleRunner`):
its decisions depend on a row's own values, so a known row it left alone is left alone
again. The other rule kinds run on every row (their decisions read the previous state,
the time or other rows).

``syncer plan`` (a dry run) always takes the full pass and keeps nothing. The result of
an incremental cycle equals the full pass's on the same snapshot and state; the property
tests in ``tests/unit/test_incremental.py`` check it on random edit sequences.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np

from syncer.ledger_parts import RuleBase
from syncer.model import Operation, SetCell, Table
from syncer.rules import run_rule
from syncer.rules.base import RuleContext, RuleResult, ledger_row_keys
from syncer.rules.normalize import Normalize
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
    #: per normalize rule (its place in the ledger's rules): the content keys of the rows
    #: it proposed a write for
    flagged: Mapping[int, frozenset[object]] = field(default_factory=dict)


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
    """Runs one cycle's rules like :func:`~syncer.rules.run_rule`, ``normalize`` on the
    rows that may have a new answer only: rows ``validation`` did not know (new content,
    blank rows) and rows whose content it flagged at the last cycle. Its operations are
    the full run's, in the same order (rows keep their relative order).

    ``flagged`` is the last cycle's :attr:`CycleMemo.flagged` (empty on a full pass);
    after the plan, :attr:`flagged_now` is this cycle's.
    """

    def __init__(
        self, validation: ValidationMemo | None, flagged: Mapping[int, frozenset[object]]
    ) -> None:
        self.validation = validation
        self.flagged = flagged
        self.flagged_now: dict[int, frozenset[object]] = {}
        #: rows normalize ran on (all rules together), for tests and logs
        self.rows_run = 0

    def __call__(self, rule: RuleBase, ctx: RuleContext) -> RuleResult:
        """The result of ``rule`` over ``ctx`` (see the class doc)."""
        table = ctx.snapshot.get(ctx.ledger.tabs.main)
        memo = self.validation
        if (
            not isinstance(rule, Normalize)
            or not rule.enabled
            or table is None
            or memo is None
            or len(memo.keys) != len(table.rows)
        ):
            return run_rule(rule, ctx)
        number = next(i for i, r in enumerate(ctx.ledger.rules) if r is rule)
        keys = memo.keys
        before = self.flagged.get(number, frozenset())
        picked = set(memo.unknown)
        if before:
            hits = np.fromiter(map(before.__contains__, keys), dtype=bool, count=len(keys))
            picked.update(np.flatnonzero(hits).tolist())
        rows = sorted(picked)
        self.rows_run += len(rows)
        if len(rows) == len(table.rows):
            result = run_rule(rule, ctx)
        elif not rows:
            result = RuleResult()
        else:
            result = _on_rows(rule, ctx, table, rows)
        first = table.header_row + 1
        self.flagged_now[number] = frozenset(
            keys[op.target.row - first]
            for op in result.ops
            if isinstance(op, SetCell) and op.tab == table.name
        )
        return result


def _on_rows(rule: RuleBase, ctx: RuleContext, table: Table, rows: list[int]) -> RuleResult:
    """``rule`` run on a tab holding only data rows ``rows`` of ``table`` (keys decided
    over the whole tab), its operations moved back to the rows' sheet rows."""
    sub = Table(table.name, table.header_row, table.header, tuple(table.rows[i] for i in rows))
    ledger = ctx.ledger
    everyone = ledger_row_keys(ledger, table, ctx.cache)
    slot = ("keys", ledger.key, tuple(ledger.placeholders_for(ledger.key)))
    ctx.cache.get(sub, slot, lambda: [everyone[i] for i in rows])
    tables = dict(ctx.snapshot.tables)
    tables[table.name] = sub
    result = run_rule(rule, replace(ctx, snapshot=replace(ctx.snapshot, tables=tables)))
    first = table.header_row + 1
    moved: list[Operation] = []
    for op in result.ops:
        if isinstance(op, SetCell) and op.tab == sub.name:
            real = table.sheet_row(rows[op.target.row - first])
            op = replace(op, target=replace(op.target, row=real))
        moved.append(op)
    return RuleResult(moved, result.observed)
