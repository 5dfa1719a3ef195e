"""The snapshot workbook: tables to .xlsx bytes and back, losslessly.

One sheet per tab (header on row 1, data below). A tab larger than an xlsx sheet (more
than 16,384 columns or 1,048,576 rows — Google allows 18,278 columns and 10 million
cells) continues on further sheets, one per block, named in :attr:`TabEntry.more_sheets`.
Values an xlsx cell cannot hold exactly (see :mod:`syncer.backup.cells`) and each cell's
extras (formula, number format, note) are rows of the hidden ``_syncer_cells`` sheet(s):
tab sheet, row, column, kind, part, JSON text. User text is stored as text: a value
starting with ``=`` stays a string, never becomes a formula, so a backup is safe to open
in Excel; formulas live only in the details sheet, as text.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import openpyxl
from openpyxl.cell import WriteOnlyCell

from syncer.backup.cells import (
    CellExtra,
    TabExtras,
    decode_value,
    encode_value,
    fits_cell,
    from_text,
    parts,
    shown,
    to_text,
)
from syncer.backup.manifest import TabEntry
from syncer.errors import BackupError
from syncer.model import CellValue, Table

#: An xlsx sheet's size.
SHEET_ROWS = 1_048_576
SHEET_COLS = 16_384
DETAILS = "_syncer_cells"
_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class BackupTab:
    """A tab as stored: its table and the extras of its cells."""

    table: Table
    extras: TabExtras


def _sheet_titles(names: Sequence[str]) -> list[str]:
    titles: list[str] = []
    for i, name in enumerate(names):
        ok = (
            0 < len(name) <= 31
            and not _BAD_TITLE.search(name)
            and name.strip("'") == name
            and not name.lower().startswith(DETAILS)
        )
        title = name if ok and name.lower() not in {t.lower() for t in titles} else f"tab{i + 1}"
        titles.append(title)
    return titles


def _more_title(title: str, n: int, used: set[str]) -> str:
    k = n
    while True:
        candidate = f"{title[:24]} ({k})"
        if candidate.lower() not in used:
            used.add(candidate.lower())
            return candidate
        k += 1


def _grid(table: Table) -> Iterator[Sequence[CellValue]]:
    yield tuple(h or None for h in table.header)
    yield from table.rows


def _cell(sheet: Any, value: CellValue) -> WriteOnlyCell:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # openpyxl writes numbers as %.16g, losing digits: write the exact repr.
        cell = WriteOnlyCell(sheet, repr(value))
        cell.data_type = "n"
        return cell
    cell = WriteOnlyCell(sheet, value)
    if isinstance(value, str):
        cell.data_type = "s"  # user text is text, never a formula
    return cell


def tables_to_xlsx(
    tables: Sequence[Table],
    extras: Mapping[str, TabExtras] | None = None,
    *,
    sheet_rows: int = SHEET_ROWS,
    sheet_cols: int = SHEET_COLS,
) -> tuple[bytes, tuple[TabEntry, ...], int]:
    """Serialize ``tables`` and their extras; return bytes, entries and how many cells
    had to be stored in the details sheet."""
    workbook = openpyxl.Workbook(write_only=True)
    entries: list[TabEntry] = []
    records: list[tuple[str, int, int, str, int, str]] = []
    titles = _sheet_titles([t.name for t in tables])
    used = {t.lower() for t in titles}
    moved = 0
    for table, title in zip(tables, titles, strict=True):
        width = max([len(table.header), *(len(r) for r in table.rows)], default=0)
        height = 1 + len(table.rows)
        row_blocks = max(1, math.ceil(height / sheet_rows))
        col_blocks = max(1, math.ceil(width / sheet_cols))
        more: list[str] = []
        for block in range(row_blocks * col_blocks):
            bi, bj = divmod(block, col_blocks)
            name = title if block == 0 else _more_title(title, block + 1, used)
            if block:
                more.append(name)
            sheet = workbook.create_sheet(name)
            first, last = bi * sheet_rows, min(height, (bi + 1) * sheet_rows)
            left, right = bj * sheet_cols, (bj + 1) * sheet_cols
            for r, values in enumerate(_grid(table)):
                if r < first:
                    continue
                if r >= last:
                    break
                cells: list[WriteOnlyCell] = []
                for c, value in enumerate(values[left:right], start=left):
                    if fits_cell(value):
                        cells.append(_cell(sheet, value))
                        continue
                    moved += 1
                    cells.append(_cell(sheet, shown(value)))
                    for k, piece in enumerate(parts(to_text(encode_value(value)))):
                        records.append((title, r + 1, c + 1, "value", k, piece))
                sheet.append(cells)
        tab_extras = (extras or {}).get(table.name, {})
        for (r, c), extra in sorted(tab_extras.items()):
            payload = extra.to_json()
            for k, piece in enumerate(parts(to_text(payload))):
                records.append((title, r + 1, c + 1, "extra", k, piece))
        entries.append(
            TabEntry(
                table.name,
                title,
                table.header_row,
                len(table.rows),
                len(table.header),
                width,
                more_sheets=tuple(more),
                block_rows=sheet_rows,
                block_cols=sheet_cols,
                extras=sum(1 for e in tab_extras.values() if e.to_json()),
            )
        )
    for n in range(0, len(records), sheet_rows - 1):
        sheet = workbook.create_sheet(
            DETAILS if n == 0 else f"{DETAILS}{n // (sheet_rows - 1) + 1}"
        )
        sheet.sheet_state = "hidden"
        sheet.append(["sheet", "row", "column", "kind", "part", "json"])
        for record in records[n : n + sheet_rows - 1]:
            sheet.append([_cell(sheet, v) for v in record])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), tuple(entries), moved


def _read_value(cell: Any) -> CellValue:
    value = cell.value
    if isinstance(value, datetime):
        fmt = str(getattr(cell, "number_format", "") or "").lower()
        if "h" not in fmt and "s" not in fmt and value.time() == datetime.min.time():
            return value.date()
        return value
    if isinstance(value, str | int | float | bool | date) or value is None:
        return value
    return str(value)


def _details(workbook: Any, name: str) -> dict[tuple[str, int, int, str], str]:
    """Every details record, its parts joined: (sheet, row, column, kind) → JSON text."""
    pieces: dict[tuple[str, int, int, str], dict[int, str]] = {}
    for title in workbook.sheetnames:
        if not title.startswith(DETAILS):
            continue
        for i, row in enumerate(workbook[title].iter_rows(values_only=True)):
            if i == 0:
                continue
            try:
                sheet, r, c, kind, k, text = row[:6]
                pieces.setdefault((str(sheet), int(r), int(c), str(kind)), {})[int(k)] = str(
                    text or ""
                )
            except (TypeError, ValueError) as exc:
                raise BackupError(f"{name}: sheet {title} row {i + 1} is damaged ({exc})") from exc
    return {key: "".join(p[k] for k in sorted(p)) for key, p in pieces.items()}


def read_backup(plain: bytes, entries: Sequence[TabEntry], name: str) -> list[BackupTab]:
    """Read a snapshot workbook back into tables and extras, checking each tab's shape."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(plain), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/ValueError on damage
        raise BackupError(f"{name} does not open as an .xlsx workbook ({exc})") from exc
    try:
        details = _details(workbook, name)
        return [_read_tab(workbook, entry, details, name) for entry in entries]
    finally:
        workbook.close()


