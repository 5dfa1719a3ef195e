"""Sheet-native setup of a Google ledger (``syncer sheet setup``), idempotent.

What it puts in the spreadsheet, from the ledger file:

* dropdown validation (``ONE_OF_LIST``, strict) on every ``choice`` column;
* conditional formatting: rows whose annotation cell is not empty (rows with findings)
  get a light orange background, rows of lost customers (the values an ``archive`` rule
  matches with ``equals`` / ``in``) a red one;
* a frozen header row;
* warning-only protection of the columns syncer owns (annotation and stamp targets) and
  of the history and errors tabs.

Re-running never duplicates anything: validation and the frozen row are *set* (not
added); conditional-format rules and protected ranges that syncer created are
recognised (same formula and range / a description starting with ``syncer:``) and
skipped; a spreadsheet-level developer-metadata entry ``syncer.setup`` records what
syncer created. :func:`setup_requests` is pure; :func:`run_setup` does the two calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from syncer.a1 import column_letter
from syncer.ledger import Archive, Compare, LedgerConfig
from syncer.model import Table

if TYPE_CHECKING:
    from syncer.connectors.google import GoogleSheetsConnector

MARK = "syncer:"
METADATA_KEY = "syncer.setup"
FINDING_COLOR = {"red": 1.0, "green": 0.9, "blue": 0.8}
LOST_COLOR = {"red": 0.96, "green": 0.6, "blue": 0.6}
SETUP_FIELDS = (
    "sheets(properties(sheetId,title,gridProperties),conditionalFormats,protectedRanges),"
    "developerMetadata"
)


@dataclass(frozen=True)
class SheetState:
    """What setup needs to know about one tab as it is now."""

    sheet_id: int
    title: str
    frozen_rows: int
    formulas: frozenset[str]
    protected: frozenset[str]


@dataclass
class SetupReport:
    """What :func:`run_setup` did."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def parse_state(body: Mapping[str, Any]) -> dict[str, SheetState]:
    """Tabs by title from a ``spreadsheets.get`` with :data:`SETUP_FIELDS`."""
    out: dict[str, SheetState] = {}
    for sheet in body.get("sheets", []):
        props = sheet.get("properties", {})
        formulas = set()
        for rule in sheet.get("conditionalFormats", []) or []:
            values = rule.get("booleanRule", {}).get("condition", {}).get("values", [])
            for value in values:
                formulas.add(str(value.get("userEnteredValue", "")))
        protected = {
            str(p.get("description", ""))
            for p in sheet.get("protectedRanges", []) or []
            if str(p.get("description", "")).startswith(MARK)
        }
        title = str(props.get("title", ""))
        out[title] = SheetState(
            sheet_id=int(props.get("sheetId", 0)),
            title=title,
            frozen_rows=int(props.get("gridProperties", {}).get("frozenRowCount", 0) or 0),
            formulas=frozenset(formulas),
            protected=frozenset(protected),
        )
    return out


def _quoted(value: object) -> str:
    return '"' + str(value).replace('"', '""') + '"'


def lost_values(ledger: LedgerConfig) -> dict[str, list[str]]:
    """Column → values an ``archive`` rule matches with ``equals`` / ``in`` (top level)."""
    out: dict[str, list[str]] = {}
    for rule in ledger.rules:
        if isinstance(rule, Archive) and rule.enabled:
            conds = [rule.when]
            conds.extend(getattr(rule.when, "any", []) or [])
            for cond in conds:
                if isinstance(cond, Compare) and cond.op == "equals":
                    out.setdefault(cond.column, []).append(str(cond.value))
                elif isinstance(cond, Compare) and cond.op == "in":
                    out.setdefault(cond.column, []).extend(str(v) for v in cond.value)
    return out


