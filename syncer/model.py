"""Plain data shared by every stage of the loop: snapshots, findings, operations, plans.

Everything here is immutable and free of I/O. Rows are addressed by *row key and
column name* (a :class:`RowRef` plus a column), never by A1 position, so a plan stays
right when a person inserts a row or a column between the read and the write.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from operator import eq
from typing import Literal, overload

#: A cell as connectors deliver it: typed, as people see it. Empty cells are ``None``.
CellValue = str | int | float | bool | date | datetime | None


def is_blank(value: CellValue) -> bool:
    """True for an empty cell: ``None`` or a string of only white space."""
    return value is None or (isinstance(value, str) and not value.strip())


def canonical(value: CellValue) -> str:
    """A stable text form of a cell, used to compare values across reads and store state."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


Row = tuple[CellValue, ...]


class ColumnRows(Sequence[Row]):
    """The data rows of a partial read, each built when asked for.

    A guard read takes a few columns of a tab whole (``columns``: position → typed
    values, one per data row) and a few rows in full (``full``: data-row index → the row,
    trailing blanks trimmed). Building a tuple for each of 100,000 rows that hold three
    values costs more than the read itself, while the guard looks at a handful of rows
    and whole columns only; so rows are made on demand, and :meth:`column` answers a
    whole column without making any. Reads as the tuple of rows it stands for: a row
    from ``columns`` ends after its last non-blank value, blank text reads as None, and
    trailing empty rows are left out.
    """

    __slots__ = ("_columns", "_full", "_n", "_width")

    def __init__(self, columns: Mapping[int, Sequence[CellValue]], full: Mapping[int, Row]):
        self._columns = {pos: values for pos, values in columns.items() if values}
        self._full = dict(full)
        self._width = max(self._columns, default=-1) + 1
        last = [i for i, row in self._full.items() if row]
        for values in self._columns.values():
            i = len(values) - 1
            while i >= 0 and is_blank(values[i]):
                i -= 1
            last.append(i)
        self._n = max(last, default=-1) + 1
        while self._n and not self._row(self._n - 1):  # an empty row read in full
            self._n -= 1

    def __len__(self) -> int:
        return self._n

    def _row(self, index: int) -> Row:
        full = self._full.get(index)
        if full is not None:
            return full
        cells: list[CellValue] = []
        end = 0
        for pos in range(self._width):
            values = self._columns.get(pos)
            value = values[index] if values is not None and index < len(values) else None
            if not is_blank(value):
                cells.extend([None] * (pos - end))
                cells.append(value)
                end = pos + 1
        return tuple(cells)

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Row, ...]: ...

    def __getitem__(self, index: int | slice) -> Row | tuple[Row, ...]:
        if isinstance(index, slice):
            return tuple(self._row(i) for i in range(*index.indices(self._n)))
        if index < 0:
            index += self._n
        if not 0 <= index < self._n:
            raise IndexError("row index out of range")
        return self._row(index)

    def __iter__(self) -> Iterator[Row]:
        return map(self._row, range(self._n))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ColumnRows | tuple | list):
            return len(self) == len(other) and all(map(eq, self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return (
            f"ColumnRows({len(self)} rows: columns {sorted(self._columns)}, {len(self._full)} full)"
        )

    def column(self, pos: int) -> list[CellValue]:
        """Every row's value at ``pos`` (None past a row's end), without making rows."""
        values = self._columns.get(pos)
        if values is None:
            out: list[CellValue] = [None] * self._n
        else:
            out = [None if isinstance(v, str) and not v.strip() else v for v in values[: self._n]]
            out.extend([None] * (self._n - len(out)))
        for i, row in self._full.items():
            if i < self._n:
                out[i] = row[pos] if pos < len(row) else None
        return out


@dataclass(frozen=True)
class Table:
    """One tab as read: its header row and the data rows below it.

    ``header_row`` is the 1-based sheet row holding the header (templates often have a
    title row above it). Data row ``i`` (0-based) sits on sheet row ``header_row + 1 + i``.
    Rows may be shorter than the header (trailing empty cells are trimmed); use
    :meth:`cell` to read them. Trailing blank rows are not included.
    """

    name: str
    header_row: int
    header: tuple[str, ...]
    #: A tuple of rows; a partial read's :class:`ColumnRows`.
    rows: Sequence[Row]
    sheet_id: int | None = None
    #: None when every cell was read. A partial read (the Google guard read) names the
    #: columns it read for *every* row; other rows it holds whole, and the rest carry
    #: only those columns.
    whole_columns: frozenset[str] | None = None
    #: False when the reader knows that no cell is a boolean (a JSON answer without a
    #: ``true`` or ``false`` literal), so validation need not look at every cell's type;
    #: None when it does not know.
    booleans: bool | None = None
    #: For a part of a tab (:meth:`part`): the sheet row each of its rows sits on.
    sheet_rows: tuple[int, ...] | None = field(default=None, repr=False)

    def known(self, index: int, column: str) -> bool:
        """True when the read holds the value of ``column`` in data row ``index``
        (rather than leaving it out)."""
        if self.whole_columns is None or column in self.whole_columns:
            return True
        return any(
            not is_blank(v) and (name not in self.whole_columns)
            for name, v in zip(self.header, self.rows[index], strict=False)
        )

    def sheet_row(self, index: int) -> int:
        """The 1-based sheet row number of data row ``index``."""
        if self.sheet_rows is not None:
            return self.sheet_rows[index]
        return self.header_row + 1 + index

    def index_of(self, column: str) -> int | None:
        """Position of ``column`` in the header (first match), or None when absent."""
        try:
            return self.header.index(column)
        except ValueError:
            return None

    def cell(self, index: int, column: str) -> CellValue:
        """The value of ``column`` in data row ``index`` (None when absent or empty)."""
        pos = self.index_of(column)
        if pos is None:
            return None
        row = self.rows[index]
        return row[pos] if pos < len(row) else None

    def column_values(self, column: str) -> list[CellValue]:
        """Every data row's value for ``column`` (None where the column is absent)."""
        pos = self.index_of(column)
        if pos is None:
            return [None] * len(self.rows)
        if isinstance(self.rows, ColumnRows):
            return self.rows.column(pos)
        return [row[pos] if pos < len(row) else None for row in self.rows]

    def row_dict(self, index: int) -> dict[str, CellValue]:
        """Data row ``index`` as ``{column: value}`` over the named header columns
        (a repeated header name holds its last column's value)."""
        row = self.rows[index]
        width = len(self.header)
        if len(row) < width:
            row = row + (None,) * (width - len(row))
        named = dict(zip(self.header, row, strict=False))  # stops at the header's end
        named.pop("", None)
        return named

    def is_blank_row(self, index: int) -> bool:
        """True when every cell of data row ``index`` is empty."""
        return all(is_blank(v) for v in self.rows[index])

    def find_key(self, key_column: str, key: str) -> list[int]:
        """Data-row indexes whose ``key_column`` holds ``key`` (canonical comparison)."""
        return [i for i, v in enumerate(self.column_values(key_column)) if canonical(v) == key]

    def part(self, indexes: Sequence[int]) -> Table:
        """A tab holding only data rows ``indexes`` of this one (its row ``j`` is row
        ``indexes[j]``, and on the same sheet row: what is found or planned on a part is
        addressed as on this table)."""
        return Table(
            self.name,
            self.header_row,
            self.header,
            tuple(map(self.rows.__getitem__, indexes)),
            sheet_rows=tuple(map(self.sheet_row, indexes)),
        )

    def texts(self, index: int, columns: Sequence[str]) -> tuple[str, ...]:
        """The canonical texts of data row ``index`` in the named ``columns``, sorted by
        name (a name's first position in the header; "" for a column the header lacks or
        the row is too short for): what the guard compares, so that a column inserted or
        moved elsewhere does not make a row differ."""
        return tuple(_texts(self.rows[index], _positions(self.header, tuple(columns))))


def _texts(row: Row, positions: tuple[int | None, ...]) -> list[str]:
    """The canonical text of ``row``'s cell at each position ("" past its end)."""
    size = len(row)
    return [
        ""
        if pos is None or pos >= size
        else v
        if (v := row[pos]).__class__ is str
        else ""
        if v is None
        else canonical(v)
        for pos in positions
    ]


def same_values(a: Row, b: Row) -> bool:
    """True when two rows hold equal values of the same types, so that every text taken
    of them is the same (``1 == 1.0 == True`` alone is not enough, nor are two equal
    instants in different time zones)."""
    if a != b:
        return False
    kinds = list(map(type, a))
    if kinds != list(map(type, b)):
        return False
    if datetime in kinds:  # equal instants in two zones read differently
        return not any(v.tzinfo is not None for v in (*a, *b) if isinstance(v, datetime))
    return True


def same_row(
    before: Table, index: int, after: Table, at: int, ignoring: Collection[str] = ()
) -> bool:
    """True when data row ``index`` of ``before`` and data row ``at`` of ``after`` read
    the same over ``before``'s named columns but ``ignoring`` (each column found by name
    in its own table's header: a column inserted or moved elsewhere changes nothing)."""
    if before.header == after.header and same_values(before.rows[index], after.rows[at]):
        return True
    columns = [c for c in before.header if c not in ignoring]
    return before.texts(index, columns) == after.texts(at, columns)


@lru_cache(maxsize=256)
def _positions(header: tuple[str, ...], columns: tuple[str, ...]) -> tuple[int | None, ...]:
    """The named ``columns`` sorted by name, as each one's first position in ``header``
    (None when absent); computed once per header and column list."""
    first: dict[str, int] = {}
    for pos, name in enumerate(header):
        first.setdefault(name, pos)
    return tuple(first.get(name) for name in sorted({c for c in columns if c}))


@dataclass(frozen=True)
class Snapshot:
    """What one read returned: the tabs that exist, by name, plus the source's change token."""

    tables: Mapping[str, Table]
    change_token: str | None = None

    def get(self, tab: str) -> Table | None:
        """The tab named ``tab``, or None when the source has no such tab."""
        return self.tables.get(tab)


@dataclass(frozen=True)
class Finding:
    """One validation problem. Findings are data, never exceptions.

    ``row`` is the 1-based sheet row (None for a ledger- or tab-level finding such as a
    missing column); ``check`` is a stable machine name (``required``, ``choice``,
    ``phone``, ``unique``, ``missing_column`` …); ``message`` is in the ledger's locale.
    """

    tab: str
    row: int | None
    key: str | None
    column: str | None
    value: CellValue
    check: str
    message: str
    severity: Literal["error", "warning"] = "error"

    @property
    def identity(self) -> str:
        """A stable id across cycles: the same problem on the same customer keeps its id."""
        return finding_identity(self.tab, self.row, self.key, self.column, self.check)


def finding_identity(
    tab: str, row: int | None, key: str | None, column: str | None, check: str
) -> str:
    """:attr:`Finding.identity` of a finding with these fields (the errors tab's lines
    are matched by it without making a Finding of each)."""
    where = key if key else f"row{row}"
    return f"{tab}|{where}|{column or ''}|{check}"


@dataclass(frozen=True)
class RowRef:
    """Addresses a row by its key and the sheet row it was read on.

    The guard finds the row again in a fresh read: by ``key`` when there is one, else at
    ``row``; it must still read as the read had it on ``row`` (over the read header's
    columns) or the operation is dropped (a person edited the row) and re-planned next
    cycle.
    """

    key: str | None
    row: int


@dataclass(frozen=True)
class SetCell:
    """Write ``value`` into ``column`` of one row. ``before`` is the value at read time."""

    tab: str
    target: RowRef
    column: str
    value: CellValue
    before: CellValue
    rule: str
    kind: Literal["set_cell"] = "set_cell"


@dataclass(frozen=True)
class AddColumn:
    """Append ``column`` to the header of ``tab`` (right of the last header cell)."""

    tab: str
    column: str
    rule: str
    kind: Literal["add_column"] = "add_column"


@dataclass(frozen=True)
class EnsureTab:
    """Create ``tab`` with ``header`` (on row 1) when it does not exist."""

    tab: str
    header: tuple[str, ...]
    rule: str
    kind: Literal["ensure_tab"] = "ensure_tab"


@dataclass(frozen=True)
class MoveRow:
    """Append ``values`` (a row, keyed by history-tab column) to ``history_tab``, then
    remove ``target`` from ``tab`` — only if it is still the same row."""

    tab: str
    target: RowRef
    history_tab: str
    values: tuple[tuple[str, CellValue], ...]
    reason: str
    rule: str
    kind: Literal["move_row"] = "move_row"


@dataclass(frozen=True)
class RemoveRow:
    """Remove ``target`` from ``tab`` — only if it is still the same row (a repair)."""

    tab: str
    target: RowRef
    reason: str
    rule: str
    kind: Literal["remove_row"] = "remove_row"


@dataclass(frozen=True)
class AppendRow:
    """Append ``values`` (keyed by column) to ``tab`` unless ``key`` is already on a
    sheet the guard reads (a repair: re-appending a customer found nowhere)."""

    tab: str
    key: str | None
    values: tuple[tuple[str, CellValue], ...]
    reason: str
    rule: str
    kind: Literal["append_row"] = "append_row"


@dataclass(frozen=True)
class ReplaceTab:
    """Replace the whole content of a robot-owned ``tab`` (e.g. the errors tab)."""

    tab: str
    rows: tuple[tuple[CellValue, ...], ...]
    rule: str
    kind: Literal["replace_tab"] = "replace_tab"
    #: Positions of the columns whose values follow the rows a line describes (a row
    #: number, a message naming rows): a line that differs only there is the same line,
    #: moved, when the tab is written by difference.
    shifting: tuple[int, ...] = ()


Operation = SetCell | AddColumn | EnsureTab | MoveRow | ReplaceTab | RemoveRow | AppendRow

#: Operations that change which rows a tab holds: a cycle planning any of them journals
#: its intent before the first write (see :mod:`syncer.journal`).
ROW_CHANGES = (MoveRow, RemoveRow, AppendRow)


@dataclass(frozen=True)
class Plan:
    """An ordered list of operations for one ledger. Computing it touches nothing."""

    ledger: str
    ops: tuple[Operation, ...] = ()
    #: The ledger's key column, so the guard can find keyed rows in a fresh read
    #: (None: rows are resolved by sheet row only).
    key_column: str | None = None

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def __bool__(self) -> bool:
        return bool(self.ops)


@dataclass(frozen=True)
class Dropped:
    """An operation the guard dropped, and why (it will be re-planned next cycle)."""

    op: Operation
    reason: str


@dataclass(frozen=True)
class WrittenCell:
    """A row-addressed cell write as sent: ``tab``, 1-based sheet ``row`` and ``col``."""

    tab: str
    row: int
    col: int
    op: SetCell


@dataclass
class Written:
    """What a connector's :meth:`~syncer.connectors.base.Connector.write` did.

    ``cells``, ``removed`` and ``moves`` describe the writes at the positions of the guard
    read, so the verify stage can tell where each one landed. ``writes`` counts the
    write calls made (each bumps the source's change token once).
    """

    applied: list[Operation] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    cells: list[WrittenCell] = field(default_factory=list)
    #: tab → 0-based data-row indexes (of the guard read) removed from it.
    removed: dict[str, set[int]] = field(default_factory=dict)
    #: tab → keys appended to it, in order.
    appended: dict[str, list[str]] = field(default_factory=dict)
    #: tab → its key column as the last write call left it, returned by that call itself
    #: (so no edit made after the write can blur it); None: the verify reads the keys.
    keys_after: dict[str, list[str] | None] | None = None


@dataclass
class ApplyReport:
    """What a cycle's guard, write and verify stages did with a plan."""

    applied: list[Operation] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    api_calls: int = 0
    #: Keys whose writes did not land on their row (undone where provable): the engine
    #: does not record their observed values, so the next cycle plans them again.
    misplaced: set[str] = field(default_factory=set)
