"""The Google Sheets connector: gspread over an authorized session, batched and guarded.

Calls per cycle (see docs/google.md):

* **idle check** — :meth:`GoogleSheetsConnector.change_token` is one Drive ``files.get``
  asking only for ``version``; no Sheets call.
* **read** — one ``values.batchGet`` of every requested tab, with
  ``valueRenderOption=UNFORMATTED_VALUE`` (numbers and booleans arrive as JSON numbers and
  booleans: a phone stored as a number arrives as a number) and
  ``dateTimeRenderOption=FORMATTED_STRING`` (dates arrive as the text people see, e.g.
  ``2024-03-01``). Sheet ids and grid sizes come from one ``spreadsheets.get`` that is
  cached until a tab is missing, a range no longer parses, or a write fails.
* **guard** — one ``values.batchGet`` of the header rows, the key column and the rows the
  plan touches; :func:`syncer.guard.guard` decides on a fresh :class:`Snapshot` built
  from it (rows not re-read carry only their key, so an operation on a row that moved
  is dropped and re-planned next cycle).
* **write** — one ``spreadsheets.batchUpdate`` (chunked under 2 MB), atomic per chunk,
  instead of ``values.batchUpdate`` + ``spreadsheets.batchUpdate`` (see docs/google.md):
  ``updateCells`` for cell writes and headers with *typed* values (``stringValue`` for
  text, so user text starting with ``=``, ``+``, ``-`` or ``@`` is never parsed; dates
  as serial numbers with a date format), ``appendCells`` for history rows, then
  ``deleteDimension`` of archived rows bottom-up, and ``updateCells`` over the errors
  tab. Tabs that must be created cost one extra ``addSheet`` call before it.
* **check** — after any write, one ``values.batchGet`` of the key columns: if rows moved
  while the batch was in flight (a person inserted, deleted or sorted rows), cells
  written onto the wrong customer get their value back from the snapshot and a row
  removed by mistake is re-appended; each moved key must be in exactly one of main and
  history (a lost row is re-appended, a duplicate removed). Repairs are incidents.

Every call goes through one :class:`~syncer.connectors.retry.RetryPolicy` and the
credential's :class:`~syncer.connectors.ratelimit.RateLimiter`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import requests
from gspread.exceptions import APIError, NoValidUrlKeyFound
from gspread.http_client import HTTPClient
from gspread.utils import ExportFormat, extract_id_from_url

from syncer.connectors.base import Connector, TabRequest
from syncer.connectors.google_auth import GoogleAuth, open_session
from syncer.connectors.ratelimit import RateLimiter, limiter_for
from syncer.connectors.retry import (
    CallFailed,
    Failure,
    RetryPolicy,
    Target,
    kind_for_status,
    parse_retry_after,
)
from syncer.connectors.tabular import guard_requests, table_from_rows
from syncer.errors import (
    ConfigError,
    ConnectorError,
    PermissionDenied,
    SourceChanged,
    SourceNotFound,
    TransientError,
)
from syncer.guard import Resolved, guard
from syncer.ledger import LedgerConfig
from syncer.model import (
    AddColumn,
    ApplyReport,
    CellValue,
    Dropped,
    EnsureTab,
    MoveRow,
    Operation,
    Plan,
    ReplaceTab,
    SetCell,
    Snapshot,
    Table,
    canonical,
)
from syncer.settings import Settings

log = logging.getLogger(__name__)

SHEETS_BASE = "https://sheets.googleapis.com/v4/spreadsheets"
DRIVE_FILES = "https://www.googleapis.com/drive/v3/files"
#: Google rejects request bodies above ~10 MB; staying under 2 MB keeps each call quick.
MAX_BODY_BYTES = 2_000_000
#: More touched-row spans than this and the guard reads whole tabs instead.
MAX_GUARD_SPANS = 200
DATE_PATTERN = "yyyy-mm-dd"
DATETIME_PATTERN = "yyyy-mm-dd hh:mm"
_EPOCH = datetime(1899, 12, 30)


# --- pure helpers ---------------------------------------------------------------------


def spreadsheet_id(ref: str) -> str:
    """The spreadsheet id in ``ref``: an id, or a ``docs.google.com`` URL."""
    ref = ref.strip()
    if "/" not in ref:
        if not ref:
            raise ConfigError("source.spreadsheet is empty: give the spreadsheet's id or URL")
        return ref
    try:
        return str(extract_id_from_url(ref))
    except NoValidUrlKeyFound as exc:
        raise ConfigError(
            f"source.spreadsheet {ref!r} is not a spreadsheet URL; copy it from the browser "
            "(https://docs.google.com/spreadsheets/d/<id>/edit) or give the id alone"
        ) from exc


def quote_tab(title: str) -> str:
    """A tab title as an A1 sheet reference: ``'Sheet 1'`` (quotes doubled)."""
    return "'" + title.replace("'", "''") + "'"


def column_letter(col: int) -> str:
    """1 → ``A``, 27 → ``AA``."""
    if col < 1:
        raise ValueError(f"column numbers start at 1, got {col}")
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?")


def parse_cell(value: Any) -> CellValue:
    """A cell of an UNFORMATTED_VALUE / FORMATTED_STRING response, typed.

    ``""`` is empty; numbers and booleans stay as sent; a date cell arrives as the text
    people see, and when that text is ISO (``2024-03-01``, ``2024-03-01 09:05``) it is
    returned as a ``date`` / ``datetime`` — so dates round-trip typed, as with xlsx.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if len(value) == 10 and _ISO_DATE.fullmatch(value):
            with contextlib.suppress(ValueError):
                return date.fromisoformat(value)
        elif 16 <= len(value) <= 19 and _ISO_DATETIME.fullmatch(value):
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(value)
        return value
    if isinstance(value, bool | int | float):
        return value
    return str(value)