def setup_requests(
    ledger: LedgerConfig, main: Table, tabs: Mapping[str, SheetState]
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Pure: the batchUpdate requests still needed, what they create, and what exists."""
    reqs: list[dict[str, Any]] = []
    created: list[str] = []
    skipped: list[str] = []
    state = tabs.get(main.name)
    if state is None:
        return reqs, created, [f"tab {main.name!r} not found"]
    sid, first = state.sheet_id, main.header_row  # 0-based index of the first data row
    width = max(len(main.header), 1)

    if state.frozen_rows != main.header_row:
        reqs.append(
            {
                "updateSheetProperties": {
                    "properties": {
                        "sheetId": sid,
                        "gridProperties": {"frozenRowCount": main.header_row},
                    },
                    "fields": "gridProperties.frozenRowCount",
                }
            }
        )
        created.append(f"froze {main.header_row} header row(s) of {main.name!r}")
    else:
        skipped.append("frozen header")

    for name, spec in ledger.columns.items():
        pos = main.index_of(name)
        if spec.type != "choice" or pos is None or not spec.values:
            continue
        reqs.append(
            {
                "setDataValidation": {
                    "range": {
                        "sheetId": sid,
                        "startRowIndex": first,
                        "startColumnIndex": pos,
                        "endColumnIndex": pos + 1,
                    },
                    "rule": {
                        "condition": {
                            "type": "ONE_OF_LIST",
                            "values": [{"userEnteredValue": v} for v in spec.values],
                        },
                        "strict": True,
                        "showCustomUi": True,
                    },
                }
            }
        )
        created.append(f"dropdown on {name!r}")

    row = first + 1
    formats: list[tuple[str, dict[str, float], str]] = []
    note = main.index_of(ledger.annotation_column)
    if note is not None:
        has_note = f"=LEN(${column_letter(note)}{row})>0"
        formats.append((has_note, FINDING_COLOR, "rows with findings"))
    for column, values in lost_values(ledger).items():
        pos = main.index_of(column)
        if pos is None:
            continue
        cell = f"${column_letter(pos)}{row}"
        test = ",".join(f"{cell}={_quoted(v)}" for v in values)
        formula = f"=OR({test})" if len(values) > 1 else f"={test}"
        formats.append((formula, LOST_COLOR, f"lost customers ({column})"))
    for formula, color, what in formats:
        if formula in state.formulas:
            skipped.append(f"highlight {what}")
            continue
        reqs.append(
            {
                "addConditionalFormatRule": {
                    "index": 0,
                    "rule": {
                        "ranges": [
                            {
                                "sheetId": sid,
                                "startRowIndex": first,
                                "startColumnIndex": 0,
                                "endColumnIndex": width,
                            }
                        ],
                        "booleanRule": {
                            "condition": {
                                "type": "CUSTOM_FORMULA",
                                "values": [{"userEnteredValue": formula}],
                            },
                            "format": {"backgroundColor": color},
                        },
                    },
                }
            }
        )
        created.append(f"highlight {what}")

    protect: list[tuple[str, dict[str, Any]]] = []
    for column in ledger.owned_columns():
        pos = main.index_of(column)
        if pos is not None:
            protect.append(
                (
                    f"{MARK} column {column} of {main.name} is written by syncer",
                    {"sheetId": sid, "startColumnIndex": pos, "endColumnIndex": pos + 1},
                )
            )
    for tab in (ledger.tabs.history, ledger.tabs.errors):
        other = tabs.get(tab)
        if other is not None:
            protect.append((f"{MARK} tab {tab} is written by syncer", {"sheetId": other.sheet_id}))
    for description, grid in protect:
        owner = next((s for s in tabs.values() if s.sheet_id == grid["sheetId"]), state)
        if description in owner.protected:
            skipped.append(description)
            continue
        reqs.append(
            {
                "addProtectedRange": {
                    "protectedRange": {
                        "range": grid,
                        "description": description,
                        "warningOnly": True,
                    }
                }
            }
        )
        created.append(description)
    return reqs, created, skipped


def metadata_request(created: Sequence[str], existing_id: int | None) -> dict[str, Any]:
    """Record what syncer created in spreadsheet-level developer metadata."""
    value = json.dumps({"created": list(created)}, ensure_ascii=False)[:30000]
    if existing_id is not None:
        return {
            "updateDeveloperMetadata": {
                "dataFilters": [{"developerMetadataLookup": {"metadataId": existing_id}}],
                "developerMetadata": {"metadataValue": value},
                "fields": "metadataValue",
            }
        }
    return {
        "createDeveloperMetadata": {
            "developerMetadata": {
                "metadataKey": METADATA_KEY,
                "metadataValue": value,
                "location": {"spreadsheet": True},
                "visibility": "DOCUMENT",
            }
        }
    }


def run_setup(connector: GoogleSheetsConnector, ledger: LedgerConfig) -> SetupReport:
    """Read the main tab and the sheet's formatting state, then add what is missing
    (two reads and at most one ``spreadsheets.batchUpdate``)."""
    from syncer.connectors.base import TabRequest

    report = SetupReport()
    snap = connector.read([TabRequest(ledger.tabs.main, ledger.header_row)])
    main = snap.get(ledger.tabs.main)
    if main is None:
        report.skipped.append(f"tab {ledger.tabs.main!r} not found")
        return report
    body = connector.http.fetch_sheet_metadata(
        connector.spreadsheet_id, params={"includeGridData": "false", "fields": SETUP_FIELDS}
    )
    reqs, created, skipped = setup_requests(ledger, main, parse_state(body))
    report.skipped.extend(skipped)
    if not reqs:
        return report
    existing = next(
        (
            int(m["metadataId"])
            for m in body.get("developerMetadata", []) or []
            if m.get("metadataKey") == METADATA_KEY and "metadataId" in m
        ),
        None,
    )
    reqs.append(metadata_request(created, existing))
    connector.http.batch_update(connector.spreadsheet_id, {"requests": reqs})
    connector.invalidate()
    report.requests = reqs
    report.created = created
    return report
