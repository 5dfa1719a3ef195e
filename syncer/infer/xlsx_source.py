"""Reading an .xlsx workbook for ``syncer init`` (openpyxl, one full load).

Values are typed as the xlsx connector types them (a date cell without a time of day is
a ``date``; formula cells give the value cached at the last save). Besides values it
keeps merged ranges, data validations — list rules (``"a,b,c"``), range rules
(``$K$2:$K$9``, ``'字典'!$A$2:$A$8``, a defined name) resolved to their values, number
and text-length rules — and the number-format kind of the first ``sample`` rows.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

from syncer.errors import ConfigError, SourceNotFound
from syncer.infer.grid import (
    Block,
    CellFormat,
    FormatKind,
    RuleRange,
    SourceBook,
    TabGrid,
    Validation,
    resolve_range,
)
from syncer.model import CellValue

_TIME_CODES = ("h", "s", "am/pm")
#: Rows whose number formats are sampled (the header is within the first few).
SAMPLE_ROWS = 300


def read_xlsx(path: Path, sample: int = SAMPLE_ROWS) -> SourceBook:
    """Every tab of the workbook at ``path``; raises SourceNotFound / ConfigError."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not path.is_file():
        raise SourceNotFound(f"{path}: no such workbook")
    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    grids: list[tuple[Any, tuple[tuple[CellValue, ...], ...], tuple[CellFormat, ...]]] = []
    for ws in book.worksheets:
        rows, formats = _rows(ws, sample)
        grids.append((ws, rows, formats))
    values = {ws.title: rows for ws, rows, _ in grids}
    names = _defined_names(book)
    tabs = tuple(
        TabGrid(
            title=ws.title,
            rows=rows,
            merges=tuple(_block(r) for r in ws.merged_cells.ranges),
            validations=_validations(ws, values, names),
            formats=formats,
            hidden=ws.sheet_state != "visible",
        )
        for ws, rows, formats in grids
    )
    return SourceBook("xlsx", str(path), path.stem, tabs, calls={"file.load": 1})


def _typed(value: Any, number_format: str) -> CellValue:
    if isinstance(value, datetime):
        fmt = (number_format or "").lower()
        if value.time() == time(0) and not any(code in fmt for code in _TIME_CODES):
            return value.date()
        return value
    if isinstance(value, str | int | float | bool | date) or value is None:
        return value
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


def format_kind(number_format: str, is_date: bool) -> FormatKind | None:
    """The kind of an Excel number format (None for ``General``)."""
    fmt = (number_format or "").strip()
    if not fmt or fmt.lower() == "general":
        return None
    low = fmt.lower()
    if is_date:
        if any(code in low for code in _TIME_CODES):
            return "DATE_TIME" if ("y" in low or "d" in low) else "TIME"
        return "DATE"
    if fmt == "@":
        return "TEXT"
    if "%" in fmt:
        return "PERCENT"
    if any(sign in fmt for sign in ("¥", "￥", "$", "€", "£", "[$")):
        return "CURRENCY"
    if any(code in fmt for code in ("0", "#")):
        return "NUMBER"
    return None


def _rows(ws: Any, sample: int) -> tuple[tuple[tuple[CellValue, ...], ...], tuple[CellFormat, ...]]:
    rows: list[tuple[CellValue, ...]] = []
    formats: list[CellFormat] = []
    for r, row in enumerate(ws.iter_rows()):
        typed = tuple(_typed(cell.value, cell.number_format) for cell in row)
        rows.append(typed)
        if r < sample:
            for c, cell in enumerate(row):
                kind = format_kind(cell.number_format, bool(getattr(cell, "is_date", False)))
                if kind is not None:
                    formats.append(CellFormat(r, c, kind))
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    return tuple(rows), tuple(formats)


def _block(cell_range: Any) -> Block:
    return Block(
        cell_range.min_row - 1, cell_range.max_row, cell_range.min_col - 1, cell_range.max_col
    )


def _defined_names(book: Any) -> dict[str, str]:
    """Workbook-level defined names → their reference text."""
    found: dict[str, str] = {}
    try:
        items = list(book.defined_names.items())
    except AttributeError:  # pragma: no cover - older openpyxl
        items = []
    for name, defined in items:
        text = getattr(defined, "attr_text", None)
        if isinstance(text, str):
            found[str(name)] = text
    return found


def _number(text: Any) -> float | None:
    try:
        return float(str(text).strip().lstrip("="))
    except (TypeError, ValueError):
        return None


def _bounds(dv: Any) -> tuple[float | None, float | None]:
    """(minimum, maximum) of a whole/decimal/textLength rule from its operator."""
    first, second = _number(dv.formula1), _number(dv.formula2)
    operator = dv.operator or "between"
    if operator == "between":
        return first, second
    if operator in ("greaterThanOrEqual", "greaterThan"):
        return first, None
    if operator in ("lessThanOrEqual", "lessThan"):
        if operator == "lessThan" and first is not None:
            return None, first - 1 if dv.type in ("whole", "textLength") else first
        return None, first
    if operator == "equal":
        return first, first
    return None, None


def _validation(
    dv: Any, tab: str, values: dict[str, tuple[tuple[CellValue, ...], ...]], names: dict[str, str]
) -> Validation | None:
    kind = dv.type
    formula = str(dv.formula1 or "").strip()
    if kind == "list" and formula:
        if formula.startswith('"') and formula.endswith('"'):
            items = [v.strip() for v in formula[1:-1].split(",")]
            listed = tuple(dict.fromkeys(v for v in items if v))
            return Validation("list", values=listed) if listed else None
        reference = names.get(formula.lstrip("="), formula)
        return resolve_range(reference, tab, values)
    if kind in ("whole", "decimal"):
        low, high = _bounds(dv)
        return Validation("integer" if kind == "whole" else "number", minimum=low, maximum=high)
    if kind == "textLength":
        low, high = _bounds(dv)
        return Validation("text_length", minimum=low, maximum=high) if high else None
    if kind == "date":
        return Validation("date")
    return None


def _validations(
    ws: Any, values: dict[str, tuple[tuple[CellValue, ...], ...]], names: dict[str, str]
) -> tuple[RuleRange, ...]:
    found: list[RuleRange] = []
    for dv in ws.data_validations.dataValidation:
        rule = _validation(dv, ws.title, values, names)
        if rule is None:
            continue
        for cell_range in dv.sqref.ranges:
            found.append(RuleRange(rule, _block(cell_range)))
    return tuple(found)