def serial_of(value: date | datetime) -> float:
    """Sheets' serial number of a date (days since 1899-12-30, wall-clock time)."""
    if isinstance(value, datetime):
        naive = value.replace(tzinfo=None)
        return (naive - _EPOCH).total_seconds() / 86400.0
    return float((value - _EPOCH.date()).days)


def cell_data(value: CellValue) -> dict[str, Any]:
    """A typed ``CellData`` for ``value``; text is ``stringValue`` so it is never parsed."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
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


def _fields_for(cells: Iterable[Mapping[str, Any]]) -> str:
    dated = any("userEnteredFormat" in c for c in cells)
    return "userEnteredValue,userEnteredFormat.numberFormat" if dated else "userEnteredValue"


def row_data(values: Sequence[CellValue]) -> dict[str, Any]:
    """A ``RowData`` of typed cells."""
    return {"values": [cell_data(v) for v in values]}


def row_spans(
    rows: Iterable[int], max_spans: int = MAX_GUARD_SPANS
) -> list[tuple[int, int]] | None:
    """Sorted 1-based sheet rows merged into inclusive spans; None when too many spans."""
    spans: list[tuple[int, int]] = []
    for row in sorted(set(rows)):
        if spans and row <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], row)
        else:
            spans.append((row, row))
    return spans if len(spans) <= max_spans else None


def chunk_requests(
    requests_: Sequence[Mapping[str, Any]], limit: int = MAX_BODY_BYTES
) -> list[list[Mapping[str, Any]]]:
    """Consecutive groups of requests whose JSON stays under ``limit`` bytes (order kept)."""
    chunks: list[list[Mapping[str, Any]]] = []
    size = 0
    for req in requests_:
        n = len(json.dumps(req, ensure_ascii=False).encode()) + 2  # ", " between items
        if chunks and size + n <= limit:
            chunks[-1].append(req)
            size += n
        else:
            chunks.append([req])
            size = n + len('{"requests": []}')
    return chunks


def failure_of(exc: Exception) -> Failure:
    """The retry policy's view of a gspread / requests exception."""
    if isinstance(exc, APIError):
        error = exc.error if isinstance(exc.error, Mapping) else {}
        status = int(exc.response.status_code)
        reason = str(error.get("status") or "")
        for detail in error.get("errors") or []:
            if isinstance(detail, Mapping) and detail.get("reason"):
                reason += " " + str(detail["reason"])
        return Failure(
            kind=kind_for_status(status, reason),
            message=str(error.get("message") or exc),
            status=status,
            retry_after=parse_retry_after(exc.response.headers.get("Retry-After")),
            reason=reason.strip() or None,
        )
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return Failure(kind="transient", message=f"{type(exc).__name__}: {exc}")
    return Failure(kind="other", message=str(exc))


@dataclass(frozen=True)
class SheetMeta:
    """One tab's structure: id, title and grid size."""

    sheet_id: int
    title: str
    rows: int
    cols: int


def parse_metadata(body: Mapping[str, Any]) -> dict[str, SheetMeta]:
    """Tabs by title from a ``spreadsheets.get`` body."""
    out: dict[str, SheetMeta] = {}
    for sheet in body.get("sheets", []):
        props = sheet.get("properties", {})
        grid = props.get("gridProperties", {})
        meta = SheetMeta(
            sheet_id=int(props.get("sheetId", 0)),
            title=str(props.get("title", "")),
            rows=int(grid.get("rowCount", 0)),
            cols=int(grid.get("columnCount", 0)),
        )
        out[meta.title] = meta
    return out


@dataclass
class WriteBatch:
    """What :func:`build_writes` decided: the requests, and the fate of each operation."""

    new_tabs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    applied: list[Operation] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    moves: list[MoveRow] = field(default_factory=list)
    #: (tab, sheet row, column number, op) of every row-addressed cell write.
    cells: list[tuple[str, int, int, SetCell]] = field(default_factory=list)
    #: tab → fresh data-row indexes removed from it.
    removed: dict[str, set[int]] = field(default_factory=dict)


@dataclass
class _Tab:
    meta: SheetMeta | None
    header_row: int
    header: list[str]
    grid_rows: int
    grid_cols: int


def _op_phase(op: Operation) -> int:
    return {"ensure_tab": 0, "add_column": 1, "set_cell": 2, "replace_tab": 2, "move_row": 3}[
        op.kind
    ]


