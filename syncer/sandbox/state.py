"""In-memory workbooks: sheets as compact row lists of typed values, sparse cell extras.

Values live in ``Sheet.rows`` (a list of Python lists holding ``None``/str/bool/int/float);
formulas, notes, formats and data validation live in ``Sheet.extras`` (row -> col -> Extra),
which stays small, so rendering a plain grid has no per-cell object overhead.

Format and validation dicts stored in an Extra are never mutated in place (code replaces
them), so copies of a sheet share them and equal number formats are stored once.
"""

from __future__ import annotations

import copy
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import repeat
from operator import attrgetter, is_not
from typing import Any, Literal

from syncer.sandbox.a1 import Bounds
from syncer.sandbox.row_runs import surviving_rows
from syncer.sandbox.values import (
    DATE_TYPES,
    DateTimeRenderOption,
    Parsed,
    Value,
    ValueRenderOption,
    date_pattern,
    format_date,
    format_general,
    render_value,
)

Role = Literal["owner", "writer", "reader"]
DEFAULT_ROWS = 1000
DEFAULT_COLS = 26


_FORMATS: dict[tuple[str, str], dict[str, Any]] = {}


def _number_format_only(number_format: dict[str, str]) -> dict[str, Any]:
    """A shared ``{"numberFormat": …}`` format (thousands of date cells hold the same one)."""
    key = (number_format.get("type", ""), number_format.get("pattern", ""))
    found = _FORMATS.get(key)
    if found is None:
        found = _FORMATS[key] = {"numberFormat": dict(number_format)}
    return found


@dataclass(frozen=True, slots=True)
class Extra:
    """What a cell holds besides its value. Immutable: changes replace it (Sheet.update_extra),
    so copies of a sheet can share Extra objects."""

    formula: str | None = None
    note: str | None = None
    format: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None

    def empty(self) -> bool:
        """Whether nothing is left in this extra."""
        return not (self.formula or self.note or self.format or self.validation)


_NO_EXTRA = Extra()
_formula_of = attrgetter("formula")


def _has_formula(cols: dict[int, Extra]) -> bool:
    """Whether any Extra of a row holds a formula (the loop runs in C)."""
    return any(map(is_not, map(_formula_of, cols.values()), repeat(None)))


_EXTRA_FIELDS = frozenset({"formula", "note", "format", "validation"})


