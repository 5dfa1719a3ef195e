# Reference copy (tests only): the pre-optimisation implementation, see __init__.py.
# ruff: noqa
# mypy: ignore-errors
"""Rule conditions (``column/op/value``, ``all``/``any``/``not``) evaluated over a whole tab.

Conditions are data from the ledger file (:mod:`syncer.ledger`); nothing an admin writes
is ever executed. :func:`evaluate` answers a condition for every data row of a
:class:`~syncer.model.Table` at once: each distinct cell value is decided once and the
boolean columns are combined with numpy, so a 100,000-row tab costs a few milliseconds
per comparison.

Semantics (also in docs/rules.md):

* Cells are compared as trimmed canonical text (:func:`syncer.rules.base.cell_text`):
  ``equals``/``not_equals``/``in``/``not_in`` are exact after trimming both sides.
* ``empty`` holds for a blank cell or one of the column's placeholders (未知, 待补充 …);
  ``not_empty`` is its negation.
* ``matches`` is a regular-expression **full match** against the trimmed text (write
  ``.*abc.*`` to search); an empty cell is matched as the empty string.
* ``older_than``/``newer_than`` take a duration (``90d``, ``12h``, ``2w``) and compare
  ``now`` with the cell read as a date or date-time (:func:`syncer.values.parse_datetime`;
  a date alone means midnight, in the ledger's time zone). An empty or unparsable cell
  matches neither. A date in the future is ``newer_than`` any duration.
* A column missing from the tab reads as empty cells; rules that must not act on a
  broken header check :func:`missing_columns` first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from syncer.errors import ConfigError
from syncer.i18n import Locale, register, t
from syncer.ledger import All, AnyOf, Compare, Condition, LedgerConfig, parse_duration_days
from syncer.model import CellValue, Table
from syncer.rules.base import cell_text, column, column_texts, placeholder_test
from syncer.values import parse_datetime

BoolArray = npt.NDArray[np.bool_]

register(
    {
        "condition.equals": {"zh-CN": "{column}为{value}", "en": "{column} is {value}"},
        "condition.not_equals": {"zh-CN": "{column}不为{value}", "en": "{column} is not {value}"},
        "condition.in": {"zh-CN": "{column}属于{value}", "en": "{column} is one of {value}"},
        "condition.not_in": {
            "zh-CN": "{column}不属于{value}",
            "en": "{column} is none of {value}",
        },
        "condition.empty": {"zh-CN": "{column}为空", "en": "{column} is empty"},
        "condition.not_empty": {"zh-CN": "{column}不为空", "en": "{column} is filled in"},
        "condition.matches": {
            "zh-CN": "{column}符合 {value}",
            "en": "{column} matches {value}",
        },
        "condition.older_than": {
            "zh-CN": "{column}早于{value}前",
            "en": "{column} older than {value}",
        },
        "condition.newer_than": {
            "zh-CN": "{column}在{value}内",
            "en": "{column} within the last {value}",
        },
        "condition.and": {"zh-CN": "且", "en": " and "},
        "condition.or": {"zh-CN": "或", "en": " or "},
        "condition.not": {"zh-CN": "非({inner})", "en": "not ({inner})"},
    }
)


def evaluate(condition: Condition, table: Table, ledger: LedgerConfig, now: datetime) -> list[bool]:
    """For every data row of ``table``: does ``condition`` hold? (see the module docstring)."""
    return _Evaluator(table, ledger, now).run(condition).tolist()  # type: ignore[no-any-return]


def condition_columns(condition: Condition) -> list[str]:
    """Every column ``condition`` reads, in order of appearance, without repeats."""
    found: list[str] = []

    def walk(node: Condition) -> None:
        if isinstance(node, Compare):
            if node.column not in found:
                found.append(node.column)
        elif isinstance(node, All):
            for child in node.all:
                walk(child)
        elif isinstance(node, AnyOf):
            for child in node.any:
                walk(child)
        else:
            walk(node.not_)

    walk(condition)
    return found


def missing_columns(condition: Condition, table: Table) -> list[str]:
    """Columns ``condition`` reads that the tab's header lacks."""
    return [c for c in condition_columns(condition) if table.index_of(c) is None]


