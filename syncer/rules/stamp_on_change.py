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

from collections.abc import Mapping
from datetime import date, datetime
from itertools import repeat
from operator import is_, is_not, methodcaller, ne
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
from pydantic import Field

from syncer.ledger_parts import FilePath, Reference, RuleBase
from syncer.model import AddColumn, CellValue, SetCell
from syncer.rules.base import (
    RuleContext,
    RuleKind,
    RuleResult,
    cell_text,
    column,
    column_texts,
    ledger_row_keys,
    local_naive,
    row_ref,
    rule_label,
)

BoolArray = npt.NDArray[np.bool_]


class StampOnChange(RuleBase):
    """When any ``watch`` column changes since the last cycle, write the time to ``target``."""

    kind: Literal["stamp_on_change"]
    watch: list[str] = Field(min_length=1)
    target: str
    #: First time a customer is seen: ``skip`` records without stamping; ``stamp`` stamps
    #: only when the target is empty.
    on_first_sight: Literal["skip", "stamp"] = "skip"
    #: Format of the written time: ``date`` (YYYY-MM-DD) or ``datetime`` (YYYY-MM-DD HH:MM).
    format: Literal["date", "datetime"] = "datetime"

    def named_columns(self) -> list[tuple[FilePath, str]]:
        """The watched columns (the target may be a new column the rule adds)."""
        return [(("watch", j), c) for j, c in enumerate(self.watch)]

    def owned_columns(self) -> list[tuple[FilePath, str]]:
        """The stamp target: the robot writes it."""
        return [(("target",), self.target)]

    def observed_columns(self) -> tuple[str, ...]:
        """The watched columns: their values are remembered to see changes."""
        return tuple(self.watch)

    def problems(self) -> list[Reference]:
        """A target that is also watched would stamp itself forever."""
        if self.target in self.watch:
            return [Reference(("target",), "a stamp target cannot also be watched")]
        return []


#: What a row never recorded reads as (so every lookup is a plain ``get``).
_NOTHING: Mapping[str, str] = {}


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
    keys = ledger_row_keys(ctx.ledger, table, ctx.cache)
    watch = tuple(rule.watch)
    watched = [column_texts(table, c, ctx.cache) for c in watch]
    targets = column(table, rule.target, ctx.cache)
    stamp_new = rule.on_first_sight == "stamp"
    observed = dict(zip(keys, _as_dicts(watch, watched), strict=True))
    observed.pop(None, None)  # rows without a usable key are not remembered
    result.observed = cast("dict[str, dict[str, str]]", observed)
    changed, first_sight = _compare(keys, watch, watched, ctx.previous.watched)
    # A row is stamped when a recorded value changed, or (stamp_new) on first sight
    # with an empty target; the rest of the rows cost nothing below.
    wanted = changed & ~first_sight
    if stamp_new:
        wanted |= first_sight
    for index in np.flatnonzero(wanted).tolist():
        key = keys[index]
        before: CellValue = targets[index]
        due = not first_sight[index] or cell_text(before) == ""
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


def _compare(
    keys: list[str | None],
    watch: tuple[str, ...],
    watched: list[list[str]],
    previous: Mapping[str, Mapping[str, str]],
) -> tuple[BoolArray, BoolArray]:
    """Per row: (a watched value differs from the recorded one, the row or one of its
    watched columns was never recorded) — both False for rows without a key.

    Column by column at C speed: the recorded dicts are looked up once per row, then
    each column's recorded values are compared with the current ones.
    """
    size = len(keys)
    has_key = np.fromiter(map(is_not, keys, repeat(None)), dtype=bool, count=size)
    # a None key finds nothing (state keys are text): its row is masked out anyway
    seen_rows = list(map(previous.get, cast("list[str]", keys), repeat(_NOTHING)))
    changed = np.zeros(size, dtype=bool)
    first_sight = np.zeros(size, dtype=bool)
    for name, current in zip(watch, watched, strict=True):
        olds = list(map(methodcaller("get", name), seen_rows))
        changed |= np.fromiter(map(ne, olds, current), dtype=bool, count=size)
        first_sight |= np.fromiter(map(is_, olds, repeat(None)), dtype=bool, count=size)
    return changed & has_key, first_sight & has_key


KIND = RuleKind(StampOnChange, stamp_on_change)