@dataclass
class Sheet:
    """One tab: grid properties, typed values and sparse extras."""

    sheet_id: int
    title: str
    row_count: int = DEFAULT_ROWS
    column_count: int = DEFAULT_COLS
    frozen_rows: int = 0
    frozen_cols: int = 0
    hidden: bool = False
    tab_color: dict[str, Any] | None = None
    rows: list[list[Value]] = field(default_factory=list)
    extras: dict[int, dict[int, Extra]] = field(default_factory=dict)
    conditional_formats: list[dict[str, Any]] = field(default_factory=list)
    protected_ranges: list[dict[str, Any]] = field(default_factory=list)
    #: ids of the per-row extras dicts this sheet alone holds (others are shared with a
    #: clone and are copied before their first change: copy-on-write).
    _own_extras: set[int] = field(default_factory=set, repr=False, compare=False)
    #: the same for the row lists in ``rows``
    _own_rows: set[int] = field(default_factory=set, repr=False, compare=False)
    #: an upper bound on the rows holding a formula (None: unknown, compute it)
    _formula_bound: int | None = field(default=None, repr=False, compare=False)

    def clone(self) -> Sheet:
        """A copy sharing nothing mutable with this sheet.

        Extras are immutable, and row lists and per-row extras dicts are copied on first
        write (by either sheet), so cloning costs O(rows), not O(cells).
        """
        twin = copy.copy(self)
        twin.rows = list(self.rows)
        twin.extras = dict(self.extras)
        self._own_extras, twin._own_extras = set(), set()
        self._own_rows, twin._own_rows = set(), set()
        twin.conditional_formats = copy.deepcopy(self.conditional_formats)
        twin.protected_ranges = copy.deepcopy(self.protected_ranges)
        twin.tab_color = copy.deepcopy(self.tab_color)
        return twin

    # -- cells ----------------------------------------------------------------------------

    def value(self, row: int, col: int) -> Value:
        """The stored value at a 0-based cell."""
        if row < len(self.rows):
            cells = self.rows[row]
            if col < len(cells):
                return cells[col]
        return None

    def extra(self, row: int, col: int) -> Extra | None:
        """The extras at a cell, if any."""
        cols = self.extras.get(row)
        return cols.get(col) if cols else None

    def update_extra(self, row: int, col: int, **changes: Any) -> None:
        """Replace fields of a cell's extras (formula, note, format, validation).

        The Extra is replaced, never mutated; an Extra left empty is removed.
        """
        cols = self.extras.get(row)
        current = cols.get(col) if cols else None
        if not changes.keys() <= _EXTRA_FIELDS:
            raise TypeError(f"unknown Extra fields: {sorted(changes.keys() - _EXTRA_FIELDS)}")
        base = current or _NO_EXTRA
        get = changes.get
        updated = Extra(
            get("formula", base.formula),
            get("note", base.note),
            get("format", base.format),
            get("validation", base.validation),
        )
        if cols is not None and id(cols) not in self._own_extras:
            cols = dict(cols)  # shared with a clone: copy before changing
            self.extras[row] = cols
            self._own_extras.add(id(cols))
        if updated.empty():
            if cols and col in cols:
                del cols[col]
                if not cols:
                    del self.extras[row]
        elif cols is None:
            cols = self.extras[row] = {col: updated}
            self._own_extras.add(id(cols))
        else:
            cols[col] = updated
        if (
            updated.formula is not None
            and self._formula_bound is not None
            and row >= self._formula_bound
        ):
            self._formula_bound = row + 1

    def set_raw(self, row: int, col: int, value: Value) -> None:
        """Store a value (no parsing), growing the row lists as needed."""
        rows = self.rows
        if row >= len(rows):
            if value is None:
                return
            rows.extend([] for _ in range(row + 1 - len(rows)))
        cells = rows[row]
        if col >= len(cells) and value is None:
            return
        if id(cells) not in self._own_rows:
            cells = rows[row] = list(cells)  # shared with a clone: copy before changing
            self._own_rows.add(id(cells))
        if col >= len(cells):
            cells.extend([None] * (col + 1 - len(cells)))
        cells[col] = value

    def _own_row(self, row: int) -> list[Value]:
        """Row ``row``'s list, copied first if a clone shares it (``row < len(rows)``)."""
        cells = self.rows[row]
        if id(cells) not in self._own_rows:
            cells = self.rows[row] = list(cells)
            self._own_rows.add(id(cells))
        return cells

    def write(self, row: int, col: int, parsed: Parsed) -> None:
        """Write a parsed input: value, formula, and the number format it implies."""
        self.set_raw(row, col, parsed.value)
        ex = self.extra(row, col)
        if parsed.formula is not None or (ex is not None and ex.formula is not None):
            self.update_extra(row, col, formula=parsed.formula)
        if parsed.number_format is not None:
            ex = self.extra(row, col)
            if ex is None or ex.format is None:
                fmt = _number_format_only(parsed.number_format)
            else:
                fmt = {**ex.format, "numberFormat": dict(parsed.number_format)}
            self.update_extra(row, col, format=fmt)

    def set_note(self, row: int, col: int, note: str | None) -> None:
        """Set or clear a cell's note."""
        self.update_extra(row, col, note=note or None)

    def clear_values(self, bounds: Bounds) -> None:
        """Clear values and formulas (not formats or notes) inside closed bounds."""
        assert bounds.end_row is not None
        assert bounds.end_col is not None
        for r in range(bounds.start_row, min(bounds.end_row, len(self.rows))):
            if len(self.rows[r]) <= bounds.start_col:
                continue
            cells = self._own_row(r)
            for c in range(bounds.start_col, min(bounds.end_col, len(cells))):
                cells[c] = None
        for r, cols in list(self.extras.items()):
            if bounds.start_row <= r < bounds.end_row:
                for c, ex in list(cols.items()):
                    if bounds.start_col <= c < bounds.end_col and ex.formula is not None:
                        self.update_extra(r, c, formula=None)

    def has_content(self, row: int, col: int) -> bool:
        """Whether a cell has a value or formula."""
        if self.value(row, col) is not None:
            return True
        ex = self.extra(row, col)
        return ex is not None and ex.formula is not None

    def stored_rows(self) -> int:
        """One past the last row that may hold anything (values or extras)."""
        return max(len(self.rows), max(self.extras, default=-1) + 1)

    def row_span(self, row: int, start: int, end: int) -> tuple[int, int] | None:
        """(first, one past last) column with a value or formula in ``start``..``end``."""
        cells = self.rows[row][start:end] if row < len(self.rows) else []
        cols = [start + i for i, v in enumerate(cells) if v is not None]
        for c, ex in self.extras.get(row, {}).items():
            if start <= c < end and ex.formula is not None:
                cols.append(c)
        return (min(cols), max(cols) + 1) if cols else None

    def row_filled(self, row: int, start: int, end: int) -> bool:
        """Whether a row has a value or formula in columns ``start``..``end``."""
        if row < len(self.rows):
            for v in self.rows[row][start:end]:
                if v is not None:
                    return True
        cols = self.extras.get(row) or {}
        return any(start <= c < end and ex.formula is not None for c, ex in cols.items())

    def used_rows(self) -> int:
        """One past the last row holding a value or formula."""
        last = 0
        for r in range(len(self.rows) - 1, -1, -1):
            if any(v is not None for v in self.rows[r]):
                last = r + 1
                break
        if self._formula_bound is not None and self._formula_bound <= last:
            return last  # the usual case: O(1) once the bound is known
        # compute the exact bound (O(rows with extras)); it stays valid until formulas move
        bound = max((r for r, cols in self.extras.items() if _has_formula(cols)), default=-1) + 1
        self._formula_bound = bound
        return max(last, bound)

    # -- rendering ------------------------------------------------------------------------

    def render(
        self,
        bounds: Bounds,
        render: ValueRenderOption,
        date_render: DateTimeRenderOption,
        evaluate: Callable[[Sheet, int, int], Value] | None = None,
    ) -> list[list[Any]]:
        """Rows of rendered values inside closed bounds, trailing empties trimmed.

        ``evaluate`` gives formula cells their value (see formula.workbook_evaluator);
        without it they read as empty.
        """
        assert bounds.end_row is not None
        assert bounds.end_col is not None
        out: list[list[Any]] = []
        rows = self.rows
        extras = self.extras
        c0, c1 = bounds.start_col, bounds.end_col
        formatted = render == "FORMATTED_VALUE"
        dates_as_text = formatted or (
            render == "UNFORMATTED_VALUE" and date_render == "FORMATTED_STRING"
        )
        width = c1 - c0
        stored = len(rows)
        # rows past the stored ones render empty; stored_rows() walks the extras, which a
        # range inside the stored rows (a row span) need not do
        end = (
            bounds.end_row if bounds.end_row <= stored else min(bounds.end_row, self.stored_rows())
        )
        for r in range(bounds.start_row, end):
            cells = rows[r][c0:c1] if r < stored else []
            line: list[Any]
            if formatted:
                line = [
                    v
                    if v.__class__ is str
                    else ""
                    if v is None
                    else str(v)
                    if v.__class__ is int
                    else ("TRUE" if v else "FALSE")
                    if v.__class__ is bool
                    else format_general(v)  # type: ignore[arg-type]
                    for v in cells
                ]
            else:
                line = ["" if v is None else v for v in cells]
            cols = extras.get(r)
            if cols:
                for c, ex in cols.items():
                    i = c - c0
                    if not 0 <= i < width:
                        continue
                    if ex.formula is not None and render != "FORMULA":
                        nf = ex.format.get("numberFormat") if ex.format else None
                        v = evaluate(self, r, c) if evaluate is not None else None
                        if i >= len(line):
                            line.extend([""] * (i + 1 - len(line)))
                        line[i] = render_value(v, None, nf, render, date_render)
                    elif i < len(cells):
                        v = cells[i]
                        fmt = ex.format
                        nf = fmt.get("numberFormat") if fmt else None
                        if (
                            nf is not None
                            and ex.formula is None
                            and (v.__class__ is int or v.__class__ is float)
                            and nf.get("type") in DATE_TYPES
                        ):
                            # the common case of a date column, without the general path
                            if dates_as_text:
                                line[i] = format_date(v, date_pattern(nf))
                            continue
                        line[i] = render_value(v, ex.formula, nf, render, date_render)
                    elif render == "FORMULA" and ex.formula is not None:
                        line.extend([""] * (i + 1 - len(line)))
                        line[i] = ex.formula
            while line and line[-1] == "":
                line.pop()
            out.append(line)
        while out and not out[-1]:
            out.pop()
        return out

    def typed(self) -> list[list[Value]]:
        """The typed grid (formula cells show their formula), trailing empties trimmed."""
        out: list[list[Value]] = []
        for r in range(self.stored_rows()):
            line = list(self.rows[r]) if r < len(self.rows) else []
            for c, ex in (self.extras.get(r) or {}).items():
                if ex.formula is not None:
                    line.extend([None] * (c + 1 - len(line)))
                    line[c] = ex.formula
            while line and line[-1] is None:
                line.pop()
            out.append(line)
        while out and not out[-1]:
            out.pop()
        return out

    # -- structure ------------------------------------------------------------------------

    def insert_rows(self, at: int, count: int) -> None:
        """Insert empty rows before 0-based row ``at``."""
        if at < len(self.rows):
            self.rows[at:at] = [[] for _ in range(count)]
        self.extras = {(r + count if r >= at else r): cols for r, cols in self.extras.items()}
        if self._formula_bound is not None:
            self._formula_bound += count
        self.row_count += count

    def delete_row_ranges(self, ranges: list[tuple[int, int]]) -> None:
        """Delete row ranges one after another (each ``[start, end)`` in the coordinates
        left by the previous ones) in one pass: rows and extras are rebuilt once."""
        alive = surviving_rows(self.stored_rows(), ranges)
        rows, extras = self.rows, self.extras
        stored = len(rows)
        self.rows = [rows[o] if o < stored else [] for o in alive]
        while self.rows and not self.rows[-1]:
            self.rows.pop()
        self.extras = {new: extras[o] for new, o in enumerate(alive) if o in extras}
        self.row_count -= sum(end - start for start, end in ranges)

    def delete_rows(self, start: int, end: int) -> None:
        """Delete rows ``start`` (incl.) to ``end`` (excl.)."""
        del self.rows[start:end]
        n = end - start
        self.extras = {
            (r - n if r >= end else r): cols
            for r, cols in self.extras.items()
            if not start <= r < end
        }
        self.row_count -= n

    def insert_cols(self, at: int, count: int) -> None:
        """Insert empty columns before 0-based column ``at``."""
        gap: list[Value] = [None] * count
        self.rows = [
            cells[:at] + gap + cells[at:] if at < len(cells) else cells for cells in self.rows
        ]
        self.extras = {
            r: {(c + count if c >= at else c): e for c, e in cols.items()}
            for r, cols in self.extras.items()
        }
        self.column_count += count

    def delete_cols(self, start: int, end: int) -> None:
        """Delete columns ``start`` (incl.) to ``end`` (excl.)."""
        self.rows = [
            cells[:start] + cells[end:] if start < len(cells) else cells for cells in self.rows
        ]
        n = end - start
        shifted = {
            r: {(c - n if c >= end else c): e for c, e in cols.items() if not start <= c < end}
            for r, cols in self.extras.items()
        }
        self.extras = {r: cols for r, cols in shifted.items() if cols}
        self.column_count -= n

    def sort_rows(self, start: int, end: int, specs: list[tuple[int, bool]]) -> None:
        """Sort rows ``start``..``end`` by (column, ascending) specs; empty cells sort last."""
        end = min(end, max(len(self.rows), start))
        self.rows.extend([] for _ in range(max(0, end - len(self.rows))))
        block = [(self.rows[r], self.extras.get(r)) for r in range(start, end)]

        def key_for(col: int, asc: bool) -> Any:
            def key(item: tuple[list[Value], Any]) -> Any:
                cells = item[0]
                v = cells[col] if col < len(cells) else None
                if v is None:
                    return (1, 0, "")
                rank = (
                    0
                    if isinstance(v, int | float) and not isinstance(v, bool)
                    else (1 if isinstance(v, str) else 2)
                )
                if not asc:
                    rank = -rank
                return (0, rank, v)

            return key

        for col, asc in reversed(specs):
            empties = [b for b in block if key_for(col, asc)(b)[0] == 1]
            filled = [b for b in block if key_for(col, asc)(b)[0] == 0]
            filled.sort(key=key_for(col, asc), reverse=not asc)
            block = filled + empties
        for offset, (cells, cols) in enumerate(block):
            self.rows[start + offset] = cells
            if cols is None:
                self.extras.pop(start + offset, None)
            else:
                self.extras[start + offset] = cols
                if self._formula_bound is not None:
                    self._formula_bound = max(self._formula_bound, start + offset + 1)


