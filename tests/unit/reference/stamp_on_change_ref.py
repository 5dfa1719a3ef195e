# Reference copy (tests only): the pre-optimisation implementation, see __init__.py.
# ruff: noqa
# mypy: ignore-errors
"""``stamp_on_change``: write the time into a target column when watched columns change.

For every row with a key, the watched columns' values (trimmed canonical text) are
compared with what the last cycle recorded (:attr:`PreviousState.watched`). On a change
the current time is written into ``target`` — a ``datetime.date`` for ``format: date``,
a naive local ``datetime`` (to the minute) for ``format: datetime``; connectors render
both as real date cells. The first time a row is seen it is only recorded
(``on_first_sight: skip``) or stamped when its target is empty (``stamp``). Rows without
a key, or sharing their key with another row, have no stable identity and are skipped.
When a watched column is missing from the header the rule does nothing (the validation
reports the drift) so that a renamed column does not look like a change on every row.
"""

from __future__ import annotations

from datetime import date, datetime

from syncer.ledger import StampOnChange
from syncer.model import AddColumn, CellValue, SetCell
from syncer.rules.base import (
    RuleContext,
    RuleResult,
    cell_text,
    column,
    column_texts,
    ledger_row_keys,
    local_naive,
    row_ref,
    rule_label,
)


def _as_dicts(names: tuple[str, ...], columns: list[list[str]]) -> list[dict[str, str]]:
    """Row-wise ``{name: value}`` dicts of ``columns`` (literal dicts for the common
    one-to-three watched columns: several times faster than ``dict(zip(...))``)."""
    if len(names) == 1:
        (a,) = names
        return [{a: x} for x in columns[0]]
    if len(names) == 2:
        a, b = names
        return [{a: x, b: y} for x, y in zip(*columns, strict=True)]
    if len(names) == 3:
        a, b, c = names
        return [{a: x, b: y, c: z} for x, y, z in zip(*columns, strict=True)]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def stamp_value(rule: StampOnChange, now: datetime) -> date | datetime:
    """What the rule writes for ``now``: a date, or a naive local date-time to the
    minute (the ``YYYY-MM-DD HH:MM`` the ledger file promises)."""
    return now.date() if rule.format == "date" else local_naive(now).replace(second=0)


def stamp_on_change(rule: StampOnChange, ctx: RuleContext) -> RuleResult:
    """Stamp changed rows; observe the watched values of every keyed row."""
    result = RuleResult()
    main_tab = ctx.ledger.tabs.main
    table = ctx.snapshot.get(main_tab)
    if table is None or any(table.index_of(c) is None for c in rule.watch):
        return result
    label = rule_label(rule)
    if table.index_of(rule.target) is None:
        result.ops.append(AddColumn(tab=main_tab, column=rule.target, rule=label))
    stamp = stamp_value(rule, ctx.now)
    stamp_text = cell_text(stamp)
    keys = ledger_row_keys(ctx.ledger, table)
    watch = tuple(rule.watch)
    watched = [column_texts(table, c) for c in watch]
    targets = column(table, rule.target)
    previous = ctx.previous.watched
    stamp_new = rule.on_first_sight == "stamp"
    currents = _as_dicts(watch, watched)
    result.observed = {k: d for k, d in zip(keys, currents, strict=True) if k is not None}
    # Rows whose recorded values differ from the current ones (dict equality at C speed);
    # state merged from several rules holds more columns, so re-check those per column.
    get = previous.get
    seen_rows = [get(k) if k is not None else None for k in keys]
    suspects = [
        i
        for i, (seen, current) in enumerate(zip(seen_rows, currents, strict=True))
        if seen != current and keys[i] is not None
    ]
    for index in suspects:
        key, seen, current = keys[index], seen_rows[index], currents[index]
        if seen is None:
            olds = None
        elif current.items() <= seen.items():
            continue
        else:
            olds = list(map(seen.get, watch))
        before: CellValue = targets[index]
        first_sight = olds is None or None in olds  # of this rule's columns
        due = not first_sight or (stamp_new and cell_text(before) == "")
        if due and cell_text(before) != stamp_text:
            result.ops.append(
                SetCell(
                    tab=main_tab,
                    target=row_ref(table, index, key),
                    column=rule.target,
                    value=stamp,
                    before=before,
                    rule=label,
                )
            )
    return result
