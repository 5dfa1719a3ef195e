"""Reading whole columns of a :class:`~syncer.model.Table`, with a per-cycle cache.

Several rules, the conditions and the annotations read the same columns (the key column
above all); on a 100,000-row tab each read costs milliseconds. A :class:`TableCache`
made for one cycle (it travels on :class:`~syncer.rules.base.RuleContext`) remembers
each column read of each table it was given; it keeps those tables alive only as long
as the cache itself lives. Every helper also works without a cache (it then computes).
Treat the lists returned as read-only: they are shared.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from itertools import compress, repeat
from operator import is_, itemgetter
from typing import TypeVar, cast

import numpy as np

from syncer.model import CellValue, Table, canonical, is_blank
from syncer.values import is_placeholder

_T = TypeVar("_T")


class TableCache:
    """Column reads of the tables of one cycle, computed once per (table, slot).

    Entries are keyed by table object; the cache holds a reference to each table, so
    an ``id()`` can never be reused while its entry exists. Not shared between threads:
    one cycle runs on one thread.
    """

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Table, dict[tuple[object, ...], object]]] = {}

    def get(self, table: Table, slot: tuple[object, ...], compute: Callable[[], _T]) -> _T:
        """``compute()`` once per (table object, slot)."""
        entry = self._memo.get(id(table))
        if entry is None or entry[0] is not table:
            entry = (table, {})
            self._memo[id(table)] = entry
        memo = entry[1]
        if slot not in memo:
            memo[slot] = compute()
        return memo[slot]  # type: ignore[return-value]

    def __len__(self) -> int:
        """How many tables the cache holds entries for."""
        return len(self._memo)


def _cached(
    cache: TableCache | None, table: Table, slot: tuple[object, ...], compute: Callable[[], _T]
) -> _T:
    return compute() if cache is None else cache.get(table, slot, compute)


def cell_text(value: CellValue) -> str:
    """The canonical text of a cell with surrounding white space removed.

    Rules compare and remember cells in this form, so a trailing space a person typed
    does not count as a change.
    """
    if type(value) is str:
        return value.strip()
    return canonical(value).strip()


def column(table: Table, name: str, cache: TableCache | None = None) -> list[CellValue]:
    """``table.column_values(name)`` (shared through ``cache`` when given)."""
    return _cached(cache, table, ("column", name), lambda: _column_values(table, name))


def _column_values(table: Table, name: str) -> list[CellValue]:
    """Same as ``table.column_values(name)``, faster when no row is cut short."""
    pos = table.index_of(name)
    if pos is None:
        return [None] * len(table.rows)
    try:
        return list(map(itemgetter(pos), table.rows))
    except IndexError:  # trailing empty cells were trimmed from some rows
        return table.column_values(name)


def column_texts(table: Table, name: str, cache: TableCache | None = None) -> list[str]:
    """:func:`cell_text` of every cell of column ``name`` (shared like :func:`column`)."""
    return _cached(cache, table, ("texts", name), lambda: _texts(column(table, name, cache)))


def _texts(values: list[CellValue]) -> list[str]:
    """:func:`cell_text` of every value: the text cells stripped in one C-level pass,
    only the other cells (empty, numbers, dates) converted one by one."""
    is_text = list(map(is_, map(type, values), repeat(str)))
    if all(is_text):
        return list(map(str.strip, cast("list[str]", values)))
    out = np.empty(len(values), dtype=object)
    mask = np.array(is_text, dtype=bool)
    out[mask] = list(map(str.strip, cast("list[str]", list(compress(values, is_text)))))
    others = np.flatnonzero(~mask).tolist()
    out[others] = [cell_text(values[i]) for i in others]
    return list(out.tolist())


def placeholder_test(placeholders: Sequence[str]) -> Callable[[CellValue], bool]:
    """A fast ``is_placeholder(value, placeholders)`` for whole columns.

    Text longer than the longest placeholder cannot be one (half-width conversion keeps
    lengths and case folding never shortens), which skips the full check for nearly
    every cell.
    """
    longest = max((len(p.strip()) for p in placeholders), default=-1)

    def test(value: CellValue) -> bool:
        if type(value) is not str or len(value.strip()) > longest:
            return False
        return is_placeholder(value, placeholders)

    return test


def is_empty(value: CellValue, placeholders: Sequence[str]) -> bool:
    """True for a blank cell or a placeholder such as 未知 / 待补充."""
    return is_blank(value) or is_placeholder(value, placeholders)


def empty_test(placeholders: Sequence[str]) -> Callable[[CellValue], bool]:
    """A fast :func:`is_empty` for whole columns (see :func:`placeholder_test`)."""
    fake = placeholder_test(placeholders)

    def test(value: CellValue) -> bool:
        if value is None:
            return True
        if type(value) is not str:
            return False
        return not value.strip() or fake(value)

    return test


def row_keys(
    table: Table,
    key_column: str,
    placeholders: Sequence[str] = (),
    cache: TableCache | None = None,
) -> list[str | None]:
    """Each data row's key (its key cell as :func:`cell_text`), or None when the row has
    no usable identity: the key cell is empty or a placeholder (未知 …), or another row
    holds the same key."""

    def compute() -> list[str | None]:
        values = column(table, key_column, cache)
        texts = column_texts(table, key_column, cache)
        counts = Counter(texts)
        fake = placeholder_test(placeholders)
        longest = max((len(p.strip()) for p in placeholders), default=-1)
        size = len(texts)
        # Column-wise at C speed: once per cell a count lookup and a length; only short
        # texts (which might be placeholders) are tested one by one.
        single = np.fromiter(map(counts.__getitem__, texts), dtype=np.int64, count=size) == 1
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=size)
        usable = single & (lengths > 0)
        for i in np.flatnonzero(usable & (lengths <= longest)).tolist():
            usable[i] = not fake(values[i])
        keys = np.empty(size, dtype=object)
        keys[:] = texts
        keys[~usable] = None
        return list(keys.tolist())

    return _cached(cache, table, ("keys", key_column, tuple(placeholders)), compute)