def new_id(rng: random.Random, length: int = 44) -> str:
    """A spreadsheet-id-like random string."""
    alphabet = string.ascii_letters + string.digits + "-_"
    return "1" + "".join(rng.choice(alphabet) for _ in range(length - 1))


@dataclass
class Workbook:
    """One spreadsheet (and its Drive file)."""

    spreadsheet_id: str
    title: str
    owner: str
    created: float
    modified: float
    sheets: list[Sheet] = field(default_factory=list)
    permissions: dict[str, Role] = field(default_factory=dict)
    version: int = 1
    locale: str = "en_US"
    time_zone: str = "Etc/GMT"
    developer_metadata: list[dict[str, Any]] = field(default_factory=list)
    next_metadata_id: int = 1
    next_protected_id: int = 1

    def clone(self, sheets: bool = True) -> Workbook:
        """A copy sharing nothing mutable; with ``sheets=False`` the Sheet objects are shared
        (the caller clones a sheet before changing it, see batch_update)."""
        twin = copy.copy(self)
        twin.sheets = [s.clone() for s in self.sheets] if sheets else list(self.sheets)
        twin.permissions = dict(self.permissions)
        twin.developer_metadata = copy.deepcopy(self.developer_metadata)
        return twin

    def role(self, email: str) -> Role | None:
        """The role of a caller on this file, or None if it is not shared with them."""
        if email.lower() == self.owner.lower():
            return "owner"
        return self.permissions.get(email.lower()) or self.permissions.get("anyone")

    def touch(self, now: float) -> None:
        """Record a change: bump the Drive version and the modified time."""
        self.version += 1
        self.modified = max(now, self.modified)

    def sheet_by_title(self, title: str) -> Sheet | None:
        """The sheet with this title (case-insensitive, like Sheets), if any."""
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        for sheet in self.sheets:
            if sheet.title.lower() == title.lower():
                return sheet
        return None

    def sheet_by_id(self, sheet_id: int) -> Sheet | None:
        """The sheet with this id, if any."""
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        return None

    def cell_count(self) -> int:
        """Cells in all grids (the 10 million limit counts these)."""
        return sum(s.row_count * s.column_count for s in self.sheets)
