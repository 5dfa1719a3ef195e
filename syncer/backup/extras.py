"""What a source holds beyond values — formulas, number formats, notes — read for backups.

Connectors deliver typed values only (:class:`~syncer.model.Table`). For a Google
ledger, :func:`read_extras` asks Sheets once more, with a field mask, for every cell's
formula, number format and note (one ``spreadsheets.get`` with grid data through the
connector's HTTP client: same retry policy, rate limiter and metrics). For an xlsx
ledger it reads the workbook file once more for formulas and number formats (cell
comments need a full load and are not read). The memory connector gives none. Extras are
keyed like the backup workbook: (row, column), 0-based, row 0 being the tab's header
row; cells above the header or below the last data row are not kept.

These readers belong to the connectors (a ``read_extras`` capability) and move there
with the connector seam.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

from syncer.backup.cells import CellExtra, TabExtras
from syncer.connectors.base import Connector, TabRequest
from syncer.connectors.google.builders import quote_tab, row_spans
from syncer.connectors.google.cells import cell_data
from syncer.errors import BackupError
from syncer.model import CellValue, Snapshot

#: More separate runs of rows than this and a tab's extras are read whole (one range).
MAX_SPANS = 200
#: The field mask of the grid-data read (only what values do not carry).
GRID_FIELDS = (
    "sheets(properties(title),data(startRow,startColumn,rowData(values("
    "userEnteredValue(formulaValue),userEnteredFormat(numberFormat),note))))"
)


def read_extras(
    connector: Connector,
    tabs: Sequence[TabRequest],
    snapshot: Snapshot,
    rows: Mapping[str, Collection[int]] | None = None,
) -> dict[str, TabExtras]:
    """The extras of the ``tabs`` present in ``snapshot`` (empty when the connector
    cannot give any).

    With ``rows`` (tab → 1-based sheet rows), a Google read asks only for those rows of
    those tabs, plus each tab's header row — what a backup before an archive needs (the
    rows about to move) at a fraction of a whole-tab grid read; a tab with more than
    :data:`MAX_SPANS` separate runs of rows is read whole."""
    present = [t for t in tabs if snapshot.get(t.name) is not None]
    if rows is not None:
        present = [t for t in present if rows.get(t.name)]
    if not present:
        return {}
    conn: Any = connector  # the connector's own file or client (moves into connectors/)
    if connector.kind == "xlsx":
        return read_xlsx_extras(Path(conn.path), present, snapshot)
    if connector.kind != "google":
        return {}
    ranges: list[str] = []
    for t in present:
        wanted = None if rows is None else {t.header_row, *rows[t.name]}
        spans = None if wanted is None else row_spans(wanted, max_spans=MAX_SPANS)
        if spans is None:
            ranges.append(quote_tab(t.name))
        else:
            ranges.extend(f"{quote_tab(t.name)}!{a}:{b}" for a, b in spans)
    body = conn.http.fetch_sheet_metadata(
        conn.spreadsheet_id,
        params={"includeGridData": "true", "ranges": ranges, "fields": GRID_FIELDS},
    )
    return parse_grid_extras(body, present, snapshot)


def parse_grid_extras(
    body: Mapping[str, Any], tabs: Sequence[TabRequest], snapshot: Snapshot
) -> dict[str, TabExtras]:
    """Extras from a ``spreadsheets.get`` answer with grid data."""
    wanted = {t.name: t for t in tabs}
    out: dict[str, TabExtras] = {}
    for sheet in body.get("sheets") or []:
        title = str((sheet.get("properties") or {}).get("title", ""))
        request = wanted.get(title)
        table = snapshot.get(title)
        if request is None or table is None:
            continue
        found: dict[tuple[int, int], CellExtra] = {}
        for grid in sheet.get("data") or []:
            top = int(grid.get("startRow", 0))
            left = int(grid.get("startColumn", 0))
            for i, row in enumerate(grid.get("rowData") or []):
                r = top + i + 1 - request.header_row  # 0: the header row
                if r < 0 or r > len(table.rows):
                    continue
                values: Sequence[CellValue] = table.rows[r - 1] if r else table.header
                for j, cell in enumerate(row.get("values") or []):
                    c = left + j
                    extra = _extra(cell, values[c] if c < len(values) else None)
                    if extra is not None:
                        found[(r, c)] = extra
        out[title] = found
    return out


def _extra(cell: Mapping[str, Any], value: CellValue) -> CellExtra | None:
    """A cell's extras; a number format equal to the one a restore gives its value anyway
    (syncer's own date formats) is not kept — most date cells of a ledger."""
    formula = (cell.get("userEnteredValue") or {}).get("formulaValue")
    fmt = (cell.get("userEnteredFormat") or {}).get("numberFormat")
    if fmt and isinstance(value, date) and fmt == _default_format(value):
        fmt = None
    note = cell.get("note")
    if formula is None and not fmt and not note:
        return None
    return CellExtra(
        formula=str(formula) if formula is not None else None,
        number_format={str(k): str(v) for k, v in fmt.items()} if fmt else None,
        note=str(note) if note else None,
    )


def _default_format(value: date) -> Any:
    return cell_data(value).get("userEnteredFormat", {}).get("numberFormat")


def read_xlsx_extras(
    path: Path, tabs: Sequence[TabRequest], snapshot: Snapshot
) -> dict[str, TabExtras]:
    """Formulas and number formats (other than ``General``) of an xlsx ledger's tabs.

    The file must still be the one ``snapshot`` was read from (same change token)."""
    try:
        token = _stat_token(path)
        data = path.read_bytes()
        if token != snapshot.change_token or _stat_token(path) != token:
            raise BackupError(
                f"workbook {path} changed while it was being backed up; the cycle is "
                "retried on the next schedule"
            )
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except OSError as exc:
        raise BackupError(f"cannot read workbook {path} to back it up: {exc}") from exc
    except BackupError:
        raise
    except Exception as exc:  # openpyxl raises zipfile/KeyError/ValueError on damage
        raise BackupError(f"workbook {path} does not open as .xlsx ({exc})") from exc
    out: dict[str, TabExtras] = {}
    try:
        for request in tabs:
            table = snapshot.get(request.name)
            if table is None or request.name not in workbook.sheetnames:
                continue
            found: dict[tuple[int, int], CellExtra] = {}
            sheet = workbook[request.name]
            sheet.reset_dimensions()
            first = request.header_row
            last = request.header_row + len(table.rows)
            for i, row in enumerate(sheet.iter_rows(min_row=first, max_row=last)):
                for j, cell in enumerate(row):
                    extra = _xlsx_extra(cell, table.rows[i - 1] if i else table.header, j)
                    if extra is not None:
                        found[(i, j)] = extra
            out[request.name] = found
    finally:
        workbook.close()
    return out


def _stat_token(path: Path) -> str:
    st = path.stat()
    return f"{st.st_mtime_ns}:{st.st_size}"


def _xlsx_extra(cell: Any, values: Sequence[Any], col: int) -> CellExtra | None:
    value = getattr(cell, "value", None)
    formula = value if getattr(cell, "data_type", None) == "f" and isinstance(value, str) else None
    pattern = str(getattr(cell, "number_format", "General") or "General")
    fmt: dict[str, str] | None = None
    if pattern != "General":
        seen = values[col] if col < len(values) else None
        kind = (
            "DATE_TIME"
            if isinstance(seen, datetime)
            else "DATE"
            if isinstance(seen, date)
            else "TEXT"
            if pattern == "@"
            else "NUMBER"
        )
        fmt = {"type": kind, "pattern": pattern}
    if formula is None and fmt is None:
        return None
    return CellExtra(formula=formula, number_format=fmt)
