"""The guard: decide, from a fresh read, which planned operations may still be applied.

A human edit always wins over the robot. Just before writing, the engine has the
connector re-read what the plan touches (``fresh``) and calls :func:`guard`; each
operation is kept — with the position its row has *now* — or dropped with a reason, and
re-planned next cycle:

* **Row operations** (:class:`SetCell`, :class:`MoveRow`, :class:`RemoveRow`) find
  their row in ``fresh`` by key (exactly one row must hold it; the key column is
  ``Plan.key_column``) or, for a row without a key, at the same sheet row. The fresh
  row must read as the snapshot had that row, over the *snapshot's* header columns —
  any edit to the row drops the operation, while a column inserted elsewhere does
  not. A SetCell's cell must still hold ``before`` (trimmed canonical text) and its
  column must exist (or be added by an AddColumn the guard keeps). A MoveRow is
  dropped when its key is already in the history tab, or when the history tab lacks
  (and will not get) a column that carries a value.
* :class:`RemoveRow` (a reconciliation repair) is kept when its row is found unchanged,
  like a MoveRow; :class:`AppendRow` is dropped when its key is on any tab read again
  (someone put the customer back meanwhile) but a tab the same write replaces: the
  errors tab names customers without holding them, and its next content is syncer's.
* :class:`AddColumn` is dropped when the column already exists (someone added it) or
  the tab is gone; :class:`EnsureTab` is kept when the tab is missing or already has
  the same header (creating a tab is "create if missing", so that is a no-op) and
  dropped when the tab appeared with a different header; :class:`ReplaceTab` is always
  kept (the robot owns that tab).

Whether every key is in exactly one of main/history is checked by the engine's
reconciliation (:mod:`syncer.reconcile`) and verify stage (:mod:`syncer.verify`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from syncer.model import (
    AddColumn,
    AppendRow,
    Dropped,
    EnsureTab,
    MoveRow,
    Operation,
    Plan,
    ReplaceTab,
    RowRef,
    SetCell,
    Snapshot,
    Table,
    is_blank,
    same_row,
)
from syncer.rules.base import cell_text, column_texts
from syncer.table_cache import TableCache


@dataclass(frozen=True)
class Resolved:
    """An operation that passed the guard and where its row is *now* (0-based data-row
    index into the fresh table; None for operations not addressed to a row)."""

    op: Operation
    index: int | None


@dataclass
class GuardResult:
    """Operations kept (resolved against the fresh read) and those dropped, with why."""

    kept: list[Resolved] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)


def _named(header: tuple[str, ...]) -> tuple[str, ...]:
    """``header`` without trailing blank cells."""
    names = list(header)
    while names and not names[-1]:
        names.pop()
    return tuple(names)


@dataclass(frozen=True)
class _KeyIndex:
    """Where each key text of a tab is: the last data row holding it, and how many rows
    hold it (counted only when a text repeats: a key column usually holds each once)."""

    last: dict[str, int]
    counts: Counter[str] | None

    @classmethod
    def of(cls, texts: list[str]) -> _KeyIndex:
        last = dict(zip(texts, range(len(texts)), strict=True))
        return cls(last, None if len(last) == len(texts) else Counter(texts))

    def count(self, text: str) -> int:
        """How many rows hold ``text``."""
        if self.counts is not None:
            return self.counts[text]
        return 1 if text in self.last else 0


class _Guard:
    def __init__(self, plan: Plan, snapshot: Snapshot, fresh: Snapshot, cache: TableCache) -> None:
        self.plan = plan
        self.snapshot = snapshot
        self.fresh = fresh
        self.cache = cache
        self.created: set[str] = set()
        self.added: dict[str, set[str]] = defaultdict(set)
        self._key_index: dict[str, _KeyIndex] = {}
        self._names: dict[str, frozenset[str]] = {}
        self.replaced = {op.tab for op in plan.ops if isinstance(op, ReplaceTab)}

    def keys_of(self, table: Table) -> _KeyIndex:
        """The index of ``table``'s key texts (cached)."""
        if table.name not in self._key_index:
            texts: list[str] = []
            if self.plan.key_column is not None:
                texts = column_texts(table, self.plan.key_column, self.cache)
            self._key_index[table.name] = _KeyIndex.of(texts)
        return self._key_index[table.name]

    def structure(self, op: EnsureTab | AddColumn) -> str | None:
        """Why a structural operation must be dropped, or None to keep it."""
        fresh = self.fresh.get(op.tab)
        if isinstance(op, EnsureTab):
            if fresh is not None and _named(fresh.header) != _named(op.header):
                return f"tab {op.tab} was created with a different header since read"
            self.created.add(op.tab)
            return None
        if fresh is None and op.tab not in self.created:
            return f"tab {op.tab} missing"
        if fresh is not None and fresh.index_of(op.column) is not None:
            return f"column {op.column} already exists in tab {op.tab}"
        self.added[op.tab].add(op.column)
        return None

    def locate(self, tab: str, ref: RowRef) -> tuple[int | None, str]:
        """The fresh data-row index of ``ref``'s row, or None and why not."""
        read = self.snapshot.get(tab)
        fresh = self.fresh.get(tab)
        if read is None or fresh is None:
            return None, f"tab {tab} missing"
        who = f"row {ref.key}" if ref.key else f"sheet row {ref.row}"
        if ref.key is not None and self.plan.key_column is not None:
            if fresh.index_of(self.plan.key_column) is None:
                return None, f"column {self.plan.key_column} missing"
            keys = self.keys_of(fresh)
            found = keys.count(ref.key)
            if not found:
                return None, f"{who} deleted"
            if found > 1:
                return None, f"key {ref.key} now on {found} rows"
            index = keys.last[ref.key]
        else:
            index = ref.row - fresh.header_row - 1
            if not 0 <= index < len(fresh.rows):
                return None, f"{who} deleted"
        if not self.unchanged(read, fresh, index, ref):
            return None, f"{who} changed since read"
        return index, ""

    @staticmethod
    def unchanged(read: Table, fresh: Table, index: int, ref: RowRef) -> bool:
        """True when fresh data row ``index`` reads as the read had ``ref``'s row, over
        the read header's columns (:func:`~syncer.model.same_row`)."""
        at = ref.row - read.header_row - 1
        return 0 <= at < len(read.rows) and same_row(read, at, fresh, index)

    def set_cell(self, op: SetCell, index: int) -> str | None:
        fresh = self.fresh.get(op.tab)
        if fresh is None:
            return f"tab {op.tab} missing"
        if fresh.index_of(op.column) is None:
            if op.column not in self.added[op.tab]:
                return f"column {op.column} missing"
            current = None
        else:
            current = fresh.cell(index, op.column)
        if cell_text(current) != cell_text(op.before):
            who = f"row {op.target.key}" if op.target.key else f"sheet row {op.target.row}"
            return f"cell {op.column} of {who} changed since read"
        return None

    def move_row(self, op: MoveRow) -> str | None:
        history = self.fresh.get(op.history_tab)
        if history is None:
            if op.history_tab in self.created:
                return None
            return f"history tab {op.history_tab} missing"
        key = op.target.key
        if (
            key is not None
            and self.plan.key_column is not None
            and self.keys_of(history).count(key)
        ):
            return f"row {key} already in {op.history_tab}"
        have = self.names(history)
        for column, value in op.values:
            if column in have or is_blank(value):
                continue
            if column not in self.added[op.history_tab]:
                return f"column {column} missing in {op.history_tab}"
        return None

    def names(self, table: Table) -> frozenset[str]:
        """The column names in ``table``'s header (cached)."""
        if table.name not in self._names:
            self._names[table.name] = frozenset(table.header)
        return self._names[table.name]

    def append_row(self, op: AppendRow) -> str | None:
        target = self.fresh.get(op.tab)
        if target is None and op.tab not in self.created:
            return f"tab {op.tab} missing"
        if op.key is not None and self.plan.key_column is not None:
            for table in self.fresh.tables.values():
                if (
                    table.name not in self.replaced
                    and table.index_of(self.plan.key_column) is not None
                    and self.keys_of(table).count(op.key)
                ):
                    return f"row {op.key} is in {table.name} again"
        return None

    def run(self) -> GuardResult:
        result = GuardResult()
        for op in self.plan.ops:
            reason: str | None
            index: int | None = None
            if isinstance(op, EnsureTab | AddColumn):
                reason = self.structure(op)
            elif isinstance(op, ReplaceTab):
                reason = None
            elif isinstance(op, AppendRow):
                reason = self.append_row(op)
            else:
                index, why = self.locate(op.tab, op.target)
                if index is None:
                    reason = why
                elif isinstance(op, SetCell):
                    reason = self.set_cell(op, index)
                elif isinstance(op, MoveRow):
                    reason = self.move_row(op)
                else:
                    reason = None
            if reason is None:
                result.kept.append(Resolved(op, index))
            else:
                result.dropped.append(Dropped(op, reason))
        return result


def kept_as_read(plan: Plan, snapshot: Snapshot) -> list[Resolved]:
    """What :func:`guard` keeps when the guard read finds every tab and row as ``snapshot``
    had them: every operation, in the plan's order, each row at its read position. Cheap
    (no key index, no row compared): work prepared ahead of the guard assumes it, and is
    used only when the guard's real answer is the same."""
    out: list[Resolved] = []
    for op in plan.ops:
        if isinstance(op, EnsureTab | AddColumn | ReplaceTab | AppendRow):
            out.append(Resolved(op, None))
            continue
        table = snapshot.get(op.tab)
        out.append(Resolved(op, None if table is None else op.target.row - table.header_row - 1))
    return out


def guard(
    plan: Plan, snapshot: Snapshot, fresh: Snapshot, cache: TableCache | None = None
) -> GuardResult:
    """Pure: keep the operations whose target is unchanged between ``snapshot`` and ``fresh``.

    Kept operations keep the plan's order. Structural operations come first in a plan,
    so later cell writes may rely on the columns and tabs they create. ``cache``: the
    cycle's column reads (the verify stage reads the same key columns of ``fresh``).
    """
    return _Guard(plan, snapshot, fresh, cache if cache is not None else TableCache()).run()