def build_writes(
    kept: Sequence[Resolved],
    fresh: Snapshot,
    meta: Mapping[str, SheetMeta],
    snapshot: Snapshot,
) -> WriteBatch:
    """Pure: the ``spreadsheets.batchUpdate`` requests for the guard's kept operations.

    Row numbers come from ``fresh`` (the guard read). Order: grid growth, header and cell
    writes, the errors tab, history appends, then row deletions bottom-up — so earlier
    requests never address rows a deletion shifted. Tabs missing from ``meta`` are listed
    in ``new_tabs`` and must exist (with their ids in ``meta``) before calling this again.
    """
    out = WriteBatch()
    tabs: dict[str, _Tab] = {}
    for title, m in meta.items():
        table = fresh.get(title)
        tabs[title] = _Tab(
            meta=m,
            header_row=table.header_row if table else 1,
            header=list(table.header) if table else [],
            grid_rows=m.rows,
            grid_cols=m.cols,
        )
    grow: list[dict[str, Any]] = []
    cells: list[dict[str, Any]] = []
    replace: list[dict[str, Any]] = []
    appends: list[dict[str, Any]] = []
    deletions: dict[int, set[int]] = {}

    def need_tab(title: str, header: Sequence[str]) -> _Tab | None:
        tab = tabs.get(title)
        if tab is None:
            out.new_tabs.setdefault(title, tuple(header))
        return tab

    def fit(tab: _Tab, rows: int, cols: int) -> None:
        assert tab.meta is not None
        sid = tab.meta.sheet_id
        if cols > tab.grid_cols:
            grow.append(
                {
                    "appendDimension": {
                        "sheetId": sid,
                        "dimension": "COLUMNS",
                        "length": cols - tab.grid_cols,
                    }
                }
            )
            tab.grid_cols = cols
        if rows > tab.grid_rows:
            grow.append(
                {
                    "appendDimension": {
                        "sheetId": sid,
                        "dimension": "ROWS",
                        "length": rows - tab.grid_rows,
                    }
                }
            )
            tab.grid_rows = rows

    def write_cell(tab: _Tab, row: int, col: int, value: CellValue) -> None:
        assert tab.meta is not None
        fit(tab, row, col)
        data = cell_data(value)
        cells.append(
            {
                "updateCells": {
                    "start": {
                        "sheetId": tab.meta.sheet_id,
                        "rowIndex": row - 1,
                        "columnIndex": col - 1,
                    },
                    "rows": [{"values": [data]}],
                    "fields": _fields_for([data]),
                }
            }
        )

    def add_header(tab: _Tab, column: str) -> None:
        if column in tab.header:
            return
        while tab.header and not tab.header[-1]:
            tab.header.pop()
        tab.header.append(column)
        write_cell(tab, tab.header_row, len(tab.header), column)

    ordered = sorted(kept, key=lambda r: _op_phase(r.op))
    for resolved in ordered:
        op = resolved.op
        if isinstance(op, EnsureTab):
            if need_tab(op.tab, op.header) is None:
                continue
            out.applied.append(op)
        elif isinstance(op, AddColumn):
            tab = tabs.get(op.tab)
            if tab is None:
                out.dropped.append(Dropped(op, f"tab {op.tab!r} does not exist"))
                continue
            add_header(tab, op.column)
            out.applied.append(op)
        elif isinstance(op, SetCell):
            tab = tabs.get(op.tab)
            if tab is None:
                out.dropped.append(Dropped(op, f"tab {op.tab!r} does not exist"))
            elif resolved.index is None:
                out.dropped.append(
                    Dropped(op, f"row of {op.target.key or op.target.row!r} not found")
                )
            elif op.column not in tab.header:
                out.dropped.append(
                    Dropped(op, f"column {op.column!r} is not in the header of {op.tab!r}")
                )
            else:
                row = tab.header_row + 1 + resolved.index
                col = tab.header.index(op.column) + 1
                write_cell(tab, row, col, op.value)
                out.cells.append((op.tab, row, col, op))
                out.applied.append(op)
        elif isinstance(op, ReplaceTab):
            tab = need_tab(op.tab, ())
            if tab is None:
                continue
            old = snapshot.get(op.tab)
            if old is not None and _same_content(old, op.rows):
                out.applied.append(op)
                continue
            assert tab.meta is not None
            width = max([1, *(len(r) for r in op.rows)])
            fit(tab, len(op.rows), width)
            rows = [row_data(r) for r in op.rows]
            replace.append(
                {
                    "updateCells": {
                        "range": {
                            "sheetId": tab.meta.sheet_id,
                            "startRowIndex": 0,
                            "endRowIndex": tab.grid_rows,
                            "startColumnIndex": 0,
                            "endColumnIndex": tab.grid_cols,
                        },
                        "rows": rows,
                        "fields": "userEnteredValue",
                    }
                }
            )
            out.applied.append(op)
        else:
            main = tabs.get(op.tab)
            history = need_tab(op.history_tab, tuple(c for c, _ in op.values))
            if history is None:
                continue
            if main is None or main.meta is None or resolved.index is None:
                out.dropped.append(Dropped(op, f"row of {op.target.key!r} not found"))
                continue
            assert history.meta is not None
            for column, _ in op.values:
                add_header(history, column)
            by_column = dict(op.values)
            values = [by_column.get(c) for c in history.header]
            appends.append(
                {
                    "appendCells": {
                        "sheetId": history.meta.sheet_id,
                        "rows": [row_data(values)],
                        "fields": _fields_for(cell_data(v) for v in values),
                    }
                }
            )
            out.removed.setdefault(op.tab, set()).add(resolved.index)
            deletions.setdefault(main.meta.sheet_id, set()).add(
                main.header_row + 1 + resolved.index
            )
            out.applied.append(op)
            out.moves.append(op)
    if out.new_tabs:
        return out
    removals = [
        {
            "deleteDimension": {
                "range": {
                    "sheetId": sid,
                    "dimension": "ROWS",
                    "startIndex": start - 1,
                    "endIndex": end,
                }
            }
        }
        for sid, rows in deletions.items()
        for start, end in reversed(row_spans(rows, max_spans=len(rows)) or [])
    ]
    out.requests = [*grow, *cells, *replace, *appends, *removals]
    return out


