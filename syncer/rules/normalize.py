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
from itertools import compress, filterfalse, repeat
from operator import is_
from typing import Literal, cast

import numpy as np
from pydantic import Field

from syncer.ledger_parts import ColumnSpec, FilePath, LedgerView, RuleBase
from syncer.model import CellValue, SetCell
from syncer.rules.base import (
    RuleContext,
    RuleKind,
    RuleResult,
    column,
    ledger_row_keys,
    row_ref,
    rule_label,
)
from syncer.values import format_date, parse_date, parse_phone, to_halfwidth

_MOBILE = re.compile(r"1[3-9]\d{9}")
#: Text already in its final form for a column type (skips the per-value work).
#: The cell types of a column that needs no per-cell look at other types.
_PLAIN: set[type] = {str, type(None)}
_SETTLED = {"phone": _MOBILE, "date": re.compile(r"\d{4}-\d{2}-\d{2}")}


class Normalize(RuleBase):
    """Normalize the listed columns (or every column with ``normalize: true``)."""

    kind: Literal["normalize"]
    columns: list[str] = Field(default_factory=list)

    def named_columns(self) -> list[tuple[FilePath, str]]:
        """The listed columns."""
        return [(("columns", j), c) for j, c in enumerate(self.columns)]


def normalized_columns(rule: Normalize, ledger: LedgerView) -> list[str]:
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
        values = column(table, name, ctx.cache)
        # Decide each distinct text once; other types (numbers, dates) one by one, and
        # only for phones (the one type whose non-text values change).
        kinds = set(map(type, values))
        plain = kinds <= _PLAIN  # only text and empty cells
        texts: set[str] = (
            cast("set[str]", set(values) - {None})
            if plain
            else cast("set[str]", set(compress(values, map(is_, map(type, values), repeat(str)))))
        )
        # Cells of other types change only in a phone column, or when they are text of
        # a str subclass: otherwise the normalizers return them as they are.
        others = spec.type == "phone" or any(issubclass(k, str) and k is not str for k in kinds)
        settled = _SETTLED.get(spec.type)
        todo = texts if settled is None else filterfalse(settled.fullmatch, texts)
        fixed = {v: new for v in todo if (new := tidy(v)) != v}
        if not fixed and spec.type != "phone":
            continue
        for index in _rows_to_check(values, fixed, plain or not others):
            value = values[index]
            if type(value) is str:
                new = fixed[value]
            else:
                new = tidy(value)
                if new is value or (new == value and type(new) is type(value)):
                    continue
            if keys is None:
                keys = ledger_row_keys(ledger, table, ctx.cache)
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


def _rows_to_check(
    values: list[CellValue], fixed: dict[str, CellValue], only_text: bool
) -> list[int]:
    """Indexes, in order, of the text cells ``fixed`` changes and (unless ``only_text``)
    of every non-empty cell that is not plain text (decided one by one by the caller).

    Both sets are found with C-level passes (a membership test per cell, a type test per
    cell); no Python code runs per cell.
    """
    size = len(values)
    hits = np.flatnonzero(np.fromiter(map(fixed.__contains__, values), dtype=bool, count=size))
    if only_text:
        return list(hits.tolist())
    types = np.fromiter(map(type, values), dtype=object, count=size)
    is_text = types == str  # noqa: E721 (elementwise)
    texts = hits[is_text[hits]]
    others = np.flatnonzero(~is_text & (types != type(None)))  # noqa: E721 (elementwise)
    return list(np.union1d(texts, others).tolist())


KIND = RuleKind(Normalize, normalize)
