"""What every rule receives and returns."""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress, repeat
from operator import is_, itemgetter
from typing import TypeVar, cast

import numpy as np

from syncer.ledger import LedgerConfig, RuleBase
from syncer.model import (
    CellValue,
    Finding,
    Operation,
    RowRef,
    Snapshot,
    Table,
    canonical,
    is_blank,
)
from syncer.values import is_placeholder


@dataclass(frozen=True)
class PreviousState:
    """What the last cycles recorded for a ledger.

    ``watched``: row key → column → canonical value seen at the last cycle (for
    ``stamp_on_change``). ``first_seen``: finding identity → when it first appeared.
    """

    watched: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    first_seen: Mapping[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may look at. ``now`` is timezone-aware, in the ledger's zone."""

    ledger: LedgerConfig
    snapshot: Snapshot
    findings: Sequence[Finding]
    previous: PreviousState
    now: datetime


@dataclass
class RuleResult:
    """Operations a rule proposes, and values it observed (recorded after the apply).

    ``observed``: row key → column → canonical value, for rows whose watched values
    should be remembered. The engine does not record a row whose operations the guard
    dropped, so the change is seen again next cycle.
    """

    ops: list[Operation] = field(default_factory=list)
    observed: dict[str, dict[str, str]] = field(default_factory=dict)


# --- helpers shared by the rules, the annotations and the planner -----------------------


def cell_text(value: CellValue) -> str:
    """The canonical text of a cell with surrounding white space removed.

    Rules compare and remember cells in this form, so a trailing space a person typed
    does not count as a change.
    """
    if type(value) is str:
        return value.strip()
    return canonical(value).strip()


def column(table: Table, name: str) -> list[CellValue]:
    """``table.column_values(name)``, memoised for the few tables of the current cycle.

    Several rules read the same columns (the key column above all); on a 100,000-row tab
    each read costs milliseconds, so the lists are shared. Treat them as read-only.
    """
    return _memo(table, ("column", name), lambda: _column_values(table, name))


def _column_values(table: Table, name: str) -> list[CellValue]:
    """Same as ``table.column_values(name)``, faster when no row is cut short."""
    pos = table.index_of(name)
    if pos is None:
        return [None] * len(table.rows)
    try:
        return list(map(itemgetter(pos), table.rows))
    except IndexError:  # trailing empty cells were trimmed from some rows
        return table.column_values(name)


def column_texts(table: Table, name: str) -> list[str]:
    """:func:`cell_text` of every cell of column ``name`` (memoised like :func:`column`)."""
    return _memo(table, ("texts", name), lambda: _texts(column(table, name)))


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


def row_keys(table: Table, key_column: str, placeholders: Sequence[str] = ()) -> list[str | None]:
    """Each data row's key (its key cell as :func:`cell_text`), or None when the row has
    no usable identity: the key cell is empty or a placeholder (未知 …), or another row
    holds the same key."""

    def compute() -> list[str | None]:
        values = column(table, key_column)
        texts = column_texts(table, key_column)
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

    return _memo(table, ("keys", key_column, tuple(placeholders)), compute)


def ledger_row_keys(ledger: LedgerConfig, table: Table) -> list[str | None]:
    """:func:`row_keys` of ``table`` with the ledger's key column and its placeholders."""
    return row_keys(table, ledger.key, ledger.placeholders_for(ledger.key))


_T = TypeVar("_T")
#: id(table) → (weak reference to the table, memo). An entry is removed when its table
#: is garbage-collected, so the memo never keeps a snapshot alive.
_MEMO: dict[int, tuple[weakref.ref[Table], dict[tuple[object, ...], object]]] = {}
_MEMO_LOCK = threading.Lock()


def _forget(table_id: int, ref: weakref.ref[Table]) -> None:
    with _MEMO_LOCK:
        entry = _MEMO.get(table_id)
        if entry is not None and entry[0] is ref:
            del _MEMO[table_id]


def _memo(table: Table, slot: tuple[object, ...], compute: Callable[[], _T]) -> _T:
    """``compute()`` once per (table object, slot) while the table is alive."""
    with _MEMO_LOCK:
        entry = _MEMO.get(id(table))
        if entry is None or entry[0]() is not table:
            ref = weakref.ref(table)
            entry = (ref, {})
            _MEMO[id(table)] = entry
            weakref.finalize(table, _forget, id(table), ref)
        memo = entry[1]
    if slot not in memo:
        memo[slot] = compute()
    return memo[slot]  # type: ignore[return-value]


def row_ref(table: Table, index: int, key: str | None) -> RowRef:
    """A :class:`RowRef` for data row ``index``: its key, sheet row and fingerprint over
    the read header's named columns."""
    return RowRef(key=key, row=table.sheet_row(index), fingerprint=table.fingerprint(index))


def rule_label(rule: RuleBase) -> str:
    """The name an operation carries for the rule that proposed it (its ``name`` or kind)."""
    kind = getattr(rule, "kind", type(rule).__name__)
    return rule.name or str(kind)


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


def local_naive(now: datetime) -> datetime:
    """``now`` as a naive wall-clock time in its own zone, to the second.

    Spreadsheets have no time zones: the robot writes times as the ledger's local time.
    """
    return now.replace(tzinfo=None, microsecond=0)