def _same_content(table: Table, rows: Sequence[Sequence[CellValue]]) -> bool:
    """True when a tab read as ``table`` already shows ``rows`` (header first)."""
    current: list[list[CellValue]] = [list(table.header), *(list(r) for r in table.rows)]

    def norm(rs: Sequence[Sequence[CellValue]]) -> list[list[str]]:
        out = [[canonical(v) for v in r] for r in rs]
        for r in out:
            while r and not r[-1]:
                r.pop()
        while out and not out[-1]:
            out.pop()
        return out

    return norm(current) == norm(rows)


def fresh_table(
    name: str,
    header_row: int,
    header_values: Sequence[Any],
    key_pos: int | None,
    key_values: Sequence[Sequence[Any]],
    full_rows: Mapping[int, Sequence[Any]],
    sheet_id: int | None,
) -> Table:
    """A Table from a guard read: rows re-read in full are complete; others carry only
    their key (at ``key_pos``) so the guard can locate — but never trust — them."""
    n = len(key_values)
    if full_rows:
        n = max(n, max(full_rows) - header_row)
    grid: list[list[CellValue]] = [[] for _ in range(header_row - 1)]
    grid.append([parse_cell(v) for v in header_values])
    for i in range(n):
        sheet_row = header_row + 1 + i
        if sheet_row in full_rows:
            grid.append([parse_cell(v) for v in full_rows[sheet_row]])
        elif key_pos is not None and i < len(key_values) and key_values[i]:
            row: list[CellValue] = [None] * key_pos + [parse_cell(key_values[i][0])]
            grid.append(row)
        else:
            grid.append([])
    return table_from_rows(name, header_row, grid, sheet_id)


# --- the HTTP client all gspread calls go through --------------------------------------


class PolicyHTTPClient(HTTPClient):
    """gspread's HTTP client with syncer's retry policy, rate limiter and call counts."""

    def __init__(self, auth: Any, session: requests.Session | None = None) -> None:
        super().__init__(auth, session)
        self.policy = RetryPolicy()
        self.limiter: RateLimiter | None = None
        self.target = Target()
        self.refresh_token: Any = None
        self.calls: Counter[str] = Counter()
        #: Wall seconds spent waiting on each kind of call (answers included).
        self.seconds: dict[str, float] = defaultdict(float)
        self.attempts = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    def request(
        self,
        method: str,
        endpoint: str,
        params: Any = None,
        data: bytes | None = None,
        json: Any = None,
        files: Any = None,
        headers: Any = None,
    ) -> requests.Response:
        """One logical API call: rate-limited, retried under the policy, counted."""
        what = _call_name(method, endpoint)
        self.calls[what] += 1

        def attempt() -> requests.Response:
            if self.limiter is not None and "/drive/" not in endpoint:
                self.limiter.acquire("read" if method.lower() == "get" else "write")
            self.attempts += 1
            try:
                response: requests.Response = super(PolicyHTTPClient, self).request(
                    method,
                    endpoint,
                    params=params,
                    data=data,
                    json=json,
                    files=files,
                    headers=headers,
                )
            except (APIError, requests.Timeout, requests.ConnectionError) as exc:
                raise CallFailed(failure_of(exc)) from exc
            self.bytes_sent += len(response.request.body or b"") + len(response.request.url or "")
            self.bytes_received += len(response.content)
            return response

        def on_retry(failure: Failure, wait: float) -> None:
            log.warning(
                "retrying %s for %s after %s (%s); waiting %.1fs",
                what,
                self.target.describe(),
                failure.status or "no response",
                failure.message,
                wait,
            )

        started = time.perf_counter()
        try:
            return self.policy.call(
                attempt, self.target, what=what, refresh=self.refresh_token, on_retry=on_retry
            )
        finally:
            self.seconds[what] += time.perf_counter() - started


def _call_name(method: str, endpoint: str) -> str:
    """``values.batchGet`` / ``spreadsheets.batchUpdate`` / ``drive.files.get`` …"""
    path = endpoint.split("?")[0]
    if "/drive/" in path:
        return "drive.files.export" if path.endswith("/export") else "drive.files.get"
    if ":batchUpdate" in path:
        return "values.batchUpdate" if "/values:" in path else "spreadsheets.batchUpdate"
    if "values:batchGet" in path:
        return "values.batchGet"
    if "/values/" in path:
        return f"values.{method.lower()}"
    return "spreadsheets.get" if method.lower() == "get" else f"spreadsheets.{method.lower()}"


# --- the connector ---------------------------------------------------------------------