def describe_condition(condition: Condition, locale: Locale) -> str:
    """A short human sentence for ``condition`` in ``locale`` (used as an archive reason)."""
    if isinstance(condition, Compare):
        value = condition.value
        shown = "、".join(map(str, value)) if isinstance(value, list) else value
        if isinstance(value, list) and locale == "en":
            shown = ", ".join(map(str, value))
        return t(locale, f"condition.{condition.op}", column=condition.column, value=shown)
    if isinstance(condition, All):
        return t(locale, "condition.and").join(describe_condition(c, locale) for c in condition.all)
    if isinstance(condition, AnyOf):
        return t(locale, "condition.or").join(describe_condition(c, locale) for c in condition.any)
    return t(locale, "condition.not", inner=describe_condition(condition.not_, locale))


class _Evaluator:
    """Evaluates conditions over one table, caching each column's values and texts."""

    def __init__(self, table: Table, ledger: LedgerConfig, now: datetime) -> None:
        self.table = table
        self.ledger = ledger
        self.now = now
        self.size = len(table.rows)

    def run(self, condition: Condition) -> BoolArray:
        if isinstance(condition, Compare):
            return self._compare(condition)
        if isinstance(condition, All):
            result = np.ones(self.size, dtype=bool)
            for child in condition.all:
                result &= self.run(child)
            return result
        if isinstance(condition, AnyOf):
            result = np.zeros(self.size, dtype=bool)
            for child in condition.any:
                result |= self.run(child)
            return result
        return ~self.run(condition.not_)

    def values(self, name: str) -> list[CellValue]:
        return column(self.table, name)

    def texts(self, name: str) -> list[str]:
        return column_texts(self.table, name)

    def _by_text(self, column: str, test: Callable[[str], bool]) -> BoolArray:
        """``test`` applied once per distinct trimmed text of ``column``."""
        texts = self.texts(column)
        answers = {text: test(text) for text in set(texts)}
        return np.fromiter((answers[x] for x in texts), dtype=bool, count=self.size)

    def _by_value(self, column: str, test: Callable[[CellValue], bool]) -> BoolArray:
        """``test`` applied once per distinct (type, value) of ``column``."""
        values = self.values(column)
        answers: dict[tuple[type, Hashable], bool] = {}
        out = np.empty(self.size, dtype=bool)
        for i, value in enumerate(values):
            slot = (type(value), value)
            hit = answers.get(slot)
            if hit is None:
                hit = answers[slot] = test(value)
            out[i] = hit
        return out

    def _compare(self, node: Compare) -> BoolArray:
        column, op = node.column, node.op
        if op in ("equals", "not_equals"):
            wanted = cell_text(node.value)
            result = self._by_text(column, lambda x: x == wanted)
            return result if op == "equals" else ~result
        if op in ("in", "not_in"):
            allowed = frozenset(cell_text(v) for v in node.value)
            result = self._by_text(column, lambda x: x in allowed)
            return result if op == "in" else ~result
        if op in ("empty", "not_empty"):
            fake = placeholder_test(self.ledger.placeholders_for(column))
            result = self._by_value(column, lambda v: cell_text(v) == "" or fake(v))
            return result if op == "empty" else ~result
        if op == "matches":
            try:
                pattern = re.compile(str(node.value))
            except re.error as exc:
                raise ConfigError(
                    f"ledger {self.ledger.name}: condition on column {column!r} has an invalid "
                    f"regular expression {node.value!r} ({exc}); fix `value` in the ledger file"
                ) from exc
            return self._by_text(column, lambda x: pattern.fullmatch(x) is not None)
        return self._age(node)

    def _age(self, node: Compare) -> BoolArray:
        days = parse_duration_days(str(node.value))
        if days is None:  # the ledger model rejects this at load; stay safe anyway
            return np.zeros(self.size, dtype=bool)
        limit = timedelta(days=days)
        now = self.now
        zone = now.tzinfo

        def age(value: CellValue) -> timedelta | None:
            moment = parse_datetime(value)
            if moment is None:
                return None
            if moment.tzinfo is None and zone is not None:
                moment = moment.replace(tzinfo=zone)
            elif moment.tzinfo is not None and zone is None:
                moment = moment.replace(tzinfo=None)
            return now - moment

        if node.op == "older_than":

            def older(value: CellValue) -> bool:
                found = age(value)
                return found is not None and found > limit

            return self._by_value(node.column, older)

        def newer(value: CellValue) -> bool:
            found = age(value)
            return found is not None and found < limit

        return self._by_value(node.column, newer)
