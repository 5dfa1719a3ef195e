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
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import TypeVar

from syncer.model import CellValue, ColumnRows, Table, canonical, is_blank
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
    if isinstance(table.rows, ColumnRows):
        return table.rows.column(pos)
    try:
        return list(map(itemgetter(pos), table.rows))
    except IndexError:  # trailing empty cells were trimmed from some rows
        return table.column_values(name)


def column_texts(table: Table, name: str, cache: TableCache | None = None) -> list[str]:
    """:func:`cell_text` of every cell of column ``name`` (shared like :func:`column`)."""
    return _cached(cache, table, ("texts", name), lambda: cell_texts(column(table, name, cache)))


def cell_texts(values: Iterable[CellValue]) -> list[str]:
    """:func:`cell_text` of every value. One comprehension: on a column of a read (its
    cells scattered through memory) each extra pass over 100k cells costs as much as the
    work, so masks and arrays made it three times slower than this."""
    return [v.strip() if v.__class__ is str else cell_text(v) for v in values]


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
        unusable = {text for text, n in Counter(texts).items() if n > 1}
        unusable.add("")
        fake = placeholder_test(placeholders)
        longest = max((len(p.strip()) for p in placeholders), default=-1)
        # Only a text no longer than the longest placeholder can be one (see
        # placeholder_test): those few rows are tested on their cell.
        keys: list[str | None] = [None if t in unusable else t for t in texts]
        for i in [i for i, t in enumerate(keys) if t is not None and len(t) <= longest]:
            if fake(values[i]):
                keys[i] = None
        return keys

    return _cached(cache, table, ("keys", key_column, tuple(placeholders)), compute)