class GoogleSheetsConnector(Connector):
    """A ledger's Google spreadsheet, read and written through gspread."""

    kind = "google"

    def __init__(
        self,
        spreadsheet: str,
        *,
        ledger: str = "?",
        key_column: str | None = None,
        auth: GoogleAuth | None = None,
        credentials_path: Path | None = None,
        api_base: str | None = None,
        policy: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        reads_per_minute: int = 55,
        writes_per_minute: int = 55,
    ) -> None:
        self.spreadsheet_id = spreadsheet_id(spreadsheet)
        self.ledger = ledger
        self.key_column = key_column
        self.auth = auth if auth is not None else open_session(credentials_path, api_base)
        self.http = PolicyHTTPClient(self.auth.credentials, self.auth.session)
        self.http.policy = policy if policy is not None else RetryPolicy()
        self.http.limiter = (
            limiter
            if limiter is not None
            else limiter_for(self.auth.identity, reads_per_minute, writes_per_minute)
        )
        self.http.target = Target(ledger, self.spreadsheet_id, self.auth.client_email)
        self.http.refresh_token = self.auth.refresh
        self._meta: dict[str, SheetMeta] | None = None
        self._token: str | None = None
        #: Set when a write needed repairs: the next cycle must not be skipped as idle.
        self._dirty = False
        self.incidents: list[str] = []
        #: Called at the start of :meth:`apply`, before the guard read (tests inject
        #: human edits here).
        self.before_apply: Callable[[GoogleSheetsConnector], None] | None = None

    @classmethod
    def for_ledger(
        cls, ledger: LedgerConfig, settings: Settings | None = None, **kwargs: Any
    ) -> GoogleSheetsConnector:
        """The connector of a ledger whose ``source`` is ``connector: google``."""
        source = ledger.source
        ref = getattr(source, "spreadsheet", None)
        if not isinstance(ref, str):
            raise ConfigError(f"ledger {ledger.name!r}: source is not a Google spreadsheet")
        settings = settings or Settings()
        kwargs.setdefault("credentials_path", settings.credentials_path)
        kwargs.setdefault("api_base", settings.google_api_base)
        kwargs.setdefault("reads_per_minute", settings.google_reads_per_minute)
        kwargs.setdefault("writes_per_minute", settings.google_writes_per_minute)
        return cls(ref, ledger=ledger.name, key_column=ledger.key, **kwargs)

    # -- counters ------------------------------------------------------------------------

    @property
    def calls(self) -> Counter[str]:
        """Logical API calls made so far, by method (``values.batchGet`` …)."""
        return self.http.calls

    def sheets_calls(self) -> int:
        """Sheets API calls so far (Drive calls excluded)."""
        return sum(n for k, n in self.http.calls.items() if not k.startswith("drive."))

    # -- metadata ------------------------------------------------------------------------

    def metadata(self, *, refresh: bool = False) -> dict[str, SheetMeta]:
        """Tabs by title (cached; ``refresh`` forces one ``spreadsheets.get``)."""
        if self._meta is None or refresh:
            body = self.http.fetch_sheet_metadata(
                self.spreadsheet_id,
                params={"includeGridData": "false", "fields": "sheets.properties"},
            )
            self._meta = parse_metadata(body)
        return self._meta

    def invalidate(self) -> None:
        """Forget cached metadata (after a structure change or a failed write)."""
        self._meta = None

    def _batch_get(self, ranges: Sequence[str]) -> list[list[list[Any]]]:
        if not ranges:
            return []
        body = self.http.values_batch_get(
            self.spreadsheet_id,
            list(ranges),
            params={
                "valueRenderOption": "UNFORMATTED_VALUE",
                "dateTimeRenderOption": "FORMATTED_STRING",
                "majorDimension": "ROWS",
            },
        )
        return [list(vr.get("values", [])) for vr in body.get("valueRanges", [])]

    def _batch_get_known(self, ranges_by_tab: Sequence[tuple[str, str]]) -> list[list[list[Any]]]:
        """batchGet ranges of tabs believed to exist; on a range that no longer parses
        (a tab renamed or deleted), refresh metadata once and keep the existing tabs."""
        try:
            return self._batch_get([r for _, r in ranges_by_tab])
        except (PermissionDenied, SourceNotFound, TransientError):
            raise
        except ConnectorError:  # 400: "Unable to parse range" for a vanished tab
            meta = self.metadata(refresh=True)
            if all(tab in meta for tab, _ in ranges_by_tab):
                raise
            raise _TabsChanged() from None

    # -- Connector -----------------------------------------------------------------------

    def change_token(self) -> str | None:
        """Drive's ``version`` of the spreadsheet: one Drive call, no Sheets call."""
        body = self.http.request(
            "get",
            f"{DRIVE_FILES}/{self.spreadsheet_id}",
            params={"fields": "version", "supportsAllDrives": True},
        ).json()
        version = body.get("version")
        self._token = None if version is None else str(version)
        # After a repaired race the sheet needs another full cycle: report no token.
        return None if self._dirty else self._token

    def read(self, tabs: Sequence[TabRequest]) -> Snapshot:
        """Every requested tab that exists, in one ``values.batchGet``."""
        self._dirty = False
        for _ in range(2):
            meta = self.metadata()
            present = [t for t in tabs if t.name in meta]
            try:
                ranges = self._batch_get_known([(t.name, quote_tab(t.name)) for t in present])
            except _TabsChanged:
                continue
            tables = {
                t.name: table_from_rows(
                    t.name,
                    t.header_row,
                    [[parse_cell(v) for v in row] for row in values],
                    meta[t.name].sheet_id,
                )
                for t, values in zip(present, ranges, strict=True)
            }
            return Snapshot(tables=tables, change_token=self._token)
        raise ConnectorError(
            f"ledger {self.ledger!r} (spreadsheet {self.spreadsheet_id}): tabs kept changing "
            "while reading; will retry next cycle"
        )

    def _guard_read(self, plan: Plan, snapshot: Snapshot) -> Snapshot:
        """One batchGet of header rows, key columns and the rows the plan touches."""
        meta = self.metadata()
        touched: dict[str, set[int]] = {}
        for op in plan:
            if isinstance(op, SetCell | MoveRow):
                touched.setdefault(op.tab, set()).add(op.target.row)
        plan_ranges: list[tuple[str, str]] = []
        layout: list[tuple[str, int, int | None, str]] = []  # tab, header_row, key_pos, part
        for req in guard_requests(plan, snapshot):
            if req.name not in meta:
                continue
            q = quote_tab(req.name)
            old = snapshot.get(req.name)
            header_row = old.header_row if old else req.header_row
            key = plan.key_column or self.key_column
            key_pos = old.index_of(key) if old and key else None
            rows = touched.get(req.name)
            spans = row_spans(rows) if rows else []
            if spans is None:
                plan_ranges.append((req.name, q))
                layout.append((req.name, header_row, key_pos, "all"))
                continue
            plan_ranges.append((req.name, f"{q}!{header_row}:{header_row}"))
            layout.append((req.name, header_row, key_pos, "header"))
            if key_pos is not None:
                letter = column_letter(key_pos + 1)
                plan_ranges.append((req.name, f"{q}!{letter}{header_row + 1}:{letter}"))
                layout.append((req.name, header_row, key_pos, "key"))
            for start, end in spans:
                plan_ranges.append((req.name, f"{q}!{start}:{end}"))
                layout.append((req.name, header_row, key_pos, f"rows:{start}"))
        values = self._batch_get_known(plan_ranges)
        parts: dict[str, dict[str, Any]] = {}
        for (tab, header_row, key_pos, part), vals in zip(layout, values, strict=True):
            entry = parts.setdefault(
                tab,
                {
                    "header_row": header_row,
                    "key_pos": key_pos,
                    "header": [],
                    "keys": [],
                    "rows": {},
                    "all": None,
                },
            )
            if part == "header":
                entry["header"] = vals[0] if vals else []
            elif part == "key":
                entry["keys"] = vals
            elif part == "all":
                entry["all"] = vals
            else:
                start = int(part.split(":")[1])
                for offset, row in enumerate(vals):
                    entry["rows"][start + offset] = row
        tables: dict[str, Table] = {}
        for tab, e in parts.items():
            sid = meta[tab].sheet_id
            if e["all"] is not None:
                grid = [[parse_cell(v) for v in row] for row in e["all"]]
                tables[tab] = table_from_rows(tab, e["header_row"], grid, sid)
            else:
                tables[tab] = fresh_table(
                    tab, e["header_row"], e["header"], e["key_pos"], e["keys"], e["rows"], sid
                )
        return Snapshot(tables=tables, change_token=None)

    def apply(self, plan: Plan, snapshot: Snapshot) -> ApplyReport:
        """Guard, write in one batch, then check every moved customer is in one place."""
        before = self.sheets_calls() + self.calls["drive.files.get"]
        report = ApplyReport()
        if not plan:
            return report
        if self.before_apply is not None:
            self.before_apply(self)
        try:
            fresh = self._guard_read(plan, snapshot)
        except _TabsChanged:
            fresh = self._guard_read(plan, snapshot)
        checked = guard(plan, snapshot, fresh)
        report.dropped.extend(checked.dropped)
        batch = build_writes(checked.kept, fresh, self.metadata(), snapshot)
        if batch.new_tabs:
            self._add_tabs(batch.new_tabs)
            batch = build_writes(checked.kept, fresh, self.metadata(), snapshot)
        report.dropped.extend(batch.dropped)
        try:
            for chunk in chunk_requests(batch.requests):
                self.http.batch_update(self.spreadsheet_id, {"requests": chunk})
        except ConnectorError:
            self.invalidate()
            raise
        report.applied.extend(batch.applied)
        if batch.moves or batch.cells:
            report.incidents.extend(self._verify(batch, fresh, snapshot))
            self._dirty = bool(report.incidents)
        report.api_calls = self.sheets_calls() + self.calls["drive.files.get"] - before
        return report

    def _add_tabs(self, tabs: Mapping[str, Sequence[str]]) -> None:
        """One ``spreadsheets.batchUpdate`` adding every missing tab with its header.

        Sheet ids are chosen here (unused, above every existing id) so the header can be
        written in the same atomic batch."""
        meta = self.metadata()
        requests_: list[dict[str, Any]] = []
        next_id = max([m.sheet_id for m in meta.values()] + [0]) + 1
        added: dict[str, SheetMeta] = {}
        for title, header in tabs.items():
            if title in meta:
                continue
            width = max(26, len(header))
            added[title] = SheetMeta(next_id, title, 1000, width)
            requests_.append(
                {
                    "addSheet": {
                        "properties": {
                            "sheetId": next_id,
                            "title": title,
                            "gridProperties": {"rowCount": 1000, "columnCount": width},
                        }
                    }
                }
            )
            if header:
                requests_.append(
                    {
                        "updateCells": {
                            "start": {"sheetId": next_id, "rowIndex": 0, "columnIndex": 0},
                            "rows": [row_data(list(header))],
                            "fields": "userEnteredValue",
                        }
                    }
                )
            next_id += 1
        if requests_:
            self.http.batch_update(self.spreadsheet_id, {"requests": requests_})
            meta.update(added)

    def _read_keys(
        self, tabs: Mapping[str, tuple[int, str, int | None]]
    ) -> dict[str, list[str] | None]:
        """Each tab's key column as text, in one batchGet (None for a tab that is gone).

        ``tabs``: tab → (header row, key column, its 0-based position when known). Reads
        the header row and that column; a tab whose key moved is read whole (rare)."""
        meta = self.metadata()
        plan: list[tuple[str, str]] = []
        for tab, (_row, _key, pos) in tabs.items():
            if tab not in meta:
                continue
            q = quote_tab(tab)
            if pos is None:
                plan.append((tab, q))
            else:
                letter = column_letter(pos + 1)
                plan.append((tab, f"{q}!{letter}1:{letter}"))
        try:
            values = self._batch_get_known(plan)
        except _TabsChanged:
            meta = self.metadata()
            plan = [(t, r) for t, r in plan if t in meta]
            values = self._batch_get([r for _, r in plan])
        out: dict[str, list[str] | None] = dict.fromkeys(tabs)
        for (tab, _range), grid in zip(plan, values, strict=True):
            header_row, key, pos = tabs[tab]
            rows = [[parse_cell(v) for v in r] for r in grid]
            if pos is not None:
                head = rows[header_row - 1] if len(rows) >= header_row else []
                if not head or canonical(head[0]).strip() != key:
                    full = self._batch_get([quote_tab(tab)])[0]
                    rows = [[parse_cell(v) for v in r] for r in full]
                    pos = None
                else:
                    rows = [[r[0] if r else None] for r in rows]
                    rows[header_row - 1] = [key]
            table = table_from_rows(tab, header_row, rows)
            if key in table.header:
                out[tab] = [canonical(v) for v in table.column_values(key)]
        return out

    def _verify(self, batch: WriteBatch, fresh: Snapshot, snapshot: Snapshot) -> list[str]:
        """After writing: repair what a concurrent edit in the write window broke.

        One batchGet of the touched tabs. If the main tab's keys are not where the guard
        read plus our removals put them, rows moved while we wrote (a person inserted,
        deleted or sorted rows): cells written onto another customer's row get that row's
        value back from the snapshot, and a customer whose row we removed by mistake is
        re-appended from the snapshot. Then every moved customer must be in exactly one
        of main/history: a lost one is re-appended to history, a duplicate removed.
        """
        key = self.key_column
        if not key:
            return []
        tabs: dict[str, tuple[int, str, int | None]] = {}

        def where(tab: str) -> tuple[int, str, int | None]:
            t = fresh.get(tab)
            return (t.header_row, key, t.index_of(key)) if t else (1, key, None)

        for tab, *_ in batch.cells:
            tabs[tab] = where(tab)
        for move in batch.moves:
            tabs[move.tab] = where(move.tab)
            tabs[move.history_tab] = where(move.history_tab)
        keys = self._read_keys(tabs)
        meta = self.metadata()
        incidents: list[str] = []
        repairs: list[dict[str, Any]] = []
        deletes: list[dict[str, Any]] = []
        moved = {m.target.key for m in batch.moves if m.target.key}
        for tab in {t for t, *_ in batch.cells} | {m.tab for m in batch.moves}:
            table, now = fresh.get(tab), keys.get(tab)
            if table is None or now is None or tab not in meta:
                continue
            removed = batch.removed.get(tab, set())
            before = [canonical(v) for v in table.column_values(key)]
            for _, row, _col, op in batch.cells:  # keys we assigned ourselves
                index = row - table.header_row - 1
                if op.tab == tab and op.column == key and 0 <= index < len(before):
                    before[index] = canonical(op.value)
            expected = [k for i, k in enumerate(before) if i not in removed]
            if _trimmed(expected) == _trimmed(now):
                continue
            incidents.append(
                f"rows of {tab!r} moved while syncer was writing (a person inserted, deleted "
                "or sorted rows); checked every written cell and removed row"
            )
            old = snapshot.get(tab)
            sid = meta[tab].sheet_id
            # The sheet as our cell writes saw it: our removals came after them.
            at_write = list(now)
            for index in sorted(removed):
                at_write.insert(min(index, len(at_write)), "\x00removed")
            for _, row, col, op in (c for c in batch.cells if c[0] == tab):
                index = row - table.header_row - 1
                there = at_write[index] if 0 <= index < len(at_write) else ""
                mine = canonical(op.value) if op.column == key else (op.target.key or "")
                if there in (mine, "\x00removed"):
                    continue
                if there not in now:
                    continue  # that row is gone; nothing to restore in place
                row = table.header_row + 1 + now.index(there)
                value: CellValue = None
                if old is not None and there:
                    found = old.find_key(key, there)
                    if found:
                        value = old.cell(found[0], op.column)
                data = cell_data(value)
                fields = _fields_for([data]) if value is not None else "userEnteredValue"
                repairs.append(
                    {
                        "updateCells": {
                            "start": {"sheetId": sid, "rowIndex": row - 1, "columnIndex": col - 1},
                            "rows": [{"values": [data]}],
                            "fields": fields,
                        }
                    }
                )
                incidents.append(
                    f"{tab}!{column_letter(col)}{row}: syncer's write for {op.target.key!r} "
                    f"landed on {there or 'an inserted row'!r}; restored its value"
                )
            present = set(now)
            missing = [k for k in expected if k and k not in present and k not in moved]
            still = [m for m in batch.moves if m.tab == tab and m.target.key in present]
            restore: list[str] = []
            for m in still:
                if not missing or m.target.key is None:
                    continue
                gx = before.index(m.target.key) if m.target.key in before else 0
                nearest = min(missing, key=lambda k: abs(before.index(k) - gx))
                missing.remove(nearest)
                restore.append(nearest)
            for lost in restore:
                if old is None or not old.find_key(key, lost):
                    continue
                src = old.row_dict(old.find_key(key, lost)[0])
                header = table.header
                repairs.append(
                    {
                        "appendCells": {
                            "sheetId": sid,
                            "rows": [row_data([src.get(c) for c in header])],
                            "fields": "userEnteredValue",
                        }
                    }
                )
                incidents.append(
                    f"customer {lost!r} was removed from {tab!r} in place of an archived row; "
                    "re-appended it from the snapshot"
                )
        positions: dict[str, dict[str, list[int]]] = {}
        for tab, listed in keys.items():
            index_of: dict[str, list[int]] = {}
            for i, v in enumerate(listed or []):
                index_of.setdefault(v, []).append(i)
            positions[tab] = index_of
        for move in batch.moves:
            mk = move.target.key
            if not mk:
                continue
            k: str = mk
            in_main = positions.get(move.tab, {}).get(k, [])
            in_hist = positions.get(move.history_tab, {}).get(k, [])
            if len(in_main) + len(in_hist) == 1:
                continue
            if not in_main and not in_hist:
                repairs.extend(self._history_append(move))
                incidents.append(
                    f"customer {k!r} was in neither {move.tab!r} nor {move.history_tab!r} after "
                    "archiving; re-appended it to the history tab from the snapshot"
                )
            elif in_hist and move.history_tab in meta:
                extra = in_hist if in_main else in_hist[1:]
                hid = meta[move.history_tab].sheet_id
                deletes.extend(_delete_index(hid, 1, i) for i in extra)
                incidents.append(
                    f"customer {k!r} was in {move.tab!r} {len(in_main)} and in "
                    f"{move.history_tab!r} {len(in_hist)} time(s) after archiving; removed the "
                    "extra history copy (the row is archived again next cycle)"
                )
        if repairs or deletes:
            deletes.sort(key=lambda r: -int(r["deleteDimension"]["range"]["startIndex"]))
            self.http.batch_update(self.spreadsheet_id, {"requests": [*repairs, *deletes]})
        for text in incidents:
            log.error("incident in %s: %s", self.http.target.describe(), text)
        self.incidents.extend(incidents)
        return incidents

    def _history_append(self, move: MoveRow) -> list[dict[str, Any]]:
        """Requests re-appending ``move``'s row to its history tab (created if gone)."""
        meta = self.metadata()
        header = tuple(c for c, _ in move.values)
        if move.history_tab not in meta:
            self._add_tabs({move.history_tab: header})
            meta = self.metadata()
        by_col = dict(move.values)
        return [
            {
                "appendCells": {
                    "sheetId": meta[move.history_tab].sheet_id,
                    "rows": [row_data([by_col.get(c) for c in header])],
                    "fields": "userEnteredValue,userEnteredFormat.numberFormat",
                }
            }
        ]

    # -- extras --------------------------------------------------------------------------

    def export_xlsx(self) -> bytes:
        """The spreadsheet as an .xlsx file (Drive export)."""
        return bytes(self.http.export(self.spreadsheet_id, ExportFormat.EXCEL))

    def close(self) -> None:
        """Close the HTTP session."""
        self.auth.session.close()


def open_google(ledger: LedgerConfig, settings: Settings) -> GoogleSheetsConnector:
    """The connector :func:`syncer.connectors.open_connector` builds for a Google ledger."""
    return GoogleSheetsConnector.for_ledger(ledger, settings)


def _delete_index(sheet_id: int, header_row: int, index: int) -> dict[str, Any]:
    row = header_row + 1 + index
    return {
        "deleteDimension": {
            "range": {
                "sheetId": sheet_id,
                "dimension": "ROWS",
                "startIndex": row - 1,
                "endIndex": row,
            }
        }
    }


def _trimmed(keys: Sequence[str]) -> list[str]:
    out = list(keys)
    while out and not out[-1]:
        out.pop()
    return out


class _TabsChanged(SourceChanged):
    """A tab named in a range was renamed or deleted since metadata was cached."""

    def __init__(self) -> None:
        super().__init__(
            "a tab was renamed or deleted while syncer was reading; the cycle is retried "
            "on the next schedule"
        )
