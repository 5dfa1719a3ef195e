"""What a source holds beyond values — formulas, number formats, notes — read for backups.

Connectors deliver typed values only (:class:`~syncer.model.Table`). For a Google
ledger, :func:`read_extras` asks Sheets once more, with a field mask, for every cell's
formula, number format and note (one ``spreadsheets.get`` with grid data through the
connector's HTTP client: same retry policy, rate limiter and metrics). Other connectors
give none yet. Extras are keyed like the backup workbook: (row, column), 0-based, row 0
being the tab's header row; cells above the header or below the last data row are not
kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syncer.backup.cells import CellExtra, TabExtras
from syncer.connectors.base import Connector, TabRequest
from syncer.connectors.google_requests import quote_tab
from syncer.model import Snapshot

#: The field mask of the grid-data read (only what values do not carry).
GRID_FIELDS = (
    "sheets(properties(title),data(startRow,startColumn,rowData(values("
    "userEnteredValue(formulaValue),userEnteredFormat(numberFormat),note))))"
)


def read_extras(
    connector: Connector, tabs: Sequence[TabRequest], snapshot: Snapshot
) -> dict[str, TabExtras]:
    """The extras of the ``tabs`` present in ``snapshot`` (empty when the connector
    cannot give any)."""
    if connector.kind != "google":
        return {}
    present = [t for t in tabs if snapshot.get(t.name) is not None]
    if not present:
        return {}
    conn: Any = connector  # the Google connector's client (moves with connectors/google/)
    body = conn.http.fetch_sheet_metadata(
        conn.spreadsheet_id,
        params={
            "includeGridData": "true",
            "ranges": [quote_tab(t.name) for t in present],
            "fields": GRID_FIELDS,
        },
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
                for j, cell in enumerate(row.get("values") or []):
                    extra = _extra(cell)
                    if extra is not None:
                        found[(r, left + j)] = extra
        out[title] = found
    return out


def _extra(cell: Mapping[str, Any]) -> CellExtra | None:
    formula = (cell.get("userEnteredValue") or {}).get("formulaValue")
    fmt = (cell.get("userEnteredFormat") or {}).get("numberFormat")
    note = cell.get("note")
    if formula is None and not fmt and not note:
        return None
    return CellExtra(
        formula=str(formula) if formula is not None else None,
        number_format={str(k): str(v) for k, v in fmt.items()} if fmt else None,
        note=str(note) if note else None,
    )
