"""Turning Sheets value ranges into typed :class:`~syncer.model.Table` objects.

Reads use ``valueRenderOption=UNFORMATTED_VALUE`` and
``dateTimeRenderOption=FORMATTED_STRING``: numbers and booleans arrive as JSON numbers
and booleans, dates as the text people see. :func:`parse_cell` types one cell;
:func:`table_of_values` builds a whole tab in one pass over the grid (typing, trimming
and dropping trailing blank rows together, no intermediate copy), which is what every
read of a large tab goes through. Nothing here does I/O.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from syncer import jsoncodec
from syncer.connectors.tabular import header_text, trim_row
from syncer.gc_pause import gc_paused
from syncer.model import CellValue, ColumnRows, Table, canonical, is_blank
from syncer.table_cache import cell_texts

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?")
#: Lengths of the texts that may be ISO dates (``2024-03-01``) or date-times.
_DATE_LENGTHS = frozenset({10, 16, 17, 18, 19})
_MEMO_SIZE = 50_000
_MEMO: dict[str, CellValue] = {}
#: JSON scalars the fast path handles itself (anything else goes through parse_cell).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def parse_cell(value: Any) -> CellValue:
    """A cell of an UNFORMATTED_VALUE / FORMATTED_STRING response, typed.

    ``""`` is empty; numbers and booleans stay as sent; a date cell arrives as the text
    people see, and when that text is ISO (``2024-03-01``, ``2024-03-01 09:05``) it is
    returned as a ``date`` / ``datetime`` — so dates round-trip typed, as with xlsx.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return _text(value) if len(value) in _DATE_LENGTHS and value[4] == "-" else value
    if isinstance(value, bool | int | float):
        return value
    return str(value)


def _text(value: str) -> CellValue:
    """A non-empty text cell: a ``date``/``datetime`` when it is ISO, else the text.

    Ledgers repeat the same few thousand dates over and over, so answers are memoised
    (dates are immutable; the memo is emptied when it grows past :data:`_MEMO_SIZE`)."""
    found = _MEMO.get(value)
    if found is not None:
        return found
    typed: CellValue = value
    if len(value) == 10 and _ISO_DATE.fullmatch(value):
        with contextlib.suppress(ValueError):
            typed = date.fromisoformat(value)
    elif 16 <= len(value) <= 19 and _ISO_DATETIME.fullmatch(value):
        with contextlib.suppress(ValueError):
            typed = datetime.fromisoformat(value)
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    _MEMO[value] = typed
    return typed


def parse_values(values: Sequence[Any]) -> list[CellValue]:
    """Cells of a value range typed like :func:`parse_cell`, in one pass (no trimming).

    The fast path of a read: text that cannot be an ISO date (wrong length or no ``-``
    at position 4) is kept as it is without a function call, numbers pass through.
    """
    return [
        (
            v
            if v.__class__ is not str
            else None
            if not v
            else _text(v)
            if len(v) in _DATE_LENGTHS and v[4] == "-"
            else v
        )
        if v.__class__ in _PLAIN
        else parse_cell(v)
        for v in values
    ]


def parse_row(row: Sequence[Any]) -> tuple[CellValue, ...]:
    """One row of a value range, typed like :func:`parse_cell`, trailing empties trimmed."""
    out = parse_values(row)
    end = len(out)
    while end and is_blank(out[end - 1]):
        end -= 1
    return tuple(out) if end == len(out) else tuple(out[:end])


class ValueRanges(list[list[list[Any]]]):
    """The ``valueRanges`` of a ``values.batchGet`` answer, each as its rows of values;
    ``booleans`` as :attr:`~syncer.model.Table.booleans`: False when the answer held no
    ``true``/``false`` literal, else None (a text with those words leaves it unknown: the
    hint only ever spares a scan)."""

    booleans: bool | None = None


def value_ranges(content: bytes) -> ValueRanges:
    """A ``values.batchGet`` answer body as :class:`ValueRanges`."""
    body = decode_json(content)
    out = ValueRanges(list(vr.get("values", [])) for vr in body.get("valueRanges", []))
    out.booleans = None if b"true" in content or b"false" in content else False
    return out


