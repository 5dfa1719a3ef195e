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
  plan touches (a ``values.batchGetByDataFilter`` POST of ``gridRange`` filters when the
  rows form more spans than a GET URL can name; the tab whole, typed only where the
  guard looks, when they are spread all over it); :func:`syncer.guard.guard` decides on a fresh
  :class:`Snapshot` built from it (rows not re-read carry only their key, so an
  operation on a row that moved is dropped and re-planned next cycle). Over the span
  limits, spans are merged when a cost model rates that cheaper than the whole tab
  (:func:`~syncer.connectors.google.guard_ranges.cheaper_spans`). Tabs the plan
  creates are added *before* the guard read, so nothing but local work separates the
  guard read from the write.
* **write** — one ``spreadsheets.batchUpdate`` (chunked under 2 MB), atomic per chunk,
  instead of ``values.batchUpdate`` + ``spreadsheets.batchUpdate`` (see docs/google.md):
  ``updateCells`` for cell writes and headers with *typed* values (``stringValue`` for
  text, so user text starting with ``=``, ``+``, ``-`` or ``@`` is never parsed; dates
  as serial numbers with a date format), ``updateCells`` of the errors tab's changed
  lines (by difference against the tab as read; see
  :func:`~syncer.connectors.google.tab_diff.replace_requests`), one
  ``appendCells`` per 500 history rows, then ``deleteDimension`` of archived rows
  bottom-up. Tabs the plan creates cost one extra ``addSheet`` call before the guard.
  A batch needing several chunks sends its deletions last, after one more read that
  re-locates them (see :meth:`GoogleSheetsConnector.write`).
* **key read** — :meth:`GoogleSheetsConnector.read_keys`, one ``values.batchGet`` of
  key columns, or after a write of cells alone :meth:`~GoogleSheetsConnector.read_keys_at`
  (the header and the rows written): the engine's verify stage (:mod:`syncer.verify`).

Every call goes through one :class:`~syncer.connectors.retry.RetryPolicy` and the
credential's :class:`~syncer.connectors.ratelimit.RateLimiter`, in the transport
(:mod:`~syncer.connectors.google.transport`). The pure parts live beside this module:
request building in :mod:`~syncer.connectors.google.builders`, typing value ranges in
:mod:`~syncer.connectors.google.read`, the guard's ranges in
:mod:`~syncer.connectors.google.guard_ranges`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from gspread.utils import ExportFormat

from syncer.a1 import column_letter
from syncer.connectors.base import Connector, KeyColumn, Progress, TabRequest
from syncer.connectors.google.ahead import WriteAhead
from syncer.connectors.google.auth import GoogleAuth, open_session
from syncer.connectors.google.bodies import (
    MAX_BODY_BYTES,
    RequestChunk,
    chunk_requests,
    write_chunks,
)
from syncer.connectors.google.builders import (
    MAX_FILTER_SPANS,
    MAX_GUARD_SPANS,
    SheetMeta,
    WriteBatch,
    build_writes,
    deletion_requests,
    parse_metadata,
    quote_tab,
    spreadsheet_id,
)
from syncer.connectors.google.cells import row_data
from syncer.connectors.google.guard_ranges import (
    GuardPart,
    filter_body,
    fits_url,
    guard_parts,
    guard_snapshot,
    row_parts,
    touched_rows,
)
from syncer.connectors.google.limits import over_limits
from syncer.connectors.google.read import (
    ValueRanges,
    decode_json,
    effective_value,
    keys_below_header,
    table_of_values,
    value_ranges,
)
from syncer.connectors.google.transport import PolicyHTTPClient, metric_kind
from syncer.connectors.google.write_lock import (
    LOCK_ANSWER_MAX_CELLS,
    METADATA_FIELDS,
    WriteLock,
    answered_values,
    part_cells,
)
from syncer.connectors.ratelimit import RateLimiter, limiter_for
from syncer.connectors.retry import RetryPolicy, Target
from syncer.errors import (
    ConfigError,
    ConnectorError,
    PermissionDenied,
    SourceChanged,
    SourceNotFound,
    TransientError,
    WriteNotSent,
)
from syncer.guard import Resolved
from syncer.ledger import LedgerConfig
from syncer.model import (
    Dropped,
    EnsureTab,
    MoveRow,
    Plan,
    ReplaceTab,
    Snapshot,
    Written,
    canonical,
    same_row,
)
from syncer.settings import Settings
from syncer.table_cache import cell_text

