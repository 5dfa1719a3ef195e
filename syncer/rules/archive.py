"""``archive``: move rows matching a condition to the history tab.

Each matching row becomes a :class:`~syncer.model.MoveRow` whose ``values`` are the row
exactly as read (typed, keyed by column name; the robot's annotation column is left
behind) plus two columns: when it was archived and why (localised names: 归档时间 /
归档原因, "Archived at" / "Archive reason"). The connector appends the row to the
history tab *before* removing it from the main tab. When the history tab is missing an
:class:`~syncer.model.EnsureTab` creates it with the main header plus those columns; when
it exists but lacks a column, an :class:`~syncer.model.AddColumn` adds it first.

Safety: a row is archived only when it has a key of its own (an empty or duplicated key
cannot be verified in the history tab) and that key is not already in the history tab
(a previous move half-done: the connectors' placement check repairs it). When the
condition names a column missing from the header, the rule does nothing — a renamed
column must never read as "empty" and archive the whole tab.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Literal

from syncer.conditions import (
    ConditionField,
    condition_durations,
    condition_paths,
    describe_condition,
    durations_due,
    evaluate,
    missing_columns,
)
from syncer.i18n import Locale, register, t
from syncer.ledger_parts import FilePath, RuleBase
from syncer.model import AddColumn, CellValue, EnsureTab, MoveRow, Operation
from syncer.rules.base import (
    RuleContext,
    RuleKind,
    RuleResult,
    column_texts,
    ledger_row_keys,
    local_naive,
    row_ref,
    rule_label,
)

register(
    {
        "archive.archived_at": {"zh-CN": "归档时间", "en": "Archived at"},
        "archive.reason": {"zh-CN": "归档原因", "en": "Archive reason"},
    }
)


class Archive(RuleBase):
    """Move rows matching ``when`` to the history tab (append first, then remove)."""

    kind: Literal["archive"]
    when: ConditionField
    reason: str | None = None

    def named_columns(self) -> list[tuple[FilePath, str]]:
        """The columns the condition reads."""
        return condition_paths(self.when, ("when",))

    def due(self, last_cycle: datetime | None, now: datetime, zone: tzinfo) -> bool:
        """``older_than``/``newer_than`` conditions turn true with time alone: day
        durations when the calendar day changes, sub-day durations at any moment."""
        return durations_due(condition_durations(self.when), last_cycle, now, zone)


def history_extra_columns(locale: Locale) -> tuple[str, str]:
    """The names of the archived-at and reason columns of the history tab."""
    return t(locale, "archive.archived_at"), t(locale, "archive.reason")


def archive(rule: Archive, ctx: RuleContext) -> RuleResult:
    """Propose a MoveRow per matching row (plus the history tab or columns it needs)."""
    result = RuleResult()
    ledger = ctx.ledger
    table = ctx.snapshot.get(ledger.tabs.main)
    if table is None or not table.rows or missing_columns(rule.when, table):
        return result
    if table.index_of(ledger.key) is None:
        return result
    matched = evaluate(rule.when, table, ledger, ctx.now, ctx.cache)
    if not any(matched):
        return result
    history_tab = ledger.tabs.history
    history = ctx.snapshot.get(history_tab)
    in_history = set(column_texts(history, ledger.key, ctx.cache)) if history is not None else set()
    columns = tuple(dict.fromkeys(c for c in table.header if c and c != ledger.annotation_column))
    archived_at, reason_column = history_extra_columns(ledger.locale)
    reason = rule.reason or rule.name or describe_condition(rule.when, ledger.locale)
    when = local_naive(ctx.now)
    label = rule_label(rule)
    keys = ledger_row_keys(ledger, table, ctx.cache)
    at = [(c, table.index_of(c)) for c in columns]  # each name's first position
    moves: list[Operation] = []
    for index, hit in enumerate(matched):
        key = keys[index]
        if not hit or key is None or key in in_history:
            continue
        row = table.rows[index]
        values: tuple[tuple[str, CellValue], ...] = (
            *((c, row[p] if p is not None and p < len(row) else None) for c, p in at),
            (archived_at, when),
            (reason_column, reason),
        )
        moves.append(
            MoveRow(
                tab=ledger.tabs.main,
                target=row_ref(table, index, key),
                history_tab=history_tab,
                values=values,
                reason=reason,
                rule=label,
            )
        )
    if not moves:
        return result
    header = (*columns, archived_at, reason_column)
    if history is None:
        result.ops.append(EnsureTab(tab=history_tab, header=header, rule=label))
    else:
        have = set(history.header)
        result.ops.extend(
            AddColumn(tab=history_tab, column=c, rule=label) for c in header if c not in have
        )
    result.ops.extend(moves)
    return result


KIND = RuleKind(Archive, archive)
