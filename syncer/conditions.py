"""Rule conditions (``column/op/value``, ``all``/``any``/``not``) evaluated over a whole tab.

The models of conditions (:class:`Compare`, :class:`All`, :class:`AnyOf`, :class:`Not`)
are defined here, next to their evaluation; rules embed :data:`ConditionField`.
Conditions are data from the ledger file; nothing an admin writes is ever executed
(a ``matches`` regular expression is compiled when the file is loaded).
:func:`evaluate` answers a condition for every data row of a
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
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Annotated, Any, Literal, cast

import numpy as np
import numpy.typing as npt
from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator

from syncer.errors import ConfigError
from syncer.i18n import Locale, register, t
from syncer.ledger_parts import FilePath, LedgerView, Strict, compile_regex
from syncer.model import CellValue, Table
from syncer.table_cache import TableCache, cell_text, column, column_texts, placeholder_test
from syncer.values import parse_datetime

BoolArray = npt.NDArray[np.bool_]

# --- the condition models (ledger-file shapes) -------------------------------------------

Op = Literal[
    "equals",
    "not_equals",
    "in",
    "not_in",
    "empty",
    "not_empty",
    "matches",
    "older_than",
    "newer_than",
]


class Compare(Strict):
    """``{column, op, value}``: compare one cell. Durations look like ``90d``, ``12h``."""

    column: str
    op: Op
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Compare:
        if self.op in ("empty", "not_empty"):
            return self
        if self.value is None:
            raise ValueError(f"op `{self.op}` needs a `value`")
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op `{self.op}` needs a list `value`, e.g. [流失客户, 暂停合作]")
        if self.op in ("older_than", "newer_than") and not (
            isinstance(self.value, str) and parse_duration_days(self.value) is not None
        ):
            raise ValueError(
                f"op `{self.op}` needs a duration such as 90d, 12h, 30m or 2w "
                f"(a number up to {MAX_DURATION_DAYS} days and one unit: m, h, d or w),"
                f" not {self.value!r}"
            )
        if self.op == "matches":
            compile_regex(str(self.value), "`matches` value")
        return self


class All(Strict):
    """Every sub-condition holds."""

    all: list[ConditionField] = Field(min_length=1)


class AnyOf(Strict):
    """At least one sub-condition holds."""

    any: list[ConditionField] = Field(min_length=1)


class Not(Strict):
    """The sub-condition does not hold."""

    not_: ConditionField = Field(alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


#: A condition, for annotations and ``isinstance`` checks.
Condition = Compare | All | AnyOf | Not


def _condition_tag(value: Any) -> str:
    """Which condition model a YAML mapping (or a model) is: decided by its keys."""
    if isinstance(value, dict):
        for key, tag in (("all", "All"), ("any", "AnyOf"), ("not", "Not")):
            if key in value:
                return tag
        return "Compare"
    return type(value).__name__


#: The field type of conditions in ledger models: a union told apart by the mapping's keys
#: (``all`` / ``any`` / ``not``, else a comparison), so errors name only the intended form.
ConditionField = Annotated[
    Annotated[Compare, Tag("Compare")]
    | Annotated[All, Tag("All")]
    | Annotated[AnyOf, Tag("AnyOf")]
    | Annotated[Not, Tag("Not")],
    Discriminator(_condition_tag),
]


#: Longest duration a condition may name (100 years): longer ones cannot be computed.
MAX_DURATION_DAYS = 36_500


def parse_duration_days(text: str) -> float | None:
    """``90d`` → 90.0, ``12h`` → 0.5, ``30m`` → minutes in days, ``2w`` → 14.0; None when
    malformed, negative, not finite or longer than :data:`MAX_DURATION_DAYS`."""
    units = {"d": 1.0, "h": 1 / 24, "m": 1 / 1440, "w": 7.0}
    text = text.strip()
    if len(text) < 2 or text[-1] not in units:
        return None
    try:
        number = float(text[:-1])
    except ValueError:
        return None
    days = number * units[text[-1]]
    return days if 0 <= days <= MAX_DURATION_DAYS else None


def time_comparisons(condition: Condition) -> list[Compare]:
    """The ``older_than``/``newer_than`` comparisons of ``condition``, in order."""
    if isinstance(condition, Compare):
        return [condition] if condition.op in ("older_than", "newer_than") else []
    if isinstance(condition, All):
        return [leaf for child in condition.all for leaf in time_comparisons(child)]
    if isinstance(condition, AnyOf):
        return [leaf for child in condition.any for leaf in time_comparisons(child)]
    return time_comparisons(condition.not_)


def condition_durations(condition: Condition) -> list[str]:
    """Every duration (``older_than``/``newer_than`` value) in ``condition``, in order."""
    return [str(leaf.value) for leaf in time_comparisons(condition)]


def durations_due(
    durations: Sequence[str], last_cycle: datetime | None, now: datetime, zone: tzinfo
) -> bool:
    """Whether conditions on these durations may hold for rows they did not hold for at
    ``last_cycle``: never without durations; always after no cycle or with a sub-day
    duration (it can become due at any moment); else when the calendar day in ``zone``
    changed (day durations compare dates)."""
    if not durations:
        return False
    if last_cycle is None:
        return True
    for text in durations:
        days = parse_duration_days(text)
        if days is None or not float(days).is_integer():
            return True
    return last_cycle.astimezone(zone).date() != now.astimezone(zone).date()


def condition_paths(condition: Condition, path: FilePath) -> list[tuple[FilePath, str]]:
    """Every column a condition names, with the path of each in the ledger file."""
    if isinstance(condition, Compare):
        return [((*path, "column"), condition.column)]
    if isinstance(condition, All):
        items, word = condition.all, "all"
    elif isinstance(condition, AnyOf):
        items, word = condition.any, "any"
    else:
        return condition_paths(condition.not_, (*path, "not"))
    return [x for i, c in enumerate(items) for x in condition_paths(c, (*path, word, i))]


All.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()

# --- evaluation --------------------------------------------------------------------------


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


def evaluate(
    condition: Condition,
    table: Table,
    ledger: LedgerView,
    now: datetime,
    cache: TableCache | None = None,
) -> list[bool]:
    """For every data row of ``table``: does ``condition`` hold? (see the module docstring).
    ``cache`` shares column reads with the other rules of the cycle."""
    evaluator = _Evaluator(table, ledger, now, cache)
    return evaluator.run(condition).tolist()  # type: ignore[no-any-return]


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

    def __init__(
        self, table: Table, ledger: LedgerView, now: datetime, cache: TableCache | None
    ) -> None:
        self.table = table
        self.ledger = ledger
        self.now = now
        self.cache = cache
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
        return column(self.table, name, self.cache)

    def texts(self, name: str) -> list[str]:
        return column_texts(self.table, name, self.cache)

    def _by_text(self, column: str, test: Callable[[str], bool]) -> BoolArray:
        """``test`` applied once per distinct trimmed text of ``column``."""
        texts = self.texts(column)
        answers = {text: test(text) for text in set(texts)}
        return np.fromiter(map(answers.__getitem__, texts), dtype=bool, count=self.size)

    def _by_value(self, column: str, test: Callable[[CellValue], bool]) -> BoolArray:
        """``test`` applied once per distinct (type, value) of ``column``.

        When the filled cells share one type the value alone tells them apart, so the
        lookups run at C speed; mixed columns key each cell by (type, value), since
        equal values of different types (``1``, ``1.0``, ``True``) may answer differently.
        """
        values = self.values(column)
        if len(set(map(type, values)) - {type(None)}) <= 1:
            answers = {value: test(value) for value in set(values)}
            return np.fromiter(map(answers.__getitem__, values), dtype=bool, count=self.size)
        slots: list[tuple[type, Hashable]] = list(zip(map(type, values), values, strict=True))
        by_slot = {slot: test(cast(CellValue, slot[1])) for slot in set(slots)}
        return np.fromiter(map(by_slot.__getitem__, slots), dtype=bool, count=self.size)

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
                    f"the condition on column {column!r} has an invalid regular expression"
                    f" {node.value!r} ({exc}); fix its `value` in the ledger file"
                ) from exc
            return self._by_text(column, lambda x: pattern.fullmatch(x) is not None)
        return self._age(node)

    def _age(self, node: Compare) -> BoolArray:
        return self._by_value(node.column, age_test(node, self.now))


def age_test(node: Compare, now: datetime) -> Callable[[CellValue], bool]:
    """The answer of an ``older_than``/``newer_than`` comparison for one cell at ``now``
    (a cell that is not a date or date-time answers False)."""
    days = parse_duration_days(str(node.value))
    if days is None:  # the ledger model rejects this at load; stay safe anyway
        return lambda _value: False
    limit = timedelta(days=days)
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

        return older

    def newer(value: CellValue) -> bool:
        found = age(value)
        return found is not None and found < limit

    return newer
