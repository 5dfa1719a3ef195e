"""Reading a Google spreadsheet for ``syncer init``: three read calls, nothing written.

Everything goes through the Google connector itself (credentials, the sandbox redirect,
the retry policy and the rate limiter), so ``init`` reads exactly like a cycle does:

1. ``spreadsheets.get`` of the tabs (the connector's own metadata call);
2. ``values.batchGet`` of every tab, typed like a cycle's read (the connector's
   ``read``: ``UNFORMATTED_VALUE``, dates as the text people see);
3. ``spreadsheets.get`` with a field mask over the first rows of every tab (the header
   and a sample of data rows): the spreadsheet's time zone, each tab's merges and hidden
   flag, and per cell only its ``dataValidation`` and the kind of its number format.

Range rules (``ONE_OF_RANGE``) are resolved from the values of call 2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

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
from syncer.settings import Settings

#: Rows above the header that may hold titles, plus the sampled data rows.
HEAD_ROWS = 15
SAMPLE_ROWS = 300
GRID_FIELDS = (
    "properties(title,timeZone),sheets(properties(title,hidden),merges,data(startRow,"
    "startColumn,rowData(values(dataValidation,userEnteredFormat(numberFormat(type))))))"
)
_FORMAT_KINDS = frozenset({"DATE", "DATE_TIME", "TIME", "CURRENCY", "PERCENT", "NUMBER", "TEXT"})
_LENGTH_RULE = re.compile(r"=\s*LEN\(\s*\$?[A-Z]{1,3}\$?\d+\s*\)\s*(<=|<)\s*(\d+)\s*", re.I)


def quote_tab(title: str) -> str:
    """A tab title as an A1 sheet reference: ``'Sheet 1'`` (quotes doubled)."""
    return "'" + title.replace("'", "''") + "'"


def read_google(ref: str, settings: Settings, sample: int = SAMPLE_ROWS) -> SourceBook:
    """The spreadsheet ``ref`` (id or URL) through the normal credentials."""
    from syncer.connectors.base import TabRequest
    from syncer.connectors.google import GoogleSheetsConnector

    connector = GoogleSheetsConnector(
        ref,
        ledger="init",
        credentials_path=settings.credentials_path,
        api_base=settings.google_api_base,
        reads_per_minute=settings.google_reads_per_minute,
        writes_per_minute=settings.google_writes_per_minute,
    )
    try:
        titles = list(connector.metadata())
        snapshot = connector.read([TabRequest(t, 1) for t in titles])
        grid = connector.http.fetch_sheet_metadata(
            connector.spreadsheet_id,
            params={
                "ranges": [f"{quote_tab(t)}!1:{HEAD_ROWS + sample}" for t in titles],
                "fields": GRID_FIELDS,
            },
        )
        calls = dict(connector.calls)
    finally:
        connector.close()
    values: dict[str, tuple[tuple[CellValue, ...], ...]] = {}
    for title in titles:
        table = snapshot.get(title)
        if table is not None:  # the header row arrives as text, the rows typed
            rows = tuple(table.rows)
            values[title] = (tuple(table.header), *rows) if table.header else rows
    sheets = {str(s.get("properties", {}).get("title")): s for s in grid.get("sheets", [])}
    tabs = []
    for title in titles:
        sheet = sheets.get(title, {})
        rules, formats = grid_facts(sheet.get("data", []), title, values)
        tabs.append(
            TabGrid(
                title=title,
                rows=values.get(title, ()),
                merges=tuple(_block(m) for m in sheet.get("merges", [])),
                validations=rules,
                formats=formats,
                hidden=bool(sheet.get("properties", {}).get("hidden", False)),
            )
        )
    props = grid.get("properties", {})
    return SourceBook(
        "google",
        ref,
        str(props.get("title") or connector.spreadsheet_id),
        tuple(tabs),
        time_zone=props.get("timeZone"),
        calls=calls,
    )


def _block(grid_range: Mapping[str, Any]) -> Block:
    return Block(
        int(grid_range.get("startRowIndex", 0)),
        grid_range.get("endRowIndex"),
        int(grid_range.get("startColumnIndex", 0)),
        grid_range.get("endColumnIndex"),
    )


def _number(text: Any) -> float | None:
    try:
        return float(str(text).strip().lstrip("="))
    except (TypeError, ValueError):
        return None


def google_validation(
    rule: Mapping[str, Any], tab: str, values: Mapping[str, Sequence[Sequence[CellValue]]]
) -> Validation | None:
    """A Sheets ``DataValidationRule`` as inference sees it (None: nothing to learn)."""
    condition = rule.get("condition") or {}
    kind = str(condition.get("type") or "")
    given = [str(v.get("userEnteredValue", "")) for v in condition.get("values") or []]
    if kind == "ONE_OF_LIST":
        listed = tuple(dict.fromkeys(v.strip() for v in given if v.strip()))
        return Validation("list", values=listed) if listed else None
    if kind == "ONE_OF_RANGE" and given:
        return resolve_range(given[0], tab, values)
    numbers = [_number(v) for v in given]
    if kind in ("NUMBER_GREATER", "NUMBER_GREATER_THAN_EQ") and numbers:
        return Validation("number", minimum=numbers[0])
    if kind in ("NUMBER_LESS", "NUMBER_LESS_THAN_EQ") and numbers:
        return Validation("number", maximum=numbers[0])
    if kind == "NUMBER_BETWEEN" and len(numbers) == 2:
        return Validation("number", minimum=numbers[0], maximum=numbers[1])
    if kind == "BOOLEAN":
        return Validation("boolean")
    if kind.startswith("DATE_"):
        return Validation("date")
    if kind == "TEXT_IS_EMAIL":
        return Validation("email")
    if kind == "TEXT_IS_URL":
        return Validation("url")
    if kind == "CUSTOM_FORMULA" and given:
        found = _LENGTH_RULE.fullmatch(given[0])
        if found:
            limit = int(found.group(2)) - (1 if found.group(1) == "<" else 0)
            return Validation("text_length", maximum=limit) if limit > 0 else None
    return None


def grid_facts(
    data: Sequence[Mapping[str, Any]],
    tab: str,
    values: Mapping[str, Sequence[Sequence[CellValue]]],
) -> tuple[tuple[RuleRange, ...], tuple[CellFormat, ...]]:
    """Validation runs and number-format kinds of one tab's ``GridData``.

    Per-cell rules are joined into runs of consecutive rows of one column holding the
    same rule, so a dropdown over 300 sampled rows is one :class:`RuleRange`."""
    runs: dict[tuple[int, str], list[list[int]]] = {}
    rules: dict[str, Mapping[str, Any]] = {}
    formats: list[CellFormat] = []
    for part in data:
        top, left = int(part.get("startRow", 0)), int(part.get("startColumn", 0))
        for r, row in enumerate(part.get("rowData") or []):
            for c, cell in enumerate(row.get("values") or []):
                where = (top + r, left + c)
                kind = ((cell.get("userEnteredFormat") or {}).get("numberFormat") or {}).get("type")
                if kind in _FORMAT_KINDS:
                    formats.append(CellFormat(where[0], where[1], cast(FormatKind, kind)))
                rule = cell.get("dataValidation")
                if not rule:
                    continue
                text = json.dumps(rule, sort_keys=True)
                rules[text] = rule
                spans = runs.setdefault((where[1], text), [])
                if spans and spans[-1][1] == where[0]:
                    spans[-1][1] = where[0] + 1
                else:
                    spans.append([where[0], where[0] + 1])
    found: list[RuleRange] = []
    for (col, text), spans in runs.items():
        validation = google_validation(rules[text], tab, values)
        if validation is None:
            continue
        for start, end in spans:
            found.append(RuleRange(validation, Block(start, end, col, col + 1)))
    return tuple(found), tuple(formats)
