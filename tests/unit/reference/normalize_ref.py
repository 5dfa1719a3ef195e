# Reference copy (tests only): the pre-optimisation implementation, see __init__.py.
# ruff: noqa
# mypy: ignore-errors
"""``normalize``: tidy values in place, only where the result is unambiguous.

Columns: the rule's ``columns`` plus every column whose spec has ``normalize: true``
(robot-owned columns are never touched). Per column type:

* ``phone``: the canonical number (:func:`syncer.values.parse_phone`: ``+86 138-0013-8000``
  → ``13800138000``, also numbers stored as floats), written as text;
* ``date``: text that :func:`syncer.values.parse_date` reads (``2024/3/1``, ``2024年3月1日``)
  becomes a real date (``datetime.date``, shown ``YYYY-MM-DD``); cells already holding a
  date or a number are left alone;
* ``choice``/``multi_choice``: the trimmed text, or its half-width form when only that
  is an allowed value;
* every other type: text is trimmed and full-width characters become half-width.

When a value does not parse (ambiguous ``03/04/2024``, an invalid phone) only trimming
and half-width conversion apply. A cell is written only when the result differs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import filterfalse

from syncer.ledger import ColumnSpec, LedgerConfig, Normalize
from syncer.model import CellValue, SetCell
from syncer.rules.base import (
    RuleContext,
    RuleResult,
    column,
    ledger_row_keys,
    row_ref,
    rule_label,
)
from syncer.values import format_date, parse_date, parse_phone, to_halfwidth

_MOBILE = re.compile(r"1[3-9]\d{9}")
#: Text already in its final form for a column type (skips the per-value work).
_SETTLED = {"phone": _MOBILE, "date": re.compile(r"\d{4}-\d{2}-\d{2}")}


def normalized_columns(rule: Normalize, ledger: LedgerConfig) -> list[str]:
    """The columns ``rule`` normalizes, in order, without robot-owned columns."""
    wanted = [*rule.columns, *(c for c, spec in ledger.columns.items() if spec.normalize)]
    owned = set(ledger.owned_columns())
    return [c for c in dict.fromkeys(wanted) if c not in owned]


def _tidy(text: str) -> str:
    return to_halfwidth(text).strip()


def normalizer(spec: ColumnSpec) -> Callable[[CellValue], CellValue]:
    """The function giving a cell's normalized value for a column of ``spec``."""
    if spec.type == "phone":

        def phone(value: CellValue) -> CellValue:
            if type(value) is str and _MOBILE.fullmatch(value):
                return value
            if isinstance(value, bool):
                return value
            found = parse_phone(value, spec.region)
            if found is not None:
                return found
            return (_tidy(value) or None) if isinstance(value, str) else value

        return phone
    if spec.type == "date":

        def day(value: CellValue) -> CellValue:
            if not isinstance(value, str):
                return value
            found = parse_date(value)
            if found is None or value.strip() == format_date(found):
                return _tidy(value) or None
            return found

        return day
    if spec.type in ("choice", "multi_choice"):
        allowed = frozenset(spec.values or ())

        def choice(value: CellValue) -> CellValue:
            if not isinstance(value, str):
                return value
            trimmed = value.strip()
            if trimmed not in allowed and _tidy(value) in allowed:
                return _tidy(value)
            return trimmed or None

        return choice

    def text(value: CellValue) -> CellValue:
        if not isinstance(value, str) or (value.isascii() and value == value.strip()):
            return value
        return _tidy(value) or None

    return text


def normalize(rule: Normalize, ctx: RuleContext) -> RuleResult:
    """Propose a SetCell for every cell whose normalized value differs."""
    result = RuleResult()
    ledger = ctx.ledger
    table = ctx.snapshot.get(ledger.tabs.main)
    if table is None:
        return result
    label = rule_label(rule)
    keys: list[str | None] | None = None
    for name in normalized_columns(rule, ledger):
        if table.index_of(name) is None:
            continue
        spec = ledger.columns.get(name, ColumnSpec())
        tidy = normalizer(spec)
        values = column(table, name)
        # Decide each distinct text once; other types (numbers, dates) one by one, and
        # only for phones (the one type whose non-text values change).
        texts = {v for v in values if type(v) is str}
        settled = _SETTLED.get(spec.type)
        todo = texts if settled is None else filterfalse(settled.fullmatch, texts)
        fixed = {v: new for v in todo if (new := tidy(v)) != v}
        if not fixed and spec.type != "phone":
            continue
        for index, value in enumerate(values):
            if value is None:
                continue
            if type(value) is str:
                if value not in fixed:
                    continue
                new = fixed[value]
            else:
                new = tidy(value)
                if new is value or (new == value and type(new) is type(value)):
                    continue
            if keys is None:
                keys = ledger_row_keys(ledger, table)
            result.ops.append(
                SetCell(
                    tab=ledger.tabs.main,
                    target=row_ref(table, index, keys[index]),
                    column=name,
                    value=new,
                    before=value,
                    rule=label,
                )
            )
    return result
