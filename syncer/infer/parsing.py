"""Parsing whole columns fast: once per distinct value, phones vectorised.

Inference looks at every value of every column several ways (a phone? a date? a
number?). Ledgers repeat values a lot (dates, dropdown values, staff names), so each
parser runs once per distinct ``(type, value)``; phones go through the validator's own
vectorised :func:`syncer.values.phone_canonical`, so a column of 100,000 mobiles costs
one regex pass, and what init calls a valid phone is exactly what validation accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TypeVar

import pandas as pd

from syncer.model import CellValue
from syncer.values import parse_date, parse_number, phone_canonical

T = TypeVar("T")


def each_distinct(values: Sequence[CellValue], parse: Callable[[CellValue], T]) -> list[T]:
    """``[parse(v) for v in values]``, calling ``parse`` once per distinct value."""
    memo: dict[tuple[type, CellValue], T] = {}
    out: list[T] = []
    for value in values:
        key = (type(value), value)
        if key not in memo:
            memo[key] = parse(value)
        out.append(memo[key])
    return out


def phones(values: Sequence[CellValue], region: str) -> list[str | None]:
    """The canonical phone of each value (None where invalid), as validation sees it."""
    if not values:
        return []
    series = pd.Series(list(values), dtype=object)
    return list(phone_canonical(series, region).tolist())


def dates(values: Sequence[CellValue]) -> list[date | None]:
    """:func:`~syncer.values.parse_date` of each value."""
    return each_distinct(values, parse_date)


def numbers(values: Sequence[CellValue]) -> list[float | None]:
    """:func:`~syncer.values.parse_number` of each value."""
    return each_distinct(values, parse_number)