SHEETS_BASE = "https://sheets.googleapis.com/v4/spreadsheets"
DRIVE_FILES = "https://www.googleapis.com/drive/v3/files"
#: The field mask of a write whose answer carries the key columns (see
#: :meth:`GoogleSheetsConnector._batch_update_with_keys`).
KEYS_IN_ANSWER = (
    "updatedSpreadsheet.sheets(properties.title,data.rowData.values(effectiveValue,formattedValue))"
)
#: Above this many rows in the tabs written, the key columns are read after the write
#: instead: grid data costs several times a values read (measured on the sandbox: 0.16 s
#: against 0.02 s at 10,000 rows, 3.4 s against 0.45 s at 100,000).
KEYS_IN_ANSWER_MAX_ROWS = 20_000


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
        max_batch_bytes: int = MAX_BODY_BYTES,
        lock_while_writing: bool = True,
    ) -> None:
        self.spreadsheet_id = spreadsheet_id(spreadsheet)
        #: lock the tabs a write changes from the guard read to the write (write_lock.py)
        self.locks_writes = lock_while_writing
        self.max_batch_bytes = max_batch_bytes
        #: the largest ledger (rows of the tabs written) whose write answers with its keys
        self.keys_in_answer_max_rows = KEYS_IN_ANSWER_MAX_ROWS
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
        self.lock = WriteLock(self.http, f"{SHEETS_BASE}/{self.spreadsheet_id}:batchUpdate")
        #: the write's calls, worked out while the guard read is on the wire
        self.ahead = WriteAhead()

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
        kwargs.setdefault("max_batch_bytes", settings.google_max_batch_bytes)
        kwargs.setdefault("lock_while_writing", getattr(source, "lock_while_writing", True))
        return cls(ref, ledger=ledger.name, key_column=ledger.key, **kwargs)

    # -- counters ------------------------------------------------------------------------

    @property
    def calls(self) -> Counter[str]:
        """Logical API calls made so far, by method (``values.batchGet`` …)."""
        return self.http.calls

    def write_calls(self) -> int:
        """Sheets write calls so far (``batchUpdate``, ``values.update`` …)."""
        return sum(n for k, n in self.http.calls.items() if metric_kind(k) == "write")

    def calls_made(self) -> int:
        """Sheets and Drive calls so far."""
        return sum(self.http.calls.values())

    def sheets_calls(self) -> int:
        """Sheets API calls so far (Drive calls excluded)."""
        return sum(n for k, n in self.http.calls.items() if not k.startswith("drive."))

    # -- metadata ------------------------------------------------------------------------

    def metadata(self, *, refresh: bool = False) -> dict[str, SheetMeta]:
        """Tabs by title (cached; ``refresh`` forces one ``spreadsheets.get``). Notes any
        lock a crash left behind, for the next read to remove."""
        if self._meta is None or refresh:
            body = self.http.fetch_sheet_metadata(
                self.spreadsheet_id,
                params={"includeGridData": "false", "fields": METADATA_FIELDS},
            )
            self._meta = parse_metadata(body)
            self.lock.note(body.get("sheets") or [])
        return self._meta

    def invalidate(self) -> None:
        """Forget cached metadata (after a structure change or a failed write)."""
        self._meta = None

    def _batch_get(self, ranges: Sequence[str]) -> ValueRanges:
        if not ranges:
            return ValueRanges()
        response = self.http.request(
            "get",
            f"{SHEETS_BASE}/{self.spreadsheet_id}/values:batchGet",
            params={
                "ranges": list(ranges),
                "valueRenderOption": "UNFORMATTED_VALUE",
                "dateTimeRenderOption": "FORMATTED_STRING",
                "majorDimension": "ROWS",
            },
        )
        return value_ranges(response.content)

    def _batch_get_known(self, ranges_by_tab: Sequence[tuple[str, str]]) -> ValueRanges:
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

    def describe(self) -> str:
        """``Google spreadsheet ID``."""
        return f"Google spreadsheet {self.spreadsheet_id}"

    def change_token(self) -> str | None:
        """Drive's ``version`` of the spreadsheet: one Drive call, no Sheets call."""
        body = self.http.request(
            "get",
            f"{DRIVE_FILES}/{self.spreadsheet_id}",
            params={"fields": "version", "supportsAllDrives": True},
        ).json()
        version = body.get("version")
        self._token = None if version is None else str(version)
        return self._token

    def read(self, tabs: Sequence[TabRequest]) -> Snapshot:
        """Every requested tab that exists, in one ``values.batchGet``."""
        for _ in range(2):
            meta = self.metadata()
            if self.lock.stale:
                self.release_locks()
            present = [t for t in tabs if t.name in meta]
            try:
                ranges = self._batch_get_known([(t.name, quote_tab(t.name)) for t in present])
            except _TabsChanged:
                continue
            tables = {
                t.name: table_of_values(
                    t.name, t.header_row, values, meta[t.name].sheet_id, ranges.booleans
                )
                for t, values in zip(present, ranges, strict=True)
            }
            return Snapshot(tables=tables, change_token=self._token)
        raise ConnectorError(
            f"ledger {self.ledger!r} (spreadsheet {self.spreadsheet_id}): tabs kept changing "
            "while reading; will retry next cycle"
        )

    def _guard_read(self, plan: Plan, snapshot: Snapshot) -> Snapshot:
        """One read of header rows, key columns and the rows the plan touches.

        A ``values.batchGet`` of A1 ranges when the touched rows form at most
        :data:`MAX_GUARD_SPANS` spans per tab and the URL stays short
        (:func:`~syncer.connectors.google.guard_ranges.fits_url`); up to
        :data:`MAX_FILTER_SPANS`, one ``values.batchGetByDataFilter`` (a POST: no
        URL-length limit) of the same parts as ``gridRange`` filters; beyond that the
        rows are spread all over the tab and it is read whole, typed only at the header,
        key column and touched rows."""
        meta = self.metadata()
        touched = touched_rows(plan)
        parts = guard_parts(plan, snapshot, meta, self.key_column, MAX_GUARD_SPANS, touched)
        by_grid: list[GuardPart] | None = None
        if any(p.kind == "all" for p in parts) or not fits_url(parts):
            many = guard_parts(plan, snapshot, meta, self.key_column, MAX_FILTER_SPANS, touched)
            if any(p.kind == "all" for p in many):
                parts = many
            else:
                by_grid = many
        # the calls below leave this thread idle
        self.ahead.start(plan, snapshot, meta, {p.tab for p in parts}, self.max_batch_bytes)
        if self.locks_writes and not self.lock.held:
            wanted = by_grid if by_grid is not None else parts
            answered = sum(part_cells(p, meta[p.tab]) for p in wanted) <= LOCK_ANSWER_MAX_CELLS
            values = self._lock(plan, wanted if answered else [])
            if values is not None:
                return guard_snapshot(wanted, values, meta, touched)
        if by_grid is not None:
            try:
                values = self._batch_get_by_grid(by_grid, meta)
                return guard_snapshot(by_grid, values, meta, touched)
            except (PermissionDenied, SourceNotFound, TransientError):
                raise
            except ConnectorError:  # a range outside a grid that shrank, a lost tab …
                meta = self.metadata(refresh=True)
                parts = guard_parts(plan, snapshot, meta, self.key_column, 0)
        values = self._batch_get_known([(p.tab, p.a1()) for p in parts])
        return guard_snapshot(parts, values, meta, touched)

    def _lock(self, plan: Plan, parts: Sequence[GuardPart]) -> list[list[list[Any]]] | None:
        """Protect every existing tab ``plan`` changes (and remove locks a crash left), in
        one call whose answer carries ``parts`` read under the lock. Returns their values
        (None when no parts were asked, or no tab needed a lock)."""
        meta = self.metadata()
        tabs = {op.tab for op in plan} | {op.history_tab for op in plan if isinstance(op, MoveRow)}
        locked = sorted(tab for tab in tabs if tab in meta)
        if not locked:
            return None
        ranges = [p.a1() for p in parts] or [f"{quote_tab(tab)}!A1" for tab in locked]
        try:
            answer = self.lock.take([meta[tab] for tab in locked], ranges, bool(parts))
        except (PermissionDenied, SourceNotFound, TransientError):
            raise
        except ConnectorError:  # a stale lock gone already, a range outside a shrunk grid …
            self.lock.forget()
            self.metadata(refresh=True)
            raise _TabsChanged() from None
        return answered_values(answer, parts) if parts else None

    def release_locks(self) -> None:
        """Remove syncer's locks still held or left by a crash: one ``batchUpdate``. When
        that fails the metadata is refreshed so the next read finds what is left. The
        engine calls this when a write half ends: work prepared ahead for a write that did
        not happen is dropped too, so it keeps nothing of the cycle alive."""
        self.ahead.drop()
        if not self.lock.release():
            self.invalidate()

    def after_interruption(self) -> None:
        """Forget the metadata: the next read fetches it and removes a lock left held."""
        self.invalidate()

    def _batch_get_by_grid(
        self, parts: Sequence[GuardPart], meta: Mapping[str, SheetMeta]
    ) -> list[list[list[Any]]]:
        """One ``values.batchGetByDataFilter`` of ``parts`` as ``gridRange`` filters."""
        if not parts:
            return []
        answer = decode_json(
            self.http.request(
                "post",
                f"{SHEETS_BASE}/{self.spreadsheet_id}/values:batchGetByDataFilter",
                json=filter_body(parts, meta),
            ).content
        )
        ranges = answer.get("valueRanges", [])
        if len(ranges) != len(parts):
            raise ConnectorError(
                f"ledger {self.ledger!r} (spreadsheet {self.spreadsheet_id}): "
                f"batchGetByDataFilter answered {len(ranges)} ranges for {len(parts)} filters"
            )
        return [list(r.get("valueRange", {}).get("values", [])) for r in ranges]

    def over_limits(self, plan: Plan, snapshot: Snapshot) -> list[Dropped]:
        """Google's column, cell-count and cell-length limits (see
        :mod:`~syncer.connectors.google.limits`); uses the cached sheet metadata."""
        return over_limits(plan, snapshot, self.metadata())

    def reread(self, plan: Plan, snapshot: Snapshot) -> Snapshot:
        """The guard read (see :meth:`_guard_read`), after adding the tabs the plan creates:
        the tabs exist before the guard read, so nothing but local work separates it from
        the write."""
        self._create_planned_tabs(plan)
        # Neither the write nor the lock before it waits on the rate limiter.
        self.http.prepay_write(2 if self.locks_writes and not self.lock.held else 1)
        try:
            return self._guard_read(plan, snapshot)
        except _TabsChanged:
            return self._guard_read(plan, snapshot)

    def write(
        self,
        kept: Sequence[Resolved],
        fresh: Snapshot,
        snapshot: Snapshot,
        progress: Progress | None = None,
    ) -> Written:
        """One ``spreadsheets.batchUpdate`` (chunked under 2 MB) of the kept operations.

        Row deletions go last. When the whole batch fits one call it is atomic. When it
        needs several, the deletions wait for the rest and are then re-located: one read
        of the key columns and of the rows as the guard saw them, and only a row still at
        its position with the content the guard saw is removed; any other is left in
        place (its history copy is already written), and the next cycle's
        reconciliation resolves the key found in both tabs without losing either copy.
        The write lock goes with the last call either way.
        """
        written = Written()
        sent = 0
        batch, chunks, relocate = self._chunks(kept, fresh, snapshot)
        written.dropped.extend(batch.dropped)
        limit = self.max_batch_bytes
        total = len(chunks) + (1 if relocate else 0)
        try:
            # One attempt per write call: a retry after a wait would write what was
            # checked against a read that is old by then. Refused before anything was
            # applied, the engine guards again; later, the cycle fails and the next one
            # reconciles (the journal holds the intent).
            keys = {} if relocate else self._key_columns(batch, fresh)
            # The last call removes the write lock in the same atomic step.
            unlock = [] if relocate else self.lock.unlock_requests()
            with self.http.single_attempt():
                for n, chunk in enumerate(chunks, start=1):
                    last = n == len(chunks)
                    if last and unlock:
                        chunk = chunk.plus(unlock)
                    try:
                        if last and keys:
                            written.keys_after = self._batch_update_with_keys(chunk, keys)
                        else:
                            self.post_batch(chunk)
                    except TransientError as exc:
                        if sent:
                            raise
                        raise WriteNotSent(str(exc), exc.retry_after) from exc
                    sent += 1
                    if last and unlock:
                        self.lock.forget()
                    if progress is not None:
                        progress(sent, total)
            if relocate:
                removable, left = self._still_in_place(batch, fresh)  # a read: retried
                removals = chunk_requests(deletion_requests(removable), limit)
                with self.http.single_attempt():
                    for n, chunk in enumerate(removals, start=1):
                        last = n == len(removals)
                        unlock = self.lock.unlock_requests() if last else []
                        self.post_batch(chunk.plus(unlock) if unlock else chunk)
                        if unlock:  # the lock went with the last removals, as above
                            self.lock.forget()
                        sent += 1
                        if progress is not None:
                            progress(sent, total)
                written.incidents.extend(left)
        except WriteNotSent:
            raise  # nothing applied: the cached tabs still hold
        except ConnectorError:
            self.invalidate()
            raise
        written.applied.extend(batch.applied)
        written.cells, written.removed, written.appended = (
            batch.cells,
            batch.removed,
            batch.appended,
        )
        return written

    def _chunks(
        self, kept: Sequence[Resolved], fresh: Snapshot, snapshot: Snapshot
    ) -> tuple[WriteBatch, list[RequestChunk], bool]:
        """The write's batch, its calls and whether its deletions wait
        (:func:`~syncer.connectors.google.bodies.write_chunks`): as prepared during the
        guard read when worked out from these very inputs (see
        :mod:`~syncer.connectors.google.ahead`), else worked out here."""
        meta = self.metadata()
        prepared = self.ahead.take()
        ready = prepared.batch
        if ready is not None and ready.fits(kept, fresh, meta, snapshot, self.max_batch_bytes):
            self.ahead.batches_used += 1
            return ready.batch, ready.chunks, ready.relocate
        replacements = prepared.replacements
        del prepared, ready  # megabytes of calls not made: not kept beside the ones made
        batch = build_writes(kept, fresh, meta, snapshot, replacements)
        if batch.new_tabs:  # a person deleted a tab after it was created: rare
            self.add_tabs(batch.new_tabs)
            batch = build_writes(kept, fresh, self.metadata(), snapshot)
        return batch, *write_chunks(batch.requests, batch.removal_requests(), self.max_batch_bytes)

    def _key_columns(self, batch: WriteBatch, fresh: Snapshot) -> dict[str, KeyColumn]:
        """The key column of every tab the batch writes (as the guard read found it)."""
        key = self.key_column
        if key is None:
            return {}
        tabs = {c.tab for c in batch.cells} | set(batch.removed) | set(batch.appended)
        out: dict[str, KeyColumn] = {}
        rows = 0
        for tab in sorted(tabs):
            table = fresh.get(tab)
            pos = table.index_of(key) if table is not None else None
            if table is not None and pos is not None:
                out[tab] = KeyColumn(table.header_row, key, pos)
                rows += len(table.rows)
        return out if rows <= self.keys_in_answer_max_rows else {}

    def post_batch(
        self,
        chunk: RequestChunk,
        extra: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """One ``spreadsheets.batchUpdate`` of ``chunk`` (its requests encoded once; see
        :mod:`~syncer.connectors.google.bodies`), with ``extra`` body fields; its answer."""
        return self.http.request(
            "post",
            f"{SHEETS_BASE}/{self.spreadsheet_id}:batchUpdate",
            params=params,
            data=chunk.body(extra),
            headers={"Content-Type": "application/json; charset=utf-8"},
        ).json()

    def _batch_update_with_keys(
        self, chunk: RequestChunk, keys: Mapping[str, KeyColumn]
    ) -> dict[str, list[str] | None]:
        """One ``batchUpdate`` whose answer carries the key columns of ``keys``' tabs as the
        batch left them (``includeSpreadsheetInResponse`` with ``responseRanges``): the
        same atomic step as the write, where a later read could already show people's
        next edits. Returns tab → keys (None for a tab whose key header moved)."""
        ranges = {
            tab: f"{quote_tab(tab)}!{column_letter(k.position)}1:{column_letter(k.position)}"
            for tab, k in keys.items()
            if k.position is not None
        }
        extra = {
            "includeSpreadsheetInResponse": True,
            "responseRanges": list(ranges.values()),
            "responseIncludeGridData": True,
        }
        answer = self.post_batch(chunk, extra, {"fields": KEYS_IN_ANSWER})
        out: dict[str, list[str] | None] = dict.fromkeys(keys)
        for sheet in answer.get("updatedSpreadsheet", {}).get("sheets", []):
            tab = sheet.get("properties", {}).get("title")
            if tab not in keys:
                continue
            column = [
                [effective_value((row.get("values") or [{}])[0])]
                for grid in sheet.get("data", [])
                for row in grid.get("rowData", [])
            ]
            out[tab] = keys_below_header(column, keys[tab].header_row, keys[tab].name)
        return out

    def _still_in_place(
        self, batch: WriteBatch, fresh: Snapshot
    ) -> tuple[list[tuple[int, int]], list[str]]:
        """The (sheet id, row) deletions whose rows are still where the guard read them,
        unchanged; and, for the others, why they were left for reconciliation. One read
        of those rows (:meth:`_read_rows`)."""
        rows_by_tab: dict[str, tuple[int, set[int]]] = {}
        for tab, _sid, row in batch.removals:
            table = fresh.get(tab)
            rows_by_tab.setdefault(tab, (table.header_row if table else 1, set()))[1].add(row)
        ours: dict[tuple[str, int], set[str]] = {}
        for cell in batch.cells:  # our own cell writes do not make a row "changed"
            ours.setdefault((cell.tab, cell.row), set()).add(cell.op.column)
        now = self._read_rows(rows_by_tab)
        removable: list[tuple[int, int]] = []
        left: list[str] = []
        for tab, sid, row in batch.removals:
            before, after = fresh.get(tab), now.get(tab)
            index = row - (before.header_row if before else 1) - 1
            if (
                before is not None
                and after is not None
                and 0 <= index < min(len(before.rows), len(after.rows))
                and same_row(before, index, after, index, ours.get((tab, row), set()))
            ):
                removable.append((sid, row))
            else:
                left.append(
                    f"{tab}!row {row} changed or moved while syncer was writing several "
                    "batches; it was not removed (its history copy is kept; the next cycle "
                    "reconciles the two copies)"
                )
        return removable, left

    def _read_rows(self, rows_by_tab: Mapping[str, tuple[int, Collection[int]]]) -> Snapshot:
        """The header and the given rows (1-based) of each tab (tab → header row, rows), in
        one read: A1 spans, or up to :data:`MAX_FILTER_SPANS` ``gridRange`` filters (a
        tab with more is read whole; so are the tabs when Google refuses the filters, as
        the guard read does)."""

        def reading(max_spans: int) -> list[GuardPart]:
            return [
                part
                for tab, (header_row, rows) in rows_by_tab.items()
                for part in row_parts(tab, header_row, rows, max_spans)
            ]

        parts = reading(MAX_FILTER_SPANS)
        meta = self.metadata()
        try:
            if not fits_url(parts):
                values = self._batch_get_by_grid(parts, meta)
            else:
                values = self._batch_get([p.a1() for p in parts])
        except (PermissionDenied, SourceNotFound, TransientError):
            raise
        except ConnectorError:  # the filters refused, a range past a shrunk grid …
            meta = self.metadata(refresh=True)
            parts = reading(0)  # every tab whole
            values = self._batch_get([p.a1() for p in parts])
        return guard_snapshot(parts, values, meta)

    def _create_planned_tabs(self, plan: Plan) -> None:
        """Add the tabs the plan creates (EnsureTab, ReplaceTab) that do not exist yet."""
        meta = self.metadata()
        missing: dict[str, tuple[str, ...]] = {}
        for op in plan:
            if isinstance(op, EnsureTab | ReplaceTab) and op.tab not in meta:
                header = op.header if isinstance(op, EnsureTab) else ()
                missing.setdefault(op.tab, tuple(header))
        if missing:
            self.add_tabs(missing)

    def add_tabs(self, tabs: Mapping[str, Sequence[str]]) -> None:
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

    def read_keys(self, tabs: Mapping[str, KeyColumn]) -> dict[str, list[str] | None]:
        """Each tab's key column as text, in one batchGet (None for a tab that is gone).

        Reads the header row and that column; a tab whose key moved is read whole (rare)."""
        meta = self.metadata()
        plan: list[tuple[str, str]] = []
        for tab, where in tabs.items():
            pos = where.position
            if tab not in meta:
                continue
            q = quote_tab(tab)
            if pos is None:
                plan.append((tab, q))
            else:
                letter = column_letter(pos)
                plan.append((tab, f"{q}!{letter}1:{letter}"))
        try:
            values = self._batch_get_known(plan)
        except _TabsChanged:
            meta = self.metadata()
            plan = [(t, r) for t, r in plan if t in meta]
            values = self._batch_get([r for _, r in plan])
        out: dict[str, list[str] | None] = dict.fromkeys(tabs)
        for (tab, _range), grid in zip(plan, values, strict=True):
            header_row, key, pos = tabs[tab].header_row, tabs[tab].name, tabs[tab].position
            if pos is not None:
                out[tab] = keys_below_header(grid, header_row, key)
                if out[tab] is not None:
                    continue
                grid = self._batch_get([quote_tab(tab)])[0]
            table = table_of_values(tab, header_row, grid)
            if key in table.header:
                out[tab] = [canonical(v) for v in table.column_values(key)]
        return out

    def read_keys_at(
        self, tabs: Mapping[str, KeyColumn], rows: Mapping[str, Collection[int]]
    ) -> dict[str, dict[int, str] | None]:
        """The key text at the given rows, from one read of just those rows and the
        header (:meth:`_read_rows`): a few spans after a typical write, where the whole
        key column of a 100,000-row tab is 100,000 cells."""
        meta = self.metadata()
        wanted = {tab: (k.header_row, rows.get(tab, ())) for tab, k in tabs.items() if tab in meta}
        now = self._read_rows(wanted) if wanted else Snapshot(tables={}, change_token=None)
        out: dict[str, dict[int, str] | None] = dict.fromkeys(tabs)
        for tab, (header_row, at) in wanted.items():
            table, key = now.get(tab), tabs[tab].name
            if table is not None and table.index_of(key) is not None:
                n = len(table.rows)
                out[tab] = {
                    r: cell_text(table.cell(r - header_row - 1, key))
                    if 0 <= r - header_row - 1 < n
                    else ""
                    for r in at
                }
        return out

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


class _TabsChanged(SourceChanged):
    """A tab named in a range was renamed or deleted since metadata was cached."""

    def __init__(self) -> None:
        super().__init__(
            "a tab was renamed or deleted while syncer was reading; the cycle is retried "
            "on the next schedule"
        )
