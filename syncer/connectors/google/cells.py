"""Pure: cell values as the Sheets API's typed ``CellData`` and ``RowData``.

Text is always sent as ``stringValue``, so nothing a person typed is ever parsed;
dates go as serial numbers with a date format.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from syncer.model import CellValue

DATE_PATTERN = "yyyy-mm-dd"
DATETIME_PATTERN = "yyyy-mm-dd hh:mm"
_EPOCH = datetime(1899, 12, 30)


def serial_of(value: date | datetime) -> float:
    """Sheets' serial number of a date (days since 1899-12-30, wall-clock time)."""
    if isinstance(value, datetime):
        naive = value.replace(tzinfo=None)
        return (naive - _EPOCH).total_seconds() / 86400.0
    return float((value - _EPOCH.date()).days)


def cell_data(value: CellValue) -> dict[str, Any]:
    """A typed ``CellData`` for ``value``; text is ``stringValue`` so it is never parsed."""
    if value.__class__ is str:  # the common case first
        return {"userEnteredValue": {"stringValue": value}}
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": _number(value)}}
    if isinstance(value, datetime | date):
        is_dt = isinstance(value, datetime)
        fmt = {
            "type": "DATE_TIME" if is_dt else "DATE",
            "pattern": DATETIME_PATTERN if is_dt else DATE_PATTERN,
        }
        return {
            "userEnteredValue": {"numberValue": serial_of(value)},
            "userEnteredFormat": {"numberFormat": fmt},
        }
    return {"userEnteredValue": {"stringValue": str(value)}}


def _number(value: int | float) -> int | float:
    """A cell's number as JSON can carry it and Google keeps it (a double): NaN and the
    infinities are refused (JSON has none: a bug upstream, not a value to write as
    empty), an integer beyond 64 bits becomes the double Google would store anyway."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} into a cell: not a finite number")
        return value
    return value if -(2**63) <= value < 2**64 else float(value)


def fields_for(cells: Iterable[Mapping[str, Any]]) -> str:
    dated = any("userEnteredFormat" in c for c in cells)
    return "userEnteredValue,userEnteredFormat.numberFormat" if dated else "userEnteredValue"


def row_data(values: Sequence[CellValue]) -> dict[str, Any]:
    """A ``RowData`` of typed cells (text, the common case, without a function call)."""
    return {
        "values": [
            {"userEnteredValue": {"stringValue": v}} if v.__class__ is str else cell_data(v)
            for v in values
        ]
    }