def decode_json(content: bytes) -> Any:
    """A response body decoded (:func:`syncer.jsoncodec.loads`), the collector paused
    (see :func:`gc_paused`)."""
    with gc_paused():
        return jsoncodec.loads(content)


def table_of_values(
    name: str,
    header_row: int,
    values: Sequence[Sequence[Any]],
    sheet_id: int | None = None,
    booleans: bool | None = None,
) -> Table:
    """A Table straight from a value range's rows (``values[0]`` is sheet row 1).

    The same Table as :func:`~syncer.connectors.tabular.table_from_rows` over
    :func:`parse_cell` of every cell, built in one pass (the collector paused).
    ``booleans``: the answer's :attr:`ValueRanges.booleans`.
    """
    if len(values) < header_row:
        return Table(name=name, header_row=header_row, header=(), rows=(), sheet_id=sheet_id)
    header = tuple(header_text(v) for v in trim_row(parse_row(values[header_row - 1])))
    with gc_paused():
        data = [parse_row(r) for r in values[header_row:]]
    while data and not data[-1]:
        data.pop()
    return Table(
        name=name,
        header_row=header_row,
        header=header,
        rows=tuple(data),
        sheet_id=sheet_id,
        booleans=booleans,
    )


def fresh_table(
    name: str,
    header_row: int,
    header_values: Sequence[Any],
    key_pos: int | None,
    key_values: Sequence[Sequence[Any]],
    full_rows: Mapping[int, Sequence[Any]],
    sheet_id: int | None,
    columns: Mapping[int, Sequence[Sequence[Any]]] | None = None,
) -> Table:
    """A Table from a guard read: rows re-read in full are complete; others carry only
    their key (at ``key_pos``) so the guard can locate — but never trust — them, and the
    values of the whole ``columns`` read (position → one-column value range). Its rows
    are :class:`~syncer.model.ColumnRows`: made when asked for."""
    header = tuple(header_text(v) for v in parse_row(header_values))
    whole = {key_pos: key_values} if key_pos is not None else {}
    whole.update(columns or {})
    typed = {pos: parse_values([c[0] if c else None for c in vals]) for pos, vals in whole.items()}
    full = {row - header_row - 1: parse_row(values) for row, values in full_rows.items()}
    names = frozenset(header[p] for p in typed if p < len(header))
    return Table(
        name=name,
        header_row=header_row,
        header=header,
        rows=ColumnRows(typed, {i: row for i, row in full.items() if i >= 0}),
        sheet_id=sheet_id,
        whole_columns=names,
    )


def effective_value(cell: Mapping[str, Any]) -> Any:
    """A ``CellData``'s ``effectiveValue`` as an ``UNFORMATTED_VALUE`` read gives it:
    text, number or boolean; an error as its text (``#REF!``); None when empty."""
    value = cell.get("effectiveValue")
    if not value:
        return None
    for kind in ("stringValue", "numberValue", "boolValue"):
        if kind in value:
            return value[kind]
    return cell.get("formattedValue") or "#ERROR!"


def keys_below_header(
    column: Sequence[Sequence[Any]], header_row: int, key: str
) -> list[str] | None:
    """The key texts of a one-column range read from row 1, when row ``header_row``
    still names ``key`` (None: the key column moved)."""
    head = column[header_row - 1] if len(column) >= header_row else []
    if head and canonical(parse_cell(head[0])).strip() == key:
        return key_texts(column[header_row:])
    return None


def key_texts(column: Sequence[Sequence[Any]]) -> list[str]:
    """A one-column value range (the key column below the header) as the texts rows are
    known by: canonical, spaces around them removed (as
    :func:`~syncer.table_cache.cell_text`, so a key typed ``"C001 "`` reads as the key
    the guard and the verify compare).

    Blank cells are ``""``; trailing blank rows are dropped — the keys of
    ``table.column_values(key)``, without building the Table."""
    out = cell_texts(parse_values([r[0] if r else None for r in column]))
    while out and not out[-1]:
        out.pop()
    return out
