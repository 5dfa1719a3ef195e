"""Planning: run the rules and the annotations over a snapshot and order the operations.

:func:`build_plan` is pure. The plan's order is fixed:

1. structure — :class:`EnsureTab` and :class:`AddColumn` (each once);
2. ``normalize`` cell writes, 3. ``assign_id``, 4. ``stamp_on_change``, 5. annotations;
6. :class:`MoveRow` (archives) last among the row operations;
7. the errors tab (:class:`ReplaceTab`).

Precedence on one cell: a later stage wins over an earlier one (a stamp replaces a
normalization of the same cell; the annotation column belongs to the annotations), and
within a stage the first rule in the ledger file wins. A row being archived gets no cell
writes at all — it moves exactly as it was read — and the first archive rule matching a
row decides its reason.

The errors tab and first-seen records describe the ledger *after* the plan is applied:
findings below archived rows have their row numbers moved up, and rows given an id carry
it, so the next cycle on the unchanged result plans nothing.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from syncer.annotate import (
    annotation_ops,
    errors_tab_op,
    first_seen,
    listed_findings,
    recover_first_seen,
)
from syncer.ledger import LedgerConfig
from syncer.ledger_parts import RuleBase
from syncer.model import (
    AddColumn,
    CellValue,
    EnsureTab,
    Finding,
    MoveRow,
    Operation,
    Plan,
    ReplaceTab,
    SetCell,
    Snapshot,
    Table,
    canonical,
)
from syncer.rules import KINDS, run_rule
from syncer.rules.base import PreviousState, RuleContext, RuleResult, cell_text
from syncer.table_cache import TableCache
from syncer.values import mask_phone


@dataclass(frozen=True)
class Planned:
    """A plan plus what to record once it is applied."""

    plan: Plan
    #: row key → column → canonical value (see RuleResult.observed)
    observed: dict[str, dict[str, str]] = field(default_factory=dict)
    #: finding identity → first seen (for every current finding)
    first_seen: dict[str, datetime] = field(default_factory=dict)
    #: the findings as the errors tab lists them after the plan (the one count shown)
    findings: tuple[Finding, ...] = ()


CellSlot = tuple[str, int, str]


def build_plan(
    ledger: LedgerConfig,
    snapshot: Snapshot,
    findings: Sequence[Finding],
    previous: PreviousState,
    now: datetime,
    *,
    runner: Callable[[RuleBase, RuleContext], RuleResult] = run_rule,
    cache: TableCache | None = None,
) -> Planned:
    """Pure: the ordered operations for one cycle. Touches nothing.

    ``runner`` runs one rule: :func:`~syncer.rules.run_rule`, or the engine's incremental
    runner, which gives the same results from the changed rows (:mod:`syncer.incremental`).
    ``cache``: column reads the cycle made of ``snapshot`` already (else a new one).
    """
    made = cache if cache is not None else TableCache()
    ctx = RuleContext(ledger, snapshot, findings, previous, now, made)
    structure: list[Operation] = []
    built: set[tuple[str, str]] = set()
    stages: dict[str, list[SetCell]] = {kind: [] for kind in KINDS}
    moves: dict[int, MoveRow] = {}
    observed: dict[str, dict[str, str]] = {}
    for kind in KINDS:
        for rule in ledger.rules:
            if rule.kind != kind:
                continue
            result = runner(rule, ctx)
            if not observed:
                observed = result.observed
            else:
                _merge_observed(observed, result.observed)
            for op in result.ops:
                if isinstance(op, EnsureTab | AddColumn):
                    where = (op.tab, op.column if isinstance(op, AddColumn) else "")
                    if where not in built:
                        built.add(where)
                        structure.append(op)
                elif isinstance(op, SetCell):
                    stages[kind].append(op)
                elif isinstance(op, MoveRow):
                    moves.setdefault(op.target.row, op)

    main_tab = ledger.tabs.main
    main = snapshot.get(main_tab)
    archived_rows = set(moves) if main is not None else set()
    archived_keys = {m.target.key for m in moves.values() if m.target.key is not None}

    # Cell writes by precedence: later stages overwrite earlier ones on the same cell.
    chosen: dict[CellSlot, tuple[int, SetCell]] = {}
    for rank, kind in enumerate(KINDS):
        taken_here: set[CellSlot] = set()
        for op in stages[kind]:
            slot = (op.tab, op.target.row, op.column)
            if op.column == ledger.annotation_column or slot in taken_here:
                continue
            if op.tab == ledger.tabs.main and op.target.row in archived_rows:
                continue
            taken_here.add(slot)
            chosen[slot] = (rank, op)
    cell_ops = [op for _, op in sorted(chosen.values(), key=lambda x: x[0])]
    # Keep rule order inside each stage (sorted() is stable over insertion order).

    renamed = {
        op.target.row: cell_text(op.value)
        for op in cell_ops
        if op.tab == ledger.tabs.main and op.column == ledger.key and op.target.key is None
    }
    after = _findings_after(ledger, findings, archived_rows, renamed, main is not None)

    annotations: list[Operation] = []
    if main is not None:
        annotations = annotation_ops(
            ledger,
            main,
            _findings_at_read(ledger, findings, archived_rows),
            skip_rows=archived_rows,
            cache=ctx.cache,
        )
    errors_tab = snapshot.get(ledger.tabs.errors)
    seen = first_seen(  # the errors tab is parsed only for findings the state lacks
        after, previous, now, lambda wanted: recover_first_seen(ledger, errors_tab, wanted)
    )
    errors = errors_tab_op(ledger, snapshot, after, seen, now)

    if main is not None:
        observed.update(_observed_for_new_ids(ledger, main, renamed))
    for op in cell_ops:
        row_key = op.target.key or (renamed.get(op.target.row) if op.tab == main_tab else None)
        if row_key is not None and op.column in observed.get(row_key, {}):
            observed[row_key][op.column] = cell_text(op.value)
    for gone in archived_keys:
        observed.pop(gone, None)

    ops: list[Operation] = [*structure, *cell_ops]
    ops.extend(a for a in annotations if isinstance(a, SetCell))
    for a in annotations:
        if isinstance(a, AddColumn) and (a.tab, a.column) not in built:
            ops.insert(len(structure), a)
    ops.extend(moves[row] for row in sorted(moves))
    if errors is not None:
        ops.append(errors)
    return Planned(
        plan=Plan(ledger=ledger.name, ops=tuple(ops), key_column=ledger.key),
        observed=observed,
        first_seen=seen,
        findings=tuple(listed_findings(after)),
    )


def _merge_observed(into: dict[str, dict[str, str]], more: dict[str, dict[str, str]]) -> None:
    """``into[key].update(values)`` for every entry of ``more`` (a new key gets a copy).

    When every key is already known (two rules watching the same rows, the usual case)
    the updates run in one C-level pass.
    """
    if more.keys() <= into.keys():
        try:
            deque(map(dict.update, map(into.__getitem__, more), more.values()), maxlen=0)
            return
        except TypeError:  # a recorded entry is not a plain dict: update one by one
            pass  # (updates are idempotent, so redoing the ones already done is harmless)
    for key, values in more.items():
        into.setdefault(key, {}).update(values)


def _observed_for_new_ids(
    ledger: LedgerConfig, main: Table, renamed: dict[int, str]
) -> dict[str, dict[str, str]]:
    """Watched values of rows given an id this cycle, recorded under the new id, so the
    next cycle knows them (and a stale state entry for that id cannot look like a change).
    """
    columns: list[str] = []
    for rule in ledger.rules:
        watched = rule.observed_columns()
        if rule.enabled and watched and all(main.index_of(c) is not None for c in watched):
            columns.extend(c for c in watched if c not in columns)
    if not columns:
        return {}
    return {
        key: {c: cell_text(main.cell(row - main.header_row - 1, c)) for c in columns}
        for row, key in renamed.items()
    }


def _findings_at_read(
    ledger: LedgerConfig, findings: Sequence[Finding], archived_rows: set[int]
) -> list[Finding]:
    """Main-tab row findings, with read-time row numbers, excluding archived rows."""
    return [
        f
        for f in findings
        if f.tab == ledger.tabs.main and f.row is not None and f.row not in archived_rows
    ]


def _findings_after(
    ledger: LedgerConfig,
    findings: Sequence[Finding],
    archived_rows: set[int],
    renamed: dict[int, str],
    has_main: bool,
) -> list[Finding]:
    """Findings as they will read after the plan: archived rows gone, rows below them
    moved up, newly assigned ids filled in."""
    gone = sorted(archived_rows)
    out: list[Finding] = []
    for finding in findings:
        if finding.tab != ledger.tabs.main or finding.row is None or not has_main:
            out.append(finding)
            continue
        if finding.row in archived_rows:
            continue
        key = renamed.get(finding.row, finding.key or None)
        row = finding.row - _count_below(gone, finding.row)
        moved = key != finding.key or row != finding.row
        out.append(replace(finding, key=key, row=row) if moved else finding)
    return out


def _count_below(sorted_rows: list[int], row: int) -> int:
    """How many of ``sorted_rows`` are above ``row`` (smaller sheet row numbers)."""
    return bisect_left(sorted_rows, row)


# --- describing operations ----------------------------------------------------------------


def _show(value: CellValue, column: str, phone_columns: Sequence[str]) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "(empty)"
    text = mask_phone(value) if column in phone_columns else canonical(value)
    text = text if len(text) <= 40 else text[:39] + "…"
    return repr(text)


def describe(op: Operation, locale: str | None = None, *, phone_columns: Sequence[str] = ()) -> str:
    """One English line describing ``op`` for ``syncer plan`` (phones masked in
    ``phone_columns``). ``locale`` is accepted for symmetry and ignored: CLI text is English.
    """
    del locale
    if isinstance(op, SetCell):
        who = (
            f"row {op.target.key} (sheet row {op.target.row})"
            if op.target.key
            else (f"sheet row {op.target.row}")
        )
        before = _show(op.before, op.column, phone_columns)
        after = _show(op.value, op.column, phone_columns)
        return f"[{op.rule}] set {op.tab}!{op.column} of {who}: {before} -> {after}"
    if isinstance(op, AddColumn):
        return f"[{op.rule}] add column {op.column!r} to tab {op.tab}"
    if isinstance(op, EnsureTab):
        return f"[{op.rule}] create tab {op.tab} (if missing) with {len(op.header)} columns"
    if isinstance(op, MoveRow):
        return (
            f"[{op.rule}] move row {op.target.key} (sheet row {op.target.row}) from {op.tab} "
            f"to {op.history_tab}: {op.reason}"
        )
    if isinstance(op, ReplaceTab):
        lines = max(len(op.rows) - 2, 0)
        return f"[{op.rule}] rewrite tab {op.tab} ({lines} finding line(s) plus header and summary)"
    raise TypeError(f"unknown operation {op!r}")
