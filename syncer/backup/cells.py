"""Cells of a backup: what an xlsx cell can hold exactly, the exact encoding of what it
cannot, the extras a connector may give (formula, number format, note), and the checksum
of a tab's source values.

An xlsx cell holds at most 32,767 characters, no control characters but tab and line
feed, no carriage return (XML turns it into a line feed) and no ``_xHHHH_`` text (Excel
reads it as an escape); its dates start in 1900 and lose microseconds and zones. A value
that does not fit is stored whole, JSON-encoded and split into parts, in the workbook's
hidden ``_syncer_cells`` sheet; its sheet cell shows a readable prefix. Nothing here does
I/O.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from syncer.model import CellValue, Table

#: The longest text an xlsx cell holds.
XLSX_CELL_CHARS = 32_767
#: Characters per part of a value stored in the details sheet (a cell holds each part).
PART_CHARS = 32_000
_UNSAFE_TEXT = re.compile(
    r"[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_x[0-9A-Fa-f]{4}_"
)
_EARLIEST = date(1901, 1, 1)


@dataclass(frozen=True)
class CellExtra:
    """What a source holds in a cell beyond its value: the formula (its value is the
    cell's value), the number format (Google's ``{"type", "pattern"}``) and the note."""

    formula: str | None = None
    number_format: Mapping[str, str] | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Only the parts that are set."""
        out: dict[str, Any] = {}
        if self.formula is not None:
            out["formula"] = self.formula
        if self.number_format:
            out["number_format"] = dict(self.number_format)
        if self.note is not None:
            out["note"] = self.note
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CellExtra:
        """Undo :meth:`to_json`."""
        fmt = data.get("number_format")
        return cls(
            formula=data.get("formula"),
            number_format={str(k): str(v) for k, v in fmt.items()} if fmt else None,
            note=data.get("note"),
        )


#: A tab's extras by (row, column), 0-based, row 0 being the header row.
TabExtras = Mapping[tuple[int, int], CellExtra]


def fits_cell(value: CellValue) -> bool:
    """True when an xlsx cell stores ``value`` so that it reads back equal and typed."""
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, str):
        return 0 < len(value) <= XLSX_CELL_CHARS and not _UNSAFE_TEXT.search(value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, datetime):
        return value.tzinfo is None and value.microsecond == 0 and value.date() >= _EARLIEST
    if isinstance(value, date):
        return value >= _EARLIEST
    return False


def shown(value: CellValue) -> CellValue:
    """What the sheet cell shows for a value that does not fit (the exact value is in the
    details sheet): a cleaned prefix of text, the wall-clock time of a dated value."""
    if isinstance(value, str):
        return _UNSAFE_TEXT.sub("", value)[:XLSX_CELL_CHARS] or None
    if isinstance(value, float):
        return str(value)
    if isinstance(value, datetime):
        return (
            value.replace(tzinfo=None, microsecond=0) if value.year >= 1901 else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    return value


def encode_value(value: CellValue) -> list[Any]:
    """A value as a tagged JSON list: exact for every :data:`CellValue`."""
    if value is None:
        return ["n"]
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", str(value)]
    if isinstance(value, float):
        return ["f", repr(value)]
    if isinstance(value, datetime):
        offset = value.utcoffset()
        naive = value.replace(tzinfo=None).isoformat()
        return ["t", naive, None if offset is None else offset.total_seconds()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    return ["s", str(value)]


def decode_value(data: Any) -> CellValue:
    """Undo :func:`encode_value`; raise ValueError on anything else."""
    if not isinstance(data, list) or not data:
        raise ValueError(f"not an encoded cell: {data!r}")
    tag = data[0]
    if tag == "n":
        return None
    if tag == "b":
        return bool(data[1])
    if tag == "i":
        return int(data[1])
    if tag == "f":
        return float(data[1])
    if tag == "t":
        naive = datetime.fromisoformat(data[1])
        if data[2] is None:
            return naive
        return naive.replace(tzinfo=timezone(timedelta(seconds=float(data[2]))))
    if tag == "d":
        return date.fromisoformat(data[1])
    if tag == "s":
        return str(data[1])
    raise ValueError(f"unknown cell tag {tag!r}")


def to_text(payload: Any) -> str:
    """JSON that any xlsx cell holds exactly (ASCII, ``_`` escaped so no ``_xHHHH_``)."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("_", "\\u005f")


def from_text(text: str) -> Any:
    """Undo :func:`to_text`."""
    return json.loads(text)


def parts(text: str) -> Iterator[str]:
    """``text`` in pieces of at most :data:`PART_CHARS` characters (one piece when empty)."""
    yield text[:PART_CHARS]
    for start in range(PART_CHARS, len(text), PART_CHARS):
        yield text[start : start + PART_CHARS]


def _key(value: CellValue) -> str:
    """An unambiguous text of a typed cell for :func:`source_checksum` (fast path)."""
    cls = value.__class__
    if cls is str:
        text = str(value)
        return f"s{len(text)}:{text}"
    if value is None:
        return "n"
    if cls is bool:
        return "bT" if value else "bF"
    if cls is int:
        return f"i{value}"
    if cls is float:
        return f"f{value!r}"
    if cls is datetime or cls is date:
        assert isinstance(value, date)
        return f"{'t' if cls is datetime else 'd'}{value.isoformat()}"
    return f"j{to_text(encode_value(value))}"


def source_checksum(table: Table, extras: TabExtras | None = None) -> str:
    """sha256 of a tab as read: header, every typed cell, and its extras.

    Trailing empty cells of a row do not count (connectors trim them), trailing empty
    rows do (the manifest's row count is checked separately anyway)."""
    digest = hashlib.sha256()
    digest.update(to_text([table.name, table.header_row, list(table.header)]).encode())
    for row in table.rows:
        end = len(row)
        while end and row[end - 1] is None:
            end -= 1
        line = "\n" + "\x1e".join([_key(v) for v in row[:end]])
        digest.update(line.encode("utf-8", "surrogatepass"))
    for (r, c), extra in sorted((extras or {}).items()):
        payload = extra.to_json()
        if payload:
            digest.update(b"\x1e")
            digest.update(to_text([r, c, payload]).encode())
    return digest.hexdigest()