def _read_tab(
    workbook: Any, entry: TabEntry, details: Mapping[tuple[str, int, int, str], str], name: str
) -> BackupTab:
    sheets = (entry.sheet, *entry.more_sheets)
    for sheet in sheets:
        if sheet not in workbook.sheetnames:
            raise BackupError(f"{name} lacks the sheet {sheet!r} of tab {entry.name!r}")
    height = entry.rows + 1
    width = max(entry.width, 1)
    grid: list[list[CellValue]] = [[] for _ in range(height)]
    col_blocks = max(1, math.ceil(width / entry.block_cols))
    for block, sheet in enumerate(sheets):  # row-major: each row band's column blocks
        bi, bj = divmod(block, col_blocks)
        top, left = bi * entry.block_rows, bj * entry.block_cols
        rows_here = min(entry.block_rows, height - top)
        cols_here = max(1, min(entry.block_cols, width - left))
        if rows_here <= 0:
            raise BackupError(f"{name}: sheet {sheet!r} of tab {entry.name!r} is not expected")
        for i, row in enumerate(
            workbook[sheet].iter_rows(min_row=1, max_row=rows_here, max_col=cols_here)
        ):
            target = grid[top + i]
            target.extend([None] * (left - len(target)))
            del target[left:]
            target.extend(_read_value(c) for c in row)
    tab = entry.sheet
    extras: dict[tuple[int, int], CellExtra] = {}
    for (sheet, r, c, kind), text in details.items():
        if sheet != tab:
            continue
        try:
            payload = from_text(text)
            if kind == "value":
                row = grid[r - 1]
                row.extend([None] * (c - len(row)))
                row[c - 1] = decode_value(payload)
            elif kind == "extra":
                extras[(r - 1, c - 1)] = CellExtra.from_json(payload)
        except (ValueError, IndexError, TypeError, AttributeError) as exc:
            raise BackupError(
                f"{name}: the stored value of {entry.name!r} row {r} column {c} is damaged ({exc})"
            ) from exc
    header_cells = grid[0][: entry.columns]
    header = tuple("" if v is None else str(v) for v in header_cells)
    header += ("",) * (entry.columns - len(header))
    rows: list[tuple[CellValue, ...]] = []
    for values in grid[1:]:
        end = min(len(values), width)
        while end and values[end - 1] is None:
            end -= 1
        rows.append(tuple(values[:end]))
    table = Table(entry.name, entry.header_row, header, tuple(rows))
    return BackupTab(table, extras)


def xlsx_to_tables(plain: bytes, entries: Sequence[TabEntry], name: str) -> list[Table]:
    """Read a snapshot workbook back into tables (see :func:`read_backup`)."""
    return [t.table for t in read_backup(plain, entries, name)]


def with_checksums(entries: Sequence[TabEntry], sums: Sequence[str]) -> tuple[TabEntry, ...]:
    """``entries`` with their source checksums filled in."""
    return tuple(replace(e, sha256=s) for e, s in zip(entries, sums, strict=True))
