"""spreadsheets.get and spreadsheets.create."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from syncer.sandbox.a1 import Bounds
from syncer.sandbox.batch_update import BatchContext, RequestError, add_sheet
from syncer.sandbox.errors import bad_request
from syncer.sandbox.fieldmask import apply_mask, parse_mask
from syncer.sandbox.limits import grid_problem
from syncer.sandbox.sheets_json import sheet_properties, spreadsheet_json
from syncer.sandbox.state import Sheet, Workbook
from syncer.sandbox.store import Store
from syncer.sandbox.values_api import resolve

Params = Mapping[str, list[str]]


def spreadsheets_get(wb: Workbook, params: Params, base_url: str) -> dict[str, Any]:
    """spreadsheets.get: ``ranges`` pick sheets (and grid data), ``fields`` masks the result.

    Grid data comes with ``includeGridData=true`` or when the field mask asks for
    ``sheets.data`` (Google ignores includeGridData when a mask is given).
    """
    fields = (params.get("fields") or [""])[0]
    mask = parse_mask(fields) if fields else {}
    if fields and "*" not in mask:
        include = "data" in mask.get("sheets", {}) or ("sheets" in mask and not mask["sheets"])
    else:
        include = (params.get("includeGridData") or ["false"])[0].lower() == "true"
    ranges = params.get("ranges") or []
    data: dict[int, list[Bounds]] = {}
    sheets: list[Sheet]
    if ranges:
        targets = [resolve(wb, text) for text in ranges]
        sheets = [s for s in wb.sheets if any(t.sheet is s for t in targets)]
        for t in targets:
            data.setdefault(t.sheet.sheet_id, []).append(t.bounds)
    else:
        sheets = list(wb.sheets)
        data = {s.sheet_id: [Bounds(0, s.row_count, 0, s.column_count)] for s in sheets}
    body = spreadsheet_json(wb, sheets, data if include else None, base_url)
    return dict(apply_mask(body, mask)) if fields else body


def spreadsheets_create(
    store: Store, user: str, body: Any, now: float, rng: random.Random, base_url: str
) -> dict[str, Any]:
    """spreadsheets.create: a new file owned by the caller."""
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received.")
    props = body.get("properties") or {}
    wb = store.create(str(props.get("title") or "Untitled spreadsheet"), user, now)
    if props.get("locale"):
        wb.locale = str(props["locale"])
    if props.get("timeZone"):
        wb.time_zone = str(props["timeZone"])
    given = body.get("sheets") or []
    if given:
        ctx = BatchContext(wb, rng)
        wb.sheets = []
        try:
            for i, sheet in enumerate(given):
                sheet_props = dict((sheet or {}).get("properties") or {})
                if i == 0:
                    sheet_props.setdefault("sheetId", 0)
                add_sheet(ctx, {"properties": sheet_props})
                ctx.check_limits()
        except RequestError as exc:
            del store.workbooks[wb.spreadsheet_id]
            raise bad_request(f"Invalid sheets: {exc}") from None
    return spreadsheets_get(wb, {}, base_url)


def copy_sheet_to(
    source: Workbook, sheet_id: str, target: Workbook, rng: random.Random
) -> dict[str, Any]:
    """spreadsheets.sheets.copyTo: a copy of one sheet appended to ``target``.

    Returns the new sheet's properties; its title is "Copy of <title>" (numbered when taken).
    """
    try:
        sheet = source.sheet_by_id(int(sheet_id))
    except ValueError:
        sheet = None
    if sheet is None:
        raise bad_request(f"No grid with id: {sheet_id}")
    twin = sheet.clone()
    title = f"Copy of {sheet.title}"
    n = 2
    while target.sheet_by_title(title) is not None:
        title = f"Copy of {sheet.title} {n}"
        n += 1
    twin.title = title
    twin.protected_ranges = []
    while True:
        twin.sheet_id = rng.randrange(1, 2**31 - 1)
        if target.sheet_by_id(twin.sheet_id) is None:
            break
    problem = grid_problem(target, twin.row_count * twin.column_count)
    if problem is not None:
        raise bad_request(problem)
    target.sheets.append(twin)
    return sheet_properties(target, twin)
